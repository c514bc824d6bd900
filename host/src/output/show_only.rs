//! `--show-only`: keep only the objects of chosen source files, with Helm's
//! matching rule, so scripts written for `helm template -s` work unchanged.
//!
//! Helm turns each pattern into forward slashes (on Windows; elsewhere `\`
//! stays Go's escape) and keeps every manifest whose `# Source:` path
//! matches it as Go's `filepath.Match` does (an exact path is a pattern
//! without metacharacters), pattern by pattern, in the order the patterns
//! were given; a pattern that matches nothing is an error. Unlike Helm, an
//! object two patterns match is printed once, at its first match: twice
//! would be a duplicate object.

use crate::post::Object;
use anyhow::Result;

/// The objects whose source matches one of `patterns`: those of the first
/// pattern (in render order), then those of the second not yet taken, and so on.
///
/// # Errors
///
/// The first pattern that matches no source, worded as Helm words it:
/// `could not find template PATH in chart`.
pub fn filter(objects: Vec<Object>, patterns: &[String]) -> Result<Vec<Object>> {
    let mut slots: Vec<Option<Object>> = objects.into_iter().map(Some).collect();
    let mut kept = Vec::new();
    for pattern in patterns {
        let pattern = to_slash(pattern);
        let hits: Vec<usize> = (0..slots.len())
            .filter(|&i| {
                slots[i]
                    .as_ref()
                    .is_some_and(|o| matches(&pattern, &o.source))
            })
            .collect();
        let already = kept.iter().any(|o: &Object| matches(&pattern, &o.source));
        if hits.is_empty() && !already {
            anyhow::bail!(
                "could not find template {} in chart",
                crate::text::escape(&pattern)
            );
        }
        kept.extend(hits.into_iter().filter_map(|i| slots[i].take()));
    }
    Ok(kept)
}

/// Go's `filepath.ToSlash`: only Windows has another separator.
fn to_slash(pattern: &str) -> String {
    if cfg!(windows) {
        pattern.replace('\\', "/")
    } else {
        pattern.to_string()
    }
}

/// Go's `filepath.Match` with `/` as the separator: `*` is any run of
/// non-`/` characters, `?` one non-`/` character, `[...]` a class (`^` negates,
/// `a-z` ranges), `\` escapes. A malformed pattern matches nothing, as in
/// Helm, where Match's error is ignored.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob(&p, &n).unwrap_or(false)
}

/// `None` for a malformed pattern.
fn glob(p: &[char], n: &[char]) -> Option<bool> {
    let Some((&first, rest)) = p.split_first() else {
        return Some(n.is_empty());
    };
    match first {
        '*' => {
            // Validate the remainder even where no name is left to try it on.
            let mut any = glob(rest, n)?;
            let mut i = 0;
            while !any && i < n.len() && n[i] != '/' {
                i += 1;
                any = glob(rest, &n[i..])?;
            }
            Some(any)
        }
        '?' => match n.split_first() {
            Some((&c, tail)) if c != '/' => glob(rest, tail),
            _ => check(rest).map(|()| false),
        },
        '[' => {
            let (hit, after) = class(rest, n.first().copied())?;
            if hit && n.first().is_some_and(|&c| c != '/') {
                glob(after, &n[1..])
            } else {
                check(after).map(|()| false)
            }
        }
        '\\' => {
            let (&lit, after) = rest.split_first()?;
            literal(lit, after, n)
        }
        c => literal(c, rest, n),
    }
}

fn literal(c: char, rest: &[char], n: &[char]) -> Option<bool> {
    match n.split_first() {
        Some((&h, tail)) if h == c => glob(rest, tail),
        _ => check(rest).map(|()| false),
    }
}

/// Whether the rest of a pattern is well formed (Go reports a bad pattern
/// even after a mismatch).
fn check(p: &[char]) -> Option<()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                p.get(i + 1)?;
                i += 2;
            }
            '[' => {
                let (_, after) = class(&p[i + 1..], None)?;
                i = p.len() - after.len();
            }
            _ => i += 1,
        }
    }
    Some(())
}

/// Parses a class after its `[`; whether `c` is in it, and the pattern after `]`.
fn class(p: &[char], c: Option<char>) -> Option<(bool, &[char])> {
    let (negated, mut p) = match p.split_first() {
        Some(('^', rest)) => (true, rest),
        _ => (false, p),
    };
    let mut hit = false;
    let mut first = true;
    loop {
        let (&head, _) = p.split_first()?;
        if head == ']' && !first {
            let after = &p[1..];
            return Some((hit != negated, after));
        }
        first = false;
        let (lo, rest) = class_char(p)?;
        let (hi, rest) = match rest.split_first() {
            Some(('-', tail)) => class_char(tail)?,
            _ => (lo, rest),
        };
        if c.is_some_and(|c| lo <= c && c <= hi) {
            hit = true;
        }
        p = rest;
    }
}

fn class_char(p: &[char]) -> Option<(char, &[char])> {
    match p.split_first()? {
        ('\\', rest) => rest.split_first().map(|(&c, r)| (c, r)),
        ('-' | ']', _) => None,
        (&c, rest) => Some((c, rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn go_filepath_match_cases() {
        let cases = [
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*/b", "a/c/b", false),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a?b", "a/b", false),
            ("[\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[-]", "-", false),
            ("[]a]", "]", false),
            ("[", "a", false),
            ("a[", "x", false),
            ("*x", "xxx", true),
            ("app/templates/*.yaml", "app/templates/deploy.yaml", true),
            (
                "app/charts/*/templates/*",
                "app/charts/redis/templates/svc.yaml",
                true,
            ),
            (
                "app/templates/*",
                "app/charts/redis/templates/svc.yaml",
                false,
            ),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(matches(pattern, name), want, "{pattern} vs {name}");
        }
    }
}
