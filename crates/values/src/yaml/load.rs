//! YAML text -> JSON values the way Helm reads it: go-yaml v2 (YAML 1.1 scalars, `<<` merges,
//! non-string keys stringified) followed by a JSON round trip (every number a float64).
//!
//! Values are built straight from parse events (no intermediate node tree), so memory is the
//! text plus the values. Depth and alias expansion are bounded so hostile input gets an error,
//! not a crash: the expansion count is checked before an alias is copied.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde_json::{Map, Value};

use super::parse::{CORE, Ev, Event, Parser};
use super::resolve::{Scalar, resolve_plain};
use super::scan::{Pos, Problem};
use crate::error::Error;
use crate::path::{Mark, Marks, Seg};

/// Deepest nesting accepted (maps and lists, aliases included).
pub const MAX_DEPTH: usize = 256;
/// Most nodes one document may expand to once aliases are followed.
pub const MAX_NODES: usize = 5_000_000;

/// A scalar as written: resolved later, differently as a key and as a value.
#[derive(Clone)]
struct Raw {
    text: String,
    tag: Option<Box<str>>,
    implicit: bool,
}

/// What an anchor names.
enum Anchored {
    Scalar(Raw),
    Tree(Value),
}

struct Anchor {
    what: Anchored,
    mark: Mark,
    size: usize,
    height: usize,
    /// Positions inside the anchored node, relative to it (only when positions are wanted).
    marks: Vec<(Vec<Seg>, Mark)>,
}

/// A map key: a string, `<<`, or one that cannot be a key (its error already kept).
enum Key {
    Str(String),
    Merge,
    Bad,
}

/// A built node: its value, expanded size and height.
struct Built {
    value: Value,
    size: usize,
    height: usize,
}

/// One document: its value and where it starts.
pub struct Doc {
    /// The document's value (`Value::Null` when empty).
    pub value: Value,
    /// Where its content starts, for "not a map" errors.
    pub start: Mark,
    /// Every node's position by path, when asked for.
    pub marks: Marks,
}

fn mark_of(p: Pos) -> Mark {
    Mark {
        line: p.line + 1,
        col: p.col + 1,
    }
}

struct Reader<'a> {
    parser: Parser<'a>,
    origin: &'a str,
    anchors: HashMap<String, Rc<Anchor>>,
    open_anchors: HashSet<String>,
    /// Positions in the order met (later ones win), when asked for.
    log: Option<Vec<(Vec<Seg>, Mark)>>,
    path: Vec<Seg>,
    /// Nodes of the current document after alias expansion.
    nodes: usize,
    /// The first error of each later phase, reported once the document has parsed (Helm
    /// parses a whole document before go-yaml decodes it, sigs.k8s.io/yaml stringifies its
    /// keys and the JSON writer meets infinities, in that order).
    deferred: [Option<Error>; 3],
}

/// go-yaml v2's decoding (tags, merges, map and list keys, recursive anchors).
const DECODE: usize = 0;
/// sigs.k8s.io/yaml's key conversion (null and uint64 keys).
const KEYS: usize = 1;
/// Go's JSON writer (infinity and NaN).
const JSON: usize = 2;

impl Reader<'_> {
    fn err(&self, mark: Mark, message: impl Into<String>) -> Error {
        Error::yaml(self.origin, mark, message)
    }

    fn next(&mut self) -> Result<(Ev, Mark), Error> {
        match self.parser.next() {
            Ok(Event { ev, start }) => Ok((ev, mark_of(start))),
            Err(Problem { pos, problem }) => Err(self.err(mark_of(pos), problem)),
        }
    }

    fn record(&mut self, mark: Mark) {
        if let Some(log) = &mut self.log {
            log.push((self.path.clone(), mark));
        }
    }

    fn count(&mut self, n: usize, mark: Mark) -> Result<(), Error> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(self.err(
                mark,
                format!("aliases expand to more than {MAX_NODES} nodes (alias bomb?)"),
            ));
        }
        Ok(())
    }

    /// Keeps the first error of a phase for the end of the document.
    fn soft(&mut self, phase: usize, e: Error) {
        self.deferred[phase].get_or_insert(e);
    }

    /// Every document (`first_only`: the first one, as go-yaml v2's Unmarshal reads it).
    fn documents(&mut self, first_only: bool) -> Result<Vec<Doc>, Error> {
        let mut docs = Vec::new();
        loop {
            let (ev, mark) = self.next()?;
            match ev {
                Ev::StreamStart => {}
                Ev::StreamEnd => return Ok(docs),
                Ev::DocStart => {
                    self.anchors.clear();
                    self.nodes = 0;
                    let (ev, start) = self.next()?;
                    let root = self.node(ev, start, 0, false)?;
                    let (end, em) = self.next()?;
                    if !matches!(end, Ev::DocEnd) {
                        return Err(self.err(em, "expected the end of the document"));
                    }
                    if let Some(e) = self.deferred.iter_mut().find_map(Option::take) {
                        return Err(e);
                    }
                    let marks = self.log.as_mut().map(std::mem::take).unwrap_or_default();
                    docs.push(Doc {
                        value: root.value,
                        start,
                        marks: marks.into_iter().collect(),
                    });
                    if first_only {
                        return Ok(docs);
                    }
                }
                _ => return Err(self.err(mark, "unexpected event outside a document")),
            }
        }
    }

    /// Builds one node. `flat`: the items of a list after `<<` take the list's own path.
    fn node(&mut self, ev: Ev, mark: Mark, depth: usize, flat: bool) -> Result<Built, Error> {
        if depth > MAX_DEPTH {
            return Err(self.err(mark, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        match ev {
            Ev::Alias(name) => self.alias(&name, mark, depth),
            Ev::Scalar {
                value,
                anchor,
                tag,
                implicit,
                ..
            } => {
                let raw = Raw {
                    text: value,
                    tag: tag.map(String::into_boxed_str),
                    implicit,
                };
                self.scalar_node(raw, anchor, mark)
            }
            Ev::SeqStart { anchor } => self.seq(anchor, mark, depth, flat),
            Ev::MapStart { anchor } => self.map(anchor, mark, depth),
            _ => Err(self.err(mark, "unexpected YAML event")),
        }
    }

    fn scalar_node(
        &mut self,
        raw: Raw,
        anchor: Option<String>,
        mark: Mark,
    ) -> Result<Built, Error> {
        self.count(1, mark)?;
        self.record(mark);
        let value = self.value_of(&raw, mark);
        if let Some(a) = anchor {
            self.define(a, Anchored::Scalar(raw), mark, 1, 0, Vec::new());
        }
        Ok(Built {
            value,
            size: 1,
            height: 0,
        })
    }

    fn seq(
        &mut self,
        anchor: Option<String>,
        mark: Mark,
        depth: usize,
        flat: bool,
    ) -> Result<Built, Error> {
        let start = self.begin(anchor.as_deref(), mark)?;
        let mut items = Vec::new();
        let (mut size, mut height) = (1usize, 0usize);
        loop {
            let (ev, m) = self.next()?;
            if matches!(ev, Ev::SeqEnd) {
                break;
            }
            if !flat {
                self.path.push(Seg::Index(items.len()));
            }
            let b = self.node(ev, m, depth + 1, false);
            if !flat {
                self.path.pop();
            }
            let b = b?;
            size = size.saturating_add(b.size);
            height = height.max(b.height + 1);
            items.push(b.value);
        }
        let built = Built {
            value: Value::Array(items),
            size,
            height: height.max(1),
        };
        Ok(self.end(anchor, built, mark, start))
    }

    fn map(&mut self, anchor: Option<String>, mark: Mark, depth: usize) -> Result<Built, Error> {
        let start = self.begin(anchor.as_deref(), mark)?;
        let mut out = Map::new();
        let (mut size, mut height) = (1usize, 0usize);
        loop {
            let (ev, m) = self.next()?;
            if matches!(ev, Ev::MapEnd) {
                break;
            }
            let (s, h) = self.pair(ev, m, depth, &mut out)?;
            size = size.saturating_add(s);
            height = height.max(h + 1);
        }
        let built = Built {
            value: Value::Object(out),
            size,
            height: height.max(1),
        };
        Ok(self.end(anchor, built, mark, start))
    }

    /// Starts a collection: its position, its anchor marked open; returns the log length.
    fn begin(&mut self, anchor: Option<&str>, mark: Mark) -> Result<usize, Error> {
        self.count(1, mark)?;
        let start = self.log.as_ref().map_or(0, Vec::len);
        self.record(mark);
        if let Some(a) = anchor {
            self.open_anchors.insert(a.to_string());
        }
        Ok(start)
    }

    /// Ends a collection: an anchor on it is defined now (with a copy of its value).
    fn end(&mut self, anchor: Option<String>, built: Built, mark: Mark, start: usize) -> Built {
        if let Some(a) = anchor {
            let depth = self.path.len();
            let marks = self.log.as_ref().map_or_else(Vec::new, |log| {
                log[start..]
                    .iter()
                    .map(|(p, m)| (p[depth.min(p.len())..].to_vec(), *m))
                    .collect()
            });
            let tree = Anchored::Tree(built.value.clone());
            self.define(a, tree, mark, built.size, built.height, marks);
        }
        built
    }

    fn define(
        &mut self,
        name: String,
        what: Anchored,
        mark: Mark,
        size: usize,
        height: usize,
        marks: Vec<(Vec<Seg>, Mark)>,
    ) {
        self.open_anchors.remove(&name);
        let anchor = Anchor {
            what,
            mark,
            size,
            height,
            marks,
        };
        self.anchors.insert(name, Rc::new(anchor));
    }

    /// The anchor an alias names (`None`, with a decode error kept, inside its own anchor).
    fn lookup(&mut self, name: &str, mark: Mark) -> Result<Option<Rc<Anchor>>, Error> {
        if self.open_anchors.contains(name) {
            let e = self.err(mark, format!("anchor '{name}' value contains itself"));
            self.soft(DECODE, e);
            return Ok(None);
        }
        match self.anchors.get(name) {
            Some(a) => Ok(Some(a.clone())),
            None => Err(self.err(mark, format!("unknown anchor '{name}' referenced"))),
        }
    }

    /// A scalar's value; a conversion error is kept for the end of the document.
    fn value_of(&mut self, raw: &Raw, mark: Mark) -> Value {
        match self.scalar(raw, mark) {
            Ok(v) => v,
            Err((phase, e)) => {
                self.soft(phase, e);
                Value::Null
            }
        }
    }

    fn alias(&mut self, name: &str, mark: Mark, depth: usize) -> Result<Built, Error> {
        let Some(a) = self.lookup(name, mark)? else {
            return Ok(Built {
                value: Value::Null,
                size: 1,
                height: 0,
            });
        };
        if depth + a.height > MAX_DEPTH {
            return Err(self.err(
                mark,
                format!("alias expands deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count(a.size, mark)?;
        if let Some(log) = &mut self.log {
            log.push((self.path.clone(), a.mark));
            for (rel, m) in &a.marks {
                let mut p = self.path.clone();
                p.extend(rel.iter().cloned());
                log.push((p, *m));
            }
        }
        let value = match &a.what {
            Anchored::Scalar(raw) => self.value_of(raw, mark),
            Anchored::Tree(v) => v.clone(),
        };
        Ok(Built {
            value,
            size: a.size,
            height: a.height,
        })
    }

    /// One key and its value into `out`; returns their size and height.
    fn pair(
        &mut self,
        ev: Ev,
        mark: Mark,
        depth: usize,
        out: &mut Map<String, Value>,
    ) -> Result<(usize, usize), Error> {
        let (key, key_size) = self.read_key(ev, mark)?;
        let (ev, m) = self.next()?;
        let b = match key {
            Key::Merge => {
                let via_alias = matches!(ev, Ev::Alias(_));
                let start = self.log.as_ref().map_or(0, Vec::len);
                let b = self.node(ev, m, depth + 1, true)?;
                self.forget_own_mark(start);
                if let Err(e) = self.merge(b.value, via_alias, m, out) {
                    self.soft(DECODE, e);
                }
                return Ok((key_size + b.size, b.height));
            }
            Key::Bad => self.node(ev, m, depth + 1, false)?,
            Key::Str(key) => {
                self.path.push(Seg::Key(key));
                let b = self.node(ev, m, depth + 1, false);
                let Some(Seg::Key(key)) = self.path.pop() else {
                    unreachable!("pushed a key")
                };
                let b = b?;
                out.insert(key, b.value);
                return Ok((key_size + b.size, b.height));
            }
        };
        Ok((key_size + b.size, b.height))
    }

    /// Reads a map key (its value not yet).
    #[inline(never)]
    fn read_key(&mut self, ev: Ev, mark: Mark) -> Result<(Key, usize), Error> {
        Ok(match ev {
            Ev::Scalar {
                value,
                anchor,
                tag,
                implicit,
                ..
            } => {
                self.count(1, mark)?;
                let raw = Raw {
                    text: value,
                    tag: tag.map(String::into_boxed_str),
                    implicit,
                };
                let merge = raw.text == "<<"
                    && (raw.implicit || raw.tag.as_deref() == Some("tag:yaml.org,2002:merge"));
                let key = if merge {
                    Key::Merge
                } else {
                    self.key_of(&raw, mark)
                };
                if let Some(a) = anchor {
                    self.define(a, Anchored::Scalar(raw), mark, 1, 0, Vec::new());
                }
                (key, 1)
            }
            Ev::Alias(name) => match self.lookup(&name, mark)? {
                None => (Key::Bad, 1),
                Some(a) => {
                    self.count(a.size, mark)?;
                    match &a.what {
                        Anchored::Scalar(raw) => (self.key_of(raw, mark), 1),
                        Anchored::Tree(v) => {
                            let what = if v.is_object() { "a map" } else { "a list" };
                            let e =
                                self.err(mark, format!("invalid map key: {what} cannot be a key"));
                            self.soft(DECODE, e);
                            (Key::Bad, a.size)
                        }
                    }
                }
            },
            Ev::MapStart { .. } | Ev::SeqStart { .. } => {
                let what = if matches!(ev, Ev::MapStart { .. }) {
                    "a map"
                } else {
                    "a list"
                };
                let e = self.err(mark, format!("invalid map key: {what} cannot be a key"));
                self.soft(DECODE, e);
                (Key::Bad, self.skip_collection(mark)?)
            }
            _ => return Err(self.err(mark, "unexpected YAML event")),
        })
    }

    /// Consumes a collection used as a key (refused once the document has parsed), without
    /// recursion; returns how many nodes it had.
    fn skip_collection(&mut self, mark: Mark) -> Result<usize, Error> {
        let mut open = 1usize;
        let mut nodes = 1usize;
        while open > 0 {
            let (ev, m) = self.next()?;
            match ev {
                Ev::MapStart { .. } | Ev::SeqStart { .. } => open += 1,
                Ev::MapEnd | Ev::SeqEnd => open -= 1,
                _ => {}
            }
            if open > MAX_DEPTH {
                return Err(self.err(m, format!("nesting deeper than {MAX_DEPTH} levels")));
            }
            nodes += 1;
            self.count(1, mark)?;
        }
        Ok(nodes)
    }

    /// A key's string; a conversion error is kept for the end of the document.
    fn key_of(&mut self, raw: &Raw, mark: Mark) -> Key {
        match self.key(raw, mark) {
            Ok(k) => Key::Str(k),
            Err((phase, e)) => {
                self.soft(phase, e);
                Key::Bad
            }
        }
    }

    /// A merged value's own position is not the position of the map it merges into.
    fn forget_own_mark(&mut self, start: usize) {
        let here = self.path.len();
        if let Some(log) = &mut self.log {
            let tail: Vec<_> = log
                .drain(start..)
                .filter(|(p, _)| p.len() != here)
                .collect();
            log.extend(tail);
        }
    }

    /// go-yaml v2's `<<`: a map, or a list of maps (earlier ones win), written over what is
    /// already there; an alias after `<<` must name a map.
    fn merge(
        &self,
        v: Value,
        via_alias: bool,
        mark: Mark,
        out: &mut Map<String, Value>,
    ) -> Result<(), Error> {
        let refuse = || {
            self.err(
                mark,
                "map merge requires map or sequence of maps as the value",
            )
        };
        match v {
            Value::Object(m) => out.extend(m),
            Value::Array(items) if !via_alias => {
                if !items.iter().all(Value::is_object) {
                    return Err(refuse());
                }
                for item in items.into_iter().rev() {
                    if let Value::Object(m) = item {
                        out.extend(m);
                    }
                }
            }
            _ => return Err(refuse()),
        }
        Ok(())
    }

    fn key(&self, raw: &Raw, mark: Mark) -> Result<String, (usize, Error)> {
        match self.classify(raw, mark).map_err(|e| (DECODE, e))? {
            Scalar::Str | Scalar::Merge => Ok(raw.text.clone()),
            Scalar::Bytes(s) => Ok(s),
            Scalar::Bool(b) => Ok(b.to_string()),
            Scalar::Int(i) => Ok(i.to_string()),
            Scalar::Uint(_) => Err((
                KEYS,
                self.err(
                    mark,
                    format!(
                        "unsupported map key of type: uint64, key: {} (Helm reads integer keys \
                         above 9223372036854775807 as uint64 and cannot make them a string; \
                         quote it)",
                        raw.text
                    ),
                ),
            )),
            Scalar::Float(f) => Ok(go_float32_key(f)),
            Scalar::Null => Err((
                KEYS,
                self.err(
                    mark,
                    "unsupported map key of type: null (quote the key to make it a string)",
                ),
            )),
        }
    }

    fn scalar(&self, raw: &Raw, mark: Mark) -> Result<Value, (usize, Error)> {
        Ok(match self.classify(raw, mark).map_err(|e| (DECODE, e))? {
            Scalar::Str | Scalar::Merge => Value::String(raw.text.clone()),
            Scalar::Bytes(s) => Value::String(s),
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => number(i as f64),
            Scalar::Uint(u) => number(u as f64),
            Scalar::Float(f) if f.is_finite() => number(f),
            Scalar::Float(f) => {
                let go = if f.is_nan() {
                    "NaN"
                } else if f > 0.0 {
                    "+Inf"
                } else {
                    "-Inf"
                };
                return Err((
                    JSON,
                    self.err(
                        mark,
                        format!(
                            "json: unsupported value: {go} ({:?} is infinity or NaN, which JSON \
                             and Helm's values cannot hold; quote it for a string)",
                            raw.text
                        ),
                    ),
                ));
            }
        })
    }

    /// go-yaml v2's resolution of a scalar: quoted and block scalars are strings, plain ones
    /// follow YAML 1.1, a core tag (`!!int`...) must match what the text resolves to, `!!binary`
    /// is decoded, any other tag leaves the text a string.
    fn classify(&self, raw: &Raw, mark: Mark) -> Result<Scalar, Error> {
        let text = raw.text.as_str();
        let Some(tag) = raw.tag.as_deref() else {
            return Ok(if raw.implicit {
                resolve_plain(text)
            } else {
                Scalar::Str
            });
        };
        let Some(short) = tag.strip_prefix(CORE) else {
            return Ok(Scalar::Str);
        };
        let resolved = match short {
            "str" => return Ok(Scalar::Str),
            "binary" => {
                return super::resolve::decode_binary(text)
                    .map(Scalar::Bytes)
                    .ok_or_else(|| self.err(mark, "!!binary value contains invalid base64 data"));
            }
            "bool" | "int" | "float" | "null" | "timestamp" => resolve_plain(text),
            _ => return Ok(Scalar::Str),
        };
        let got = match &resolved {
            Scalar::Null => "null",
            Scalar::Bool(_) => "bool",
            Scalar::Int(_) | Scalar::Uint(_) => "int",
            Scalar::Float(_) => "float",
            _ if super::resolve::is_go_timestamp(text) => "timestamp",
            _ => "str",
        };
        match (short, got) {
            (want, got) if want == got => Ok(if got == "timestamp" {
                Scalar::Str
            } else {
                resolved
            }),
            ("float", "int") => Ok(match resolved {
                Scalar::Int(i) => Scalar::Float(i as f64),
                Scalar::Uint(u) => Scalar::Float(u as f64),
                other => other,
            }),
            _ => Err(self.err(
                mark,
                format!("cannot decode !!{got} `{text}` as a !!{short}"),
            )),
        }
    }
}

fn reader<'a>(
    text: &'a str,
    origin: &'a str,
    first_line: usize,
    want_marks: bool,
) -> Result<Reader<'a>, Error> {
    if let Some(p) = super::scan::first_control_character(text, first_line) {
        return Err(Error::yaml(
            origin,
            mark_of(p),
            "control characters are not allowed",
        ));
    }
    Ok(Reader {
        parser: Parser::new(text, first_line),
        origin,
        anchors: HashMap::new(),
        open_anchors: HashSet::new(),
        log: want_marks.then(Vec::new),
        path: Vec::new(),
        nodes: 0,
        deferred: [None, None, None],
    })
}

/// Reads every document of a YAML stream.
pub fn documents(text: &str, origin: &str) -> Result<Vec<Doc>, Error> {
    reader(text, origin, 0, false)?.documents(false)
}

/// Reads a values file as Helm's chart loader does: the text is cut into documents at lines
/// starting with `---` (apimachinery's YAML reader, which refuses anything but a comment after
/// the dashes), and each piece is read as go-yaml v2's `Unmarshal` reads it: its first document
/// only, with its own anchors.
pub fn values_documents(text: &str, origin: &str, want_marks: bool) -> Result<Vec<Doc>, Error> {
    let mut docs = Vec::new();
    for (range, first_line) in super::split::helm_documents(text, origin)? {
        let mut r = reader(&text[range], origin, first_line, want_marks)?;
        for d in r.documents(true)? {
            // Helm refuses a piece that is not a map before it reads the next one.
            if !(d.value.is_null() || d.value.is_object()) {
                return Err(Error::NotAMap {
                    origin: origin.to_string(),
                    line: d.start.line,
                    col: d.start.col,
                    found: super::kind_name(&d.value).to_string(),
                });
            }
            docs.push(d);
        }
    }
    Ok(docs)
}

/// A JSON number as Helm holds it after the JSON round trip: a float64, written as an
/// integer when it has no fraction.
pub fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.223_372_036_854_775e18 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)` as sigs.k8s.io/yaml uses for float map keys, with
/// its spellings of infinity and NaN.
fn go_float32_key(f: f64) -> String {
    let f32v = f as f32;
    if f32v.is_nan() {
        ".nan".to_string()
    } else if f32v.is_infinite() {
        if f32v > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else {
        super::emit::go_g_from_sci(&format!("{f32v:e}"))
    }
}

/// Merges maps as Helm merges documents of one file and `-f` files: maps merge key by key,
/// everything else in `b` replaces.
pub fn merge_maps(a: &mut Map<String, Value>, b: Map<String, Value>) {
    for (k, v) in b {
        match (a.get_mut(&k), v) {
            (Some(Value::Object(av)), Value::Object(bv)) => merge_maps(av, bv),
            (_, v) => {
                a.insert(k, v);
            }
        }
    }
}
