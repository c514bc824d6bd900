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
/// Every limit has a default and a hard ceiling (see [`LIMITS`]): an
/// umbrella chart or a flag may loosen a limit, but never past its
/// ceiling, so no chart can ask the host for an absurd amount of anything.
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
/// - `files`: **64** files and directories open at once under `/files`:
///   each holds a host file descriptor, and a component must not be able to
///   starve the host (and the other components) of descriptors.
/// - `component_bytes`: **64 MiB** of component file. The largest real
///   component (Python, with its interpreter) is 18 MiB; compile cost grows
///   with size, so a huge file is refused before any compile.
/// - `compile_timeout`: **120 s** and `compile_memory_bytes`: **1 GiB** for
///   compiling one component to native code (only on a compile-cache miss).
///   On a 2-core machine the 18 MiB Python component compiles alone in 14 s
///   with 360 MB resident and the 12 MiB JavaScript one in 18 s with 390 MB
///   (it needs a data limit between 256 and 512 MiB); compiled side by side,
///   as a cold render of the example does, the pair takes 53 s. These
///   bounds leave room for a slower or busier machine while stopping a
///   component built to explode the compiler.
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
    /// Most log bytes kept, in total (log calls, stdout and stderr together).
    pub log_bytes: u64,
    /// Most files and directories open at once under `/files`.
    pub files: u32,
    /// Largest component file, in bytes.
    pub component_bytes: u64,
    /// Wall-clock deadline for compiling the component.
    pub compile_timeout: Duration,
    /// Most memory the compiler may use for the component, in bytes.
    pub compile_memory_bytes: u64,
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
            files: 64,
            component_bytes: 64 << 20,
            compile_timeout: Duration::from_secs(120),
            compile_memory_bytes: 1 << 30,
        }
    }
}

/// What a limit's value is: a size, a duration or a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitUnit {
    /// Bytes, written `64Mi`, `1Gi`, `500k` or a plain number.
    Bytes,
    /// A duration, written `300ms`, `2s`, `1m`.
    Duration,
    /// A whole number.
    Count,
}

/// One tunable limit: its `Chart.yaml` key, its unit and its hard ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSpec {
    /// The key in a `limits:` map, e.g. `memory`.
    pub key: &'static str,
    /// How its value is written.
    pub unit: LimitUnit,
    /// The largest value allowed: bytes, nanoseconds or a count.
    pub ceiling: u64,
}

const fn spec(key: &'static str, unit: LimitUnit, ceiling: u64) -> LimitSpec {
    LimitSpec { key, unit, ceiling }
}

impl LimitSpec {
    /// The spec of the limit named `key`, if there is one.
    pub fn find(key: &str) -> Option<&'static LimitSpec> {
        LIMITS.iter().find(|s| s.key == key)
    }

    /// A value of this limit (bytes, nanoseconds or a count) as users
    /// write it: `128Mi`, `5s`, `100`.
    pub fn show(&self, value: u64) -> String {
        show(self.unit, value)
    }

    /// Parses `text` as this limit, checked against its range, into bytes,
    /// nanoseconds or a count.
    ///
    /// # Errors
    ///
    /// Not a size, duration or count; zero; above the ceiling.
    pub fn parse(&self, text: &str) -> Result<u64, LimitError> {
        let parsed = match self.unit {
            LimitUnit::Bytes => size(self.key, text)?,
            LimitUnit::Duration => duration(self.key, text)?,
            LimitUnit::Count => count(self.key, text)?,
        };
        let minimum = if self.unit == LimitUnit::Duration {
            1_000_000
        } else {
            1
        };
        if parsed < minimum || parsed > self.ceiling {
            return Err(LimitError::OutOfRange {
                key: self.key.to_string(),
                value: text.to_string(),
                range: format!(
                    "from {} to {}",
                    show(self.unit, minimum),
                    show(self.unit, self.ceiling)
                ),
            });
        }
        Ok(parsed)
    }
}

/// Every tunable limit with its hard ceiling. The ceilings bound what one
/// component can cost the host whatever the chart or the flags say, and the
/// engine's pooling allocator is sized so that every value up to a ceiling
/// is really reachable.
pub const LIMITS: &[LimitSpec] = &[
    spec("memory", LimitUnit::Bytes, MAX_MEMORY_BYTES),
    spec("timeout", LimitUnit::Duration, 600_000_000_000),
    spec("output", LimitUnit::Bytes, 256 << 20),
    spec("instances", LimitUnit::Count, 1_000),
    spec("tables", LimitUnit::Count, 1_000),
    spec("tableElements", LimitUnit::Count, 4_000_000),
    spec("memories", LimitUnit::Count, 64),
    spec("logLines", LimitUnit::Count, 100_000),
    spec("logBytes", LimitUnit::Bytes, 64 << 20),
    spec("files", LimitUnit::Count, 1_024),
    spec("componentSize", LimitUnit::Bytes, 512 << 20),
    spec("compileTimeout", LimitUnit::Duration, 600_000_000_000),
    spec("compileMemory", LimitUnit::Bytes, 16 << 30),
];

/// The hard ceiling of the limit named `key` (0 for an unknown key).
pub const fn ceiling(key: &str) -> u64 {
    let mut i = 0;
    while i < LIMITS.len() {
        if const_eq(LIMITS[i].key, key) {
            return LIMITS[i].ceiling;
        }
        i += 1;
    }
    0
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Limits given explicitly, as `(key, value)` pairs in bytes, nanoseconds
/// or counts, already checked against their ceilings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    entries: Vec<(&'static str, u64)>,
}

/// A limit that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// The key is not a known limit.
    #[error("unknown limit '{0}' (known: {known})", known = known_keys())]
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
    /// The value is zero or above the limit's hard ceiling.
    #[error("limit '{key}': '{value}' is out of range ({range})")]
    OutOfRange {
        key: String,
        value: String,
        range: String,
    },
    /// `limits:` is not a map.
    #[error("`limits` must be a map like {{memory: 64Mi, timeout: 2s}}")]
    NotAMap,
}

fn known_keys() -> String {
    LIMITS.iter().map(|s| s.key).collect::<Vec<_>>().join(", ")
}

impl Limits {
    /// Applies every override that is set.
    pub fn merge(&self, overrides: &LimitOverrides) -> Limits {
        let mut limits = *self;
        for &(key, value) in &overrides.entries {
            limits.assign(key, value);
        }
        limits
    }

    /// The limit named `key` as a plain number (bytes, nanoseconds or a
    /// count), as [`LimitSpec::parse`] gives it; `None` for an unknown key.
    pub fn get(&self, key: &str) -> Option<u64> {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Some(match key {
            "memory" => self.memory_bytes,
            "timeout" => nanos(self.timeout),
            "output" => self.output_bytes,
            "instances" => u64::from(self.instances),
            "tables" => u64::from(self.tables),
            "tableElements" => u64::from(self.table_elements),
            "memories" => u64::from(self.memories),
            "logLines" => u64::from(self.log_lines),
            "logBytes" => self.log_bytes,
            "files" => u64::from(self.files),
            "componentSize" => self.component_bytes,
            "compileTimeout" => nanos(self.compile_timeout),
            "compileMemory" => self.compile_memory_bytes,
            _ => return None,
        })
    }

    /// Stores an already checked value (bytes, nanoseconds or a count), the
    /// inverse of [`Limits::get`]; an unknown key is ignored.
    pub fn assign(&mut self, key: &str, value: u64) {
        let count = u32::try_from(value).unwrap_or(u32::MAX);
        match key {
            "memory" => self.memory_bytes = value,
            "timeout" => self.timeout = Duration::from_nanos(value),
            "output" => self.output_bytes = value,
            "instances" => self.instances = count,
            "tables" => self.tables = count,
            "tableElements" => self.table_elements = count,
            "memories" => self.memories = count,
            "logLines" => self.log_lines = count,
            "logBytes" => self.log_bytes = value,
            "files" => self.files = count,
            "componentSize" => self.component_bytes = value,
            "compileTimeout" => self.compile_timeout = Duration::from_nanos(value),
            "compileMemory" => self.compile_memory_bytes = value,
            _ => {}
        }
    }

    /// Sets one limit from text, as written in a `limits:` map or a flag;
    /// see [`LIMITS`] for the keys, their units and their ceilings.
    ///
    /// # Errors
    ///
    /// An unknown key, or a value that does not parse, is zero (under 1ms
    /// for durations) or is above the limit's ceiling.
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
        let spec = LimitSpec::find(key).ok_or_else(|| LimitError::UnknownKey(key.to_string()))?;
        let parsed = spec.parse(value)?;
        self.entries.retain(|(k, _)| *k != spec.key);
        self.entries.push((spec.key, parsed));
        Ok(())
    }
}

/// A limit value as users write it.
fn show(unit: LimitUnit, value: u64) -> String {
    match unit {
        LimitUnit::Bytes if value == 1 => "1 byte".to_string(),
        LimitUnit::Bytes => format_size(value),
        LimitUnit::Duration => format_duration(Duration::from_nanos(value)),
        LimitUnit::Count => value.to_string(),
    }
}

fn size(key: &str, value: &str) -> Result<u64, LimitError> {
    parse_size(value).ok_or_else(|| LimitError::BadSize {
        key: key.to_string(),
        value: value.to_string(),
    })
}

fn duration(key: &str, value: &str) -> Result<u64, LimitError> {
    let d = parse_duration(value).ok_or_else(|| LimitError::BadDuration {
        key: key.to_string(),
        value: value.to_string(),
    })?;
    Ok(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn count(key: &str, value: &str) -> Result<u64, LimitError> {
    value.trim().parse().map_err(|_| LimitError::BadCount {
        key: key.to_string(),
        value: value.to_string(),
    })
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

/// Formats a duration the way users write it: `5s`, `300ms`, `1.5s`, `10m`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms >= 60_000 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
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
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
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
