//! YAML text -> JSON values the way Helm reads it: go-yaml v2 (YAML 1.1 scalars, `<<` merges,
//! non-string keys stringified) followed by a JSON round trip (every number a float64).
//! Depth and alias expansion are bounded so hostile input gets an error, not a crash.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::resolve::{Scalar, resolve_plain};
use crate::error::Error;
use crate::path::{Mark, Marks, Seg};

/// Deepest nesting accepted (maps and lists, aliases included).
pub const MAX_DEPTH: usize = 256;
/// Most nodes one document may expand to once aliases are followed.
pub const MAX_NODES: usize = 5_000_000;

enum Kind {
    Scalar {
        text: String,
        style: TScalarStyle,
        tag: Option<Tag>,
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

fn mark_of(m: &Marker) -> Mark {
    Mark {
        line: m.line(),
        col: m.col() + 1,
    }
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    origin: &'a str,
    anchors: HashMap<usize, Rc<Node>>,
}

impl Builder<'_> {
    fn err(&self, mark: Mark, message: impl Into<String>) -> Error {
        Error::yaml(self.origin, mark, message)
    }

    fn next(&mut self) -> Result<(Event, Mark), Error> {
        match self.parser.next_token() {
            Ok((ev, m)) => Ok((ev, mark_of(&m))),
            Err(e) if e.info().contains("recursion limit") => Err(self.err(
                mark_of(e.marker()),
                format!("nesting too deep ({})", e.info()),
            )),
            Err(e) => Err(self.err(mark_of(e.marker()), e.info().to_string())),
        }
    }

    fn documents(&mut self) -> Result<Vec<Doc>, Error> {
        let mut docs = Vec::new();
        loop {
            let (ev, mark) = self.next()?;
            match ev {
                Event::StreamStart | Event::Nothing => {}
                Event::StreamEnd => return Ok(docs),
                Event::DocumentStart => {
                    self.anchors.clear();
                    let (ev, m) = self.next()?;
                    let root = match ev {
                        Event::DocumentEnd => None,
                        ev => {
                            let n = self.node(ev, m, 0)?;
                            let (end, em) = self.next()?;
                            if !matches!(end, Event::DocumentEnd) {
                                return Err(self.err(em, "expected the end of the document"));
                            }
                            Some(n)
                        }
                    };
                    docs.push(Doc { root, start: mark });
                }
                _ => return Err(self.err(mark, "unexpected event outside a document")),
            }
        }
    }

    fn node(&mut self, ev: Event, mark: Mark, depth: usize) -> Result<Rc<Node>, Error> {
        if depth > MAX_DEPTH {
            return Err(self.err(mark, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let (node, anchor) = match ev {
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(self.err(mark, "alias to an unknown anchor"));
                };
                if depth + target.height > MAX_DEPTH {
                    return Err(self.err(
                        mark,
                        format!("alias expands deeper than {MAX_DEPTH} levels"),
                    ));
                }
                return Ok(target);
            }
            Event::Scalar(text, style, anchor, tag) => (
                Node {
                    kind: Kind::Scalar { text, style, tag },
                    mark,
                    size: 1,
                    height: 0,
                },
                anchor,
            ),
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, m, depth + 1)?);
                }
                let size = items.iter().fold(1usize, |a, n| a.saturating_add(n.size));
                let height = 1 + items.iter().map(|n| n.height).max().unwrap_or(0);
                (self.sized(Kind::Seq(items), mark, size, height)?, anchor)
            }
            Event::MappingStart(anchor, _) => {
                let mut pairs = Vec::new();
                loop {
                    let (ev, m) = self.next()?;
                    if matches!(ev, Event::MappingEnd) {
                        break;
                    }
                    let k = self.node(ev, m, depth + 1)?;
                    let (ev, m) = self.next()?;
                    let v = self.node(ev, m, depth + 1)?;
                    pairs.push((k, v));
                }
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
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
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

/// Parses text into documents (not yet converted to values).
pub fn documents(text: &str, origin: &str) -> Result<Vec<Doc>, Error> {
    let mut b = Builder {
        parser: Parser::new_from_str(text),
        origin,
        anchors: HashMap::new(),
    };
    b.documents()
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
            Kind::Scalar { text, style, tag } => self.scalar(text, *style, tag.as_ref(), n.mark),
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
                                "map merge requires a map or a sequence of maps as the value",
                            ));
                        }
                    }
                }
                Ok(())
            }
            _ => Err(self.err(
                v.mark,
                "map merge requires a map or a sequence of maps as the value",
            )),
        }
    }

    fn key(&self, k: &Node) -> Result<String, Error> {
        let Kind::Scalar { text, style, tag } = &k.kind else {
            return Err(self.err(k.mark, "a map or list cannot be used as a map key"));
        };
        match classify(text, *style, tag.as_ref()) {
            Scalar::Str | Scalar::Merge => Ok(text.clone()),
            Scalar::Bool(b) => Ok(b.to_string()),
            Scalar::Int(i) => Ok(i.to_string()),
            Scalar::Uint(u) => Ok(u.to_string()),
            Scalar::Float(f) => Ok(go_float32_key(f)),
            Scalar::Null => Err(self.err(k.mark, "a null map key is not supported")),
        }
    }

    fn scalar(
        &self,
        text: &str,
        style: TScalarStyle,
        tag: Option<&Tag>,
        mark: Mark,
    ) -> Result<Value, Error> {
        Ok(match classify(text, style, tag) {
            Scalar::Str | Scalar::Merge => Value::String(text.to_string()),
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => number(i as f64),
            Scalar::Uint(u) => number(u as f64),
            Scalar::Float(f) if f.is_finite() => number(f),
            Scalar::Float(_) => {
                return Err(self.err(
                    mark,
                    format!("{text:?}: infinity and NaN are not valid values"),
                ));
            }
        })
    }
}

fn is_merge_key(k: &Node) -> bool {
    matches!(&k.kind, Kind::Scalar { text, style: TScalarStyle::Plain, tag: None } if text == "<<")
}

fn classify(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Scalar {
    if let Some(tag) = tag {
        let core = tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:";
        return match (core, tag.suffix.as_str()) {
            (true, "null" | "bool" | "int" | "float") => match resolve_plain(text) {
                Scalar::Str | Scalar::Merge => Scalar::Str,
                other => other,
            },
            _ => Scalar::Str,
        };
    }
    if style != TScalarStyle::Plain {
        return Scalar::Str;
    }
    resolve_plain(text)
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

/// `strconv.FormatFloat(f, 'g', -1, 32)` as sigs.k8s.io/yaml uses for float map keys.
fn go_float32_key(f: f64) -> String {
    super::emit::go_g_from_sci(&format!("{:e}", f as f32))
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
