//! Finding host-managed secret and certificate references.

use crate::{CertificateRef, RenderInput, SecretRef};

/// The host-managed secret with id `id`, if the host passed one.
///
/// The host passes only references (Secret name and keys), never the secret
/// material: use them in `secretKeyRef`.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{SecretRef, secret, serde_json::json, testing};
///
/// let mut input = testing::input("redis", json!({"usesSecrets": ["redis"]}));
/// input.secrets.push(SecretRef {
///     id: "redis".into(),
///     secret_name: "release-redis-secret".into(),
///     keys: vec!["REDIS_PASSWORD".into()],
/// });
/// let password = secret(&input, "redis").expect("the host passed it");
/// assert_eq!(password.secret_name, "release-redis-secret");
/// assert!(secret(&input, "other").is_none());
/// ```
pub fn secret<'a>(input: &'a RenderInput, id: &str) -> Option<&'a SecretRef> {
    input.secrets.iter().find(|s| s.id == id)
}

/// The cert-manager certificate with id `id`, if the host passed one.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{CertificateRef, certificate, serde_json::json, testing};
///
/// let mut input = testing::input("web", json!({"usesCertificates": ["web"]}));
/// input.certificates.push(CertificateRef {
///     id: "web".into(),
///     secret_name: "release-web-tls".into(),
///     dns_names: vec!["web.example".into()],
/// });
/// assert_eq!(certificate(&input, "web").map(|c| c.secret_name.as_str()), Some("release-web-tls"));
/// ```
pub fn certificate<'a>(input: &'a RenderInput, id: &str) -> Option<&'a CertificateRef> {
    input.certificates.iter().find(|c| c.id == id)
}
