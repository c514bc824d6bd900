//! Charts in OCI registries, compatible with Helm's (`helm push`/`helm pull`, Helm 3.8+):
//! `wasmchart push` ships a packaged subchart with its component, `wasmchart pull` and
//! `dependency update` fetch one, pinned by digest.
//!
//! The registry is untrusted: every manifest and blob is checked against the digest asked
//! for (recomputed here, not taken from the registry's headers), sizes are bounded before
//! and while downloading, a manifest must have Helm's media types and exactly one chart
//! layer, and the pulled archive must pass the same hardened reader a chart load uses and
//! name the chart and version that were asked for. Registry text in errors is escaped;
//! passwords never appear in a message.
//!
//! `oci-client` does the token exchange and the upload; manifests, blobs and tag lists are
//! read with its HTTP client crate configured here (`transport.rs`), because oci-client reads
//! a manifest or tag list whole and follows any redirect: reads here stop at the cap, and a
//! redirect may not change the scheme.

mod auth;
pub mod cmd;
mod helm;
mod reference;
mod transport;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use wasmchart_values::chartfs::archive;
use wasmchart_values::semver::{self, Version};

pub use cmd::{PullArgs, PushArgs, RegistryArgs, run_pull, run_push, run_registry};
pub use helm::{CHART_MEDIA_TYPE, CONFIG_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, sha256};
pub use reference::{ChartRef, redact, tag_of};
use transport::Session;

/// How to reach and authenticate to a registry; [`Default`] is Helm's default (HTTPS with
/// the system's roots, credentials from Helm's registry config or Docker's config.json).
#[derive(Clone, Default)]
pub struct RegistryOptions {
    /// Speak plain HTTP (`--plain-http`), for a local registry without TLS.
    pub plain_http: bool,
    /// Also trust the CA certificates (PEM) in this file (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (`--insecure-skip-tls-verify`): test registries only.
    pub insecure_skip_tls_verify: bool,
    /// Username (`--username`); needs `password`.
    pub username: Option<String>,
    /// Password (`--password-stdin`); never printed.
    pub password: Option<String>,
    /// Credentials file to use instead of Helm's and Docker's (`--registry-config`).
    pub registry_config: Option<PathBuf>,
}

/// The password is never shown, so logging the options cannot leak it.
impl std::fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("plain_http", &self.plain_http)
            .field("ca_file", &self.ca_file)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("registry_config", &self.registry_config)
            .finish()
    }
}

/// A chart fetched from a registry and checked.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The `.tgz` bytes, as pushed.
    pub archive: Vec<u8>,
    /// `sha256:…` of `archive` (the chart layer's digest, verified).
    pub digest: String,
    /// `sha256:…` of the manifest (what Helm prints as `Digest:`).
    pub manifest_digest: String,
    /// The chart's name, from its Chart.yaml (equal to the reference's last segment).
    pub name: String,
    /// The chart's version, from its Chart.yaml (equal to the version asked for).
    pub version: String,
}

/// A chart pushed to a registry.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// `HOST/PATH/NAME:TAG`, as Helm prints it after `Pushed:`.
    pub reference: String,
    /// `sha256:…` of the manifest (Helm's `Digest:`).
    pub manifest_digest: String,
    /// `sha256:…` of the archive (the chart layer).
    pub digest: String,
}

/// The largest chart layer accepted: the packaged-chart cap the loader applies anyway.
pub const MAX_CHART_LAYER: u64 = archive::ARCHIVE.bytes;

/// The chart versions `r` has, newest first: its tags with Helm's `_` read back as `+`,
/// keeping only strict SemVer (`X.Y.Z[-pre][+build]`), as Helm lists them.
///
/// # Errors
///
/// The registry cannot be reached, refuses the credentials, or has no such repository.
pub fn list_versions(r: &ChartRef, o: &RegistryOptions) -> Result<Vec<String>> {
    let session = Session::new(r.registry(), o)?;
    Ok(strict_versions(session.tags(r)?))
}

fn strict_versions(tags: Vec<String>) -> Vec<String> {
    let mut v: Vec<(Version, String)> = tags
        .into_iter()
        .map(|t| t.replace('_', "+"))
        .filter(|t| is_strict(t))
        .filter_map(|t| Version::parse(&t).map(|v| (v, t)))
        .collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    v.into_iter().map(|(_, t)| t).collect()
}

/// Masterminds' `StrictNewVersion`: three numeric parts, no `v`, no leading zeros.
fn is_strict(t: &str) -> bool {
    let core = t.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

/// Helm's `GetTagMatchingVersionOrConstraint`: an exact version present in `versions`
/// (newest first) wins; otherwise the newest matching the constraint `want`; an empty
/// `want` means the newest.
pub fn resolve_version(versions: &[String], want: &str) -> Option<String> {
    let want = want.trim();
    if want.is_empty() {
        return versions.first().cloned();
    }
    if let Some(v) = versions.iter().find(|v| *v == want) {
        return Some(v.clone());
    }
    versions.iter().find(|v| semver::matches(want, v)).cloned()
}

/// Fetches `r` at exactly `version`, verified (see the module documentation).
///
/// # Errors
///
/// Unreachable or refusing registry; no such version (the message lists the versions that
/// exist); a manifest or blob that breaks a rule above, naming the digest.
pub fn pull_chart(r: &ChartRef, version: &str, o: &RegistryOptions) -> Result<Pulled> {
    if wasmchart_values::semver::Version::parse(version).is_none() || version.contains('/') {
        bail!(
            "{r}: version {:?} is not a SemVer version; refused before asking the registry",
            crate::text::escape_short(version, 100)
        );
    }
    let session = Session::new(r.registry(), o)?;
    let tag = tag_of(version);
    let (body, manifest_digest) = match session.manifest(r, &tag) {
        Ok(m) => m,
        Err(e) => return Err(not_found_or(&session, r, version, e)),
    };
    let what = format!("{r}:{tag}");
    let layer = helm::chart_layer(&body, &what)?;
    let archive = session.blob(r, &layer, MAX_CHART_LAYER)?;
    let origin = PathBuf::from(format!("{}-{version}.tgz", r.name()));
    let meta = helm::metadata_of(&archive, &origin).map_err(|e| {
        e.context(format!(
            "{what}: the chart layer is not a valid chart archive"
        ))
    })?;
    let field = |k: &str| {
        meta.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (name, got) = (field("name"), field("version"));
    if name != r.name() || got != version {
        bail!(
            "{what}: the archive holds chart {:?} version {:?}, not {} {version}; refused",
            crate::text::escape_short(&name, 80),
            crate::text::escape_short(&got, 80),
            r.name()
        );
    }
    Ok(Pulled {
        digest: layer.digest,
        archive,
        manifest_digest,
        name,
        version: got,
    })
}

/// When the manifest fetch failed: if the tag list works and lacks `version`, say which
/// versions exist instead of the registry's 404.
fn not_found_or(s: &Session, r: &ChartRef, version: &str, e: anyhow::Error) -> anyhow::Error {
    match s.tags(r).map(strict_versions) {
        Ok(v) if !v.iter().any(|x| x == version) => {
            anyhow::anyhow!("{r} has no version {version}; {}", available(&v))
        }
        Err(t) if format!("{t:#}").contains("(no such repository)") => anyhow::anyhow!(
            "{r}: no such chart in registry {}: repository {} does not exist",
            r.registry(),
            r.repository()
        ),
        _ => e,
    }
}

/// "versions available: …" or "it has no chart versions".
pub(crate) fn available(v: &[String]) -> String {
    const SHOWN: usize = 20;
    if v.is_empty() {
        return "the repository has no chart versions".into();
    }
    let mut s = format!(
        "versions available: {}",
        v.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ")
    );
    if v.len() > SHOWN {
        s.push_str(&format!(" (and {} older)", v.len() - SHOWN));
    }
    s
}

/// Pushes the chart archive at `archive` to `dest` (`oci://HOST[/PATH]`) as Helm does:
/// `HOST/PATH/NAME:VERSION`, NAME and VERSION from the archive's Chart.yaml.
///
/// # Errors
///
/// The archive is unreadable, not a valid chart, or named unlike its Chart.yaml; the
/// registry is unreachable or refuses the upload.
pub fn push_chart(archive: &Path, dest: &str, o: &RegistryOptions) -> Result<Pushed> {
    let p = helm::read_archive(archive)?;
    let r = ChartRef::in_namespace(dest, &p.name)?;
    let session = Session::new(r.registry(), o)?;
    session.begin_push(&r)?;
    let manifest = helm::manifest_for(&p);
    let body = serde_json::to_vec(&manifest)?;
    let digest = manifest.layers[0].digest.clone();
    session.push_blob(&r, p.config.clone(), &manifest.config.digest)?;
    session.push_blob(&r, p.archive, &digest)?;
    let tag = tag_of(&p.version);
    let manifest_digest = sha256(&body);
    session.push_manifest(&r, &tag, body)?;
    Ok(Pushed {
        reference: r.tagged(&p.version),
        manifest_digest,
        digest,
    })
}

/// Checks `username`/`password` against `registry` and stores them where Helm keeps
/// registry credentials (or `o.registry_config`); returns the file written.
///
/// # Errors
///
/// The registry is unreachable or rejects the credentials; the file cannot be written.
pub fn login(
    registry: &str,
    username: &str,
    password: &str,
    o: &RegistryOptions,
) -> Result<PathBuf> {
    let mut o = o.clone();
    o.username = Some(username.to_string());
    o.password = Some(password.to_string());
    let probe = ChartRef::parse(&format!("oci://{registry}/wasmchart-login-probe"))?;
    let session = Session::new(registry, &o)?;
    session.check_login(&probe)?;
    let Some(file) = o.registry_config.clone().or_else(auth::helm_config_path) else {
        bail!("no place to store credentials: set HOME or pass --registry-config");
    };
    auth::store(&file, registry, username, password)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strict_semver_newest_first() {
        let tags = [
            "latest",
            "1.0.0",
            "v2.0.0",
            "1.10.0",
            "1.2.0_build.1",
            "01.0.0",
            "1.2",
            "2.0.0-rc.1",
        ];
        let v = strict_versions(tags.iter().map(|s| s.to_string()).collect());
        assert_eq!(v, ["2.0.0-rc.1", "1.10.0", "1.2.0+build.1", "1.0.0"]);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let o = RegistryOptions {
            username: Some("u".into()),
            password: Some("hunter2".into()),
            ..RegistryOptions::default()
        };
        let text = format!("{o:?}");
        assert!(
            !text.contains("hunter2") && text.contains("<redacted>"),
            "{text}"
        );
    }

    #[test]
    fn resolves_as_helm_does() {
        let v: Vec<String> = ["2.0.0", "1.10.0", "1.2.3", "1.0.0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(resolve_version(&v, "").as_deref(), Some("2.0.0"));
        assert_eq!(resolve_version(&v, "1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(resolve_version(&v, "^1.2").as_deref(), Some("1.10.0"));
        assert_eq!(resolve_version(&v, "~1.2.0").as_deref(), Some("1.2.3"));
        assert_eq!(resolve_version(&v, "^3"), None);
        assert!(available(&v).contains("2.0.0, 1.10.0"));
    }
}
