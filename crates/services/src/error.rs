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

    /// A key that must be supplied has no value from values, flags or its environment variable.
    #[error(
        "secret \"{id}\" key \"{key}\" is required but has no value: pass --set {flag_path}=VALUE \
         or --set-file {flag_path}=PATH{env_hint}"
    )]
    MissingRequired {
        /// Secret id under `secrets.items`.
        id: String,
        /// Key inside the Secret.
        key: String,
        /// The `--set` path of the key's `value`, escaped for the `--set` grammar.
        flag_path: String,
        /// `, or set the environment variable NAME` when the key names one, else empty.
        env_hint: String,
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
