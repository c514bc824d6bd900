//! What a component's output depends on, as one digest: the key of the
//! render cache (`cache/renders.rs`).
//!
//! A component is a pure function of what the host gives it. It sees no
//! environment, arguments, network or host files; its clocks are frozen,
//! its randomness is seeded from its inputs, and wasm runs one thread, so
//! the same bytes given the same request under the same limits return the
//! same output, byte for byte (the design's determinism guarantee, which
//! the sandbox tests check). The digest covers all of it:
//!
//! - the component's SHA-256 and the contract version;
//! - every field of the request, each length-prefixed;
//! - every limit a render runs under (a memory limit can change what a
//!   component manages to do; the others can only make it fail, but a
//!   render that fails under the new limits must fail);
//! - the identity of the running executable (its build ID, else its
//!   SHA-256), whose WASI, bindings and lowering of the request the
//!   component runs against: a rebuilt host never recalls what another
//!   build rendered, even at the same version ([`host_digest`]).
//!
//! Fields are destructured whole, so a field added to any of these types
//! does not compile until it is added here.
//!
//! A request that mounts a `files/` snapshot has no digest: the component
//! could read any of those files, and hashing them on every render would
//! cost what it saves. Such components always run.

use super::limits::Limits;
use super::request::{Capabilities, CertificateRef, ChartInfo, Release, RenderRequest, SecretRef};
use sha2::{Digest as _, Sha256};
use std::io::Read as _;

/// The identity of the running executable: its GNU build ID when it has
/// one (a hash of the linked output, which the linker writes into an ELF
/// note: a few hundred bytes read, nothing hashed), else its SHA-256, found
/// as a load finds a component's: from the cache's authenticated record of
/// the file's identity (`cache/ids.rs`), else by reading it once (then
/// recorded). `None` when it cannot be read: nothing is then recalled or
/// remembered.
pub(super) fn host_digest(cache: &super::cache::Cache) -> Option<[u8; 32]> {
    // Without a cache directory nothing is remembered: read nothing.
    cache.dir()?;
    let file = open_executable().ok()?;
    if let Some(id) = elf::build_id(&file) {
        return Some(
            Sha256::new()
                .chain_update(b"gnu build id")
                .chain_update(id)
                .finalize()
                .into(),
        );
    }
    let before = file.metadata().ok()?;
    if let Some(digest) = cache.recorded_digest(&before) {
        return Some(digest);
    }
    let began = std::time::SystemTime::now();
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    let mut reader = &file;
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let after = file.metadata().ok()?;
    if super::cache::identity_bytes(&before) != super::cache::identity_bytes(&after) {
        return None;
    }
    cache.record_digest(&before, &after, &digest, began);
    Some(digest)
}

/// Reading the GNU build ID of a 64-bit little-endian ELF file from its
/// program headers, by offset, bounded.
mod elf {
    use std::fs::File;

    const PT_NOTE: u32 = 4;
    const NT_GNU_BUILD_ID: u32 = 3;
    const MAX_NOTES: u64 = 1 << 16;

    /// The build ID, if `file` is such an ELF file and has one.
    pub(super) fn build_id(file: &File) -> Option<Vec<u8>> {
        let mut header = [0u8; 64];
        read_at(file, &mut header, 0)?;
        if header[..4] != *b"\x7fELF" || header[4] != 2 || header[5] != 1 {
            return None;
        }
        let phoff = u64::from_le_bytes(header[32..40].try_into().ok()?);
        let entry = usize::from(u16::from_le_bytes(header[54..56].try_into().ok()?));
        let count = usize::from(u16::from_le_bytes(header[56..58].try_into().ok()?));
        if entry < 56 {
            return None;
        }
        let mut table = vec![0u8; entry * count];
        read_at(file, &mut table, phoff)?;
        table.chunks_exact(entry).find_map(|ph| {
            let kind = u32::from_le_bytes(ph[0..4].try_into().ok()?);
            let offset = u64::from_le_bytes(ph[8..16].try_into().ok()?);
            let size = u64::from_le_bytes(ph[32..40].try_into().ok()?);
            if kind != PT_NOTE || size > MAX_NOTES {
                return None;
            }
            let mut notes = vec![0u8; usize::try_from(size).ok()?];
            read_at(file, &mut notes, offset)?;
            find_build_id(&notes)
        })
    }

    /// The descriptor of the first `GNU` note of type `NT_GNU_BUILD_ID`.
    fn find_build_id(mut notes: &[u8]) -> Option<Vec<u8>> {
        let padded = |n: usize| n.checked_add(3).map(|n| n & !3);
        while notes.len() >= 12 {
            let word = |at: usize| -> Option<usize> {
                usize::try_from(u32::from_le_bytes(notes[at..at + 4].try_into().ok()?)).ok()
            };
            let (name_len, desc_len, kind) = (word(0)?, word(4)?, word(8)?);
            let name_end = 12usize.checked_add(padded(name_len)?)?;
            let desc_end = name_end.checked_add(padded(desc_len)?)?;
            let name = notes.get(12..12usize.checked_add(name_len)?)?;
            let desc = notes.get(name_end..name_end.checked_add(desc_len)?)?;
            if kind == NT_GNU_BUILD_ID as usize && name == b"GNU\0" && !desc.is_empty() {
                return Some(desc.to_vec());
            }
            notes = notes.get(desc_end..)?;
        }
        None
    }

    #[cfg(unix)]
    fn read_at(file: &File, buf: &mut [u8], offset: u64) -> Option<()> {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset).ok()
    }

    #[cfg(not(unix))]
    fn read_at(_: &File, _: &mut [u8], _: u64) -> Option<()> {
        None
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_build_id_note_is_found_among_others() {
            let note = |name: &[u8], kind: u32, desc: &[u8]| {
                let mut out = Vec::new();
                out.extend_from_slice(&(name.len() as u32).to_le_bytes());
                out.extend_from_slice(&(desc.len() as u32).to_le_bytes());
                out.extend_from_slice(&kind.to_le_bytes());
                for part in [name, desc] {
                    out.extend_from_slice(part);
                    out.resize(out.len().next_multiple_of(4), 0);
                }
                out
            };
            let notes = [
                note(b"GNU\0", 1, &[0; 16]),
                note(b"XYZ\0", 3, b"not it"),
                note(b"GNU\0", 3, &[7; 20]),
            ]
            .concat();
            assert_eq!(find_build_id(&notes), Some(vec![7; 20]));
            assert_eq!(find_build_id(&notes[..notes.len() - 4]), None, "cut");
            let mut lying = note(b"GNU\0", 3, &[7; 20]);
            lying[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
            assert_eq!(find_build_id(&lying), None);
        }

        #[test]
        #[cfg(target_os = "linux")]
        fn this_test_binary_has_one_or_none_without_failing() {
            let file = File::open("/proc/self/exe").unwrap();
            if let Some(id) = build_id(&file) {
                assert!(id.len() >= 8, "{id:?}");
            }
            assert_eq!(build_id(&File::open("/proc/self/cmdline").unwrap()), None);
        }
    }
}

/// The file this process runs from: on Linux the very inode (even if its
/// name was replaced or removed since), elsewhere its path.
fn open_executable() -> std::io::Result<std::fs::File> {
    if cfg!(target_os = "linux") {
        std::fs::File::open("/proc/self/exe")
    } else {
        std::fs::File::open(std::env::current_exe()?)
    }
}

/// The render cache key for rendering the component with SHA-256
/// `component` with `request` under `limits`; `None` when its output may
/// depend on files outside the request.
pub(super) fn input_digest(
    host: &[u8; 32],
    component: &[u8; 32],
    request: &RenderRequest,
    limits: &Limits,
) -> Option<[u8; 32]> {
    let RenderRequest {
        values_json,
        release,
        chart,
        capabilities,
        secrets,
        certificates,
        files_dir,
    } = request;
    if files_dir.is_some() {
        return None;
    }
    let mut d = Fields(Sha256::new());
    d.text("wasmchart render cache v1");
    d.text(env!("CARGO_PKG_VERSION"));
    d.text(super::cache::WASMTIME_VERSION);
    d.text(super::CONTRACT);
    d.bytes(host);
    d.bytes(component);
    d.text(values_json);
    d.release(release);
    d.chart(chart);
    d.capabilities(capabilities);
    d.count(secrets.len());
    for secret in secrets {
        d.secret(secret);
    }
    d.count(certificates.len());
    for certificate in certificates {
        d.certificate(certificate);
    }
    d.limits(limits);
    Some(d.0.finalize().into())
}

/// A SHA-256 over length-prefixed fields: no two different sequences of
/// fields hash the same bytes.
struct Fields(Sha256);

impl Fields {
    fn bytes(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn text(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    fn count(&mut self, n: usize) {
        self.number(n as u64);
    }

    fn number(&mut self, n: u64) {
        self.0.update(n.to_le_bytes());
    }

    fn texts(&mut self, texts: &[String]) {
        self.count(texts.len());
        for text in texts {
            self.text(text);
        }
    }

    fn release(&mut self, release: &Release) {
        let Release {
            name,
            namespace,
            revision,
            is_install,
            is_upgrade,
        } = release;
        self.text(name);
        self.text(namespace);
        self.number(u64::from(*revision));
        self.number(u64::from(*is_install));
        self.number(u64::from(*is_upgrade));
    }

    fn chart(&mut self, chart: &ChartInfo) {
        let ChartInfo {
            name,
            version,
            app_version,
        } = chart;
        self.text(name);
        self.text(version);
        match app_version {
            Some(app_version) => {
                self.number(1);
                self.text(app_version);
            }
            None => self.number(0),
        }
    }

    fn capabilities(&mut self, capabilities: &Capabilities) {
        let Capabilities {
            kube_version,
            api_versions,
        } = capabilities;
        self.text(kube_version);
        self.texts(api_versions);
    }

    fn secret(&mut self, secret: &SecretRef) {
        let SecretRef {
            id,
            secret_name,
            keys,
        } = secret;
        self.text(id);
        self.text(secret_name);
        self.texts(keys);
    }

    fn certificate(&mut self, certificate: &CertificateRef) {
        let CertificateRef {
            id,
            secret_name,
            dns_names,
        } = certificate;
        self.text(id);
        self.text(secret_name);
        self.texts(dns_names);
    }

    fn limits(&mut self, limits: &Limits) {
        // The compile limits and the component size are left out: they are
        // checked before any output is recalled, or only bound a compile.
        let Limits {
            memory_bytes,
            timeout,
            output_bytes,
            instances,
            tables,
            table_elements,
            memories,
            log_lines,
            log_bytes,
            files,
            component_bytes: _,
            compile_timeout: _,
            compile_memory_bytes: _,
        } = limits;
        self.number(*memory_bytes);
        self.number(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX));
        self.number(*output_bytes);
        for n in [
            instances,
            tables,
            table_elements,
            memories,
            log_lines,
            files,
        ] {
            self.number(u64::from(*n));
        }
        self.number(*log_bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RenderRequest {
        RenderRequest {
            values_json: "{\"a\":1}".into(),
            release: Release {
                name: "r".into(),
                namespace: "ns".into(),
                revision: 1,
                is_install: true,
                is_upgrade: false,
            },
            chart: ChartInfo {
                name: "c".into(),
                version: "0.1.0".into(),
                app_version: None,
            },
            capabilities: Capabilities {
                kube_version: "v1.31.0".into(),
                api_versions: vec!["v1".into()],
            },
            secrets: vec![SecretRef {
                id: "jwt".into(),
                secret_name: "s".into(),
                keys: vec!["K".into()],
            }],
            certificates: Vec::new(),
            files_dir: None,
        }
    }

    #[test]
    fn every_input_changes_the_digest() {
        let limits = Limits::default();
        let base = input_digest(&[9; 32], &[1; 32], &request(), &limits).unwrap();
        assert_eq!(
            input_digest(&[9; 32], &[1; 32], &request(), &limits),
            Some(base)
        );
        let with = |edit: fn(&mut RenderRequest)| {
            let mut r = request();
            edit(&mut r);
            input_digest(&[9; 32], &[1; 32], &r, &limits)
        };
        let under = |l: Limits| input_digest(&[9; 32], &[1; 32], &request(), &l);
        let changed: Vec<(&str, Option<[u8; 32]>)> = vec![
            (
                "host",
                input_digest(&[8; 32], &[1; 32], &request(), &limits),
            ),
            (
                "component",
                input_digest(&[9; 32], &[2; 32], &request(), &limits),
            ),
            ("values", with(|r| r.values_json = "{\"a\":2}".into())),
            ("upgrade", with(|r| r.release.is_upgrade = true)),
            (
                "app version",
                with(|r| r.chart.app_version = Some(String::new())),
            ),
            (
                "api versions",
                with(|r| r.capabilities.api_versions.push("apps/v1".into())),
            ),
            ("secret keys", with(|r| r.secrets[0].keys.push("L".into()))),
            (
                "certificates",
                with(|r| r.certificates.push(CertificateRef::default())),
            ),
            (
                "memory limit",
                under(Limits {
                    memory_bytes: limits.memory_bytes / 2,
                    ..limits
                }),
            ),
            (
                "timeout",
                under(Limits {
                    timeout: limits.timeout / 2,
                    ..limits
                }),
            ),
        ];
        for (what, digest) in changed {
            assert!(digest.is_some_and(|d| d != base), "{what}");
        }
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let limits = Limits::default();
        let mut a = request();
        a.release.name = "ab".into();
        a.release.namespace = "c".into();
        let mut b = request();
        b.release.name = "a".into();
        b.release.namespace = "bc".into();
        assert_ne!(
            input_digest(&[9; 32], &[1; 32], &a, &limits),
            input_digest(&[9; 32], &[1; 32], &b, &limits)
        );
    }

    #[test]
    fn a_component_given_files_is_never_recalled() {
        let mut r = request();
        r.files_dir = Some("files".into());
        assert_eq!(
            input_digest(&[9; 32], &[1; 32], &r, &Limits::default()),
            None
        );
    }
}
