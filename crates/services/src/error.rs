//! The one error type of the services crate.
//!
//! Every variant names what the user must look at (a values key path, a file, a subchart or a
//! flag) and none ever carries secret material: messages are built from names and paths only.

use std::path::PathBuf;

/// An error from planning, sealing, key handling or rotation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value under `secrets:` or `certificates:` has the wrong shape or an invalid setting.
    #[error("invalid value at {path}: {message}")]
    Values {
        /// Dotted key path in the umbrella values, e.g. `secrets.items.jwt.keys.JWT_SECRET`.
        path: String,
        /// What is wrong, without the value itself when the value may be secret.
        message: String,
    },

    /// Keys that must be supplied have no value from values, flags or their environment
    /// variables. Every missing key of the render is listed, so one run shows them all.
    #[error("{}", missing_message(missing))]
    MissingRequired {
        /// Each missing key, in secret id then key order.
        missing: Vec<MissingKey>,
    },

    /// A root key is needed (generated values, sealing, keyed checksums) but none is configured.
    #[error(
        "{what} needs a root key but none is configured: set WASMCHART_SECRET_KEY to 64 or more \
         hex digits or to base64 of 32 or more random bytes (e.g. `openssl rand -hex 32`), or \
         pass --secret-key-file PATH (for the local environment one is created automatically)"
    )]
    NoRootKey {
        /// What needed the key, e.g. `secret "jwt" key "JWT_SECRET" (generated)`.
        what: String,
    },

    /// The configured root key cannot be used. Never contains the key text.
    #[error("root key from {origin}: {message}")]
    RootKey {
        /// Where the key came from: `WASMCHART_SECRET_KEY`, a file path.
        origin: String,
        /// What is wrong with it.
        message: String,
    },

    /// A subchart's `usesSecrets` names a secret id the umbrella does not declare.
    #[error(
        "subchart \"{subchart}\" uses secret \"{id}\" but secrets.items has no such id (declared: {known})"
    )]
    UnknownSecret {
        /// Subchart name (or alias).
        subchart: String,
        /// The unknown id.
        id: String,
        /// Comma-separated declared ids, or `none`.
        known: String,
    },

    /// A subchart's `usesCertificates` names a certificate the umbrella does not declare.
    #[error(
        "subchart \"{subchart}\" uses certificate \"{id}\" but certificates.certs has no entry with that name (declared: {known})"
    )]
    UnknownCertificate {
        /// Subchart name (or alias).
        subchart: String,
        /// The unknown certificate name.
        id: String,
        /// Comma-separated declared names, or `none`.
        known: String,
    },

    /// A subchart's `usesSecrets` / `usesCertificates` is not a list of strings.
    #[error("subchart \"{subchart}\" value {key}: {message}")]
    Consumer {
        /// Subchart name (or alias).
        subchart: String,
        /// `usesSecrets` or `usesCertificates`.
        key: String,
        /// What is wrong.
        message: String,
    },

    /// The sealing certificate or a private key cannot be read or parsed.
    #[error("{origin}: {message}")]
    Pem {
        /// Where the PEM came from (`--seal-cert`, a path).
        origin: String,
        /// What is wrong.
        message: String,
    },

    /// Sealing or unsealing failed.
    #[error("{0}")]
    Crypto(String),

    /// A secret uses strategy `sealed` but no controller certificate was given.
    #[error(
        "secret \"{id}\" uses strategy sealed, which needs the sealed-secrets controller certificate: \
         pass --seal-cert PATH or set secrets.sealed.certFile (get it with `kubeseal --fetch-cert`)"
    )]
    NoSealCert {
        /// Secret id under `secrets.items`.
        id: String,
    },

    /// The rotation file exists but cannot be parsed.
    #[error("{path}: {message}", path = path.display())]
    Generations {
        /// Path of `secret-generations.yaml`.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// A file could not be read or written.
    #[error("{action} {path}: {cause}", path = path.display())]
    Io {
        /// `cannot read`, `cannot write`, ...
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error, printed in the message (so not also a `source`).
        cause: std::io::Error,
    },
}

/// One required key without a value, and how to supply it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingKey {
    /// Secret id under `secrets.items`.
    pub id: String,
    /// Key inside the Secret.
    pub key: String,
    /// The `--set` path of the key's `value`, escaped for the `--set` grammar.
    pub flag_path: String,
    /// The environment variable the key names (`keys.<KEY>.env`), if any.
    pub env: Option<String>,
}

impl std::fmt::Display for MissingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "secret \"{}\" key \"{}\" is required but has no value: pass --set {p}=VALUE or --set-file {p}=PATH",
            self.id,
            self.key,
            p = self.flag_path
        )?;
        match &self.env {
            Some(env) => write!(f, ", or set the environment variable {env}"),
            None => Ok(()),
        }
    }
}

fn missing_message(missing: &[MissingKey]) -> String {
    match missing {
        [one] => one.to_string(),
        many => {
            let lines: Vec<String> = many.iter().map(|m| format!("  {m}")).collect();
            format!(
                "{} required secret keys have no value:\n{}",
                many.len(),
                lines.join("\n")
            )
        }
    }
}

impl Error {
    pub(crate) fn values(path: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Values {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        cause: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            cause,
        }
    }
}
