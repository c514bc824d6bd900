//! Provenance: for a value path, the final value and every file or flag that set or
//! overrode it, lowest precedence first (globals: the subchart's own default, then each
//! parent's section, then the umbrella's `global`).

use std::fmt;

use serde_json::Value;

use super::Computed;
use super::sources::{Content, Source};
use crate::path::{self, Seg};

/// One source's effect on the explained path.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `file:line:col` or the flag with its expression.
    pub source: String,
    /// The path the source wrote (may be an ancestor or a global it inherits from).
    pub at: String,
    /// The value it wrote there.
    pub value: Value,
}

/// The answer to "where did this value come from?".
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The path asked about.
    pub path: String,
    /// The final value (None when the path is not set).
    pub value: Option<Value>,
    /// Every source that set or overrode it, in precedence order.
    pub steps: Vec<Step>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => writeln!(f, "{} = {}", self.path, v)?,
            None => writeln!(f, "{} is not set", self.path)?,
        }
        if self.steps.is_empty() {
            return writeln!(f, "  no file or flag sets it");
        }
        for (i, s) in self.steps.iter().enumerate() {
            let what = if s.value.is_null() {
                "null (deletes the default)".to_string()
            } else {
                s.value.to_string()
            };
            writeln!(f, "  {}. {}: {} = {}", i + 1, s.source, s.at, what)?;
        }
        Ok(())
    }
}

/// Candidate paths for `p`: itself, or for `<chart>.global.x` every level's `global.x`.
fn candidates(c: &Computed, p: &[Seg]) -> Vec<Vec<Seg>> {
    let chart_paths: Vec<Vec<Seg>> = std::iter::once(Vec::new())
        .chain(
            c.enabled
                .iter()
                .map(|e| e.path.iter().map(|s| Seg::Key(s.clone())).collect()),
        )
        .collect();
    let global_at = (0..p.len()).find(|&g| {
        p[g] == Seg::Key("global".into()) && chart_paths.iter().any(|cp| cp.as_slice() == &p[..g])
    });
    let Some(g) = global_at else {
        return vec![p.to_vec()];
    };
    let mut out = Vec::new();
    for k in (0..=g).rev() {
        if chart_paths.iter().any(|cp| cp.as_slice() == &p[..k]) {
            let mut cand = p[..k].to_vec();
            cand.push(Seg::Key("global".into()));
            cand.extend_from_slice(&p[g + 1..]);
            out.push(cand);
        }
    }
    out
}

/// Explains one path.
pub fn explain(c: &Computed, p: &[Seg]) -> Explanation {
    let mut steps = Vec::new();
    for cand in candidates(c, p) {
        for s in &c.sources {
            if cand.starts_with(&s.mount) {
                source_steps(s, &cand, &mut steps);
            }
        }
    }
    Explanation {
        path: path::display(p),
        value: path::lookup(&c.values, p).cloned(),
        steps,
    }
}

/// The source that last set `p`, for error messages.
pub fn last_source(c: &Computed, p: &[Seg]) -> Option<String> {
    explain(c, p).steps.pop().map(|s| s.source)
}

fn full(mount: &[Seg], rel: &[Seg]) -> String {
    let mut v = mount.to_vec();
    v.extend_from_slice(rel);
    path::display(&v)
}

fn source_steps(s: &Source, cand: &[Seg], steps: &mut Vec<Step>) {
    let rel = &cand[s.mount.len()..];
    match &s.content {
        Content::File { file, tree, marks } => {
            if let Some((depth, v)) = deepest(tree, rel) {
                let hit = depth == rel.len();
                if hit || !v.is_object() {
                    let at = &rel[..depth];
                    let m = marks.as_ref().and_then(|m| m.get().get(at).copied());
                    let source = match m {
                        Some(m) => format!("{file}:{}:{}", m.line, m.col),
                        None => file.clone(),
                    };
                    if depth > 0 || hit {
                        steps.push(Step {
                            source,
                            at: full(&s.mount, at),
                            value: v.clone(),
                        });
                    }
                }
            }
        }
        Content::Flag {
            flag,
            expr,
            assigned,
        } => {
            for a in assigned {
                let relevant = if rel.starts_with(&a.path) {
                    match deepest(&a.value, &rel[a.path.len()..]) {
                        Some((d, v)) => d == rel.len() - a.path.len() || !v.is_object(),
                        None => false,
                    }
                } else {
                    a.path.starts_with(rel)
                };
                if relevant {
                    steps.push(Step {
                        source: format!("{flag} {expr}"),
                        at: full(&s.mount, &a.path),
                        value: a.value.clone(),
                    });
                }
            }
        }
    }
}

/// Walks `rel` into `v` as far as it goes: (segments matched, value reached).
fn deepest<'v>(v: &'v Value, rel: &[Seg]) -> Option<(usize, &'v Value)> {
    let mut cur = v;
    for (i, seg) in rel.iter().enumerate() {
        let next = match (seg, cur) {
            (Seg::Key(k), Value::Object(m)) => m.get(k),
            (Seg::Index(n), Value::Array(a)) => a.get(*n),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => {
                return if i == 0 { None } else { Some((i, cur)) };
            }
        }
    }
    Some((rel.len(), cur))
}
