//! Types that hold secret material.
//!
//! Neither type implements `Display`, and their `Debug` prints a placeholder, so a stray `{:?}`
//! in a log or an error can never print a password or the root key. Both wipe their bytes when
//! dropped.

use std::fmt;

use zeroize::Zeroizing;

/// One secret value (a generated password, a supplied client secret...).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    /// Wraps bytes that are secret.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretValue(Zeroizing::new(bytes))
    }

    /// The raw bytes. Named so that every place that reads the value is easy to find.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// The root key every generated value, sealing seed and checksum key is derived from.
#[derive(Clone)]
pub struct RootKey(Zeroizing<Vec<u8>>);

/// The fewest bytes a root key may have: 256 bits, the output size of HKDF-SHA256.
pub const MIN_ROOT_KEY_BYTES: usize = 32;

impl RootKey {
    /// Wraps raw key bytes; `None` when there are fewer than [`MIN_ROOT_KEY_BYTES`].
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        let bytes = Zeroizing::new(bytes);
        (bytes.len() >= MIN_ROOT_KEY_BYTES).then_some(RootKey(bytes))
    }

    /// Parses the text form: hex (64 or more hex digits) or standard / URL-safe base64 (padded
    /// or not) of 32 or more bytes. Surrounding whitespace is ignored. The error message never
    /// repeats the text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the key is empty".into());
        }
        let bytes = decode_hex(text)
            .or_else(|| decode_base64(text))
            .ok_or("the key is neither hex nor base64")?;
        let len = bytes.len();
        RootKey::from_bytes(bytes).ok_or_else(|| {
            format!("the key has {len} bytes, at least {MIN_ROOT_KEY_BYTES} are needed")
        })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

/// Lower-case hex of bytes; used for checksums and fingerprints, never for secret values
/// outside the derivation's `hex` encoding.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64() {
        let hex = "00".repeat(32);
        assert_eq!(RootKey::parse(&hex).unwrap().bytes(), &[0u8; 32]);
        let b64 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        assert_eq!(RootKey::parse(b64).unwrap().bytes(), &[0u8; 32]);
        assert_eq!(
            RootKey::parse(&format!(" {hex}\n")).unwrap().bytes().len(),
            32
        );
    }

    #[test]
    fn short_or_garbled_keys_are_refused_without_echo() {
        let err = RootKey::parse("abcd").unwrap_err();
        assert!(err.contains("2 bytes"), "{err}");
        let err = RootKey::parse("not a key!").unwrap_err();
        assert!(!err.contains("not a key"), "{err}");
    }

    #[test]
    fn debug_redacts() {
        let v = SecretValue::new(b"hunter2".to_vec());
        assert_eq!(format!("{v:?}"), "SecretValue(<redacted>)");
        let k = RootKey::parse(&"ab".repeat(32)).unwrap();
        assert!(!format!("{k:?}").contains("ab"));
    }
}
