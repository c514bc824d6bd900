//! `.helmignore`, exactly as Helm's `pkg/ignore` reads and applies it, so `wasmchart package`
//! leaves out what `helm package` leaves out: one rule per line (blank lines and `#` comments
//! skipped, surrounding space trimmed), `**` refused, a trailing `/` matching directories
//! only, a leading `/` anchoring the rule at the chart root, a rule with a `/` matched against
//! the whole path, one without against the last path element, and Go's `filepath.Match` glob
//! syntax (`*`, `?`, `[a-z]`, `[^x]`, `\` escapes). Rules are tried in order and the first
//! match decides. A negated rule (`!rule`) keeps Helm's own semantics, which differ from git's:
//! a path that does *not* match it is ignored there and then, and a path that matches goes on
//! to the next rule. The one default rule, added after the file's, ignores dotfiles in
//! `templates/`.

/// Why a `.helmignore` line was refused; Helm refuses the same lines.
#[derive(Debug, PartialEq, Eq)]
pub struct BadRule {
    /// The 1-based line number.
    pub line: usize,
    /// The line as written, trimmed.
    pub rule: String,
    /// What is wrong with it.
    pub why: &'static str,
}

/// One parsed rule.
#[derive(Debug, Clone)]
struct Pattern {
    glob: String,
    negate: bool,
    must_dir: bool,
    anchored: bool,
    structural: bool,
}

/// A parsed `.helmignore` plus Helm's default rule.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

impl Rules {
    /// Parses the text of a `.helmignore` and appends Helm's default rule (`templates/.?*`).
    ///
    /// # Errors
    ///
    /// The first line Helm would refuse: a `**`, or a glob `filepath.Match` rejects.
    pub fn parse(text: &str) -> Result<Rules, BadRule> {
        let mut rules = Rules::default();
        for (i, line) in text.lines().enumerate() {
            rules.add(line).map_err(|why| BadRule {
                line: i + 1,
                rule: line.trim().to_string(),
                why,
            })?;
        }
        rules.add("templates/.?*").map_err(|why| BadRule {
            line: 0,
            rule: "templates/.?*".into(),
            why,
        })?;
        Ok(rules)
    }

    fn add(&mut self, line: &str) -> Result<(), &'static str> {
        let rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported");
        }
        if glob_match(rule, "abc").is_err() {
            return Err("it is not a valid glob (syntax error in pattern)");
        }
        let (negate, rest) = match rule.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (must_dir, rest) = match rest.strip_suffix('/') {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let anchored = rest.starts_with('/');
        self.patterns.push(Pattern {
            glob: rest.trim_start_matches('/').to_string(),
            negate,
            must_dir,
            anchored,
            structural: rest.contains('/'),
        });
        Ok(())
    }

    /// Whether `path` (slash-separated, relative to the chart root) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !p.matches(path) {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if p.matches(path) {
                return true;
            }
        }
        false
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        let subject = if self.anchored || self.structural {
            path
        } else {
            path.rsplit('/').next().unwrap_or(path)
        };
        glob_match(&self.glob, subject).unwrap_or(false)
    }
}

/// The glob is malformed (Go's `filepath.ErrBadPattern`).
#[derive(Debug)]
pub struct BadPattern;

/// Go's `path/filepath.Match` on Unix: `*` and `?` never match `/`.
///
/// # Errors
///
/// A malformed pattern (an unclosed or empty class, a trailing `\`).
pub fn glob_match(mut pattern: &str, mut name: &str) -> Result<bool, BadPattern> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains('/'));
        }
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name.as_bytes()[i] != b'/' {
                if let (t, true) = match_chunk(chunk, &name[i + 1..])? {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, "")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(pattern: &str) -> (bool, &str, &str) {
    let trimmed = pattern.trim_start_matches('*');
    let star = trimmed.len() != pattern.len();
    let bytes = trimmed.as_bytes();
    let mut in_range = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &trimmed[..i], &trimmed[i..])
}

/// Matches one star-free chunk at the start of `s`: what is left of `s`, and whether it
/// matched. The whole chunk is always parsed, so a malformed one is an error either way.
fn match_chunk<'a>(mut chunk: &str, mut s: &'a str) -> Result<(&'a str, bool), BadPattern> {
    let mut failed = false;
    while let Some(c) = chunk.chars().next() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            '[' => {
                let mut r = '\0';
                if !failed {
                    r = s.chars().next().unwrap_or('\0');
                    s = &s[r.len_utf8()..];
                }
                chunk = &chunk[1..];
                let negated = chunk.starts_with('^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.starts_with(']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if let Some(rest) = chunk.strip_prefix('-') {
                        let (h, rest) = get_esc(rest)?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            '?' => {
                if !failed {
                    let r = s.chars().next().unwrap_or('\0');
                    if r == '/' {
                        failed = true;
                    }
                    s = &s[r.len_utf8()..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                let mut lit = c;
                if c == '\\' {
                    chunk = &chunk[1..];
                    lit = chunk.chars().next().ok_or(BadPattern)?;
                }
                if !failed {
                    let b = lit.len_utf8();
                    if !s.starts_with(lit) {
                        failed = true;
                        s = s.get(b..).unwrap_or("");
                    } else {
                        s = &s[b..];
                    }
                }
                chunk = &chunk[lit.len_utf8()..];
            }
        }
    }
    Ok(if failed { ("", false) } else { (s, true) })
}

fn get_esc(chunk: &str) -> Result<(char, &str), BadPattern> {
    let mut chunk = chunk;
    if chunk.is_empty() || chunk.starts_with(['-', ']']) {
        return Err(BadPattern);
    }
    if let Some(rest) = chunk.strip_prefix('\\') {
        chunk = rest;
    }
    let r = chunk.chars().next().ok_or(BadPattern)?;
    let rest = &chunk[r.len_utf8()..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        glob_match(p, n).expect("valid pattern")
    }

    #[test]
    fn go_filepath_match_cases() {
        // From Go's own path/filepath match_test.go.
        assert!(m("abc", "abc"));
        assert!(m("*", "abc"));
        assert!(m("*c", "abc"));
        assert!(!m("a*", "ab/c"));
        assert!(m("a*/b", "abc/b"));
        assert!(!m("a*/b", "a/c/b"));
        assert!(m("a*b*c*d*e*/f", "axbxcxdxe/f"));
        assert!(!m("a*b*c*d*e*/f", "axbxcxdxe/xxx/f"));
        assert!(m("ab[c]", "abc"));
        assert!(m("ab[b-d]", "abc"));
        assert!(!m("ab[e-g]", "abc"));
        assert!(!m("ab[^c]", "abc"));
        assert!(m("ab[^e-g]", "abc"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "ab"));
        assert!(m("a?b", "a☺b"));
        assert!(m("a[^a]b", "a☺b"));
        assert!(!m("a???b", "a☺b"));
        assert!(m("[a-ζ]*", "α"));
        assert!(!m("*[a-ζ]", "A"));
        assert!(!m("a?b", "a/b"));
        assert!(!m("a*b", "a/b"));
        assert!(m("[\\]a]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(m("[x\\-]", "-"));
        assert!(!m("[x\\-]", "z"));
        assert!(m("*x", "xxx"));
        for bad in [
            "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[",
        ] {
            assert!(glob_match(bad, "a").is_err(), "{bad}");
        }
    }

    #[test]
    fn helm_rule_semantics() {
        let r = Rules::parse("# comment\n\n*.txt\n/top.md\nsecret/\ndocs/*.md\n").unwrap();
        assert!(r.ignore("a.txt", false));
        assert!(r.ignore("files/deep/a.txt", false));
        assert!(r.ignore("top.md", false));
        assert!(!r.ignore("files/top.md", false));
        assert!(r.ignore("secret", true));
        assert!(!r.ignore("secret", false));
        assert!(r.ignore("docs/a.md", false));
        assert!(!r.ignore("x/docs/a.md", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/shown.yaml", false));
        assert!(!r.ignore(".", true));
        // Helm's negation: a path that does not match `!rule` is ignored outright.
        let r = Rules::parse("!keep.txt\n").unwrap();
        assert!(r.ignore("other.txt", false));
        assert!(!r.ignore("keep.txt", false));
    }

    #[test]
    fn refused_rules_name_the_line() {
        let e = Rules::parse("ok\nfiles/**\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.why.contains("double-star"));
        let e = Rules::parse("[z-\n").unwrap_err();
        assert_eq!(e.rule, "[z-");
    }
}
