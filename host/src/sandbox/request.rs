//! Plain host-side types for a render's input and output. They mirror the
//! WIT records (see `wit/chart.wit` for each field's meaning) so callers
//! never touch the generated bindings.

use std::path::PathBuf;

/// Facts about the release (WIT `release`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    /// Release name.
    pub name: String,
    /// Target namespace.
    pub namespace: String,
    /// Release revision, 1 for a first install.
    pub revision: u32,
    /// Rendering for a first install.
    pub is_install: bool,
    /// Rendering for an upgrade.
    pub is_upgrade: bool,
}

/// Facts about the subchart (WIT `chart-info`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChartInfo {
    /// Name (alias if any).
    pub name: String,
    /// Chart version.
    pub version: String,
    /// `appVersion`, if set.
    pub app_version: Option<String>,
}

/// What the cluster supports (WIT `capabilities`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Kubernetes version, e.g. `v1.31.0`.
    pub kube_version: String,
    /// Available API versions, sorted.
    pub api_versions: Vec<String>,
}

/// A host-managed Secret (WIT `secret-ref`): names only, never values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretRef {
    /// Id in the umbrella's `secrets:`.
    pub id: String,
    /// Kubernetes Secret name.
    pub secret_name: String,
    /// Keys the Secret holds, sorted.
    pub keys: Vec<String>,
}

/// A cert-manager certificate (WIT `certificate-ref`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateRef {
    /// Certificate name.
    pub id: String,
    /// Secret cert-manager fills.
    pub secret_name: String,
    /// DNS names covered.
    pub dns_names: Vec<String>,
}

/// Everything one render needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderRequest {
    /// The subchart's merged values as a JSON object.
    pub values_json: String,
    /// The release.
    pub release: Release,
    /// The subchart's chart facts.
    pub chart: ChartInfo,
    /// The cluster's capabilities.
    pub capabilities: Capabilities,
    /// Secrets this component uses, sorted by id.
    pub secrets: Vec<SecretRef>,
    /// Certificates this component uses, sorted by id.
    pub certificates: Vec<CertificateRef>,
    /// The subchart's `files/` directory, mounted read-only at `/files`
    /// when set and present.
    pub files_dir: Option<PathBuf>,
}

/// One returned object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Source path inside the subchart, e.g. `templates/service.yaml`.
    pub source: String,
    /// One object as YAML or JSON text.
    pub content: String,
}

/// Severity of a component log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// `trace`.
    Trace,
    /// `debug`.
    Debug,
    /// `info`; also stdout lines.
    Info,
    /// `warn`; also stderr lines and host notices (dropped lines).
    Warn,
    /// `error`.
    Error,
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        })
    }
}

/// One line a component logged or printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Severity.
    pub level: LogLevel,
    /// The text, without the component's name (the caller adds it).
    pub message: String,
}

/// What a successful render returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderResult {
    /// The objects, in the component's order.
    pub manifests: Vec<Manifest>,
    /// Optional notes for the user.
    pub notes: Option<String>,
    /// Log lines: log calls, then stdout, then stderr lines, bounded.
    pub logs: Vec<LogLine>,
}
