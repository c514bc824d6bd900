//! Helm's dependency processing: aliases, tags, conditions (nested ones included) and
//! import-values, in Helm's order and with its quirks.

use std::collections::BTreeSet;

use serde_json::Value;

use super::coalesce::{coalesce_tables, coalesce_values, merge_values};
use super::gv::{self, G, GMap};
use super::node::Node;
use crate::error::Error;
use crate::semver::is_compatible_range;

/// Runs `ProcessDependencies` (enabled flags, then import-values with merge semantics).
pub fn process(root: &mut Node, vals: &GMap) -> Result<(), Error> {
    process_enabled(root, vals, "")?;
    process_imports(root)
}

fn process_enabled(c: &mut Node, v: &GMap, path: &str) -> Result<(), Error> {
    let Some(mut reqs) = c.reqs.take() else {
        return Ok(());
    };
    let mut deps: Vec<Node> = Vec::new();
    for existing in &c.deps {
        let listed = reqs
            .iter()
            .any(|r| existing.name == r.name && is_compatible_range(&r.version, &existing.version));
        if !listed {
            deps.push(existing.clone());
        }
    }
    for r in reqs.iter_mut() {
        let found = c
            .deps
            .iter()
            .find(|d| d.name == r.name && is_compatible_range(&r.version, &d.version));
        if let Some(d) = found {
            let mut copy = d.clone();
            if !r.alias.is_empty() {
                copy.name = r.alias.clone();
            }
            copy.dep_index = Some(r.index);
            deps.push(copy);
        }
        if !r.alias.is_empty() {
            r.name = r.alias.clone();
        }
        r.enabled = true;
    }
    c.deps = deps;
    c.reqs = Some(reqs.clone());
    let cvals = coalesce_values(c, v)?;
    apply_tags(&mut reqs, &cvals);
    apply_conditions(&mut reqs, &cvals, path);
    let removed: BTreeSet<String> = reqs
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.deps.retain(|d| !removed.contains(&d.name));
    reqs.retain(|r| !removed.contains(&r.name));
    for d in c.deps.iter_mut() {
        let sub = format!("{path}{}.", d.name);
        process_enabled(d, &cvals, &sub)?;
    }
    c.reqs = if reqs.is_empty() { None } else { Some(reqs) };
    Ok(())
}

fn apply_tags(reqs: &mut [super::node::Req], cvals: &GMap) {
    let Some(tags) = gv::table(cvals, "tags") else {
        return;
    };
    for r in reqs.iter_mut() {
        let (mut has_true, mut has_false) = (false, false);
        for t in &r.tags {
            if let Some(G::Bool(b)) = gv::get(&tags, t) {
                if b {
                    has_true = true;
                } else {
                    has_false = true;
                }
            }
        }
        r.enabled = has_true || !has_false;
    }
}

fn apply_conditions(reqs: &mut [super::node::Req], cvals: &GMap, path: &str) {
    for r in reqs.iter_mut() {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(G::Bool(b)) = gv::path_value(cvals, &format!("{path}{cond}")) {
                r.enabled = b;
                break;
            }
        }
    }
}

fn process_imports(c: &mut Node) -> Result<(), Error> {
    for d in c.deps.iter_mut() {
        process_imports(d)?;
    }
    import_values(c)
}

fn path_to_map(parent: &str, data: GMap) -> GMap {
    if parent == "." {
        return data;
    }
    let mut cur = G::Map(data);
    for part in parent.split('.').rev() {
        let m = gv::new_map();
        gv::set(&m, part, cur);
        cur = G::Map(m);
    }
    match cur {
        G::Map(m) => m,
        _ => gv::new_map(),
    }
}

fn go_sprint(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "<nil>".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn import_values(c: &mut Node) -> Result<(), Error> {
    let Some(reqs) = c.reqs.clone() else {
        return Ok(());
    };
    let cvals = merge_values(c, &gv::new_map())?;
    let b = gv::new_map();
    for r in &reqs {
        for iv in &r.import_values {
            let (child, parent) = match iv {
                Value::Object(m) => (go_sprint(m.get("child")), go_sprint(m.get("parent"))),
                Value::String(s) => (format!("exports.{s}"), ".".to_string()),
                _ => continue,
            };
            let Some(vv) = gv::table(&cvals, &format!("{}.{child}", r.name)) else {
                continue;
            };
            let add = path_to_map(&parent, vv);
            coalesce_tables(&b, &add, true);
        }
    }
    // Helm deep-copies `cvals` before merging the imports into it, as they
    // share maps with it. With nothing imported the copy changes nothing:
    // `c.values` is never changed in place, and every merge copies from it.
    if b.borrow().is_empty() {
        c.values = cvals;
        return Ok(());
    }
    let copy = gv::deep_copy_map(&cvals);
    coalesce_tables(&copy, &b, true);
    c.values = copy;
    Ok(())
}
