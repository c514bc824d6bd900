//! Value paths (`a.b[0].c`) and source positions, shared by the loader, provenance and errors.

use std::collections::HashMap;
use std::fmt;

/// One step into a value: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Seg {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A position in a source file, 1-based, so errors and provenance can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

/// Where each node of a parsed YAML file starts, keyed by its value path.
pub type Marks = HashMap<Vec<Seg>, Mark>;

/// Renders a path as `a.b[0].c` (keys containing dots are quoted in brackets).
pub fn display(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if k.contains('.') || k.contains('[') || k.is_empty() => {
                out.push_str(&format!("[{k:?}]"));
            }
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A displayable wrapper for a path.
pub struct Display<'a>(pub &'a [Seg]);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display(self.0))
    }
}

/// Parses `a.b[0].c` (with `\.` escaping a dot inside a key) into segments.
pub fn parse(text: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    let mut key = String::new();
    let mut chars = text.chars().peekable();
    let mut after_index = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => key.push(n),
                None => return Err("path ends with a backslash".into()),
            },
            '.' => {
                if !after_index {
                    segs.push(Seg::Key(std::mem::take(&mut key)));
                }
                after_index = false;
            }
            '[' => {
                if !(after_index || key.is_empty() && segs.is_empty() && text.starts_with('[')) {
                    segs.push(Seg::Key(std::mem::take(&mut key)));
                }
                let mut idx = String::new();
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some(d) => idx.push(d),
                        None => return Err("unterminated [ in path".into()),
                    }
                }
                let i = idx
                    .parse::<usize>()
                    .map_err(|_| format!("bad index {idx:?}"))?;
                segs.push(Seg::Index(i));
                after_index = true;
            }
            _ => {
                if after_index {
                    return Err(format!("unexpected {c:?} after an index"));
                }
                key.push(c);
            }
        }
    }
    if !after_index {
        segs.push(Seg::Key(key));
    }
    if segs
        .iter()
        .any(|s| matches!(s, Seg::Key(k) if k.is_empty()))
        && text.is_empty()
    {
        return Ok(Vec::new());
    }
    Ok(segs)
}

/// Looks a path up in a JSON value.
pub fn lookup<'v>(value: &'v serde_json::Value, path: &[Seg]) -> Option<&'v serde_json::Value> {
    let mut cur = value;
    for seg in path {
        cur = match (seg, cur) {
            (Seg::Key(k), serde_json::Value::Object(m)) => m.get(k)?,
            (Seg::Index(i), serde_json::Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}
