//! The operator's policy: what the components of a render may emit and how
//! far chart settings may raise the sandbox limits.
//!
//! The chart and its components are not trusted; the operator running
//! wasmchart (a multi-tenant CI, say) is. The operator states in a YAML
//! file, given with `--policy FILE` or `WASMCHART_POLICY`, the maximum and
//! default limits, the kinds that are denied or explicitly allowed, and
//! whether objects may be cluster-scoped, live in other namespaces or bind
//! `cluster-admin`. See `docs/policy.md` for the file format.
//!
//! With no policy, rendering stays Helm-compatible, except for one rule
//! that always applies: no component object may name or shadow a Secret the
//! host manages (a component could otherwise replace generated credentials).

mod kinds;
mod limits;
mod parse;
mod rules;

pub use kinds::KindPattern;
pub use limits::{LimitMap, LimitSources, flag as limit_flag, resolve_limits};
pub use rules::{Checker, Violation, host_secret_names};

use anyhow::{Context as _, Result, bail};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Environment variable naming the policy file when `--policy` is not given.
pub const POLICY_ENV: &str = "WASMCHART_POLICY";

/// Largest policy file read; a policy is a page of YAML.
const MAX_POLICY_BYTES: u64 = 1 << 20;

/// A parsed operator policy. Absent keys are permissive (Helm-compatible),
/// except the built-in denials, which apply whenever a policy is in force.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Where the policy came from, for messages (the file path).
    pub origin: String,
    /// `limits.max`: ceilings that chart settings are capped to and flags
    /// may not exceed.
    pub max: LimitMap,
    /// `limits.default`: defaults replacing the built-in ones.
    pub defaults: LimitMap,
    /// `kinds.allow`: kinds exempt from the built-in denials and from
    /// `clusterScoped: deny`.
    pub allow_kinds: Vec<KindPattern>,
    /// `kinds.deny`: kinds always refused.
    pub deny_kinds: Vec<KindPattern>,
    /// `rbac.allowClusterAdmin`: bindings to `cluster-admin` and roles
    /// granting every verb on every resource.
    pub allow_cluster_admin: bool,
    /// `namespaces.allowOther: false`: refuse objects with an explicit
    /// namespace other than the release's (the default allows them).
    pub deny_other_namespaces: bool,
    /// `clusterScoped: deny` (the default is `allow`).
    pub deny_cluster_scoped: bool,
    /// `hostSecrets.allowShadow`: objects naming a host-managed Secret.
    pub allow_host_secret_shadow: bool,
    /// `requireLock: true`: render only with an up-to-date Chart.lock pinning every
    /// dependency and component, as `--verify-lock` (see [`crate::lock`]).
    pub require_lock: bool,
    /// `secretEnv.allow`: the only environment variables a secret key's `env:`
    /// may read (names, or prefixes ending in `*`); `None` when the key is
    /// absent. A chart names the variables, so on a shared runner any other
    /// variable (a CI token, a cloud credential) could be copied into output.
    pub secret_env: Option<Vec<String>>,
}

impl Policy {
    /// Reads and parses the policy file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not a regular file, is over 1 MiB, is
    /// not YAML, or holds an unknown key or a bad value (named by its key
    /// path).
    pub fn load(path: &Path) -> Result<Policy> {
        let text = read_policy_file(path)?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// Parses policy text; `origin` names it in messages.
    ///
    /// # Errors
    ///
    /// Not YAML, not a map, an unknown key or a bad value, each naming the
    /// key path.
    pub fn parse(text: &str, origin: &str) -> Result<Policy> {
        parse::parse(text, origin)
    }

    /// Whether `pattern` list `allow` names this object's kind.
    fn allows(&self, api_version: &str, kind: &str) -> bool {
        self.allow_kinds
            .iter()
            .any(|p| p.matches(api_version, kind))
    }
}

/// Reads the environment variables secret keys name (`env:`), within the
/// policy's `secretEnv.allow` when it has one. A refused name reads as unset
/// and is remembered, so [`EnvGate::check`] can name every one at once.
pub struct EnvGate<'a> {
    policy: Option<&'a Policy>,
    refused: std::cell::RefCell<std::collections::BTreeSet<String>>,
}

impl<'a> EnvGate<'a> {
    /// A gate for `policy` (none: every variable may be read).
    pub fn new(policy: Option<&'a Policy>) -> Self {
        EnvGate {
            policy,
            refused: Default::default(),
        }
    }

    /// The variable's value, if the policy lets charts read it.
    pub fn read(&self, name: &str) -> Option<String> {
        let allowed = match self.policy.and_then(|p| p.secret_env.as_ref()) {
            None => true,
            Some(list) => list.iter().any(|pat| match pat.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => pat == name,
            }),
        };
        if allowed {
            return std::env::var(name).ok();
        }
        self.refused.borrow_mut().insert(name.to_string());
        None
    }

    /// An error naming every variable the policy refused, if any was asked for.
    ///
    /// # Errors
    ///
    /// A secret key's `env:` named a variable outside `secretEnv.allow`.
    pub fn check(&self) -> Result<()> {
        let refused = self.refused.borrow();
        if refused.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = refused.iter().map(|n| escape_name(n)).collect();
        let origin = self.policy.map(|p| p.origin.as_str()).unwrap_or_default();
        bail!(
            "the chart's secrets read the environment variable(s) {}, which the policy '{origin}' does not allow (secretEnv.allow); ask the operator to list them, or supply the values another way",
            names.join(", ")
        )
    }
}

fn escape_name(name: &str) -> String {
    crate::text::escape(name).into_owned()
}

/// The policy file to use: `--policy`, else `$WASMCHART_POLICY` when set
/// and not empty, else none.
pub fn policy_path(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| {
        std::env::var_os(POLICY_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

fn read_policy_file(path: &Path) -> Result<String> {
    let context = || format!("cannot read the policy file '{}'", path.display());
    let meta = std::fs::metadata(path).with_context(context)?;
    if !meta.is_file() {
        bail!("the policy file '{}' is not a regular file", path.display());
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .with_context(context)?
        .take(MAX_POLICY_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(context)?;
    if text.len() as u64 > MAX_POLICY_BYTES {
        bail!(
            "the policy file '{}' is over the 1Mi size limit for policies",
            path.display()
        );
    }
    Ok(text)
}
