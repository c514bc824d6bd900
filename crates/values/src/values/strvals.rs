//! The `--set` family grammar, reproducing Helm's `pkg/strvals` behaviour: dotted keys,
//! `\` escapes, `{a,b}` lists, `[i]` indexes (at most 65536), 30 nested key levels, type
//! inference for `--set`, raw strings for `--set-string`, JSON for `--set-json`, verbatim text
//! for `--set-literal` and file contents for `--set-file`. Each expression parses into the map
//! built so far, so an index edits a list that came from a file.

use serde_json::{Map, Value};

use crate::path::Seg;
use crate::yaml::number;

/// Largest list index Helm accepts.
pub const MAX_INDEX: i64 = 65536;
/// Deepest dotted key Helm accepts.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// Which flag an expression came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetKind {
    /// `--set`: values are type-inferred.
    Plain,
    /// `--set-string`: values are strings.
    String,
    /// `--set-json`: values are JSON.
    Json,
    /// `--set-literal`: everything after the first `=` is the string value.
    Literal,
    /// `--set-file`: values are paths whose contents become strings.
    File,
}

/// One value an expression assigned, for provenance.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// Where it was assigned.
    pub path: Vec<Seg>,
    /// What was assigned.
    pub value: Value,
}

/// Reads a `--set-file` path into a value.
pub type FileReader<'a> = &'a dyn Fn(&str) -> Result<Value, String>;

enum Stop {
    Eof,
    Fail(String),
}

type R<T> = Result<T, Stop>;

fn fail<T>(msg: impl Into<String>) -> R<T> {
    Err(Stop::Fail(msg.into()))
}

/// Parses one expression into `dest`; returns what it assigned, or Helm's error.
pub fn parse_into(
    kind: SetKind,
    expr: &str,
    dest: &mut Map<String, Value>,
    reader: Option<FileReader<'_>>,
) -> Result<Vec<Assignment>, String> {
    let mut p = Parser {
        chars: expr.chars().collect(),
        pos: 0,
        kind,
        reader,
        assigned: Vec::new(),
    };
    loop {
        let mut path = Vec::new();
        match p.key(dest, 0, &mut path) {
            Ok(()) => {}
            Err(Stop::Eof) => return Ok(p.assigned),
            Err(Stop::Fail(m)) => return Err(m),
        }
    }
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    kind: SetKind,
    reader: Option<FileReader<'a>>,
    assigned: Vec<Assignment>,
}

impl Parser<'_> {
    fn literal(&self) -> bool {
        self.kind == SetKind::Literal
    }

    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Reads up to one of `stop`; returns the text and the stop char (None at the end).
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            let Some(c) = self.read() else {
                return (v, None);
            };
            if stop.contains(&c) {
                return (v, Some(c));
            }
            if c == '\\' && !self.literal() {
                match self.read() {
                    Some(n) => v.push(n),
                    None => return (v, None),
                }
            } else {
                v.push(c);
            }
        }
    }

    fn record(&mut self, path: &[Seg], value: &Value) {
        self.assigned.push(Assignment {
            path: path.to_vec(),
            value: value.clone(),
        });
    }

    fn set(&mut self, data: &mut Map<String, Value>, path: &mut Vec<Seg>, k: &str, v: Value) {
        if k.is_empty() {
            return;
        }
        path.push(Seg::Key(k.to_string()));
        self.record(path, &v);
        path.pop();
        data.insert(k.to_string(), v);
    }

    fn key(&mut self, data: &mut Map<String, Value>, level: usize, path: &mut Vec<Seg>) -> R<()> {
        let stop: &[char] = if self.literal() {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (k, last) = self.until(stop);
        match last {
            None if k.is_empty() => Err(Stop::Eof),
            None => fail(format!("key {k:?} has no value")),
            Some('[') => self.key_list(data, level, path, k),
            Some('=') => self.key_value(data, path, k),
            Some(',') => {
                self.set(data, path, &k, Value::String(String::new()));
                fail(format!("key {k:?} has no value (cannot end with ,)"))
            }
            Some(_) => self.key_map(data, level + 1, path, k),
        }
    }

    fn key_list(
        &mut self,
        data: &mut Map<String, Value>,
        level: usize,
        path: &mut Vec<Seg>,
        k: String,
    ) -> R<()> {
        let i = self.key_index()?;
        let list = match data.get_mut(&k) {
            None => Vec::new(),
            Some(Value::Array(a)) => std::mem::take(a),
            Some(other) => {
                return fail(format!(
                    "unable to parse key: {k:?} is {}, not a list",
                    crate::yaml::kind_name(other)
                ));
            }
        };
        path.push(Seg::Key(k.clone()));
        let (list, r) = self.list_item(list, i, level, path);
        path.pop();
        if !k.is_empty() || data.contains_key(&k) {
            data.insert(k, Value::Array(list));
        }
        r
    }

    fn key_map(
        &mut self,
        data: &mut Map<String, Value>,
        level: usize,
        path: &mut Vec<Seg>,
        k: String,
    ) -> R<()> {
        if level > MAX_NESTED_NAME_LEVEL {
            return fail(format!(
                "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
            ));
        }
        let (existed, mut inner) = match data.get_mut(&k) {
            None => (false, Map::new()),
            Some(Value::Object(m)) => (true, std::mem::take(m)),
            Some(other) => {
                return fail(format!(
                    "unable to parse key: {k:?} is {}, not a map",
                    crate::yaml::kind_name(other)
                ));
            }
        };
        path.push(Seg::Key(k.clone()));
        let r = self.key(&mut inner, level, path);
        path.pop();
        let empty = inner.is_empty();
        if existed || (!empty && !k.is_empty()) {
            data.insert(k.clone(), Value::Object(inner));
        }
        match r {
            Ok(()) if empty => fail(format!("key map {k:?} has no value")),
            r => r,
        }
    }

    fn key_value(
        &mut self,
        data: &mut Map<String, Value>,
        path: &mut Vec<Seg>,
        k: String,
    ) -> R<()> {
        match self.kind {
            SetKind::Literal => {
                let v: String = self.chars[self.pos..].iter().collect();
                self.pos = self.chars.len();
                self.set(data, path, &k, Value::String(v));
                Ok(())
            }
            SetKind::Json => {
                let v = self.json_value()?;
                self.set(data, path, &k, v);
                Ok(())
            }
            _ => match self.val_list() {
                Ok(vl) => {
                    self.set(data, path, &k, Value::Array(vl));
                    Ok(())
                }
                Err(ListErr::Eof) => {
                    self.set(data, path, &k, Value::String(String::new()));
                    Err(Stop::Eof)
                }
                Err(ListErr::NotList) => {
                    let (rs, _) = self.until(&[',']);
                    let v = self.typed(&rs)?;
                    self.set(data, path, &k, v);
                    Ok(())
                }
                Err(ListErr::Fail(m)) => fail(m),
            },
        }
    }

    /// A JSON value after `=`: empty means null; then any spaces and one comma are eaten.
    fn json_value(&mut self) -> R<Value> {
        if self.empty_val() {
            return Ok(Value::Null);
        }
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut it = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
        let v = match it.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return fail(format!("invalid JSON: {e}")),
            None => return fail("invalid JSON: unexpected end of input"),
        };
        let used = rest[..it.byte_offset()].chars().count();
        self.pos += used;
        self.empty_val();
        Ok(json_floats(v))
    }

    fn empty_val(&mut self) -> bool {
        loop {
            match self.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.pos -= 1;
                    return false;
                }
            }
        }
    }

    /// Reads `N]` after a `[`. An index without its `]` is an error naming the position: Helm
    /// stops parsing there without a word, silently dropping the rest of the flag (`a[=1`
    /// sets nothing), which wasmchart refuses rather than copies.
    fn key_index(&mut self) -> R<i64> {
        let open = self.pos;
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            return fail(format!(
                "the '[' at character {open} has no closing ']' (Helm would silently ignore the rest of the expression)"
            ));
        }
        go_atoi(&v).map_err(|e| Stop::Fail(format!("error parsing index: {e}")))
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: i64,
        level: usize,
        path: &mut Vec<Seg>,
    ) -> (Vec<Value>, R<()>) {
        if i < 0 {
            return (list, fail(format!("negative {i} index not allowed")));
        }
        let (k, last) = self.until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                fail(format!("unexpected data at end of array index: {k:?}")),
            );
        }
        let idx = i as usize;
        path.push(Seg::Index(idx));
        let r = match last {
            None => Err(Stop::Eof),
            Some('=') => self.item_value(&mut list, i, path),
            Some('[') => self.item_list(&mut list, i, level, path),
            Some(_) => self.item_map(&mut list, i, level, path),
        };
        path.pop();
        (list, r)
    }

    fn item_value(&mut self, list: &mut Vec<Value>, i: i64, path: &[Seg]) -> R<()> {
        let v = match self.kind {
            SetKind::Literal => {
                let v: String = self.chars[self.pos..].iter().collect();
                self.pos = self.chars.len();
                Value::String(v)
            }
            SetKind::Json => self.json_value()?,
            _ => match self.val_list() {
                Ok(vl) => Value::Array(vl),
                Err(ListErr::Eof) => Value::String(String::new()),
                Err(ListErr::NotList) => {
                    let (rs, _) = self.until(&[',']);
                    self.typed(&rs)?
                }
                Err(ListErr::Fail(m)) => return fail(m),
            },
        };
        self.record(path, &v);
        set_index(list, i, v)
    }

    fn item_list(
        &mut self,
        list: &mut Vec<Value>,
        i: i64,
        level: usize,
        path: &mut Vec<Seg>,
    ) -> R<()> {
        let next = self.key_index()?;
        let idx = i as usize;
        let crt = if idx < list.len() {
            match &mut list[idx] {
                Value::Null => Vec::new(),
                Value::Array(a) => std::mem::take(a),
                other => {
                    return fail(format!(
                        "unable to parse key: index {i} is {}, not a list",
                        crate::yaml::kind_name(other)
                    ));
                }
            }
        } else {
            Vec::new()
        };
        let (inner, r) = self.list_item(crt, next, level, path);
        if idx < list.len() && list[idx].is_array() {
            list[idx] = Value::Array(inner.clone());
        }
        r?;
        set_index(list, i, Value::Array(inner))
    }

    fn item_map(
        &mut self,
        list: &mut Vec<Value>,
        i: i64,
        level: usize,
        path: &mut Vec<Seg>,
    ) -> R<()> {
        let idx = i as usize;
        let mut inner = if idx < list.len() {
            match &mut list[idx] {
                Value::Object(m) => std::mem::take(m),
                _ => Map::new(),
            }
        } else {
            Map::new()
        };
        let r = self.key(&mut inner, level, path);
        if idx < list.len() {
            list[idx] = Value::Object(inner.clone());
        }
        r?;
        set_index(list, i, Value::Object(inner))
    }

    fn val_list(&mut self) -> Result<Vec<Value>, ListErr> {
        match self.read() {
            None => return Err(ListErr::Eof),
            Some('{') => {}
            Some(_) => {
                self.pos -= 1;
                return Err(ListErr::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.until(&[',', '}']);
            match last {
                None => return Err(ListErr::Fail("list must terminate with '}'".into())),
                Some('}') => {
                    if let Some(c) = self.read()
                        && c != ','
                    {
                        self.pos -= 1;
                    }
                    list.push(self.typed(&rs).map_err(ListErr::from)?);
                    return Ok(list);
                }
                Some(_) => list.push(self.typed(&rs).map_err(ListErr::from)?),
            }
        }
    }

    fn typed(&self, rs: &str) -> R<Value> {
        match self.kind {
            SetKind::String => Ok(Value::String(rs.to_string())),
            SetKind::File => match self.reader {
                Some(read) => read(rs).map_err(Stop::Fail),
                None => fail("no file reader for --set-file"),
            },
            _ => Ok(typed_val(rs)),
        }
    }
}

enum ListErr {
    Eof,
    NotList,
    Fail(String),
}

impl From<Stop> for ListErr {
    fn from(s: Stop) -> Self {
        match s {
            Stop::Eof => ListErr::Eof,
            Stop::Fail(m) => ListErr::Fail(m),
        }
    }
}

fn set_index(list: &mut Vec<Value>, i: i64, v: Value) -> R<()> {
    if i < 0 {
        return fail(format!("negative {i} index not allowed"));
    }
    if i > MAX_INDEX {
        return fail(format!(
            "index of {i} is greater than maximum supported index of {MAX_INDEX}"
        ));
    }
    let idx = i as usize;
    if list.len() <= idx {
        list.resize(idx + 1, Value::Null);
    }
    list[idx] = v;
    Ok(())
}

/// Go's `strconv.Atoi`, with its error wording.
fn go_atoi(s: &str) -> Result<i64, String> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {s:?}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {s:?}: value out of range"))
}

/// `--set` type inference: true/false/null in any case, int64 without a leading zero.
pub fn typed_val(s: &str) -> Value {
    if s.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if s.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if s.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if s == "0" {
        return Value::from(0i64);
    }
    if !s.is_empty()
        && !s.starts_with('0')
        && let Ok(i) = s.parse::<i64>()
    {
        return Value::from(i);
    }
    Value::String(s.to_string())
}

/// JSON numbers as Go decodes them into `any`: float64.
pub fn json_floats(v: Value) -> Value {
    match v {
        Value::Number(n) => number(n.as_f64().unwrap_or(0.0)),
        Value::Array(a) => Value::Array(a.into_iter().map(json_floats).collect()),
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, v)| (k, json_floats(v))).collect())
        }
        other => other,
    }
}
