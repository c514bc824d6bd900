//! `oci://HOST[:PORT]/PATH/NAME` references, checked as the OCI Distribution spec names
//! repositories, so a typo fails here with the rule instead of as a registry's 404.

use anyhow::{Result, bail};

/// A chart in a registry: `oci://HOST[:PORT]/PATH/NAME`, without a tag (the version is
/// always given apart, as Helm's `--version` gives it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartRef {
    registry: String,
    repository: String,
}

impl ChartRef {
    /// Parses `oci://HOST[:PORT]/PATH/NAME`; the last path segment is the chart's name.
    ///
    /// # Errors
    ///
    /// Not `oci://`, no host, no name, a tag or digest in the reference, or a segment the
    /// OCI spec does not allow in a repository name.
    pub fn parse(s: &str) -> Result<ChartRef> {
        let (registry, path) = split(s)?;
        if path.is_empty() {
            bail!(
                "chart reference {s:?} names no chart: expected oci://HOST[:PORT]/PATH/NAME \
                 (the last segment is the chart's name)"
            );
        }
        Ok(ChartRef {
            registry,
            repository: path,
        })
    }

    /// `dest` (`oci://HOST[:PORT][/PATH]`, as `push` takes it) with the chart `name` appended.
    ///
    /// # Errors
    ///
    /// As [`ChartRef::parse`], or a chart name that is not a valid repository segment.
    pub fn in_namespace(dest: &str, name: &str) -> Result<ChartRef> {
        let (registry, path) = split(dest)?;
        check_segment(name, dest).map_err(|e| {
            e.context(format!(
                "the chart name {name:?} cannot be a registry repository name"
            ))
        })?;
        let repository = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}/{name}")
        };
        Ok(ChartRef {
            registry,
            repository,
        })
    }

    /// The chart's name: the reference's last path segment.
    pub fn name(&self) -> &str {
        self.repository
            .rsplit_once('/')
            .map_or(self.repository.as_str(), |(_, n)| n)
    }

    /// `HOST[:PORT]`, the key credentials are looked up under.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// `PATH/NAME`, the repository inside the registry.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `HOST/PATH/NAME:TAG` for `version`, with `+` written `_` as Helm tags it (a tag may
    /// not hold `+`).
    pub fn tagged(&self, version: &str) -> String {
        format!("{}/{}:{}", self.registry, self.repository, tag_of(version))
    }
}

impl std::fmt::Display for ChartRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oci://{}/{}", self.registry, self.repository)
    }
}

/// A chart version as a tag: Helm writes SemVer's `+` as `_`.
pub fn tag_of(version: &str) -> String {
    version.replace('+', "_")
}

/// `oci://HOST/PATH` → (`HOST`, `PATH`), both checked.
fn split(s: &str) -> Result<(String, String)> {
    let shown = redact(s);
    let Some(rest) = s.strip_prefix("oci://") else {
        bail!(
            "{shown:?} is not an OCI reference: it must start with oci:// (as in oci://HOST/PATH)"
        );
    };
    let rest = rest.trim_end_matches('/');
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.contains('@') {
        bail!(
            "{shown:?} holds credentials; give them with --username and --password-stdin, \
             `wasmchart registry login` or a Docker config, never in the reference"
        );
    }
    check_host(host, &shown)?;
    if path.contains('@') || path.rsplit('/').next().is_some_and(|l| l.contains(':')) {
        bail!(
            "{s:?} holds a tag or digest; give the reference without it and the version with \
             --version"
        );
    }
    for seg in path.split('/').filter(|_| !path.is_empty()) {
        check_segment(seg, s)?;
    }
    Ok((host.to_string(), path.to_string()))
}

/// `SCHEME://USER:PASSWORD@HOST/…` with the user information replaced by `***`: a repository
/// or reference is echoed in errors and reports, which end up in CI logs.
pub fn redact(s: &str) -> String {
    let Some((scheme, rest)) = s.split_once("://") else {
        return s.to_string();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => s.to_string(),
    }
}

fn check_host(host: &str, whole: &str) -> Result<()> {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(']') || n.starts_with('[') => (n, Some(p)),
        _ => (host, None),
    };
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    if !name_ok || !port_ok {
        bail!("{whole:?} has no valid registry host: expected oci://HOST[:PORT]/PATH");
    }
    Ok(())
}

/// One repository path segment: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn check_segment(seg: &str, whole: &str) -> Result<()> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let bytes: Vec<char> = seg.chars().collect();
    let mut ok = !bytes.is_empty()
        && bytes.first().copied().is_some_and(alnum)
        && bytes.last().copied().is_some_and(alnum);
    let mut i = 0;
    while ok && i < bytes.len() {
        let c = bytes[i];
        if alnum(c) {
            i += 1;
            continue;
        }
        let run: String = bytes[i..].iter().take_while(|c| !alnum(**c)).collect();
        ok = run == "." || run == "_" || run == "__" || run.chars().all(|c| c == '-');
        i += run.chars().count();
    }
    if !ok {
        bail!(
            "{whole:?}: path segment {seg:?} is not a valid repository name (lower-case letters \
             and digits, separated by '.', '_', '__' or dashes)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names() {
        let r = ChartRef::parse("oci://localhost:5000/charts/web-app").unwrap();
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.repository(), "charts/web-app");
        assert_eq!(r.name(), "web-app");
        assert_eq!(
            r.tagged("1.0.0+b.1"),
            "localhost:5000/charts/web-app:1.0.0_b.1"
        );
        let r = ChartRef::in_namespace("oci://r.example/", "a").unwrap();
        assert_eq!(r.to_string(), "oci://r.example/a");
    }

    #[test]
    fn refuses_bad_references() {
        for (s, part) in [
            ("https://h/x", "must start with oci://"),
            ("oci://h", "names no chart"),
            ("oci:///x", "no valid registry host"),
            ("oci://h:99999/x", "no valid registry host"),
            ("oci://h/x:1.0.0", "tag or digest"),
            ("oci://h/x@sha256:00", "tag or digest"),
            ("oci://h/Upper", "not a valid repository name"),
            ("oci://h/a//b", "not a valid repository name"),
            ("oci://h/-a", "not a valid repository name"),
        ] {
            let e = ChartRef::parse(s).unwrap_err().to_string();
            assert!(e.contains(part), "{s}: {e}");
        }
    }
}
