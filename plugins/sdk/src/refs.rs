//! Finding host-managed secret and certificate references.

use crate::{CertificateRef, RenderInput, SecretRef};

/// The host-managed secret with id `id`, if the host passed one.
///
/// The host passes only references (Secret name and keys), never the secret
/// material: use them in `secretKeyRef`.
pub fn secret<'a>(input: &'a RenderInput, id: &str) -> Option<&'a SecretRef> {
    input.secrets.iter().find(|s| s.id == id)
}

/// The cert-manager certificate with id `id`, if the host passed one.
pub fn certificate<'a>(input: &'a RenderInput, id: &str) -> Option<&'a CertificateRef> {
    input.certificates.iter().find(|c| c.id == id)
}
