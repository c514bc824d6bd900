//! `wasmchart push`, `pull` and `registry login`: Helm's commands and flags, thin over the
//! library in [`super`].

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use wasmchart_values::chartfs::{ChartDir, archive};

use super::{ChartRef, RegistryOptions};

/// The connection and credential flags every registry command takes (Helm's names).
#[derive(Args, Clone, Default)]
pub struct RegistryFlags {
    /// Use plain HTTP instead of HTTPS (a local registry without TLS).
    #[arg(long)]
    pub plain_http: bool,
    /// Verify the registry's certificate with this CA bundle (PEM).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the registry's certificate (test registries only).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Registry username; give the password with --password-stdin.
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Read the registry password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Registry password (discouraged: visible in the process list; use --password-stdin).
    #[arg(long, value_name = "PASSWORD", hide = true)]
    pub password: Option<String>,
    /// Credentials file (default: Helm's registry config, then Docker's config.json).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
}

/// `--password`'s value is never shown.
impl std::fmt::Debug for RegistryFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryFlags")
            .field("plain_http", &self.plain_http)
            .field("ca_file", &self.ca_file)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("username", &self.username)
            .field("password_stdin", &self.password_stdin)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("registry_config", &self.registry_config)
            .finish()
    }
}

impl RegistryFlags {
    /// The library options; reads standard input for `--password-stdin`.
    pub fn options(&self) -> Result<RegistryOptions> {
        let password = match (&self.password, self.password_stdin) {
            (Some(_), true) => bail!("--password and --password-stdin are mutually exclusive"),
            (Some(p), false) => {
                eprintln!(
                    "warning: --password is visible to other users in the process list and \
                     stays in shell history; use --password-stdin"
                );
                Some(p.clone())
            }
            (None, true) => Some(read_password()?),
            (None, false) => None,
        };
        if password.is_some() && self.username.is_none() {
            bail!("a password needs --username");
        }
        Ok(RegistryOptions {
            plain_http: self.plain_http,
            ca_file: self.ca_file.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            username: self.username.clone(),
            password,
            registry_config: self.registry_config.clone(),
        })
    }
}

/// The password on standard input: one line (a trailing newline is dropped), at most 64 KiB.
fn read_password() -> Result<String> {
    let mut buf = Vec::new();
    std::io::stdin()
        .take(64 * 1024 + 1)
        .read_to_end(&mut buf)
        .context("--password-stdin: reading standard input")?;
    if buf.len() > 64 * 1024 {
        bail!("--password-stdin: standard input holds more than 64 KiB");
    }
    let mut s = String::from_utf8(buf).context("--password-stdin: the password is not UTF-8")?;
    while s.ends_with('\n') || s.ends_with('\r') {
        s.pop();
    }
    if s.is_empty() {
        bail!("--password-stdin: standard input is empty");
    }
    Ok(s)
}

/// `wasmchart push ARCHIVE oci://HOST[/PATH]`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The packaged chart (`NAME-VERSION.tgz`, from `wasmchart package` or `helm package`).
    pub archive: PathBuf,
    /// Where to push: `oci://HOST[:PORT][/PATH]`; the chart lands at `HOST/PATH/NAME:VERSION`.
    pub remote: String,
    #[command(flatten)]
    pub registry: RegistryFlags,
}

/// Pushes and prints Helm's two lines, plus the archive's own digest (the lock's pin).
pub fn run_push(args: PushArgs) -> Result<()> {
    let o = args.registry.options()?;
    let pushed = super::push_chart(&args.archive, &args.remote, &o)?;
    println!("Pushed: {}", pushed.reference);
    println!("Digest: {}", pushed.manifest_digest);
    println!("Archive digest: {}", pushed.digest);
    Ok(())
}

/// `wasmchart pull oci://HOST/PATH/NAME --version V`; `--version` is the chart's, as in Helm.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct PullArgs {
    /// The chart: `oci://HOST[:PORT]/PATH/NAME`.
    pub chart: String,
    /// Version or constraint (`1.2.3`, `^1.2`, `~1.2.0`); default: the newest.
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Directory to write NAME-VERSION.tgz into.
    #[arg(
        short = 'd',
        long = "destination",
        value_name = "DIR",
        default_value = "."
    )]
    pub destination: PathBuf,
    /// Also unpack the chart into DIR/NAME (DIR: --untardir).
    #[arg(long)]
    pub untar: bool,
    /// With --untar: the directory to unpack into, relative to --destination.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub untardir: PathBuf,
    #[command(flatten)]
    pub registry: RegistryFlags,
}

/// Resolves the version, pulls, writes the archive atomically, optionally unpacks it.
pub fn run_pull(args: PullArgs) -> Result<()> {
    let o = args.registry.options()?;
    let r = ChartRef::parse(&args.chart)?;
    let want = args.version.as_deref().unwrap_or("").trim().to_string();
    let version = if is_exact(&want) {
        want
    } else {
        let versions = super::list_versions(&r, &o)?;
        match super::resolve_version(&versions, &want) {
            Some(v) => v,
            None if want.is_empty() => bail!("{r}: {}", super::available(&versions)),
            None => bail!(
                "{r} has no version matching {want:?}; {}",
                super::available(&versions)
            ),
        }
    };
    let pulled = super::pull_chart(&r, &version, &o)?;
    let file = format!("{}-{}.tgz", pulled.name, pulled.version);
    write_atomic(&args.destination, &file, &pulled.archive)?;
    if args.untar {
        let into = args.destination.join(&args.untardir);
        untar(
            &pulled.archive,
            &args.destination.join(&file),
            &into,
            &pulled.name,
        )?;
    }
    println!("Pulled: {}", r.tagged(&pulled.version));
    println!("Digest: {}", pulled.manifest_digest);
    println!("Archive digest: {}", pulled.digest);
    Ok(())
}

/// An exact strict version is fetched directly, as Helm does; anything else is resolved
/// against the tag list.
fn is_exact(v: &str) -> bool {
    super::is_strict(v) && wasmchart_values::semver::Version::parse(v).is_some()
}

/// Writes `dir/name` through a temporary file in `dir` and a rename.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let fail = || format!("writing {}", path.display());
    std::fs::create_dir_all(dir).with_context(fail)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .tempfile_in(dir)
        .with_context(fail)?;
    std::io::Write::write_all(&mut tmp, bytes).with_context(fail)?;
    tmp.as_file().sync_all().with_context(fail)?;
    tmp.persist(&path).map_err(|e| e.error).with_context(fail)?;
    Ok(())
}

/// Unpacks the archive into `into/NAME` (refused if that exists, as Helm does), through the
/// hardened reader, into a temporary directory renamed into place when complete.
fn untar(bytes: &[u8], origin: &Path, into: &Path, name: &str) -> Result<()> {
    let target = into.join(name);
    if std::fs::symlink_metadata(&target).is_ok() {
        bail!(
            "--untar: {} already exists; remove it or choose another --untardir",
            target.display()
        );
    }
    std::fs::create_dir_all(into).with_context(|| format!("creating {}", into.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .tempdir_in(into)
        .with_context(|| format!("creating a directory in {}", into.display()))?;
    let dir = ChartDir::archive(archive::unpack(bytes, origin)?);
    copy_tree(&dir, Path::new(""), tmp.path())?;
    let tmp = tmp.keep();
    std::fs::rename(&tmp, &target)
        .with_context(|| format!("moving the unpacked chart to {}", target.display()))?;
    Ok(())
}

fn copy_tree(dir: &ChartDir, rel: &Path, out: &Path) -> Result<()> {
    for entry in dir.list(rel)? {
        let rel = rel.join(&entry);
        let dest = out.join(&rel);
        match dir.kind(&rel)? {
            Some(wasmchart_values::chartfs::Kind::Dir) => {
                std::fs::create_dir_all(&dest)
                    .with_context(|| format!("creating {}", dest.display()))?;
                copy_tree(dir, &rel, out)?;
            }
            _ => {
                let data = dir.read(&rel, &wasmchart_values::chartfs::COMPONENT)?;
                std::fs::write(&dest, data)
                    .with_context(|| format!("writing {}", dest.display()))?;
            }
        }
    }
    Ok(())
}

/// `wasmchart registry login|logout`, as Helm's.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub command: RegistryCommand,
}

/// Registry subcommands.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Check credentials against a registry and store them in Helm's registry config.
    Login(LoginArgs),
    /// Remove a registry's stored credentials from Helm's registry config.
    Logout(LogoutArgs),
}

/// `wasmchart registry logout HOST`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry: `HOST[:PORT]`.
    pub host: String,
    /// Credentials file (default: Helm's registry config).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
}

/// `wasmchart registry login HOST --username U --password-stdin`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry: `HOST[:PORT]`.
    pub host: String,
    #[command(flatten)]
    pub registry: RegistryFlags,
}

/// Runs a registry subcommand.
pub fn run_registry(args: RegistryArgs) -> Result<()> {
    match args.command {
        RegistryCommand::Login(a) => {
            let o = a.registry.options()?;
            let (Some(user), Some(pass)) = (o.username.clone(), o.password.clone()) else {
                bail!("registry login needs --username and --password-stdin");
            };
            let host = a.host.trim_start_matches("oci://").trim_end_matches('/');
            let file = super::login(host, &user, &pass, &o)?;
            eprintln!("Login Succeeded (credentials stored in {})", file.display());
            Ok(())
        }
        RegistryCommand::Logout(a) => {
            let host = a.host.trim_start_matches("oci://").trim_end_matches('/');
            let Some(file) = a.registry_config.or_else(super::auth::helm_config_path) else {
                bail!("no credentials file: set HOME or pass --registry-config");
            };
            if !super::auth::remove(&file, host)? {
                bail!("not logged in to {host} (no entry in {})", file.display());
            }
            eprintln!("Removing login credentials for {host}");
            Ok(())
        }
    }
}
