//! The semantic comparison: objects matched by identity, then field by
//! field. Pure data in, data out; printing is [`super::print`]'s job.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What to leave out of a comparison.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ignore {
    /// Match objects without their namespace and drop `metadata.namespace`
    /// changes: two environments in different namespaces compare object
    /// for object.
    pub namespace: bool,
    /// Drop changes under any `metadata.labels` (the object's and its pod
    /// template's): label-only changes are noise when promoting.
    pub labels: bool,
}

/// An object's identity, as Kubernetes and kubectl match objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`; empty when cluster-scoped or ignored.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// 0 for the first object with this identity in its render, 1 for a
    /// second, ...: a stream with duplicates still compares in order.
    pub occurrence: usize,
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A map key.
    Key(String),
    /// A list position.
    Index(usize),
    /// A list element matched by its `name`, as kubectl merges containers,
    /// ports, env and volumes.
    Named(String),
}

/// How one field differs.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Only the new side has it.
    Added(Value),
    /// Only the old side has it.
    Removed(Value),
    /// Both have it, with different values (old, new).
    Modified(Value, Value),
}

/// One changed field of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// Where, from the object's root.
    pub path: Vec<Step>,
    /// What changed.
    pub field: Field,
    /// A secret value: printed as "changed", never its text.
    pub hidden: bool,
}

/// The difference for one object identity.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectChange {
    /// Only in the new render.
    Added,
    /// Only in the old render.
    Removed,
    /// In both, with these field changes (never empty).
    Changed(Vec<FieldChange>),
}

/// Compares two renders; the result is sorted by identity and holds only
/// objects that differ (after `ignore`).
pub fn compare(old: &[Value], new: &[Value], ignore: Ignore) -> Vec<(Key, ObjectChange)> {
    let mut old = index(old, ignore);
    let new = index(new, ignore);
    let mut out = Vec::new();
    for (key, after) in new {
        match old.remove(&key) {
            None => out.push((key, ObjectChange::Added)),
            Some(before) => {
                let mut changes = Vec::new();
                let secret = SecretShape::of(after);
                diff_value(&mut Vec::new(), before, after, &mut changes);
                changes.retain(|c| !ignored(&c.path, ignore));
                for c in &mut changes {
                    c.hidden = secret.hides(&c.path);
                }
                if !changes.is_empty() {
                    out.push((key, ObjectChange::Changed(changes)));
                }
            }
        }
    }
    out.extend(old.into_keys().map(|k| (k, ObjectChange::Removed)));
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn index(objects: &[Value], ignore: Ignore) -> BTreeMap<Key, &Value> {
    let mut map = BTreeMap::new();
    for object in objects {
        let text = |path: &[&str]| -> String {
            path.iter()
                .try_fold(object, |v, k| v.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let mut key = Key {
            api_version: text(&["apiVersion"]),
            kind: text(&["kind"]),
            namespace: if ignore.namespace {
                String::new()
            } else {
                text(&["metadata", "namespace"])
            },
            name: text(&["metadata", "name"]),
            occurrence: 0,
        };
        while map.contains_key(&key) {
            key.occurrence += 1;
        }
        map.insert(key, object);
    }
    map
}

fn diff_value(path: &mut Vec<Step>, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => diff_map(path, a, b, out),
        (Value::Array(a), Value::Array(b)) => match (named(a), named(b)) {
            (Some(a), Some(b)) => diff_named(path, &a, &b, out),
            _ => diff_list(path, a, b, out),
        },
        _ if old == new => {}
        _ => push(path, Field::Modified(old.clone(), new.clone()), out),
    }
}

fn push(path: &[Step], field: Field, out: &mut Vec<FieldChange>) {
    out.push(FieldChange {
        path: path.to_vec(),
        field,
        hidden: false,
    });
}

fn diff_map(
    path: &mut Vec<Step>,
    a: &Map<String, Value>,
    b: &Map<String, Value>,
    out: &mut Vec<FieldChange>,
) {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        path.push(Step::Key(key.clone()));
        match (a.get(key), b.get(key)) {
            (Some(x), Some(y)) => diff_value(path, x, y, out),
            (Some(x), None) => push(path, Field::Removed(x.clone()), out),
            (None, Some(y)) => push(path, Field::Added(y.clone()), out),
            (None, None) => {}
        }
        path.pop();
    }
}

fn diff_list(path: &mut Vec<Step>, a: &[Value], b: &[Value], out: &mut Vec<FieldChange>) {
    for i in 0..a.len().max(b.len()) {
        path.push(Step::Index(i));
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => diff_value(path, x, y, out),
            (Some(x), None) => push(path, Field::Removed(x.clone()), out),
            (None, Some(y)) => push(path, Field::Added(y.clone()), out),
            (None, None) => {}
        }
        path.pop();
    }
}

/// A non-empty list of maps, each with a distinct string `name`: keyed by
/// that name. Any other list compares by position.
fn named(list: &[Value]) -> Option<Vec<(&str, &Value)>> {
    if list.is_empty() {
        return None;
    }
    let mut seen = std::collections::BTreeSet::new();
    list.iter()
        .map(|v| {
            let name = v.as_object()?.get("name")?.as_str()?;
            seen.insert(name).then_some((name, v))
        })
        .collect()
}

fn diff_named(
    path: &mut Vec<Step>,
    a: &[(&str, &Value)],
    b: &[(&str, &Value)],
    out: &mut Vec<FieldChange>,
) {
    let in_a: BTreeMap<&str, &Value> = a.iter().copied().collect();
    let in_b: BTreeMap<&str, &Value> = b.iter().copied().collect();
    for (name, x) in a {
        path.push(Step::Named((*name).to_string()));
        match in_b.get(name) {
            Some(y) => diff_value(path, x, y, out),
            None => push(path, Field::Removed((*x).clone()), out),
        }
        path.pop();
    }
    for (name, y) in b {
        if !in_a.contains_key(name) {
            path.push(Step::Named((*name).to_string()));
            push(path, Field::Added((*y).clone()), out);
            path.pop();
        }
    }
}

/// kubectl's `last-applied-configuration` annotation copies the whole
/// object, secret values included (a `--from` taken from a cluster has it).
fn is_last_applied(path: &[Step]) -> bool {
    is_key(path.first(), "metadata")
        && is_key(path.get(1), "annotations")
        && is_key(
            path.get(2),
            "kubectl.kubernetes.io/last-applied-configuration",
        )
}

fn is_key(step: Option<&Step>, want: &str) -> bool {
    matches!(step, Some(Step::Key(k)) if k == want)
}

fn ignored(path: &[Step], ignore: Ignore) -> bool {
    if ignore.namespace
        && path.len() == 2
        && is_key(path.first(), "metadata")
        && is_key(path.get(1), "namespace")
    {
        return true;
    }
    ignore.labels
        && path
            .windows(2)
            .any(|w| is_key(w.first(), "metadata") && is_key(w.get(1), "labels"))
}

/// Where an object keeps secret values.
enum SecretShape {
    /// A `v1` Secret: `data` and `stringData`.
    Secret,
    /// A Bitnami SealedSecret: `spec.encryptedData`, and `spec.template.data`
    /// (which may hold plaintext templates).
    Sealed,
    None,
}

impl SecretShape {
    fn of(object: &Value) -> Self {
        match object.get("kind").and_then(Value::as_str) {
            Some("Secret") => SecretShape::Secret,
            Some("SealedSecret") => SecretShape::Sealed,
            _ => SecretShape::None,
        }
    }

    fn hides(&self, path: &[Step]) -> bool {
        if !matches!(self, SecretShape::None) && is_last_applied(path) {
            return true;
        }
        match self {
            SecretShape::Secret => {
                is_key(path.first(), "data") || is_key(path.first(), "stringData")
            }
            SecretShape::Sealed => {
                is_key(path.first(), "spec")
                    && (is_key(path.get(1), "encryptedData")
                        || (is_key(path.get(1), "template") && is_key(path.get(2), "data")))
            }
            SecretShape::None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(ns: &str, image: &str, label: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns, "labels": {"tier": label}},
            "spec": {"template": {"metadata": {"labels": {"tier": label}},
                "spec": {"containers": [{"name": "side", "image": "s:1"}, {"name": "app", "image": image}]}}}})
    }

    #[test]
    fn containers_match_by_name_and_report_the_field() {
        let mut reordered = deploy("a", "x:2", "t");
        let list = &mut reordered["spec"]["template"]["spec"]["containers"];
        list.as_array_mut().unwrap().reverse();
        let got = compare(&[deploy("a", "x:1", "t")], &[reordered], Ignore::default());
        assert_eq!(got.len(), 1);
        let ObjectChange::Changed(changes) = &got[0].1 else {
            panic!("{got:?}")
        };
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].path.last(), Some(&Step::Key("image".into())));
        assert_eq!(changes[0].path[4], Step::Named("app".into()));
        assert_eq!(
            changes[0].field,
            Field::Modified(json!("x:1"), json!("x:2"))
        );
    }

    #[test]
    fn named_elements_added_and_removed_and_duplicates_in_order() {
        let mut old = deploy("a", "x:1", "t");
        let mut new = old.clone();
        old["spec"]["template"]["spec"]["containers"][0]["name"] = json!("gone");
        new["spec"]["template"]["spec"]["containers"][0]["name"] = json!("fresh");
        let got = compare(&[old.clone(), old.clone()], &[new, old], Ignore::default());
        assert_eq!(got.len(), 1, "the second copy is unchanged: {got:?}");
        assert_eq!(got[0].0.occurrence, 0);
        let ObjectChange::Changed(changes) = &got[0].1 else {
            panic!("{got:?}")
        };
        let kinds: Vec<(&Step, bool)> = changes
            .iter()
            .map(|c| (&c.path[4], matches!(c.field, Field::Added(_))))
            .collect();
        assert_eq!(
            kinds,
            [
                (&Step::Named("gone".into()), false),
                (&Step::Named("fresh".into()), true)
            ]
        );
    }

    #[test]
    fn ignore_namespace_and_labels() {
        let old = [deploy("a", "x:1", "t")];
        let new = [deploy("b", "x:1", "u")];
        let plain = compare(&old, &new, Ignore::default());
        assert_eq!(plain.len(), 2, "a removed, b added: {plain:?}");
        let ns = compare(
            &old,
            &new,
            Ignore {
                namespace: true,
                labels: false,
            },
        );
        let ObjectChange::Changed(changes) = &ns[0].1 else {
            panic!("{ns:?}")
        };
        assert_eq!(changes.len(), 2, "the two labels only: {changes:?}");
        let both = compare(
            &old,
            &new,
            Ignore {
                namespace: true,
                labels: true,
            },
        );
        assert!(both.is_empty(), "{both:?}");
    }

    #[test]
    fn secret_values_are_hidden() {
        let s = |v: &str| {
            json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s", "annotations": {"a": v}}, "data": {"k": v}})
        };
        let got = compare(&[s("1")], &[s("2")], Ignore::default());
        let ObjectChange::Changed(changes) = &got[0].1 else {
            panic!("{got:?}")
        };
        let hidden: Vec<bool> = changes.iter().map(|c| c.hidden).collect();
        assert_eq!(hidden, [true, false], "{changes:?}");
        let last = |v: &str| {
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": v}}})
        };
        let got = compare(
            &[last("{\"data\":1}")],
            &[last("{\"data\":2}")],
            Ignore::default(),
        );
        let ObjectChange::Changed(changes) = &got[0].1 else {
            panic!("{got:?}")
        };
        assert!(changes[0].hidden, "{changes:?}");
    }
}
