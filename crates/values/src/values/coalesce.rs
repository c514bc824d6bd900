//! Helm's value coalescing (chart defaults under user values, subchart sections, globals,
//! null deletion), reproduced rule for rule, including which maps end up shared.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::gv::{self, G, GMap};
use super::node::Node;
use crate::error::Error;

fn concat(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// `CoalesceValues`: user values over the chart's defaults, nulls deleting defaults.
pub fn coalesce_values(ch: &Node, vals: &GMap) -> Result<GMap, Error> {
    let dest = gv::deep_copy_map(vals);
    coalesce(ch, &dest, "", false)
}

/// `MergeValues`: like `coalesce_values` but nulls are kept.
pub fn merge_values(ch: &Node, vals: &GMap) -> Result<GMap, Error> {
    let dest = gv::deep_copy_map(vals);
    coalesce(ch, &dest, "", true)
}

/// The render's `CoalesceValues`, Helm's last pass: as [`coalesce_values`],
/// but it takes the umbrella's own values, which nothing reads afterwards,
/// and moves into the result what is not shared instead of copying it.
pub fn coalesce_values_taking(ch: &mut Node, vals: &GMap) -> Result<GMap, Error> {
    let dest = gv::deep_copy_map(vals);
    let own = std::mem::replace(&mut ch.values, gv::new_map());
    let entries = match Rc::try_unwrap(own) {
        Ok(map) => map.into_inner(),
        Err(shared) => shared.borrow().clone(),
    };
    let subcharts: BTreeSet<&str> = ch.deps.iter().map(|d| d.name.as_str()).collect();
    for (key, val) in entries {
        let is_subchart = subcharts.contains(&*key);
        if let Some(clean) = merge_default(&dest, &key, &val, false, is_subchart) {
            gv::set(&dest, key, take(val, clean));
        }
    }
    coalesce_deps(ch, &dest, "", false)
}

fn coalesce(ch: &Node, dest: &GMap, prefix: &str, merge: bool) -> Result<GMap, Error> {
    coalesce_chart_values(ch, dest, prefix, merge);
    coalesce_deps(ch, dest, prefix, merge)
}

fn coalesce_deps(ch: &Node, dest: &GMap, prefix: &str, merge: bool) -> Result<GMap, Error> {
    for sub in &ch.deps {
        match gv::get(dest, &sub.name) {
            None => gv::set(dest, sub.name.as_str(), G::Map(gv::new_map())),
            Some(G::Map(_)) => {}
            Some(other) => {
                return Err(Error::TypeMismatch {
                    path: concat(&concat(prefix, &ch.name), &sub.name),
                    message: format!(
                        "the values for subchart {:?} must be a map, found {}",
                        sub.name,
                        crate::yaml::kind_name(&gv::to_json(&other))
                    ),
                });
            }
        }
        let Some(G::Map(dvmap)) = gv::get(dest, &sub.name) else {
            continue;
        };
        let sub_prefix = concat(prefix, &ch.name);
        coalesce_globals(&dvmap, dest);
        let out = coalesce(sub, &dvmap, &sub_prefix, merge)?;
        gv::set(dest, sub.name.as_str(), G::Map(out));
    }
    Ok(dest.clone())
}

/// Copies the parent's `global` into a subchart section; the parent's entries win.
fn coalesce_globals(dest: &GMap, src: &GMap) {
    let dg = match gv::get(dest, "global") {
        None => gv::new_map(),
        Some(G::Map(m)) => m,
        Some(_) => return,
    };
    let sg = match gv::get(src, "global") {
        None => gv::new_map(),
        Some(G::Map(m)) => m,
        Some(_) => return,
    };
    for (key, val) in gv::entries(&sg) {
        if let G::Map(vm) = &val {
            let vv = gv::shallow_copy_map(vm);
            match gv::get(&dg, &key) {
                None => gv::set(&dg, key.clone(), G::Map(vv)),
                Some(G::Map(destv)) => {
                    coalesce_tables(&vv, &destv, true);
                    gv::set(&dg, key.clone(), G::Map(vv));
                }
                Some(_) => {}
            }
        } else if matches!(gv::get(&dg, &key), Some(G::Map(_))) {
            // Helm skips a scalar global over a map global.
        } else {
            gv::set(&dg, key.clone(), val);
        }
    }
    gv::set(dest, "global", G::Map(dg));
}

/// Fills `v` from the chart's own values.yaml.
///
/// Helm deep-copies the chart's values and then merges the copy in, which
/// mutates only the copy. Here the chart's values are read in place and only
/// what ends up in `v` is copied: the same result, without copying (and
/// freeing) the defaults that `v` already overrides, as every subchart's
/// are in the last of Helm's three passes.
fn coalesce_chart_values(ch: &Node, v: &GMap, _prefix: &str, merge: bool) {
    // A set, not a scan of `deps` per key: an umbrella with N subcharts has
    // about N keys, and a scan each made this quadratic.
    let subcharts: BTreeSet<&str> = ch.deps.iter().map(|d| d.name.as_str()).collect();
    let is_subchart = |key: &str| subcharts.contains(key);
    for (key, val) in ch.values.borrow().iter() {
        if let Some(clean) = merge_default(v, key, val, merge, is_subchart(key)) {
            gv::set(v, key.clone(), copy(val, clean));
        }
    }
}

/// Merges the chart default `key: val` into `v`, one turn of Helm's loop
/// over a chart's values. `Some(clean)` when `v` takes the default: the
/// caller inserts its copy, without nils when `clean`.
fn merge_default(v: &GMap, key: &gv::Key, val: &G, merge: bool, is_subchart: bool) -> Option<bool> {
    match gv::get(v, key) {
        Some(G::Null) if !merge => {
            v.borrow_mut().remove(key);
        }
        Some(G::Map(dest)) => {
            if let G::Map(src) = val {
                let merge = merge || is_subchart;
                coalesce_tables_from(&dest, src, merge, !merge);
            }
        }
        Some(_) => {}
        None if !merge && val.is_null() => {}
        None => return Some(!merge),
    }
    None
}

/// [`coalesce_tables`] from a deep copy of `src` (with its nils removed
/// first when `clean`, in its maps and the maps nested in them), without
/// making that copy: `src` is only read, and what `dst` takes is copied.
fn coalesce_tables_from(dst: &GMap, src: &GMap, merge: bool, clean: bool) {
    for (key, val) in src.borrow().iter() {
        if clean && val.is_null() {
            continue;
        }
        match gv::get(dst, key) {
            // `coalesce_tables` deletes a key nil in `dst` that `src` sets.
            Some(G::Null) => {
                if !merge && !val.is_null() {
                    dst.borrow_mut().remove(key);
                }
            }
            None => gv::set(dst, key.clone(), copy(val, clean)),
            Some(G::Map(dv)) => {
                if let G::Map(sv) = val {
                    coalesce_tables_from(&dv, sv, merge, clean);
                }
            }
            Some(_) => {}
        }
    }
}

/// A deep copy of `val`; when `clean`, without the nils of its maps and of
/// the maps nested in them (Helm's `cleanNil` leaves lists alone).
fn copy(val: &G, clean: bool) -> G {
    match val {
        G::Map(m) if clean => {
            let copied = m
                .borrow()
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), copy(v, true)))
                .collect();
            G::Map(std::rc::Rc::new(std::cell::RefCell::new(copied)))
        }
        G::Map(m) => G::Map(gv::deep_copy_map(m)),
        G::List(items) => G::List(items.iter().map(|v| copy(v, false)).collect()),
        other => other.clone(),
    }
}

/// [`copy`], moving instead of copying the maps that nothing else holds: a
/// map held twice is copied where it is met first, and then held once.
fn take(val: G, clean: bool) -> G {
    match val {
        G::Map(m) => match Rc::try_unwrap(m) {
            Ok(map) => {
                let mut map = map.into_inner();
                if clean {
                    map.retain(|_, v| !v.is_null());
                }
                for v in map.values_mut() {
                    *v = take(std::mem::replace(v, G::Null), clean);
                }
                G::Map(Rc::new(std::cell::RefCell::new(map)))
            }
            Err(shared) => copy(&G::Map(shared), clean),
        },
        G::List(items) => G::List(items.into_iter().map(|v| take(v, false)).collect()),
        other => other,
    }
}

/// `MergeTables` (merge = true) / `CoalesceTables` (merge = false): `dst` wins over `src`.
pub fn coalesce_tables(dst: &GMap, src: &GMap, merge: bool) {
    if Rc::ptr_eq(dst, src) {
        return;
    }
    // Keys nil in `dst` become nil in `src` too; those that were not nil in
    // `src` before are the ones coalescing deletes. Few maps hold nils, so
    // only their keys are looked at.
    let dst_nils: Vec<gv::Key> = dst
        .borrow()
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    let mut src_non_nil: BTreeSet<gv::Key> = BTreeSet::new();
    for key in dst_nils {
        if gv::get(src, &key).is_some_and(|v| !v.is_null()) {
            src_non_nil.insert(key.clone());
        }
        gv::set(src, key, G::Null);
    }
    for (key, val) in gv::entries(src) {
        match gv::get(dst, &key) {
            Some(G::Null) if !merge && src_non_nil.contains(&key) => {
                dst.borrow_mut().remove(&key);
            }
            None => gv::set(dst, key.clone(), val),
            Some(G::Map(dv)) => {
                if let G::Map(sv) = &val {
                    coalesce_tables(&dv, sv, merge);
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_at(m: &GMap, key: &str) -> GMap {
        match gv::get(m, key) {
            Some(G::Map(inner)) => inner,
            other => panic!("{key}: expected a map, found {other:?}"),
        }
    }

    #[test]
    fn taking_a_tree_unshares_the_maps_it_holds_twice() {
        let shared = gv::new_map();
        gv::set(&shared, "gone", G::Null);
        gv::set(&shared, "kept", G::Bool(true));
        let root = gv::new_map();
        gv::set(&root, "x", G::Map(shared.clone()));
        gv::set(&root, "y", G::Map(shared));
        let G::Map(taken) = take(G::Map(root), true) else {
            panic!("expected a map");
        };
        let (x, y) = (map_at(&taken, "x"), map_at(&taken, "y"));
        assert!(!Rc::ptr_eq(&x, &y), "x and y still share one map");
        for m in [&x, &y] {
            let keys: Vec<String> = m.borrow().keys().map(|k| k.to_string()).collect();
            assert_eq!(keys, ["kept"]);
        }
        gv::set(&x, "only-x", G::Bool(false));
        assert!(gv::get(&y, "only-x").is_none());
    }
}
