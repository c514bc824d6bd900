//! Deterministic derivation of secret values and sub-keys from the root key.
//!
//! Every derived thing is HKDF-SHA256 over the root key with a fixed salt and an `info` that
//! length-prefixes each part (so `("ab", "c")` and `("a", "bc")` differ). A generated value's
//! info is `("generate", chart, environment, secret id, key, generation)`: change any part and
//! the value changes; change none and it is the same on every machine, run after run.
//!
//! A generated value needs an arbitrary number of uniform bytes, so the HKDF output seeds a
//! counter-mode HMAC-SHA256 stream. Alphanumeric characters come from that stream by rejection
//! sampling (bytes 248..=255 are dropped), so every character is exactly uniform over 62.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::material::{RootKey, SecretValue, to_hex};

type HmacSha256 = Hmac<Sha256>;

/// Salt of every HKDF extraction; bump the version to change every derived value at once.
const SALT: &[u8] = b"wasmchart root key v1";

/// How a generated value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `length` characters from `A-Za-z0-9`.
    Alphanumeric,
    /// `length` random bytes, standard base64 with padding (like `openssl rand -base64 N`).
    Base64,
    /// `length` random bytes, lower-case hex (like `openssl rand -hex N`).
    Hex,
}

impl Encoding {
    /// Parses the values spelling; `None` for an unknown name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "alphanumeric" => Some(Encoding::Alphanumeric),
            "base64" => Some(Encoding::Base64),
            "hex" => Some(Encoding::Hex),
            _ => None,
        }
    }
}

/// What to generate for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateSpec {
    /// Characters (alphanumeric) or random bytes (base64, hex).
    pub length: usize,
    /// The encoding.
    pub encoding: Encoding,
}

/// Where a generated value sits; every field is part of the derivation.
#[derive(Debug, Clone, Copy)]
pub struct ValueAddress<'a> {
    /// Umbrella chart name.
    pub chart: &'a str,
    /// Environment name (`--env`).
    pub env: &'a str,
    /// Secret id under `secrets.items`.
    pub id: &'a str,
    /// Key inside the Secret.
    pub key: &'a str,
    /// Rotation generation from `secret-generations.yaml` (0 when absent).
    pub generation: u64,
}

/// Derives the value of one generated key.
pub fn generate(root: &RootKey, at: ValueAddress<'_>, spec: GenerateSpec) -> SecretValue {
    let generation = at.generation.to_string();
    let seed = subkey(
        root,
        &[
            b"generate",
            at.chart.as_bytes(),
            at.env.as_bytes(),
            at.id.as_bytes(),
            at.key.as_bytes(),
            generation.as_bytes(),
        ],
    );
    let mut stream = ByteStream::new(&seed);
    let text = match spec.encoding {
        Encoding::Alphanumeric => alphanumeric(&mut stream, spec.length),
        Encoding::Base64 => {
            use base64::Engine as _;
            let bytes = zeroize::Zeroizing::new(stream.take(spec.length));
            base64::engine::general_purpose::STANDARD.encode(bytes.as_slice())
        }
        Encoding::Hex => to_hex(&zeroize::Zeroizing::new(stream.take(spec.length))),
    };
    SecretValue::new(text.into_bytes())
}

/// A 32-byte key for one purpose, e.g. `("checksum", chart)` or `("seal", chart)`.
pub(crate) fn subkey(root: &RootKey, parts: &[&[u8]]) -> zeroize::Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(SALT), root.bytes());
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    if hk.expand(&length_prefixed(parts), out.as_mut()).is_err() {
        unreachable!("hkdf expand of 32 bytes");
    }
    out
}

/// HMAC-SHA256 of length-prefixed parts under `key`.
pub(crate) fn keyed_hash(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = new_mac(key);
    mac.update(&length_prefixed(parts));
    mac.finalize().into_bytes().into()
}

/// Each part as a big-endian u64 length followed by its bytes.
pub(crate) fn length_prefixed(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("hmac accepts any key length"),
    }
}

fn alphanumeric(stream: &mut ByteStream, length: usize) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 248 = 4 * 62: bytes below it map uniformly onto the alphabet.
    const LIMIT: u8 = 248;
    let mut out = String::with_capacity(length);
    while out.len() < length {
        let b = stream.next_byte();
        if b < LIMIT {
            out.push(ALPHABET[usize::from(b % 62)] as char);
        }
    }
    out
}

/// HMAC-SHA256(seed, block counter) blocks, concatenated: an unbounded deterministic stream.
struct ByteStream {
    mac: HmacSha256,
    counter: u64,
    block: zeroize::Zeroizing<[u8; 32]>,
    pos: usize,
}

impl ByteStream {
    fn new(seed: &[u8; 32]) -> Self {
        ByteStream {
            mac: new_mac(seed),
            counter: 0,
            block: zeroize::Zeroizing::new([0; 32]),
            pos: 32,
        }
    }

    fn next_byte(&mut self) -> u8 {
        if self.pos == self.block.len() {
            let mut mac = self.mac.clone();
            mac.update(&self.counter.to_be_bytes());
            self.block.copy_from_slice(&mac.finalize().into_bytes());
            self.counter += 1;
            self.pos = 0;
        }
        let b = self.block[self.pos];
        self.pos += 1;
        b
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_byte()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> RootKey {
        RootKey::from_bytes(vec![7; 32]).unwrap()
    }

    fn at(generation: u64) -> ValueAddress<'static> {
        ValueAddress {
            chart: "imprun",
            env: "production",
            id: "jwt",
            key: "JWT_SECRET",
            generation,
        }
    }

    fn text(v: &SecretValue) -> String {
        String::from_utf8(v.expose().to_vec()).unwrap()
    }

    #[test]
    fn encodings_have_the_documented_shape() {
        let spec = |length, encoding| GenerateSpec { length, encoding };
        let a = text(&generate(&root(), at(0), spec(40, Encoding::Alphanumeric)));
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        let b = text(&generate(&root(), at(0), spec(32, Encoding::Base64)));
        assert_eq!(b.len(), 44);
        let h = text(&generate(&root(), at(0), spec(16, Encoding::Hex)));
        assert_eq!(h.len(), 32);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn every_input_changes_the_value() {
        let spec = GenerateSpec {
            length: 24,
            encoding: Encoding::Alphanumeric,
        };
        let base = generate(&root(), at(0), spec);
        assert_eq!(base, generate(&root(), at(0), spec));
        assert_ne!(base, generate(&root(), at(1), spec));
        let other_key = RootKey::from_bytes(vec![8; 32]).unwrap();
        assert_ne!(base, generate(&other_key, at(0), spec));
        let mut env = at(0);
        env.env = "staging";
        assert_ne!(base, generate(&root(), env, spec));
        let mut key = at(0);
        key.key = "OTHER";
        assert_ne!(base, generate(&root(), key, spec));
    }

    #[test]
    fn alphanumeric_is_roughly_uniform() {
        let spec = GenerateSpec {
            length: 62_000,
            encoding: Encoding::Alphanumeric,
        };
        let v = generate(&root(), at(0), spec);
        let mut counts = [0u32; 128];
        for b in v.expose() {
            counts[usize::from(*b)] += 1;
        }
        let used: Vec<u32> = counts.iter().copied().filter(|c| *c > 0).collect();
        assert_eq!(used.len(), 62);
        assert!(used.iter().all(|c| (800..1200).contains(c)), "{used:?}");
    }
}
