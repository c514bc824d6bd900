//! Values with Go's sharing semantics. Helm's coalescing copies some maps shallowly and then
//! merges into them, so nested maps end up shared; reproducing its results exactly needs maps
//! that are shared references, as Go maps are.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::{Map, Number, Value};

/// A map key. Keys and strings are reference-counted: coalescing deep-copies whole
/// value trees several times per render (once per subchart and pass), and a copy
/// that only bumps counts allocates nothing for them.
pub type Key = Rc<str>;

/// A shared, mutable map (a Go `map[string]any`).
pub type GMap = Rc<RefCell<BTreeMap<Key, G>>>;

/// A Go `any` holding a values node.
#[derive(Debug, Clone)]
pub enum G {
    /// nil.
    Null,
    /// bool.
    Bool(bool),
    /// int64 or float64.
    Num(Number),
    /// string.
    Str(Key),
    /// []any.
    List(Vec<G>),
    /// map[string]any, shared.
    Map(GMap),
}

/// A new empty map.
pub fn new_map() -> GMap {
    Rc::new(RefCell::new(BTreeMap::new()))
}

impl G {
    /// The map, when this is one.
    pub fn as_map(&self) -> Option<&GMap> {
        match self {
            G::Map(m) => Some(m),
            _ => None,
        }
    }

    /// True for nil.
    pub fn is_null(&self) -> bool {
        matches!(self, G::Null)
    }
}

/// Converts JSON into fresh (unshared) Go values.
pub fn from_json(v: &Value) -> G {
    match v {
        Value::Null => G::Null,
        Value::Bool(b) => G::Bool(*b),
        Value::Number(n) => G::Num(n.clone()),
        Value::String(s) => G::Str(Key::from(s.as_str())),
        Value::Array(a) => G::List(a.iter().map(from_json).collect()),
        Value::Object(m) => G::Map(map_from_json(m)),
    }
}

/// Converts a JSON map into a fresh Go map.
pub fn map_from_json(m: &Map<String, Value>) -> GMap {
    Rc::new(RefCell::new(
        m.iter()
            .map(|(k, v)| (Key::from(k.as_str()), from_json(v)))
            .collect(),
    ))
}

/// Converts back to JSON.
pub fn to_json(g: &G) -> Value {
    match g {
        G::Null => Value::Null,
        G::Bool(b) => Value::Bool(*b),
        G::Num(n) => Value::Number(n.clone()),
        G::Str(s) => Value::String(s.to_string()),
        G::List(a) => Value::Array(a.iter().map(to_json).collect()),
        G::Map(m) => Value::Object(map_to_json(m)),
    }
}

/// Converts a Go map back to JSON.
pub fn map_to_json(m: &GMap) -> Map<String, Value> {
    m.borrow()
        .iter()
        .map(|(k, v)| (k.to_string(), to_json(v)))
        .collect()
}

/// Converts a Go map to JSON, consuming it: each map nothing else holds is
/// freed while it is converted, instead of in a second walk when the tree
/// is dropped.
pub fn map_into_json(m: GMap) -> Map<String, Value> {
    match Rc::try_unwrap(m) {
        Ok(map) => map
            .into_inner()
            .into_iter()
            .map(|(k, v)| (k.to_string(), into_json(v)))
            .collect(),
        Err(shared) => map_to_json(&shared),
    }
}

fn into_json(g: G) -> Value {
    match g {
        G::List(items) => Value::Array(items.into_iter().map(into_json).collect()),
        G::Map(m) => Value::Object(map_into_json(m)),
        other => to_json(&other),
    }
}

/// A deep copy of a map (copystructure.Copy): nothing shared with the original.
///
/// The map is cloned as it is, which copies its tree node by node where
/// collecting its entries would sort them again, and only then are the maps
/// and lists inside it (shared by that clone) replaced by copies of their own.
pub fn deep_copy_map(m: &GMap) -> GMap {
    let mut copy = m.borrow().clone();
    copy.values_mut().for_each(unshare);
    Rc::new(RefCell::new(copy))
}

/// Replaces the maps in `g`, shared with another tree, by deep copies.
fn unshare(g: &mut G) {
    match g {
        G::Map(m) => *m = deep_copy_map(m),
        G::List(items) => items.iter_mut().for_each(unshare),
        _ => {}
    }
}

/// A shallow copy (Go's `maps.Copy` into a new map): nested maps stay shared.
pub fn shallow_copy_map(m: &GMap) -> GMap {
    Rc::new(RefCell::new(m.borrow().clone()))
}

/// Gets a key (cloning the handle; maps stay shared).
pub fn get(m: &GMap, key: &str) -> Option<G> {
    m.borrow().get(key).cloned()
}

/// Sets a key.
pub fn set(m: &GMap, key: impl Into<Key>, v: G) {
    m.borrow_mut().insert(key.into(), v);
}

/// Snapshot of a map's entries, so the map may be changed while walking it.
pub fn entries(m: &GMap) -> Vec<(Key, G)> {
    m.borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Helm's `Values.Table`: walks dot-separated keys through maps.
pub fn table(m: &GMap, path: &str) -> Option<GMap> {
    let mut cur = m.clone();
    for part in path.split('.') {
        let next = get(&cur, part)?.as_map()?.clone();
        cur = next;
    }
    Some(cur)
}

/// Helm's `Values.PathValue`: the non-map value at a dotted path.
pub fn path_value(m: &GMap, path: &str) -> Option<G> {
    if path.is_empty() {
        return None;
    }
    let (parent, key) = match path.rsplit_once('.') {
        Some((p, k)) => (table(m, p)?, k),
        None => (m.clone(), path),
    };
    match get(&parent, key)? {
        G::Map(_) => None,
        v => Some(v),
    }
}
