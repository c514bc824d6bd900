//! kubeseal-compatible hybrid encryption, both directions.
//!
//! The format the Sealed Secrets controller decrypts (its `crypto.HybridDecrypt`):
//!
//! ```text
//! u16 big-endian length of the RSA ciphertext
//! RSA-OAEP(SHA-256, label = scope label)(32-byte AES session key)
//! AES-256-GCM(session key, 12 zero bytes as nonce)(plaintext) with its 16-byte tag
//! ```
//!
//! then standard base64 in `spec.encryptedData`. The label binds the ciphertext to where it may
//! be used: `namespace/name` (strict), `namespace` (namespace-wide) or empty (cluster-wide).
//!
//! kubeseal draws the session key and the OAEP seed from the OS RNG, so every run gives new
//! ciphertext. Here both come from a ChaCha20 stream seeded with
//! `HMAC(seal key, certificate fingerprint, label, key name, plaintext)`, where the seal key is
//! derived from the root key. Unchanged inputs therefore re-seal byte-identically, and two
//! different plaintexts (or labels, or certificates) never share a session key, which is what
//! makes the fixed zero GCM nonce safe, exactly as in kubeseal where each key is used once.
//! Without the root key in the seed, anyone holding the public certificate could re-seal a
//! guessed password and compare; with it they cannot.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, Odd};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest as _, Sha256};
use x509_cert::der::{DecodePem as _, Encode as _};

use crate::derive::keyed_hash;
use crate::error::Error;
use crate::material::{SecretValue, to_hex};
use crate::spec::Scope;

const SESSION_KEY_BYTES: usize = 32;

/// The controller's public key, read from its certificate (`kubeseal --fetch-cert` output).
#[derive(Clone)]
pub struct SealingCert {
    key: PublicPower,
    fingerprint: [u8; 32],
}

impl std::fmt::Debug for SealingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealingCert(sha256:{})", to_hex(&self.fingerprint))
    }
}

impl SealingCert {
    /// Parses the first `CERTIFICATE` block of a PEM text. `origin` names the source in errors.
    pub fn from_pem(pem: &str, origin: &str) -> Result<Self, Error> {
        let err = |message: String| Error::Pem {
            origin: origin.to_string(),
            message,
        };
        let block = first_pem_block(pem, "CERTIFICATE")
            .ok_or_else(|| err("no PEM CERTIFICATE block (pass the controller certificate from `kubeseal --fetch-cert`)".into()))?;
        let cert = x509_cert::Certificate::from_pem(block.as_bytes())
            .map_err(|e| err(format!("not an X.509 certificate: {e}")))?;
        let der = cert
            .to_der()
            .map_err(|e| err(format!("cannot encode the certificate: {e}")))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| err(format!("cannot read the public key: {e}")))?;
        let key = RsaPublicKey::from_public_key_der(&spki)
            .map_err(|e| err(format!("the certificate's key is not an RSA key: {e}")))?;
        Ok(SealingCert {
            key: PublicPower::new(&key)
                .ok_or_else(|| err("the certificate's RSA modulus is even".into()))?,
            fingerprint: Sha256::digest(&der).into(),
        })
    }

    /// SHA-256 of the certificate's DER, lower-case hex.
    pub fn fingerprint(&self) -> String {
        to_hex(&self.fingerprint)
    }
}

/// The OAEP label for a scope: what the ciphertext is bound to.
pub fn scope_label(scope: Scope, namespace: &str, name: &str) -> String {
    match scope {
        Scope::Strict => format!("{namespace}/{name}"),
        Scope::NamespaceWide => namespace.to_string(),
        Scope::ClusterWide => String::new(),
    }
}

/// Seals one value deterministically; returns the standard-base64 text for `encryptedData`.
/// `seal_key` is a 32-byte key derived from the root key.
pub fn seal(
    cert: &SealingCert,
    seal_key: &[u8],
    label: &str,
    key_name: &str,
    plaintext: &SecretValue,
) -> Result<String, Error> {
    let seed = keyed_hash(
        seal_key,
        &[
            b"kubeseal",
            &cert.fingerprint,
            label.as_bytes(),
            key_name.as_bytes(),
            plaintext.expose(),
        ],
    );
    let mut rng = ChaCha20Rng::from_seed(seed);
    let ciphertext = hybrid_encrypt(&mut rng, &cert.key, plaintext.expose(), label)?;
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::STANDARD.encode(ciphertext))
}

/// kubeseal's `HybridEncrypt` with a caller-chosen RNG.
fn hybrid_encrypt(
    rng: &mut ChaCha20Rng,
    key: &PublicPower,
    plaintext: &[u8],
    label: &str,
) -> Result<Vec<u8>, Error> {
    let mut session_key = zeroize::Zeroizing::new([0u8; SESSION_KEY_BYTES]);
    rng.fill_bytes(session_key.as_mut());
    let rsa_ct = oaep_encrypt(rng, key, session_key.as_ref(), label)?;
    let len = u16::try_from(rsa_ct.len())
        .map_err(|_| Error::Crypto("the RSA key is too large for kubeseal's format".into()))?;
    let gcm = Aes256Gcm::new_from_slice(session_key.as_ref())
        .map_err(|_| Error::Crypto("bad AES key length".into()))?;
    let sealed = gcm
        .encrypt(&Nonce::default(), Payload::from(plaintext))
        .map_err(|_| Error::Crypto("AES-GCM encryption failed".into()))?;
    let mut out = Vec::with_capacity(2 + rsa_ct.len() + sealed.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&rsa_ct);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// RSA-OAEP (SHA-256, MGF1 with SHA-256, `label`) of `msg`: the bytes `rsa`'s
/// `Oaep::new_with_label::<Sha256, _>` gives with the same `rng` (which is drawn from only for
/// the 32-byte seed), computed faster (see [`PublicPower`]).
fn oaep_encrypt(
    rng: &mut ChaCha20Rng,
    key: &PublicPower,
    msg: &[u8],
    label: &str,
) -> Result<Vec<u8>, Error> {
    const HASH: usize = 32;
    let k = key.size;
    if msg.len() + 2 * HASH + 2 > k {
        return Err(Error::Crypto(
            "RSA-OAEP encryption failed: the RSA key is too small".into(),
        ));
    }
    // EM = 0x00 || maskedSeed || maskedDB, DB = lHash || PS (zeros) || 0x01 || M (RFC 8017, 7.1.1).
    let mut em = zeroize::Zeroizing::new(vec![0u8; k]);
    let (seed, db) = em[1..].split_at_mut(HASH);
    rng.fill_bytes(seed);
    let db_len = db.len();
    db[..HASH].copy_from_slice(&Sha256::digest(label.as_bytes()));
    db[db_len - msg.len() - 1] = 1;
    db[db_len - msg.len()..].copy_from_slice(msg);
    mgf1_xor(db, seed);
    mgf1_xor(seed, db);
    Ok(key.raise(&em))
}

/// `m^e mod n` for one RSA public key, in Montgomery form with crypto-bigint: constant-time in
/// `m` (the padded session key), with the modulus' constants computed once per certificate.
/// `rsa` 0.9 raises with num-bigint-dig, whose fixed 4-bit window over a whole 64-bit limb
/// costs about 95 products for e = 65537; even a square-and-multiply on those bignums, each
/// product followed by a division, took 0.5 ms per value sealed.
#[derive(Clone)]
struct PublicPower {
    params: BoxedMontyParams,
    exponent: BoxedUint,
    /// The modulus' length in bytes, that of every ciphertext.
    size: usize,
}

impl PublicPower {
    /// `None` for an even modulus, which no RSA key has.
    fn new(key: &RsaPublicKey) -> Option<Self> {
        let modulus = BoxedUint::from_be_slice_vartime(&key.n().to_bytes_be());
        let params = BoxedMontyParams::new_vartime(Option::from(Odd::new(modulus))?);
        Some(PublicPower {
            params,
            exponent: BoxedUint::from_be_slice_vartime(&key.e().to_bytes_be()),
            size: key.size(),
        })
    }

    /// `em^e mod n` as `size` big-endian bytes; `em` is `size` bytes below the modulus (OAEP's
    /// leading zero byte keeps it there).
    fn raise(&self, em: &[u8]) -> Vec<u8> {
        let bits = self.params.bits_precision();
        let m = zeroize::Zeroizing::new(BoxedUint::from_be_slice_truncated(em, bits));
        let base = zeroize::Zeroizing::new(BoxedMontyForm::new((*m).clone(), &self.params));
        // Left-to-right square-and-multiply: 16 squarings and one product for e = 65537, where
        // a windowed power spends 15 more on its table. The sequence follows the public
        // exponent only, and each product is constant-time.
        let mut power = zeroize::Zeroizing::new((*base).clone());
        for bit in (0..self.exponent.bit_width_vartime().saturating_sub(1)).rev() {
            *power = power.square();
            if self.exponent.bit_vartime(bit) {
                *power = power.mul(&base);
            }
        }
        let c = power.retrieve().to_be_bytes();
        c[c.len() - self.size..].to_vec()
    }
}

/// `out ^= MGF1-SHA-256(seed)`, truncated to `out`'s length.
fn mgf1_xor(out: &mut [u8], seed: &[u8]) {
    for (counter, chunk) in (0u32..).zip(out.chunks_mut(32)) {
        let mask = Sha256::new()
            .chain_update(seed)
            .chain_update(counter.to_be_bytes())
            .finalize();
        for (byte, m) in chunk.iter_mut().zip(mask) {
            *byte ^= m;
        }
    }
}

/// A controller private key, for unsealing (tests, `wasmchart secrets` diagnostics).
pub struct UnsealingKey(RsaPrivateKey);

impl std::fmt::Debug for UnsealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnsealingKey(<redacted>)")
    }
}

impl UnsealingKey {
    /// Parses a PEM `RSA PRIVATE KEY` (PKCS#1, what the controller stores) or `PRIVATE KEY`
    /// (PKCS#8) block.
    pub fn from_pem(pem: &str, origin: &str) -> Result<Self, Error> {
        let err = |message: &str| Error::Pem {
            origin: origin.to_string(),
            message: message.to_string(),
        };
        if let Some(block) = first_pem_block(pem, "RSA PRIVATE KEY") {
            return RsaPrivateKey::from_pkcs1_pem(&block)
                .map(UnsealingKey)
                .map_err(|_| err("invalid PKCS#1 RSA private key"));
        }
        if let Some(block) = first_pem_block(pem, "PRIVATE KEY") {
            return RsaPrivateKey::from_pkcs8_pem(&block)
                .map(UnsealingKey)
                .map_err(|_| err("invalid PKCS#8 RSA private key"));
        }
        Err(err("no PEM RSA PRIVATE KEY or PRIVATE KEY block"))
    }

    /// Decrypts one `encryptedData` value (standard base64) sealed under `label`.
    pub fn unseal(&self, base64_text: &str, label: &str) -> Result<SecretValue, Error> {
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD
            .decode(base64_text.trim())
            .map_err(|_| Error::Crypto("the sealed value is not standard base64".into()))?;
        self.hybrid_decrypt(&data, label)
    }

    fn hybrid_decrypt(&self, data: &[u8], label: &str) -> Result<SecretValue, Error> {
        let short = || Error::Crypto("the sealed value is too short".into());
        let (len, rest) = data.split_at_checked(2).ok_or_else(short)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (rsa_ct, aes_ct) = rest.split_at_checked(len).ok_or_else(short)?;
        let session_key = zeroize::Zeroizing::new(
            self.0
                .decrypt(Oaep::new_with_label::<Sha256, _>(label), rsa_ct)
                .map_err(|_| {
                    Error::Crypto(format!(
                        "cannot decrypt the session key under label \"{label}\" (wrong key, namespace or name)"
                    ))
                })?,
        );
        let gcm = Aes256Gcm::new_from_slice(&session_key)
            .map_err(|_| Error::Crypto("the session key has the wrong length".into()))?;
        gcm.decrypt(&Nonce::default(), Payload::from(aes_ct))
            .map(SecretValue::new)
            .map_err(|_| Error::Crypto("AES-GCM authentication failed".into()))
    }
}

/// The first PEM block of a given type, re-assembled as its own PEM text.
fn first_pem_block(pem: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)?;
    let stop = pem[start..].find(&end)? + start + end.len();
    Some(format!("{}\n", &pem[start..stop]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_scope() {
        assert_eq!(scope_label(Scope::Strict, "ns", "s"), "ns/s");
        assert_eq!(scope_label(Scope::NamespaceWide, "ns", "s"), "ns");
        assert_eq!(scope_label(Scope::ClusterWide, "ns", "s"), "");
    }

    /// The fast OAEP gives `rsa`'s bytes for the same random stream, for labels and messages
    /// of every shape sealing uses.
    #[test]
    fn oaep_matches_the_rsa_crate_byte_for_byte() {
        let mut keygen = ChaCha20Rng::from_seed([7; 32]);
        // 1032 bits: a modulus whose length is not a whole number of 64-bit limbs.
        for bits in [1024, 1032, 2048] {
            let private = RsaPrivateKey::new(&mut keygen, bits).unwrap();
            let key = RsaPublicKey::from(&private);
            let power = PublicPower::new(&key).unwrap();
            for (i, label) in ["", "ns", "imprun-prod/imprun-mongodb"]
                .into_iter()
                .enumerate()
            {
                for len in [0, 1, 32, 40] {
                    let msg = vec![u8::try_from(len + i).unwrap(); len];
                    let seed = [u8::try_from(bits / 8 + len + i).unwrap_or(1); 32];
                    let ours = oaep_encrypt(&mut ChaCha20Rng::from_seed(seed), &power, &msg, label);
                    let theirs = key.encrypt(
                        &mut ChaCha20Rng::from_seed(seed),
                        Oaep::new_with_label::<Sha256, _>(label),
                        &msg,
                    );
                    assert_eq!(
                        ours.unwrap(),
                        theirs.unwrap(),
                        "{bits} bits, {label:?}, {len} bytes"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_pem_is_named() {
        let err = SealingCert::from_pem("hello", "--seal-cert x.pem").unwrap_err();
        assert!(
            err.to_string().starts_with("--seal-cert x.pem: no PEM"),
            "{err}"
        );
    }
}
