//! Which language runtime a component embeds, read from its bytes, so that
//! a crash can say what it most likely means.
//!
//! A JavaScript (componentize-js / StarlingMonkey) or Python
//! (componentize-py) component traps with "wasm `unreachable` instruction
//! executed" for an uncaught exception or a return value the bindings
//! cannot convert: the real message stays inside the guest. The host then
//! adds a hint pointing at the wasmchart-component helpers, which turn
//! those failures into `render-error`s with their message.
//!
//! Detection uses what the build tools write, never file names:
//! componentize-js records `language: JavaScript` and `processed-by:
//! ComponentizeJS` in the component's top-level `producers` section;
//! componentize-py records nothing there, but its core modules import from
//! `libpython3.*.so` (the dynamically linked CPython).

/// The language runtime a component embeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestLang {
    /// componentize-js (StarlingMonkey / SpiderMonkey).
    JavaScript,
    /// componentize-py (CPython).
    Python,
    /// Anything else (Rust, C, ...): a trap already names its cause.
    Other,
}

impl GuestLang {
    /// The hint added to a crash of a component with this runtime, if any.
    pub fn trap_hint(self) -> Option<&'static str> {
        match self {
            GuestLang::JavaScript => Some(
                "the component's runtime (JavaScript, componentize-js) aborted: an uncaught exception or an invalid return value; build it with the wasmchart-component helper (defineRender, wasmchart-build-js) to see the message",
            ),
            GuestLang::Python => Some(
                "the component's runtime (Python, componentize-py) aborted: an uncaught exception or an invalid return value; build it with the wasmchart-component helper (define_render, wasmchart-build-py) to see the message",
            ),
            GuestLang::Other => None,
        }
    }
}

/// Component section ids (component model binary format).
const CUSTOM: u8 = 0;
const CORE_MODULE: u8 = 1;
/// Core module import section id.
const CORE_IMPORT: u8 = 2;

/// The runtime `bytes` (a component, header already checked) embeds;
/// [`GuestLang::Other`] when unsure or malformed.
pub fn detect(bytes: &[u8]) -> GuestLang {
    let mut python = false;
    for (id, payload) in sections(bytes) {
        match id {
            CUSTOM => {
                if let Some(("producers", body)) = name(payload)
                    && is_componentize_js(body)
                {
                    return GuestLang::JavaScript;
                }
            }
            CORE_MODULE if !python => python = imports_libpython(payload),
            _ => {}
        }
    }
    if python {
        GuestLang::Python
    } else {
        GuestLang::Other
    }
}

/// The `(id, payload)` of each section after the 8-byte header; stops at
/// the first malformed one.
fn sections(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut rest = bytes.get(8..).unwrap_or_default();
    std::iter::from_fn(move || {
        let (&id, after) = rest.split_first()?;
        let (size, after) = leb128(after)?;
        let size = usize::try_from(size).ok()?;
        let payload = after.get(..size)?;
        rest = &after[size..];
        Some((id, payload))
    })
}

/// Whether a `producers` section says componentize-js made it.
fn is_componentize_js(body: &[u8]) -> bool {
    producers(body).is_some_and(|fields| {
        fields.iter().any(|(field, value)| {
            (*field == "language" && *value == "JavaScript")
                || (*field == "processed-by" && *value == "ComponentizeJS")
        })
    })
}

/// `(field, value name)` pairs of a `producers` section.
fn producers(body: &[u8]) -> Option<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    let (fields, mut rest) = leb128(body)?;
    for _ in 0..fields {
        let (field, after) = name(rest)?;
        let (values, mut after) = leb128(after)?;
        for _ in 0..values {
            let (value, after_value) = name(after)?;
            let (_version, after_version) = name(after_value)?;
            out.push((field, value));
            after = after_version;
        }
        rest = after;
    }
    Some(out)
}

/// Whether a core module's import section names a `libpython3` module.
fn imports_libpython(module: &[u8]) -> bool {
    sections(module)
        .filter(|(id, _)| *id == CORE_IMPORT)
        .any(|(_, imports)| imports.windows(10).any(|w| w == b"libpython3"))
}

/// A length-prefixed UTF-8 name and the bytes after it.
fn name(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let (len, rest) = leb128(bytes)?;
    let len = usize::try_from(len).ok()?;
    let text = std::str::from_utf8(rest.get(..len)?).ok()?;
    Some((text, &rest[len..]))
}

/// An unsigned LEB128 `u32` and the bytes after it.
fn leb128(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let mut value: u32 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        value |= u32::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = b"\0asm\x0d\0\x01\0";

    fn section(id: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![id, u8::try_from(payload.len()).unwrap()];
        out.extend_from_slice(payload);
        out
    }

    fn string(s: &str) -> Vec<u8> {
        let mut out = vec![u8::try_from(s.len()).unwrap()];
        out.extend_from_slice(s.as_bytes());
        out
    }

    fn producers_section(field: &str, value: &str) -> Vec<u8> {
        let mut body = string("producers");
        body.push(1);
        body.extend(string(field));
        body.push(1);
        body.extend(string(value));
        body.extend(string("0.23.0"));
        section(CUSTOM, &body)
    }

    #[test]
    fn javascript_from_producers() {
        for (field, value) in [
            ("language", "JavaScript"),
            ("processed-by", "ComponentizeJS"),
        ] {
            let bytes = [HEADER, &producers_section(field, value)].concat();
            assert_eq!(detect(&bytes), GuestLang::JavaScript, "{field}={value}");
        }
        let rust = [HEADER, &producers_section("language", "Rust")].concat();
        assert_eq!(detect(&rust), GuestLang::Other);
    }

    #[test]
    fn python_from_core_module_imports() {
        let imports = section(CORE_IMPORT, b"\x01\x10libpython3.14.so\x06memory\x02\0\0");
        let module = section(
            CORE_MODULE,
            &[b"\0asm\x01\0\0\0".as_slice(), &imports].concat(),
        );
        assert_eq!(detect(&[HEADER, &module].concat()), GuestLang::Python);
        // The same bytes outside the import section do not count.
        let data = section(11, b"libpython3.14.so");
        let module = section(
            CORE_MODULE,
            &[b"\0asm\x01\0\0\0".as_slice(), &data].concat(),
        );
        assert_eq!(detect(&[HEADER, &module].concat()), GuestLang::Other);
    }

    #[test]
    fn malformed_is_other() {
        assert_eq!(detect(b""), GuestLang::Other);
        assert_eq!(
            detect(&[HEADER, &[0, 0xff, 0xff]].concat()),
            GuestLang::Other
        );
        assert_eq!(detect(&[HEADER, &[0, 50, 1]].concat()), GuestLang::Other);
    }
}
