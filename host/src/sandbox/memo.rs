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
//! - the SHA-256 of the running executable, whose WASI, bindings and
//!   lowering of the request the component runs against: a rebuilt host
//!   never recalls what another build rendered, even at the same version
//!   ([`host_digest`]).
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

/// The SHA-256 of the running executable, as a load finds a component's:
/// from the cache's authenticated record of the file's identity when it
/// has one (`cache/ids.rs`), else by reading it once (then recorded).
/// `None` when it cannot be read: nothing is then recalled or remembered.
pub(super) fn host_digest(cache: &super::cache::Cache) -> Option<[u8; 32]> {
    // Without a cache directory nothing is remembered: do not read 40 MB.
    cache.dir()?;
    let file = open_executable().ok()?;
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
        let changed: Vec<(&str, Option<[u8; 32]>)> = vec![
            (
                "host",
                input_digest(&[8; 32], &[1; 32], &request(), &limits),
            ),
            (
                "component",
                input_digest(&[9; 32], &[2; 32], &request(), &limits),
            ),
            ("values", {
                let mut r = request();
                r.values_json = "{\"a\":2}".into();
                input_digest(&[9; 32], &[1; 32], &r, &limits)
            }),
            ("upgrade", {
                let mut r = request();
                r.release.is_upgrade = true;
                input_digest(&[9; 32], &[1; 32], &r, &limits)
            }),
            ("app version", {
                let mut r = request();
                r.chart.app_version = Some(String::new());
                input_digest(&[9; 32], &[1; 32], &r, &limits)
            }),
            ("api versions", {
                let mut r = request();
                r.capabilities.api_versions.push("apps/v1".into());
                input_digest(&[9; 32], &[1; 32], &r, &limits)
            }),
            ("secret keys", {
                let mut r = request();
                r.secrets[0].keys.push("L".into());
                input_digest(&[9; 32], &[1; 32], &r, &limits)
            }),
            ("certificates", {
                let mut r = request();
                r.certificates.push(CertificateRef::default());
                input_digest(&[9; 32], &[1; 32], &r, &limits)
            }),
            ("memory limit", {
                let l = Limits {
                    memory_bytes: limits.memory_bytes / 2,
                    ..limits
                };
                input_digest(&[9; 32], &[1; 32], &request(), &l)
            }),
            ("timeout", {
                let l = Limits {
                    timeout: limits.timeout / 2,
                    ..limits
                };
                input_digest(&[9; 32], &[1; 32], &request(), &l)
            }),
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
