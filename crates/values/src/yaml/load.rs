//! YAML text -> JSON values the way Helm reads it: go-yaml v2 (YAML 1.1 scalars, `<<` merges,
//! non-string keys stringified) followed by a JSON round trip (every number a float64).
//! Depth and alias expansion are bounded so hostile input gets an error, not a crash.

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

enum Kind {
    Scalar {
        text: String,
        tag: Option<Box<str>>,
        implicit: bool,
    },
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

struct Node {
    kind: Kind,
    mark: Mark,
    /// Nodes after alias expansion.
    size: usize,
    /// Nesting height after alias expansion.
    height: usize,
}

/// One parsed document: its root node (None when the document is empty).
pub struct Doc {
    root: Option<Rc<Node>>,
    start: Mark,
}

fn mark_of(p: Pos) -> Mark {
    Mark {
        line: p.line + 1,
        col: p.col + 1,
    }
}

struct Builder<'a> {
    parser: Parser<'a>,
    origin: &'a str,
    anchors: HashMap<String, Rc<Node>>,
    open_anchors: HashSet<String>,
}

impl Builder<'_> {
    fn err(&self, mark: Mark, message: impl Into<String>) -> Error {
        Error::yaml(self.origin, mark, message)
    }

    fn problem(&self, p: Problem) -> Error {
        self.err(mark_of(p.pos), p.problem)
    }

    fn next(&mut self) -> Result<(Ev, Mark), Error> {
        match self.parser.next() {
            Ok(Event { ev, start }) => Ok((ev, mark_of(start))),
            Err(p) => Err(self.problem(p)),
        }
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
                    let (ev, m) = self.next()?;
                    let root = self.node(ev, m, 0)?;
                    let (end, em) = self.next()?;
                    if !matches!(end, Ev::DocEnd) {
                        return Err(self.err(em, "expected the end of the document"));
                    }
                    let empty = matches!(&root.kind, Kind::Scalar { text, implicit: true, tag: None, .. } if text.is_empty());
                    docs.push(Doc {
                        root: (!empty).then_some(root),
                        start: mark,
                    });
                    if first_only {
                        return Ok(docs);
                    }
                }
                _ => return Err(self.err(mark, "unexpected event outside a document")),
            }
        }
    }

    fn node(&mut self, ev: Ev, mark: Mark, depth: usize) -> Result<Rc<Node>, Error> {
        if depth > MAX_DEPTH {
            return Err(self.err(mark, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let (node, anchor) = match ev {
            Ev::Alias(name) => return self.alias(&name, mark, depth),
            Ev::Scalar {
                value,
                anchor,
                tag,
                implicit,
                ..
            } => (
                Node {
                    kind: Kind::Scalar {
                        text: value,
                        tag: tag.map(String::into_boxed_str),
                        implicit,
                    },
                    mark,
                    size: 1,
                    height: 0,
                },
                anchor,
            ),
            Ev::SeqStart { anchor } => {
                self.open(anchor.as_deref());
                let mut items = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if matches!(ev, Ev::SeqEnd) {
                        break;
                    }
                    items.push(self.node(ev, m, depth + 1)?);
                }
                items.shrink_to_fit();
                let size = items.iter().fold(1usize, |a, n| a.saturating_add(n.size));
                let height = 1 + items.iter().map(|n| n.height).max().unwrap_or(0);
                (self.sized(Kind::Seq(items), mark, size, height)?, anchor)
            }
            Ev::MapStart { anchor } => {
                self.open(anchor.as_deref());
                let mut pairs = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if matches!(ev, Ev::MapEnd) {
                        break;
                    }
                    let k = self.node(ev, m, depth + 1)?;
                    let (ev, m) = self.next()?;
                    let via_alias = matches!(ev, Ev::Alias(_));
                    let v = self.node(ev, m, depth + 1)?;
                    if via_alias && is_merge_key(&k) && !matches!(v.kind, Kind::Map(_)) {
                        // go-yaml v2: an alias after `<<` must name a map, even when it names
                        // a list of maps.
                        return Err(self.err(
                            m,
                            "map merge requires map or sequence of maps as the value",
                        ));
                    }
                    pairs.push((k, v));
                }
                pairs.shrink_to_fit();
                let size = pairs.iter().fold(1usize, |a, (k, v)| {
                    a.saturating_add(k.size).saturating_add(v.size)
                });
                let height = 1 + pairs
                    .iter()
                    .map(|(k, v)| k.height.max(v.height))
                    .max()
                    .unwrap_or(0);
                (self.sized(Kind::Map(pairs), mark, size, height)?, anchor)
            }
            _ => return Err(self.err(mark, "unexpected YAML event")),
        };
        let node = Rc::new(node);
        if let Some(a) = anchor {
            self.open_anchors.remove(&a);
            self.anchors.insert(a, node.clone());
        }
        Ok(node)
    }

    fn open(&mut self, anchor: Option<&str>) {
        if let Some(a) = anchor {
            self.open_anchors.insert(a.to_string());
        }
    }

    fn alias(&self, name: &str, mark: Mark, depth: usize) -> Result<Rc<Node>, Error> {
        if self.open_anchors.contains(name) {
            return Err(self.err(mark, format!("anchor '{name}' value contains itself")));
        }
        let Some(target) = self.anchors.get(name).cloned() else {
            return Err(self.err(mark, format!("unknown anchor '{name}' referenced")));
        };
        if depth + target.height > MAX_DEPTH {
            return Err(self.err(
                mark,
                format!("alias expands deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(target)
    }

    fn sized(&self, kind: Kind, mark: Mark, size: usize, height: usize) -> Result<Node, Error> {
        if size > MAX_NODES {
            return Err(self.err(
                mark,
                format!("aliases expand to more than {MAX_NODES} nodes (alias bomb?)"),
            ));
        }
        Ok(Node {
            kind,
            mark,
            size,
            height,
        })
    }
}

fn builder<'a>(text: &'a str, origin: &'a str, first_line: usize) -> Result<Builder<'a>, Error> {
    if let Some(p) = super::scan::first_control_character(text, first_line) {
        return Err(Error::yaml(
            origin,
            mark_of(p),
            "control characters are not allowed",
        ));
    }
    Ok(Builder {
        parser: Parser::new(text, first_line),
        origin,
        anchors: HashMap::new(),
        open_anchors: HashSet::new(),
    })
}

/// Parses a YAML stream into its documents (not yet converted to values).
pub fn documents(text: &str, origin: &str) -> Result<Vec<Doc>, Error> {
    builder(text, origin, 0)?.documents(false)
}

/// Parses a values file as Helm's chart loader does: the text is cut into documents at lines
/// starting with `---` (apimachinery's YAML reader, which refuses anything but a comment after
/// the dashes), and each piece is read as go-yaml v2's `Unmarshal` reads it: its first document
/// only, with its own anchors.
pub fn values_documents(text: &str, origin: &str) -> Result<Vec<Doc>, Error> {
    let mut docs = Vec::new();
    for (range, first_line) in super::split::helm_documents(text, origin)? {
        let mut b = builder(&text[range], origin, first_line)?;
        docs.extend(b.documents(true)?);
    }
    Ok(docs)
}

/// Converts nodes to JSON, recording marks when asked.
pub struct Converter<'a> {
    origin: &'a str,
    marks: Option<&'a mut Marks>,
}

impl<'a> Converter<'a> {
    /// A converter for one origin; `marks` collects every node's position by path.
    pub fn new(origin: &'a str, marks: Option<&'a mut Marks>) -> Self {
        Converter { origin, marks }
    }

    fn err(&self, mark: Mark, message: impl Into<String>) -> Error {
        Error::yaml(self.origin, mark, message)
    }

    /// Converts a document to a value (`Value::Null` for an empty document).
    pub fn doc(&mut self, doc: &Doc) -> Result<Value, Error> {
        match &doc.root {
            None => Ok(Value::Null),
            Some(n) => {
                let mut path = Vec::new();
                self.value(n, &mut path)
            }
        }
    }

    /// Where the document starts, for "not a map" errors.
    pub fn start(doc: &Doc) -> Mark {
        doc.root.as_ref().map(|n| n.mark).unwrap_or(doc.start)
    }

    fn value(&mut self, n: &Node, path: &mut Vec<Seg>) -> Result<Value, Error> {
        if let Some(m) = self.marks.as_deref_mut() {
            m.insert(path.clone(), n.mark);
        }
        match &n.kind {
            Kind::Scalar { .. } => self.scalar(n),
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    out.push(self.value(item, path)?);
                    path.pop();
                }
                Ok(Value::Array(out))
            }
            Kind::Map(pairs) => {
                let mut out = Map::new();
                self.fill_map(pairs, &mut out, path)?;
                Ok(Value::Object(out))
            }
        }
    }

    fn fill_map(
        &mut self,
        pairs: &[(Rc<Node>, Rc<Node>)],
        out: &mut Map<String, Value>,
        path: &mut Vec<Seg>,
    ) -> Result<(), Error> {
        for (k, v) in pairs {
            if is_merge_key(k) {
                self.merge(v, out, path)?;
                continue;
            }
            let key = self.key(k)?;
            path.push(Seg::Key(key.clone()));
            let val = self.value(v, path)?;
            path.pop();
            out.insert(key, val);
        }
        Ok(())
    }

    fn merge(
        &mut self,
        v: &Node,
        out: &mut Map<String, Value>,
        path: &mut Vec<Seg>,
    ) -> Result<(), Error> {
        match &v.kind {
            Kind::Map(pairs) => self.fill_map(pairs, out, path),
            Kind::Seq(items) => {
                for item in items.iter().rev() {
                    match &item.kind {
                        Kind::Map(pairs) => self.fill_map(pairs, out, path)?,
                        _ => {
                            return Err(self.err(
                                item.mark,
                                "map merge requires map or sequence of maps as the value",
                            ));
                        }
                    }
                }
                Ok(())
            }
            _ => Err(self.err(
                v.mark,
                "map merge requires map or sequence of maps as the value",
            )),
        }
    }

    fn key(&self, k: &Node) -> Result<String, Error> {
        if !matches!(k.kind, Kind::Scalar { .. }) {
            let what = if matches!(k.kind, Kind::Map(_)) {
                "a map"
            } else {
                "a list"
            };
            return Err(self.err(k.mark, format!("invalid map key: {what} cannot be a key")));
        }
        let text = scalar_text(k);
        match self.classify(k)? {
            Scalar::Str | Scalar::Merge => Ok(text.to_string()),
            Scalar::Bytes(s) => Ok(s),
            Scalar::Bool(b) => Ok(b.to_string()),
            Scalar::Int(i) => Ok(i.to_string()),
            Scalar::Uint(_) => Err(self.err(
                k.mark,
                format!(
                    "unsupported map key of type: uint64, key: {text} (Helm reads integer keys \
                     above 9223372036854775807 as uint64 and cannot make them a string; quote it)"
                ),
            )),
            Scalar::Float(f) => Ok(go_float32_key(f)),
            Scalar::Null => Err(self.err(
                k.mark,
                "unsupported map key of type: null (quote the key to make it a string)",
            )),
        }
    }

    fn scalar(&self, n: &Node) -> Result<Value, Error> {
        Ok(match self.classify(n)? {
            Scalar::Str | Scalar::Merge => Value::String(scalar_text(n).to_string()),
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
                return Err(self.err(
                    n.mark,
                    format!(
                        "json: unsupported value: {go} ({:?} is infinity or NaN, which JSON and \
                         Helm's values cannot hold; quote it for a string)",
                        scalar_text(n)
                    ),
                ));
            }
        })
    }

    /// go-yaml v2's resolution of a scalar: quoted and block scalars are strings, plain ones
    /// follow YAML 1.1, a core tag (`!!int`...) must match what the text resolves to, `!!binary`
    /// is decoded, any other tag leaves the text a string.
    fn classify(&self, n: &Node) -> Result<Scalar, Error> {
        let Kind::Scalar {
            text,
            tag,
            implicit,
            ..
        } = &n.kind
        else {
            return Ok(Scalar::Str);
        };
        let Some(tag) = tag.as_deref() else {
            return Ok(if *implicit {
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
                    .ok_or_else(|| {
                        self.err(n.mark, "!!binary value contains invalid base64 data")
                    });
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
                n.mark,
                format!("cannot decode !!{got} `{text}` as a !!{short}"),
            )),
        }
    }
}

fn scalar_text(n: &Node) -> &str {
    match &n.kind {
        Kind::Scalar { text, .. } => text,
        _ => "",
    }
}

/// go-yaml v2's merge key: `<<` plain (or tagged `!!merge`).
fn is_merge_key(k: &Node) -> bool {
    match &k.kind {
        Kind::Scalar {
            text,
            tag,
            implicit,
            ..
        } => text == "<<" && (*implicit || tag.as_deref() == Some("tag:yaml.org,2002:merge")),
        _ => false,
    }
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
    if f.is_nan() {
        ".nan".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_string()
    } else {
        let f32v = f as f32;
        if f32v.is_infinite() {
            return if f32v > 0.0 { ".inf" } else { "-.inf" }.to_string();
        }
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
