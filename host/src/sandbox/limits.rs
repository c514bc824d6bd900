//! Per-component resource limits, their defaults and the parsers for the
//! human-friendly sizes and durations users write (`64Mi`, `2s`).
//!
//! Limits come from three places, each overriding the one before:
//! [`Limits::default`], the umbrella dependency's `limits:` map in
//! `Chart.yaml` ([`Limits::apply_map`]) and command-line flags
//! ([`Limits::set`]).

use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// The largest linear memory a wasm32 component can have (4 GiB).
pub const MAX_MEMORY_BYTES: u64 = 4 << 30;

/// Resource limits for one component render.
///
/// Defaults (see [`Limits::default`]), and why:
/// - `memory_bytes`: **128 MiB** per linear memory. The Rust components
///   use under 2 MiB; the JavaScript and Python runtimes start near
///   20–40 MiB. 128 MiB leaves room for big values while stopping a runaway
///   allocation long before it hurts a CI machine running many renders.
/// - `timeout`: **5 s** wall clock. Rust components render in well under a
///   millisecond and the interpreted ones in under 20 ms; 5 s only trips on
///   loops that never end, yet lets a slow, loaded CI machine finish.
/// - `output_bytes`: **16 MiB** for all manifests plus notes. Kubernetes
///   refuses objects over about 1.5 MiB (etcd's request limit), so 16 MiB
///   is roughly ten maximal objects: generous for a subchart, small enough
///   to keep the host's memory use bounded.
/// - `instances`: **100** core wasm instances. A Rust component makes under
///   10, componentize-py about 20; more means something is wrong.
/// - `tables`: **100** tables of at most `table_elements` (**1,000,000**)
///   entries each: JavaScript engines need tens of thousands of entries.
/// - `memories`: **16** linear memories; components normally have 1–3.
/// - `log_lines`: **1,000** lines and `log_bytes`: **1 MiB** in total for
///   log calls, stdout and stderr together: enough to debug, never enough
///   to flood a terminal or a CI log. Each line is cut at 8 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest size of any one linear memory, in bytes.
    pub memory_bytes: u64,
    /// Wall-clock deadline for instantiation plus `render`.
    pub timeout: Duration,
    /// Largest total size of the returned manifests and notes, in bytes.
    pub output_bytes: u64,
    /// Most core wasm instances in the component's store.
    pub instances: u32,
    /// Most tables in the component's store.
    pub tables: u32,
    /// Most elements in any one table.
    pub table_elements: u32,
    /// Most linear memories in the component's store.
    pub memories: u32,
    /// Most log lines kept (log calls, stdout and stderr lines together).
    pub log_lines: u32,
    /// Most log bytes kept, in total.
    pub log_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            timeout: Duration::from_secs(5),
            output_bytes: 16 << 20,
            instances: 100,
            tables: 100,
            table_elements: 1_000_000,
            memories: 16,
            log_lines: 1_000,
            log_bytes: 1 << 20,
        }
    }
}

/// Limits given explicitly; `None` keeps the current value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    /// See [`Limits::memory_bytes`].
    pub memory_bytes: Option<u64>,
    /// See [`Limits::timeout`].
    pub timeout: Option<Duration>,
    /// See [`Limits::output_bytes`].
    pub output_bytes: Option<u64>,
    /// See [`Limits::instances`].
    pub instances: Option<u32>,
    /// See [`Limits::tables`].
    pub tables: Option<u32>,
    /// See [`Limits::log_lines`].
    pub log_lines: Option<u32>,
    /// See [`Limits::log_bytes`].
    pub log_bytes: Option<u64>,
}

/// A limit that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The key is not a known limit.
    #[error(
        "unknown limit '{0}' (known: memory, timeout, output, instances, tables, logLines, logBytes)"
    )]
    UnknownKey(String),
    /// The value of a size limit is not a size.
    #[error("limit '{key}': '{value}' is not a size (examples: 64Mi, 1Gi, 500k, 1048576)")]
    BadSize { key: String, value: String },
    /// The value of a time limit is not a duration.
    #[error("limit '{key}': '{value}' is not a duration (examples: 300ms, 2s, 1.5s, 1m)")]
    BadDuration { key: String, value: String },
    /// The value of a count limit is not a whole number.
    #[error("limit '{key}': '{value}' is not a whole number")]
    BadCount { key: String, value: String },
    /// The value is zero or too big.
    #[error("limit '{key}': '{value}' is out of range ({range})")]
    OutOfRange {
        key: String,
        value: String,
        range: &'static str,
    },
    /// `limits:` is not a map.
    #[error("`limits` must be a map like {{memory: 64Mi, timeout: 2s}}")]
    NotAMap,
}

impl Limits {
    /// Applies every override that is set.
    pub fn merge(&self, overrides: &LimitOverrides) -> Limits {
        Limits {
            memory_bytes: overrides.memory_bytes.unwrap_or(self.memory_bytes),
            timeout: overrides.timeout.unwrap_or(self.timeout),
            output_bytes: overrides.output_bytes.unwrap_or(self.output_bytes),
            instances: overrides.instances.unwrap_or(self.instances),
            tables: overrides.tables.unwrap_or(self.tables),
            log_lines: overrides.log_lines.unwrap_or(self.log_lines),
            log_bytes: overrides.log_bytes.unwrap_or(self.log_bytes),
            ..*self
        }
    }

    /// Sets one limit from text, as written in a `limits:` map or a flag:
    /// `memory`, `output`, `logBytes` take sizes; `timeout` a duration;
    /// `instances`, `tables`, `logLines` whole numbers.
    ///
    /// # Errors
    ///
    /// An unknown key, or a value that does not parse or is out of range.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), LimitError> {
        let mut overrides = LimitOverrides::default();
        overrides.set(key, value)?;
        *self = self.merge(&overrides);
        Ok(())
    }

    /// Applies a `limits:` map from `Chart.yaml`, e.g.
    /// `{memory: 64Mi, timeout: 2s}`. Numbers are accepted for sizes (bytes)
    /// and counts.
    ///
    /// # Errors
    ///
    /// Not a map, an unknown key, or a bad value.
    pub fn apply_map(&mut self, map: &Value) -> Result<(), LimitError> {
        let Value::Object(entries) = map else {
            return Err(LimitError::NotAMap);
        };
        for (key, value) in entries {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            self.set(key, &text)?;
        }
        Ok(())
    }
}

impl LimitOverrides {
    /// Sets one override from text; see [`Limits::set`] for the keys.
    ///
    /// # Errors
    ///
    /// An unknown key, or a value that does not parse or is out of range.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), LimitError> {
        match key {
            "memory" => {
                let bytes = size(key, value)?;
                if bytes > MAX_MEMORY_BYTES {
                    return Err(out_of_range(key, value, "at most 4Gi for wasm32"));
                }
                self.memory_bytes = Some(bytes);
            }
            "timeout" => self.timeout = Some(duration(key, value)?),
            "output" => self.output_bytes = Some(size(key, value)?),
            "logBytes" => self.log_bytes = Some(size(key, value)?),
            "instances" => self.instances = Some(count(key, value)?),
            "tables" => self.tables = Some(count(key, value)?),
            "logLines" => self.log_lines = Some(count(key, value)?),
            other => return Err(LimitError::UnknownKey(other.to_string())),
        }
        Ok(())
    }
}

fn out_of_range(key: &str, value: &str, range: &'static str) -> LimitError {
    LimitError::OutOfRange {
        key: key.to_string(),
        value: value.to_string(),
        range,
    }
}

fn size(key: &str, value: &str) -> Result<u64, LimitError> {
    let bytes = parse_size(value).ok_or_else(|| LimitError::BadSize {
        key: key.to_string(),
        value: value.to_string(),
    })?;
    if bytes == 0 {
        return Err(out_of_range(key, value, "must be more than 0"));
    }
    Ok(bytes)
}

fn duration(key: &str, value: &str) -> Result<Duration, LimitError> {
    let d = parse_duration(value).ok_or_else(|| LimitError::BadDuration {
        key: key.to_string(),
        value: value.to_string(),
    })?;
    if d < Duration::from_millis(1) || d > Duration::from_secs(3600) {
        return Err(out_of_range(key, value, "from 1ms to 1h"));
    }
    Ok(d)
}

fn count(key: &str, value: &str) -> Result<u32, LimitError> {
    let n: u32 = value.trim().parse().map_err(|_| LimitError::BadCount {
        key: key.to_string(),
        value: value.to_string(),
    })?;
    if n == 0 {
        return Err(out_of_range(key, value, "must be more than 0"));
    }
    Ok(n)
}

/// Parses a size: a whole or decimal number with an optional unit, in
/// Kubernetes style: `Ki`, `Mi`, `Gi` (powers of 1024), `k`/`K`, `M`, `G`
/// (powers of 1000); a trailing `B` is allowed (`64MiB`, `10MB`). A bare
/// number is bytes. Returns `None` for anything else.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit = unit.trim();
    let unit = unit.strip_suffix('B').unwrap_or(unit);
    let factor: u64 = match unit {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => return None,
    };
    scale(number, factor)
}

/// Parses a duration: a whole or decimal number followed by `ms`, `s`,
/// `m` or `h` (`300ms`, `2s`, `1.5s`, `1m`). A bare number is refused: the
/// unit is too easy to guess wrong.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let nanos_per: u64 = match unit.trim() {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    scale(number, nanos_per).map(Duration::from_nanos)
}

/// `number * factor` for a decimal `number` without floating-point rounding
/// surprises; `None` when empty, malformed or overflowing.
fn scale(number: &str, factor: u64) -> Option<u64> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut numerator: u128 = 0;
    let mut denominator: u128 = 1;
    for digit in fraction.chars().take(18) {
        numerator = numerator * 10 + u128::from(digit.to_digit(10)?);
        denominator *= 10;
    }
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let part = numerator * u128::from(factor) / denominator;
    let total = u128::from(whole).checked_mul(u128::from(factor))? + part;
    u64::try_from(total).ok()
}

/// Formats a byte count the way users write it: `128Mi`, `1Gi`, `500k`,
/// or plain bytes.
pub fn format_size(bytes: u64) -> String {
    for (unit, factor) in [("Gi", 1u64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    format!("{bytes} bytes")
}

/// Formats a duration the way users write it: `5s`, `300ms`, `1.5s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// A size limit as shown in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_size(self.0))
    }
}

/// A time limit as shown in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub Duration);

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64Mi"), Some(64 << 20));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("1.5Gi"), Some(3 << 29));
        assert_eq!(parse_size("500k"), Some(500_000));
        assert_eq!(parse_size("10MB"), Some(10_000_000));
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size(" 2 Ki "), Some(2048));
        for bad in [
            "",
            "Mi",
            "64Xi",
            "-1",
            "1.2.3",
            "ten",
            "99999999999999999999Gi",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300ms"), Some(Duration::from_millis(300)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        for bad in ["", "5", "s", "5 parsecs", "1.x s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_size(128 << 20), "128Mi");
        assert_eq!(format_size(1 << 30), "1Gi");
        assert_eq!(format_size(1000), "1000 bytes");
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
    }

    #[test]
    fn overrides_and_errors() {
        let mut limits = Limits::default();
        limits
            .apply_map(&serde_json::json!({"memory": "64Mi", "timeout": "2s", "instances": 20}))
            .unwrap();
        assert_eq!(limits.memory_bytes, 64 << 20);
        assert_eq!(limits.timeout, Duration::from_secs(2));
        assert_eq!(limits.instances, 20);
        assert_eq!(limits.output_bytes, Limits::default().output_bytes);

        let err = limits.set("memroy", "1Gi").unwrap_err();
        assert!(
            err.to_string().starts_with("unknown limit 'memroy'"),
            "{err}"
        );
        let err = limits.set("memory", "lots").unwrap_err();
        assert_eq!(
            err.to_string(),
            "limit 'memory': 'lots' is not a size (examples: 64Mi, 1Gi, 500k, 1048576)"
        );
        assert!(limits.set("memory", "8Gi").is_err());
        assert!(limits.set("timeout", "0s").is_err());
        assert!(limits.set("timeout", "5").is_err());
        assert_eq!(
            limits.apply_map(&serde_json::json!(["memory"])),
            Err(LimitError::NotAMap)
        );
    }
}
