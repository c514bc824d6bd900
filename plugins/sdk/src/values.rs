//! Typed access to a component's merged values.
//!
//! Values reach the component as JSON text (Helm's `.Values` for this
//! subchart, `global` included). Lookups take dotted key paths such as
//! `"image.tag"`; a `null` counts as absent, as it does in Helm templates.
//! A value of the wrong type is an error naming the key, never a silent
//! default.

use crate::RenderError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The merged values of one render.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, serde_json::json};
///
/// let values = Values::parse(r#"{"image": {"tag": "7.2"}, "replicas": 2}"#)?;
/// assert_eq!(values.str_or("image.tag", "latest")?, "7.2");
/// assert_eq!(values.int_in("replicas", 1..=10, 1)?, 2);
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Values {
    root: Value,
}

/// Builds the `invalid-values` error for `path`, e.g.
/// `key 'service.port': expected an integer, found a string ("x")`.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{RenderError, invalid};
///
/// let e = invalid("service.port", "must not be 0");
/// assert!(matches!(e, RenderError::InvalidValues(m) if m == "key 'service.port': must not be 0"));
/// ```
pub fn invalid(path: &str, why: impl std::fmt::Display) -> RenderError {
    RenderError::InvalidValues(format!("key '{path}': {why}"))
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) if s.len() > 40 => {
            format!("a string (\"{}…\")", &s[..s.floor_char_boundary(40)])
        }
        Value::String(s) => format!("a string (\"{s}\")"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

fn wrong(path: &str, expected: &str, found: &Value) -> RenderError {
    invalid(
        path,
        format!("expected {expected}, found {}", describe(found)),
    )
}

impl Values {
    /// Parses the `values-json` the host passed.
    ///
    /// # Errors
    ///
    /// `invalid-values` when the text is not a JSON object.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{RenderError, Values};
    ///
    /// assert!(Values::parse(r#"{"a": 1}"#).is_ok());
    /// assert!(Values::parse("null").is_ok(), "no values at all is an empty map");
    /// assert!(matches!(Values::parse("[1]"), Err(RenderError::InvalidValues(_))));
    /// ```
    pub fn parse(json: &str) -> Result<Self, RenderError> {
        let root: Value = serde_json::from_str(json)
            .map_err(|e| RenderError::InvalidValues(format!("values are not valid JSON: {e}")))?;
        match root {
            Value::Object(_) => Ok(Values { root }),
            Value::Null => Ok(Values::from_value(Value::Object(Map::new()))),
            other => Err(RenderError::InvalidValues(format!(
                "values must be a map, found {}",
                describe(&other)
            ))),
        }
    }

    /// Wraps an already parsed value (tests, nested sections).
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"a": {"b": true}}));
    /// assert!(values.bool_or("a.b", false)?);
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn from_value(root: Value) -> Self {
        Values { root }
    }

    /// The whole values tree.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"a": 1}));
    /// assert_eq!(values.root(), &json!({"a": 1}));
    /// ```
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The value at a dotted `path`, or `None` when absent or `null`.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"a": {"b": 1, "gone": null}}));
    /// assert_eq!(values.get("a.b"), Some(&json!(1)));
    /// assert_eq!(values.get("a.gone"), None, "null is absent");
    /// assert_eq!(values.get("a.b.c"), None);
    /// ```
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut node = &self.root;
        for key in path.split('.') {
            node = node.as_object()?.get(key)?;
        }
        (!node.is_null()).then_some(node)
    }

    /// A string, or `None` when absent.
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not a string.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"name": "x", "port": 80}));
    /// assert_eq!(values.opt_str("name")?, Some("x".to_string()));
    /// assert_eq!(values.opt_str("missing")?, None);
    /// assert!(values.opt_str("port").is_err(), "a number is not a string");
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn opt_str(&self, path: &str) -> Result<Option<String>, RenderError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong(path, "a string", other)),
        }
    }

    /// A string, or `default` when absent. Empty strings are kept.
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not a string.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"empty": ""}));
    /// assert_eq!(values.str_or("empty", "x")?, "");
    /// assert_eq!(values.str_or("missing", "x")?, "x");
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn str_or(&self, path: &str, default: &str) -> Result<String, RenderError> {
        Ok(self.opt_str(path)?.unwrap_or_else(|| default.to_string()))
    }

    /// A non-empty string, or `None` when absent or empty (Helm's `if .Values.x`).
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not a string.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"empty": "", "set": "y"}));
    /// assert_eq!(values.non_empty_str("empty")?, None);
    /// assert_eq!(values.non_empty_str("set")?, Some("y".to_string()));
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn non_empty_str(&self, path: &str) -> Result<Option<String>, RenderError> {
        Ok(self.opt_str(path)?.filter(|s| !s.is_empty()))
    }

    /// A scalar rendered as text: strings as they are, numbers and booleans
    /// in their JSON form. For keys like `image.tag` that YAML may have
    /// parsed as a number (`tag: 7.2`).
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but a list or a map.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"image": {"tag": 7.2}}));
    /// assert_eq!(values.scalar_or("image.tag", "latest")?, "7.2");
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn scalar_or(&self, path: &str, default: &str) -> Result<String, RenderError> {
        match self.get(path) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(v.to_string()),
            Some(other) => Err(wrong(path, "a string", other)),
        }
    }

    /// A boolean, or `default` when absent.
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not a boolean.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"enabled": "yes"}));
    /// assert_eq!(values.bool_or("missing", true)?, true);
    /// assert!(values.bool_or("enabled", false).is_err(), "\"yes\" is a string, not a boolean");
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn bool_or(&self, path: &str, default: bool) -> Result<bool, RenderError> {
        match self.get(path) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(wrong(path, "a boolean", other)),
        }
    }

    /// An integer, or `None` when absent. Integral floats (`3.0`) are accepted.
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not an integer.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"a": 3.0, "b": 3.5}));
    /// assert_eq!(values.opt_i64("a")?, Some(3));
    /// assert!(values.opt_i64("b").is_err());
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn opt_i64(&self, path: &str) -> Result<Option<i64>, RenderError> {
        let Some(value) = self.get(path) else {
            return Ok(None);
        };
        let n = match value {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            _ => None,
        };
        n.map(Some).ok_or_else(|| wrong(path, "an integer", value))
    }

    /// An integer within `range`, or `default` when absent.
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not an integer in `range`.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"replicas": 0}));
    /// assert!(values.int_in("replicas", 1..=10, 1).is_err(), "0 is out of range");
    /// assert_eq!(values.int_in("missing", 1..=10, 1)?, 1);
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn int_in(
        &self,
        path: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> Result<i64, RenderError> {
        let n = self.opt_i64(path)?.unwrap_or(default);
        if range.contains(&n) {
            Ok(n)
        } else {
            Err(invalid(
                path,
                format!("{n} is out of range {}..={}", range.start(), range.end()),
            ))
        }
    }

    /// A TCP/UDP port (1..=65535), or `default` when absent.
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not a valid port number.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"service": {"port": 6379}}));
    /// assert_eq!(values.port_or("service.port", 80)?, 6379);
    /// assert_eq!(values.port_or("metrics.port", 9121)?, 9121);
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn port_or(&self, path: &str, default: u16) -> Result<u16, RenderError> {
        let n = self.int_in(path, 1..=65535, i64::from(default))?;
        u16::try_from(n).map_err(|_| invalid(path, format!("{n} is not a port")))
    }

    /// A map, or `None` when absent.
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not a map.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"resources": {"limits": {}}}));
    /// assert!(values.opt_object("resources")?.is_some_and(|m| m.contains_key("limits")));
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn opt_object(&self, path: &str) -> Result<Option<&Map<String, Value>>, RenderError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(wrong(path, "a map", other)),
        }
    }

    /// A map passed through as is (e.g. `resources`, `affinity`), or `default`
    /// when absent. An empty map counts as set.
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not a map.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({}));
    /// assert_eq!(values.object_or("affinity", json!({}))?, json!({}));
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn object_or(&self, path: &str, default: Value) -> Result<Value, RenderError> {
        Ok(self
            .opt_object(path)?
            .map(|m| Value::Object(m.clone()))
            .unwrap_or(default))
    }

    /// A list, or `None` when absent.
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not a list.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"tolerations": [{"key": "a"}]}));
    /// assert_eq!(values.opt_array("tolerations")?.map(Vec::len), Some(1));
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn opt_array(&self, path: &str) -> Result<Option<&Vec<Value>>, RenderError> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(wrong(path, "a list", other)),
        }
    }

    /// A list of strings (empty when absent).
    ///
    /// # Errors
    ///
    /// `invalid-values` when not a list or an item is not a string.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"args": ["--a", "--b"]}));
    /// assert_eq!(values.strings("args")?, ["--a", "--b"]);
    /// assert!(values.strings("missing")?.is_empty());
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn strings(&self, path: &str) -> Result<Vec<String>, RenderError> {
        let Some(items) = self.opt_array(path)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong(&format!("{path}[{i}]"), "a string", other)),
            })
            .collect()
    }

    /// A map of strings to strings (labels, annotations, nodeSelector), sorted;
    /// empty when absent. Numbers and booleans are turned into text, as
    /// Kubernetes requires string values there.
    ///
    /// # Errors
    ///
    /// `invalid-values` when not a map or a value is a list or a map.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"podLabels": {"tier": "db", "shard": 2}}));
    /// let labels = values.string_map("podLabels")?;
    /// assert_eq!(labels["shard"], "2");
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn string_map(&self, path: &str) -> Result<BTreeMap<String, String>, RenderError> {
        let Some(map) = self.opt_object(path)? else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for (key, value) in map {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                Value::Null => continue,
                other => return Err(wrong(&format!("{path}.{key}"), "a string", other)),
            };
            out.insert(key.clone(), text);
        }
        Ok(out)
    }

    /// The sub-tree at `path` as its own [`Values`] (empty when absent).
    ///
    /// # Errors
    ///
    /// `invalid-values` when present but not a map.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"metrics": {"port": 9121}}));
    /// assert_eq!(values.section("metrics")?.port_or("port", 80)?, 9121);
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn section(&self, path: &str) -> Result<Values, RenderError> {
        Ok(Values::from_value(
            self.object_or(path, Value::Object(Map::new()))?,
        ))
    }
}

/// Turns a string map into a JSON object.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use wasmchart_sdk::{serde_json::json, to_object};
///
/// let map = BTreeMap::from([("a".to_string(), "1".to_string())]);
/// assert_eq!(to_object(&map), json!({"a": "1"}));
/// ```
pub fn to_object(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Helpers shared by the crate's unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::RenderError;

    /// The text of an `invalid-values` error; panics on any other error.
    pub(crate) fn message(e: RenderError) -> String {
        match e {
            RenderError::InvalidValues(m) => m,
            other => panic!("expected invalid-values, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(v: Value) -> Values {
        Values::from_value(v)
    }

    use crate::test_support::message;

    #[test]
    fn typed_lookups() {
        let v = values(json!({
            "image": {"tag": 7.2, "repository": "redis"},
            "service": {"port": 6379.0, "type": null},
            "flags": ["a", "b"],
            "labels": {"a": "x", "n": 1, "gone": null},
        }));
        assert_eq!(v.scalar_or("image.tag", "latest").unwrap(), "7.2");
        assert_eq!(v.str_or("image.repository", "x").unwrap(), "redis");
        assert_eq!(v.port_or("service.port", 1).unwrap(), 6379);
        assert_eq!(
            v.str_or("service.type", "ClusterIP").unwrap(),
            "ClusterIP",
            "null is absent"
        );
        assert_eq!(v.strings("flags").unwrap(), ["a", "b"]);
        let labels = v.string_map("labels").unwrap();
        assert_eq!(labels.get("n").map(String::as_str), Some("1"));
        assert!(!labels.contains_key("gone"));
        assert!(v.get("missing.deeper").is_none());
    }

    #[test]
    fn wrong_types_name_the_key() {
        let v = values(json!({"service": {"port": "http", "enabled": "yes"}, "flags": [1]}));
        assert_eq!(
            message(v.port_or("service.port", 80).unwrap_err()),
            "key 'service.port': expected an integer, found a string (\"http\")"
        );
        assert_eq!(
            message(v.bool_or("service.enabled", false).unwrap_err()),
            "key 'service.enabled': expected a boolean, found a string (\"yes\")"
        );
        assert_eq!(
            message(v.strings("flags").unwrap_err()),
            "key 'flags[0]': expected a string, found a number (1)"
        );
        let v = values(json!({"service": {"port": 70000}}));
        assert_eq!(
            message(v.port_or("service.port", 80).unwrap_err()),
            "key 'service.port': 70000 is out of range 1..=65535"
        );
    }

    #[test]
    fn parse_refuses_non_maps() {
        assert!(Values::parse("{}").is_ok());
        assert!(Values::parse("null").is_ok());
        assert!(message(Values::parse("[1]").unwrap_err()).contains("must be a map"));
        assert!(message(Values::parse("{").unwrap_err()).contains("not valid JSON"));
    }
}
