//! Who decides a component's limits, in order: the built-in defaults, the
//! policy's `limits.default`, the root umbrella's dependency entry for the
//! component's top-level subchart, then the operator's flags. The policy's
//! `limits.max` caps the chart's settings (with a warning) and refuses
//! flags above it (an operator asking for more than their own policy
//! allows is a mistake worth stopping for).

use super::Policy;
use crate::sandbox::{LIMITS, LimitSpec, Limits};
use crate::text::escape;
use anyhow::{Result, anyhow, bail};
use serde_json::Value;
use std::collections::BTreeMap;

/// Limits a policy sets (`limits.max` or `limits.default`), by key, as
/// plain numbers: bytes, nanoseconds or counts.
pub type LimitMap = BTreeMap<&'static str, u64>;

/// The command-line flag that sets limit `key`, if one does.
pub fn flag(key: &str) -> Option<&'static str> {
    Some(match key {
        "memory" => "--memory-limit",
        "timeout" => "--timeout",
        "output" => "--output-limit",
        "compileTimeout" => "--compile-timeout",
        "compileMemory" => "--compile-memory",
        _ => return None,
    })
}

/// A limit's plain value (bytes, nanoseconds, count); every key in
/// [`LIMITS`] has one.
fn value(limits: &Limits, spec: &LimitSpec) -> u64 {
    limits.get(spec.key).unwrap_or(0)
}

/// Applies every value of `map` to `limits`.
fn apply(limits: &mut Limits, map: &LimitMap) {
    for (key, &n) in map {
        limits.assign(key, n);
    }
}

/// Refuses a flag above the policy's maximum, naming the flag, its value
/// and the maximum. `flags` holds the limits after the flags were applied
/// and `given` the keys the flags set.
fn check_flags(limits: &Limits, given: &[&str], policy: &Policy) -> Result<()> {
    for f in LIMITS.iter().filter(|f| given.contains(&f.key)) {
        let asked = value(limits, f);
        if let Some(&max) = policy.max.get(f.key)
            && asked > max
        {
            bail!(
                "{} {} is above the maximum of {} that the policy '{}' allows (limits.max.{}); ask for at most {} or change the policy",
                flag(f.key).unwrap_or(f.key),
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
    /// `(limit key, text)` for every limit flag given.
    pub flags: &'a [(&'static str, String)],
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
        let set_by_chart = |f: &LimitSpec| map.get(f.key).is_some();
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
    for (key, text) in src.flags {
        limits.set(key, text).map_err(|e| {
            anyhow!(
                "invalid {} '{}': {e}",
                flag(key).unwrap_or(key),
                escape(text)
            )
        })?;
    }
    if let Some(p) = src.policy {
        let given: Vec<&str> = src.flags.iter().map(|(k, _)| *k).collect();
        check_flags(&limits, &given, p)?;
    }
    Ok(limits)
}

/// Lowers every limit of `limits` above `max` to it, calling `on_cap`
/// with the field, the value and the maximum.
fn cap(limits: &mut Limits, max: &LimitMap, mut on_cap: impl FnMut(&LimitSpec, u64, u64)) {
    for f in LIMITS {
        let asked = value(limits, f);
        if let Some(&m) = max.get(f.key)
            && asked > m
        {
            on_cap(f, asked, m);
            limits.assign(f.key, m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn policy(max: &[(&'static str, &str)], defaults: &[(&'static str, &str)]) -> Policy {
        let mut p = Policy {
            origin: "p.yaml".into(),
            ..Policy::default()
        };
        let parse = |k: &str, v: &str| LimitSpec::find(k).unwrap().parse(v).unwrap();
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
        flags: &[(&'static str, String)],
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
        let (l, _) = resolve(&p, None, &[("timeout", "10s".into())]);
        assert_eq!(
            l.unwrap_err().to_string(),
            "--timeout 10s is above the maximum of 2s that the policy 'p.yaml' allows (limits.max.timeout); ask for at most 2s or change the policy"
        );
        let (l, _) = resolve(&p, None, &[("timeout", "2s".into())]);
        assert_eq!(l.unwrap().timeout, Duration::from_secs(2));
    }
}
