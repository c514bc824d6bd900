//! Where the root key comes from.
//!
//! In order: `--secret-key-file PATH`, the `WASMCHART_SECRET_KEY` environment variable, and, for
//! a local environment only, a key file in the user's config directory that is created on first
//! use. A chart directory never holds the key: it is committed, the key must not be.
//!
//! The environment is read through a getter closure so tests (and embedders) never touch the
//! process environment.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore as _};

use crate::error::Error;
use crate::material::{MIN_ROOT_KEY_BYTES, RootKey, to_hex};

/// Environment variable holding the root key (hex or base64, at least 32 bytes).
pub const SECRET_KEY_ENV: &str = "WASMCHART_SECRET_KEY";
/// Environment variable overriding the user's wasmchart config directory.
pub const CONFIG_DIR_ENV: &str = "WASMCHART_CONFIG_DIR";
/// File name of the automatically created local key inside the config directory.
pub const LOCAL_KEY_FILE: &str = "local-secret-key";

/// How to look the root key up.
#[derive(Debug, Clone, Default)]
pub struct RootKeyOptions {
    /// `--secret-key-file PATH`, which wins over the environment variable.
    pub key_file: Option<PathBuf>,
    /// Whether a missing key may be created in the user's config directory. The host sets
    /// this for the environment named `local` (see [`is_local_env`]) or on explicit request.
    pub create_local: bool,
    /// The chart directory: the automatically created key must never land inside it.
    pub chart_dir: PathBuf,
}

/// Whether an environment name means "a developer's machine", where a root key may be
/// created automatically.
pub fn is_local_env(env: &str) -> bool {
    env == "local"
}

/// Finds the root key, or `Ok(None)` when none is configured (rendering then fails only if
/// something actually needs the key, with an error saying how to provide one).
pub fn load_root_key(
    opts: &RootKeyOptions,
    env_var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<RootKey>, Error> {
    if let Some(path) = &opts.key_file {
        refuse_shared_key_file(path)?;
        return read_key_file(path).map(Some);
    }
    if let Some(text) = env_var(SECRET_KEY_ENV).filter(|t| !t.trim().is_empty()) {
        return RootKey::parse(&text)
            .map(Some)
            .map_err(|message| Error::RootKey {
                origin: SECRET_KEY_ENV.into(),
                message,
            });
    }
    if !opts.create_local {
        return Ok(None);
    }
    let dir = config_dir(env_var)?;
    refuse_inside_chart(&dir, &opts.chart_dir)?;
    local_key(&dir).map(Some)
}

/// The user's wasmchart config directory: `WASMCHART_CONFIG_DIR`, else
/// `$XDG_CONFIG_HOME/wasmchart`, else `%APPDATA%\wasmchart`, else `$HOME/.config/wasmchart`.
pub fn config_dir(env_var: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, Error> {
    let var = |name: &str| env_var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var(CONFIG_DIR_ENV) {
        return Ok(dir);
    }
    let base = var("XDG_CONFIG_HOME")
        .or_else(|| var("APPDATA"))
        .or_else(|| var("HOME").map(|home| home.join(".config")));
    base.map(|b| b.join("wasmchart")).ok_or_else(|| Error::RootKey {
        origin: "the local key".into(),
        message: format!(
            "no config directory: set {CONFIG_DIR_ENV}, XDG_CONFIG_HOME or HOME, or set {SECRET_KEY_ENV}"
        ),
    })
}

fn read_key_file(path: &Path) -> Result<RootKey, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    RootKey::parse(&text).map_err(|message| Error::RootKey {
        origin: path.display().to_string(),
        message,
    })
}

/// Refuses a `--secret-key-file` that group or others may read, as ssh refuses a private key:
/// whoever reads the root key can recompute every generated secret.
fn refuse_shared_key_file(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::RootKey {
                origin: path.display().to_string(),
                message: format!(
                    "group or others can access the file (mode {mode:04o}), and whoever reads \
                     the root key can recompute every generated secret: run `chmod 600 {}`",
                    path.display()
                ),
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn refuse_inside_chart(dir: &Path, chart_dir: &Path) -> Result<(), Error> {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let chart = std::fs::canonicalize(chart_dir).unwrap_or_else(|_| abs(chart_dir));
    let inside = abs(dir).starts_with(&chart)
        || std::fs::canonicalize(dir).is_ok_and(|d| d.starts_with(&chart))
        || abs(dir).starts_with(abs(chart_dir));
    if inside {
        return Err(Error::RootKey {
            origin: dir.display().to_string(),
            message:
                "the config directory is inside the chart directory; a root key must never be \
                      stored in the chart, point WASMCHART_CONFIG_DIR elsewhere"
                    .into(),
        });
    }
    Ok(())
}

/// Reads the local key, creating it (32 random bytes, hex, mode 0600) if it does not exist.
/// Creation writes a temporary file and links it into place without replacing, so two
/// concurrent first renders agree on one key.
fn local_key(dir: &Path) -> Result<RootKey, Error> {
    let path = dir.join(LOCAL_KEY_FILE);
    if !path.exists() {
        create_local_key(dir, &path)?;
    }
    read_key_file(&path)
}

fn create_local_key(dir: &Path, path: &Path) -> Result<(), Error> {
    create_private_dir(dir)?;
    let mut bytes = zeroize::Zeroizing::new([0u8; MIN_ROOT_KEY_BYTES]);
    OsRng.fill_bytes(bytes.as_mut());
    let text = zeroize::Zeroizing::new(to_hex(bytes.as_ref()) + "\n");
    // tempfile creates files readable by the owner only (0600 on Unix).
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io("cannot write", dir, e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("cannot write", tmp.path().to_path_buf(), e))?;
    match tmp.persist_noclobber(path) {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("cannot write", path, e.error)),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| Error::io("cannot create", dir, e))
}
