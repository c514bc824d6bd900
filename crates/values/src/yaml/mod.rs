//! YAML as Helm reads and writes it: a YAML 1.1 reader with positions and bounds, and a
//! go-yaml v2 style writer.

mod emit;
mod load;
mod parse;
mod resolve;
mod scan;
mod split;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::path::Marks;

pub use emit::to_string;
pub use load::{MAX_DEPTH, MAX_NODES};
pub(crate) use load::{merge_maps, number};

/// Parses every document of a YAML stream (component manifests, for example), skipping empty
/// ones. Errors name `origin:line:column`.
pub fn parse_documents(text: &str, origin: &str) -> Result<Vec<Value>, Error> {
    Ok(load::documents(text, origin)?
        .into_iter()
        .map(|d| d.value)
        .filter(|v| !v.is_null())
        .collect())
}

/// Parses a values file as Helm does: every document must be a map (or empty) and the
/// documents are merged in order. Returns the map and where each node starts.
pub fn parse_values(text: &str, origin: &str) -> Result<(Map<String, Value>, Marks), Error> {
    values_impl(text, origin, true)
}

/// Like [`parse_values`] without positions (much cheaper; see [`LazyMarks`]).
pub fn parse_values_map(text: &str, origin: &str) -> Result<Map<String, Value>, Error> {
    values_impl(text, origin, false).map(|(m, _)| m)
}

/// Node positions of a values file, computed only when provenance is asked for.
#[derive(Debug)]
pub struct LazyMarks {
    text: String,
    origin: String,
    cell: std::sync::OnceLock<Marks>,
}

impl LazyMarks {
    /// Keeps the text to compute positions from later.
    pub fn new(text: String, origin: String) -> Self {
        LazyMarks {
            text,
            origin,
            cell: std::sync::OnceLock::new(),
        }
    }

    /// The positions (empty if the text no longer parses).
    pub fn get(&self) -> &Marks {
        self.cell.get_or_init(|| {
            values_impl(&self.text, &self.origin, true)
                .map(|(_, m)| m)
                .unwrap_or_default()
        })
    }
}

fn values_impl(
    text: &str,
    origin: &str,
    want_marks: bool,
) -> Result<(Map<String, Value>, Marks), Error> {
    let mut marks = Marks::new();
    let mut out = Map::new();
    for d in load::values_documents(text, origin, want_marks)? {
        match d.value {
            Value::Null => {}
            Value::Object(m) => {
                merge_maps(&mut out, m);
                marks.extend(d.marks);
            }
            other => {
                return Err(Error::NotAMap {
                    origin: origin.to_string(),
                    line: d.start.line,
                    col: d.start.col,
                    found: kind_name(&other).to_string(),
                });
            }
        }
    }
    Ok((out, marks))
}

/// A short name for a value's kind, for error messages.
pub fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}
