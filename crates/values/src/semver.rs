//! Masterminds/semver (the library Helm uses) version parsing and constraint checking, enough
//! to decide, as Helm does, whether a chart under charts/ matches a dependency's `version`.

use std::cmp::Ordering;

/// A version as Masterminds' lenient `NewVersion` reads it (`v1`, `1.2`, `1.2.3-rc.1+b`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

fn ident_ok(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

impl Version {
    /// Parses a version; None when Masterminds would reject it.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let (s, _build) = match s.split_once('+') {
            Some((a, b)) if ident_ok(b) => (a, Some(b)),
            Some(_) => return None,
            None => (s, None),
        };
        let (core, pre) = match s.split_once('-') {
            Some((a, p)) if ident_ok(p) => (a, p.to_string()),
            Some(_) => return None,
            None => (s, String::new()),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 3 {
            return None;
        }
        let mut nums = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            nums[i] = p.parse().ok()?;
        }
        Some(Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre,
        })
    }

    fn cmp_to(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| cmp_pre(&self.pre, &o.pre))
    }
}

/// Precedence as Masterminds orders versions (build metadata ignored), so a registry's tags
/// or a repository index can be sorted newest first when resolving a constraint.
impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Version) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Version {
    fn cmp(&self, o: &Version) -> Ordering {
        self.cmp_to(o)
    }
}

fn cmp_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (pa, pb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(i), Ok(j)) => i.cmp(&j),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

#[derive(Debug)]
struct Constraint {
    op: String,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

const OPS: &[&str] = &["!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "~", "^", "="];

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(tok: &str) -> Option<Constraint> {
    let op = OPS
        .iter()
        .find(|o| tok.starts_with(**o))
        .copied()
        .unwrap_or("");
    let ver = tok[op.len()..].trim();
    let ver = ver.strip_prefix('v').unwrap_or(ver);
    let (ver, _) = ver.split_once('+').unwrap_or((ver, ""));
    let (core, pre) = match ver.split_once('-') {
        Some((c, p)) if ident_ok(p) => (c, p.to_string()),
        Some(_) => return None,
        None => (ver, String::new()),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !(is_x(p) || p.chars().all(|c| c.is_ascii_digit())))
    {
        return None;
    }
    let get = |i: usize| parts.get(i).copied().unwrap_or("");
    let num = |s: &str| s.parse::<u64>().ok();
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let (major, minor, patch) = if is_x(get(0)) {
        dirty = true;
        (0, 0, 0)
    } else if get(1).is_empty() || is_x(get(1)) {
        dirty = true;
        minor_dirty = true;
        (num(get(0))?, 0, 0)
    } else if get(2).is_empty() || is_x(get(2)) {
        dirty = true;
        patch_dirty = true;
        (num(get(0))?, num(get(1))?, 0)
    } else {
        (num(get(0))?, num(get(1))?, num(get(2))?)
    };
    Some(Constraint {
        op: op.to_string(),
        con: Version {
            major,
            minor,
            patch,
            pre,
        },
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.op != "!=" && !v.pre.is_empty() && c.pre.is_empty() {
            return false;
        }
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.cmp_to(c) == Ordering::Equal
                }
            }
            "!=" => self.not_equal(v),
            ">" => self.greater(v),
            "<" => v.cmp_to(c) == Ordering::Less,
            ">=" | "=>" => v.cmp_to(c) != Ordering::Less,
            "<=" | "=<" => self.less_equal(v),
            "~" | "~>" => self.tilde(v),
            _ => self.caret(v),
        }
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.dirty {
            if !v.pre.is_empty() && c.pre.is_empty() {
                return false;
            }
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            }
            if self.minor_dirty {
                return false;
            }
            if c.patch != v.patch && !self.patch_dirty {
                return true;
            }
            if self.patch_dirty {
                return (!v.pre.is_empty() || !c.pre.is_empty())
                    && cmp_pre(&v.pre, &c.pre) != Ordering::Equal;
            }
        }
        v.cmp_to(c) != Ordering::Equal
    }

    fn greater(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.cmp_to(c) == Ordering::Greater;
        }
        if v.major != c.major {
            return v.major > c.major;
        }
        if self.minor_dirty {
            return false;
        }
        if self.patch_dirty {
            return v.minor > c.minor;
        }
        v.cmp_to(c) == Ordering::Greater
    }

    fn less_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.cmp_to(c) != Ordering::Greater;
        }
        if v.major > c.major {
            return false;
        }
        !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.cmp_to(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.cmp_to(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        v.patch == c.patch
    }
}

fn rewrite_ranges(s: &str) -> String {
    let toks: Vec<&str> = s.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if i + 2 < toks.len() && toks[i + 1] == "-" {
            out.push(format!(">= {}, <= {}", toks[i], toks[i + 2]));
            i += 3;
        } else {
            out.push(toks[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let Some(v) = Version::parse(version) else {
        return false;
    };
    let rewritten = rewrite_ranges(constraint);
    let mut any = false;
    for seg in rewritten.split("||") {
        let mut toks: Vec<String> = Vec::new();
        for raw in seg.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
            match toks.last_mut() {
                Some(prev) if OPS.contains(&prev.as_str()) => prev.push_str(raw),
                _ => toks.push(raw.to_string()),
            }
        }
        if toks.is_empty() {
            return false;
        }
        let mut all = true;
        for t in &toks {
            match parse_constraint(t) {
                Some(c) => all &= c.check(&v),
                None => return false,
            }
        }
        any |= all;
    }
    any
}

/// Whether `version` satisfies the Masterminds constraint `constraint` (`^1.2`, `~1.2.0`,
/// `>= 1, < 2`, `1.x`, an exact version): what `pull --version` and `dependency update`
/// resolve a registry's tags against. Same rules as [`is_compatible_range`].
pub fn matches(constraint: &str, version: &str) -> bool {
    is_compatible_range(constraint, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(is_compatible_range("0.1.0", "0.1.0"));
        assert!(!is_compatible_range("0.1.0", "0.1.1"));
        assert!(is_compatible_range("~1.2.0", "1.2.9"));
        assert!(is_compatible_range("^1.2", "1.9.0"));
        assert!(!is_compatible_range("^1.2", "2.0.0"));
        assert!(is_compatible_range(">= 1.0, < 2.0", "1.5.0"));
        assert!(is_compatible_range("1.x", "1.4.2"));
        assert!(is_compatible_range("*", "3.0.0"));
        assert!(is_compatible_range("1.0 - 2.0", "1.5.0"));
        assert!(is_compatible_range("<1 || >=3", "3.1.0"));
        assert!(!is_compatible_range("", "1.0.0"));
        assert!(!is_compatible_range(">=1.0.0", "1.1.0-rc.1"));
        assert!(Version::parse("v1.2").is_some());
        assert!(Version::parse("1.2.3.4").is_none());
    }

    #[test]
    fn matches_and_orders() {
        assert!(matches("^1.2", "1.10.0"));
        assert!(!matches("^1.2", "2.0.0"));
        let v = |s| Version::parse(s).unwrap();
        assert!(v("1.10.0") > v("1.9.0"));
        assert!(v("1.0.0") > v("1.0.0-rc.2"));
        assert!(v("1.0.0-rc.10") > v("1.0.0-rc.2"));
        assert_eq!(v("1.0.0+a").cmp(&v("1.0.0+b")), Ordering::Equal);
    }
}
