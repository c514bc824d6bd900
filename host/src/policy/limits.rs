//! Who decides a component's limits, in order: the built-in defaults, the
//! policy's `limits.default`, the root umbrella's dependency entry for the
//! component's top-level subchart, then the operator's flags. The policy's
//! `limits.max` caps the chart's settings (with a warning) and refuses
//! flags above it (an operator asking for more than their own policy
//! allows is a mistake worth stopping for).

use super::Policy;
use crate::sandbox::{Limits, format_duration, format_size};
use crate::text::escape;
use anyhow::{Result, anyhow, bail};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Limits a policy sets (`limits.max` or `limits.default`), by key, as
/// plain numbers: bytes, nanoseconds or counts.
pub type LimitMap = BTreeMap<&'static str, u64>;

/// One limit a policy can bound: its key, its flag if it has one, and how
/// to read, write and show it as a plain number, so that every limit is
/// compared the same way.
pub struct LimitField {
    /// Key in `limits:` maps (`memory`, `timeout`, ...).
    pub key: &'static str,
    /// Command-line flag setting it, if any.
    pub flag: Option<&'static str>,
    read: fn(&Limits) -> u64,
    write: fn(&mut Limits, u64),
    show: fn(u64) -> String,
}

impl LimitField {
    /// The value as a user writes it (`128Mi`, `5s`, `100`).
    pub fn show(&self, n: u64) -> String {
        (self.show)(n)
    }

    /// Parses `text` as this limit (with the sandbox's own parser and
    /// ranges) into a plain number.
    ///
    /// # Errors
    ///
    /// The sandbox's reason: not a size or duration, zero, too big.
    pub fn parse(&self, text: &str) -> Result<u64, crate::sandbox::LimitError> {
        let mut scratch = Limits::default();
        scratch.set(self.key, text)?;
        Ok((self.read)(&scratch))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn count(n: u64) -> String {
    n.to_string()
}

fn show_nanos(n: u64) -> String {
    format_duration(Duration::from_nanos(n))
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Every limit a policy can bound.
pub const FIELDS: &[LimitField] = &[
    LimitField {
        key: "memory",
        flag: Some("--memory-limit"),
        read: |l| l.memory_bytes,
        write: |l, n| l.memory_bytes = n,
        show: format_size,
    },
    LimitField {
        key: "timeout",
        flag: Some("--timeout"),
        read: |l| nanos(l.timeout),
        write: |l, n| l.timeout = Duration::from_nanos(n),
        show: show_nanos,
    },
    LimitField {
        key: "output",
        flag: Some("--output-limit"),
        read: |l| l.output_bytes,
        write: |l, n| l.output_bytes = n,
        show: format_size,
    },
    LimitField {
        key: "instances",
        flag: None,
        read: |l| u64::from(l.instances),
        write: |l, n| l.instances = to_u32(n),
        show: count,
    },
    LimitField {
        key: "tables",
        flag: None,
        read: |l| u64::from(l.tables),
        write: |l, n| l.tables = to_u32(n),
        show: count,
    },
    LimitField {
        key: "tableElements",
        flag: None,
        read: |l| u64::from(l.table_elements),
        write: |l, n| l.table_elements = to_u32(n),
        show: count,
    },
    LimitField {
        key: "memories",
        flag: None,
        read: |l| u64::from(l.memories),
        write: |l, n| l.memories = to_u32(n),
        show: count,
    },
    LimitField {
        key: "logLines",
        flag: None,
        read: |l| u64::from(l.log_lines),
        write: |l, n| l.log_lines = to_u32(n),
        show: count,
    },
    LimitField {
        key: "logBytes",
        flag: None,
        read: |l| l.log_bytes,
        write: |l, n| l.log_bytes = n,
        show: format_size,
    },
    LimitField {
        key: "files",
        flag: None,
        read: |l| u64::from(l.files),
        write: |l, n| l.files = to_u32(n),
        show: count,
    },
    LimitField {
        key: "componentSize",
        flag: None,
        read: |l| l.component_bytes,
        write: |l, n| l.component_bytes = n,
        show: format_size,
    },
    LimitField {
        key: "compileTimeout",
        flag: Some("--compile-timeout"),
        read: |l| nanos(l.compile_timeout),
        write: |l, n| l.compile_timeout = Duration::from_nanos(n),
        show: show_nanos,
    },
    LimitField {
        key: "compileMemory",
        flag: Some("--compile-memory"),
        read: |l| l.compile_memory_bytes,
        write: |l, n| l.compile_memory_bytes = n,
        show: format_size,
    },
];

/// Applies every value of `map` to `limits`.
fn apply(limits: &mut Limits, map: &LimitMap) {
    for f in FIELDS {
        if let Some(&n) = map.get(f.key) {
            (f.write)(limits, n);
        }
    }
}

/// Refuses a flag above the policy's maximum, naming the flag, its value
/// and the maximum. `flags` holds the limits after the flags were applied
/// and `given` the keys the flags set.
fn check_flags(limits: &Limits, given: &[&str], policy: &Policy) -> Result<()> {
    for f in FIELDS.iter().filter(|f| given.contains(&f.key)) {
        let asked = (f.read)(limits);
        if let Some(&max) = policy.max.get(f.key)
            && asked > max
        {
            bail!(
                "{} {} is above the maximum of {} that the policy '{}' allows (limits.max.{}); ask for at most {} or change the policy",
                f.flag.unwrap_or(f.key),
                f.show(asked),
                f.show(max),
                policy.origin,
                f.key,
                f.show(max)
            );
        }
    }
    Ok(())
}

/// What decides one component's limits: the root umbrella's `limits:`
/// entry for its top-level subchart, the flags and the policy.
pub struct LimitSources<'a> {
    /// The umbrella dependency's `limits:` map, if it has one.
    pub chart_map: Option<&'a Value>,
    /// Names the umbrella Chart.yaml and entry in messages.
    pub chart_origin: &'a str,
    /// `(limit key, flag, text)` for every limit flag given.
    pub flags: &'a [(&'static str, &'static str, String)],
    /// The operator's policy, if any.
    pub policy: Option<&'a Policy>,
}

/// Limits for component `name`: defaults, the policy's defaults, the root
/// umbrella's `limits:` for its top-level subchart, then the flags. Chart
/// settings above the policy's maximum are capped, each cap adding a
/// warning to `warnings`; a flag above it is an error.
///
/// # Errors
///
/// A bad `limits:` map in the umbrella's Chart.yaml, a bad flag value, or
/// a flag above the policy's maximum.
pub fn resolve_limits(
    name: &str,
    src: &LimitSources<'_>,
    warnings: &mut Vec<String>,
) -> Result<Limits> {
    let mut limits = Limits::default();
    let empty = LimitMap::new();
    let max = src.policy.map_or(&empty, |p| &p.max);
    if let Some(p) = src.policy {
        apply(&mut limits, &p.defaults);
    }
    cap(&mut limits, max, |_, _, _| {});
    if let Some(map) = src.chart_map {
        let mut asked = limits;
        asked.apply_map(map).map_err(|e| {
            anyhow!(
                "invalid `limits` for '{}' in {}: {e}",
                escape(name),
                src.chart_origin
            )
        })?;
        let set_by_chart = |f: &LimitField| map.get(f.key).is_some();
        cap(&mut asked, max, |f, value, m| {
            if set_by_chart(f) {
                warnings.push(format!(
                    "{} asks {} {} for '{}'; the policy '{}' caps it at {}",
                    src.chart_origin,
                    f.key,
                    f.show(value),
                    escape(name),
                    src.policy.map_or("", |p| p.origin.as_str()),
                    f.show(m)
                ));
            }
        });
        limits = asked;
    }
    for (key, flag, text) in src.flags {
        limits
            .set(key, text)
            .map_err(|e| anyhow!("invalid {flag} '{}': {e}", escape(text)))?;
    }
    if let Some(p) = src.policy {
        let given: Vec<&str> = src.flags.iter().map(|(k, _, _)| *k).collect();
        check_flags(&limits, &given, p)?;
    }
    Ok(limits)
}

/// Lowers every limit of `limits` above `max` to it, calling `on_cap`
/// with the field, the value and the maximum.
fn cap(limits: &mut Limits, max: &LimitMap, mut on_cap: impl FnMut(&LimitField, u64, u64)) {
    for f in FIELDS {
        let value = (f.read)(limits);
        if let Some(&m) = max.get(f.key)
            && value > m
        {
            on_cap(f, value, m);
            (f.write)(limits, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(max: &[(&'static str, &str)], defaults: &[(&'static str, &str)]) -> Policy {
        let mut p = Policy {
            origin: "p.yaml".into(),
            ..Policy::default()
        };
        let parse = |k: &str, v: &str| {
            FIELDS
                .iter()
                .find(|f| f.key == k)
                .unwrap()
                .parse(v)
                .unwrap()
        };
        for (k, v) in max {
            p.max.insert(k, parse(k, v));
        }
        for (k, v) in defaults {
            p.defaults.insert(k, parse(k, v));
        }
        p
    }

    fn resolve(
        p: &Policy,
        chart: Option<&Value>,
        flags: &[(&'static str, &'static str, String)],
    ) -> (Result<Limits>, Vec<String>) {
        let mut warnings = Vec::new();
        let src = LimitSources {
            chart_map: chart,
            chart_origin: "Chart.yaml",
            flags,
            policy: Some(p),
        };
        (resolve_limits("a", &src, &mut warnings), warnings)
    }

    #[test]
    fn chart_is_capped_with_a_warning_and_defaults_apply() {
        let p = policy(
            &[("memory", "64Mi"), ("timeout", "2s")],
            &[("timeout", "1s")],
        );
        let (l, warnings) = resolve(&p, Some(&json!({"memory": "1Gi"})), &[]);
        let l = l.unwrap();
        assert_eq!(l.memory_bytes, 64 << 20);
        assert_eq!(l.timeout, Duration::from_secs(1));
        assert_eq!(
            warnings,
            ["Chart.yaml asks memory 1Gi for 'a'; the policy 'p.yaml' caps it at 64Mi"]
        );
    }

    #[test]
    fn built_in_defaults_above_the_maximum_are_lowered_silently() {
        let p = policy(&[("memory", "32Mi")], &[]);
        let (l, warnings) = resolve(&p, None, &[]);
        assert_eq!(l.unwrap().memory_bytes, 32 << 20);
        assert!(warnings.is_empty());
    }

    #[test]
    fn flags_above_the_maximum_are_errors() {
        let p = policy(&[("timeout", "2s")], &[]);
        let (l, _) = resolve(&p, None, &[("timeout", "--timeout", "10s".into())]);
        assert_eq!(
            l.unwrap_err().to_string(),
            "--timeout 10s is above the maximum of 2s that the policy 'p.yaml' allows (limits.max.timeout); ask for at most 2s or change the policy"
        );
        let (l, _) = resolve(&p, None, &[("timeout", "--timeout", "2s".into())]);
        assert_eq!(l.unwrap().timeout, Duration::from_secs(2));
    }
}
