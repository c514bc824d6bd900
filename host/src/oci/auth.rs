//! Registry credentials where Helm users keep them: `--username` with `--password-stdin`,
//! Helm's registry config (`helm registry login` writes it) and Docker's `config.json`
//! (`docker login`), both the same `auths` format. Passwords never reach a message.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use serde_json::{Map, Value};
use wasmchart_values::chartfs::{self, Limit};

use super::RegistryOptions;

/// A credentials file is small; the cap only bounds parsing.
const CONFIG: Limit = Limit {
    what: "a registry credentials file",
    bytes: 1 << 20,
};

/// A username and password for one registry, and where they came from (for messages).
#[derive(Clone)]
pub(crate) struct Credentials {
    pub username: String,
    pub password: String,
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?} from {})", self.username, self.source)
    }
}

/// The credentials to use for `registry`: the flags first, then the configured files.
pub(crate) fn resolve(registry: &str, o: &RegistryOptions) -> Result<Option<Credentials>> {
    match (&o.username, &o.password) {
        (Some(u), Some(p)) => {
            return Ok(Some(Credentials {
                username: u.clone(),
                password: p.clone(),
                source: "--username".into(),
            }));
        }
        (Some(_), None) => bail!("--username needs a password: pass it with --password-stdin"),
        (None, Some(_)) => bail!("a password was given without --username"),
        (None, None) => {}
    }
    for file in config_files(o) {
        if let Some(c) = lookup(&file, registry)? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// Helm's `--registry-config` when given; otherwise Helm's registry config, then Docker's.
fn config_files(o: &RegistryOptions) -> Vec<PathBuf> {
    match &o.registry_config {
        Some(p) => vec![p.clone()],
        None => [helm_config_path(), docker_config_path()]
            .into_iter()
            .flatten()
            .collect(),
    }
}

/// Where `helm registry login` writes: `$HELM_REGISTRY_CONFIG`, else
/// `$XDG_CONFIG_HOME/helm/registry/config.json`, else `~/.config/helm/registry/config.json`.
pub(crate) fn helm_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HELM_REGISTRY_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")))?;
    Some(base.join("helm/registry/config.json"))
}

/// Docker's: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DOCKER_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p).join("config.json"));
    }
    home().map(|h| h.join(".docker/config.json"))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

fn read_config(file: &Path) -> Result<Option<Map<String, Value>>> {
    if !file.exists() {
        return Ok(None);
    }
    let text = chartfs::read_operator_string(file, &CONFIG)?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => bail!("{}: not a JSON object", file.display()),
        Err(e) => bail!("{}: not valid JSON: {e}", file.display()),
    }
}

/// The `auths` entry of `file` for `registry`, if any.
///
/// As Docker: a `credHelpers` entry for the registry wins, then `credsStore`, then `auths`.
fn lookup(file: &Path, registry: &str) -> Result<Option<Credentials>> {
    let Some(config) = read_config(file)? else {
        return Ok(None);
    };
    let helper = match config.get("credHelpers") {
        Some(Value::Object(h)) => h
            .iter()
            .find(|(k, _)| key_matches(k, registry))
            .and_then(|(_, v)| v.as_str()),
        _ => None,
    };
    if let Some(name) = helper {
        return helper::get(name, registry, file, true);
    }
    let store = config.get("credsStore").and_then(Value::as_str);
    if let Some(c) = store
        .map(|n| helper::get(n, registry, file, false))
        .transpose()?
        .flatten()
    {
        return Ok(Some(c));
    }
    let Some(Value::Object(auths)) = config.get("auths") else {
        return Ok(None);
    };
    let Some((key, entry)) = auths.iter().find(|(k, _)| key_matches(k, registry)) else {
        return Ok(None);
    };
    let at = || format!("{}, auths.{key:?}", file.display());
    if let Some(Value::String(b64)) = entry.get("auth").filter(|v| v.as_str() != Some("")) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((user, pass)) = raw.as_deref().and_then(|s| s.split_once(':')) else {
            bail!("{}: \"auth\" is not base64 of USERNAME:PASSWORD", at());
        };
        return Ok(Some(Credentials {
            username: user.to_string(),
            password: pass.to_string(),
            source: file.display().to_string(),
        }));
    }
    match (entry.get("username"), entry.get("password")) {
        (Some(Value::String(u)), Some(Value::String(p))) => Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
            source: file.display().to_string(),
        })),
        _ if entry.get("identitytoken").is_some() => bail!(
            "{}: holds an identity token, which wasmchart does not support; pass --username \
             and --password-stdin instead",
            at()
        ),
        _ => Ok(None),
    }
}

/// Docker credential helpers (`docker-credential-NAME get`), as `credsStore` and
/// `credHelpers` name them: Docker Desktop, the ECR, GCR and ACR helpers, `pass`.
mod helper {
    use std::io::{Read as _, Write as _};
    use std::path::Path;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use anyhow::{Result, bail};

    use super::Credentials;

    /// A helper that has not answered within this is killed.
    const TIMEOUT: Duration = Duration::from_secs(30);

    /// Asks `docker-credential-NAME` for `registry`'s credentials; `None` when it has none.
    /// A helper missing from PATH is an error when `required` (a `credHelpers` entry names
    /// it for this registry); a missing `credsStore` helper falls back to `auths`.
    pub(super) fn get(
        name: &str,
        registry: &str,
        config: &Path,
        required: bool,
    ) -> Result<Option<Credentials>> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            bail!(
                "{}: credential helper name {name:?} is not valid",
                config.display()
            );
        }
        let program = format!("docker-credential-{name}");
        let mut child = match Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "{} names the credential helper {name:?}, but {program} is not on PATH",
                config.display()
            ),
            Err(e) => bail!("running {program} (from {}): {e}", config.display()),
        };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(registry.as_bytes());
        }
        let mut stdout = child.stdout.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = (&mut stdout).take(64 * 1024).read_to_end(&mut out);
            out
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "{program} did not answer within {} seconds",
                    TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = reader.join().unwrap_or_default();
        if !status.success() {
            // "credentials not found in native keychain": the helper has none for this host.
            return Ok(None);
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(rename = "Username", default)]
            username: String,
            #[serde(rename = "Secret", default)]
            secret: String,
        }
        let Ok(a) = serde_json::from_slice::<Answer>(&out) else {
            bail!("{program} answered with something that is not its JSON credentials");
        };
        if a.secret.is_empty() || a.username == "<token>" {
            return Ok(None);
        }
        Ok(Some(Credentials {
            username: a.username,
            password: a.secret,
            source: program,
        }))
    }
}

/// Docker and Helm write keys as `HOST`, `https://HOST` or `https://HOST/v1/`.
fn key_matches(key: &str, registry: &str) -> bool {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let k = k.split('/').next().unwrap_or(k);
    let hub = |h: &str| matches!(h, "docker.io" | "index.docker.io" | "registry-1.docker.io");
    k.eq_ignore_ascii_case(registry) || (hub(k) && hub(registry))
}

/// Stores `username`/`password` for `registry` in `file` (Helm's registry config by
/// default), keeping its other entries; written to a temporary file with mode 0600 and
/// renamed over the old one, so a crash never leaves half a credentials file.
pub(crate) fn store(file: &Path, registry: &str, username: &str, password: &str) -> Result<()> {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    edit(file, registry, Some(serde_json::json!({ "auth": token }))).map(drop)
}

/// Removes `registry`'s entries from `file` (`registry logout`); false when there were none.
pub(crate) fn remove(file: &Path, registry: &str) -> Result<bool> {
    edit(file, registry, None)
}

/// Replaces (or with `None` removes) `registry`'s entry in `file`, atomically, mode 0600.
/// Returns whether an entry was there before.
fn edit(file: &Path, registry: &str, entry: Option<Value>) -> Result<bool> {
    let mut config = read_config(file)?.unwrap_or_default();
    let auths = config
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(auths) = auths else {
        bail!("{}: \"auths\" is not an object", file.display());
    };
    let before = auths.len();
    auths.retain(|k, _| !key_matches(k, registry));
    let existed = auths.len() != before;
    if entry.is_none() && !existed {
        return Ok(false);
    }
    if let Some(e) = entry {
        auths.insert(registry.to_string(), e);
    }
    let text = serde_json::to_string_pretty(&Value::Object(config))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)
        .with_context(|| format!("writing {}", file.display()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", file.display()))?;
    tmp.persist(file)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(existed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_as_docker_writes_them() {
        assert!(key_matches("localhost:5000", "localhost:5000"));
        assert!(key_matches("https://localhost:5000/v1/", "localhost:5000"));
        assert!(key_matches("https://index.docker.io/v1/", "docker.io"));
        assert!(!key_matches("localhost:5001", "localhost:5000"));
    }

    #[test]
    fn store_then_lookup_round_trips_with_mode_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/config.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            r#"{"auths":{"other:1":{"auth":"eDp5"}},"credsStore":"x"}"#,
        )
        .unwrap();
        store(&file, "h:5000", "u", "p:w").unwrap();
        let c = lookup(&file, "h:5000").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p:w"));
        assert!(lookup(&file, "other:1").unwrap().is_some());
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("credsStore"), "{text}");
        assert!(remove(&file, "h:5000").unwrap());
        assert!(lookup(&file, "h:5000").unwrap().is_none());
        assert!(lookup(&file, "other:1").unwrap().is_some());
        assert!(!remove(&file, "h:5000").unwrap());
    }

    #[test]
    fn a_bad_auth_entry_names_the_file_and_key_not_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.json");
        std::fs::write(&file, r#"{"auths":{"h":{"auth":"bm9jb2xvbg=="}}}"#).unwrap();
        let e = lookup(&file, "h").unwrap_err().to_string();
        assert!(
            e.contains("config.json") && e.contains("auths.\"h\""),
            "{e}"
        );
        assert!(!e.contains("nocolon"), "{e}");
    }
}
