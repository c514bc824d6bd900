//! A real OCI registry for tests: Debian's `docker-registry` (the CNCF Distribution
//! registry, 2.8) on a free loopback port, its storage in a temporary directory, optional
//! htpasswd auth and TLS with a CA made at test time; killed when dropped.
//!
//! Install it with `scripts/setup.sh` (or `apt-get install docker-registry`).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A bcrypt hash (cost 4, made once with glibc's crypt) of [`PASSWORD`]: the registry's
/// htpasswd accepts only bcrypt, and a fixed hash of a fixed test password needs no crate.
const HASH: &str = "$2b$04$dFFTVBaOAZUHFA3UWE9zWu3qSjdV/YCzZ1ePlhas6lXvPAhwmsmCi";
/// The test user's password.
pub const PASSWORD: &str = "wasm-s3cret";
/// The test user.
pub const USER: &str = "tester";

/// The registry binary Debian installs.
const BINARY: &str = "/usr/bin/docker-registry";

/// A running registry; dropping it kills the process and removes its storage.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// The CA that signed the server certificate, when started with TLS.
    pub ca: Option<PathBuf>,
}

impl Registry {
    /// A plain-HTTP registry without auth.
    pub fn start() -> Registry {
        Registry::start_with(None, false)
    }

    /// A registry with htpasswd auth for `auth` (only [`USER`]/[`PASSWORD`] are supported:
    /// the hash is fixed) and/or TLS.
    pub fn start_with(auth: Option<(&str, &str)>, tls: bool) -> Registry {
        assert!(
            Path::new(BINARY).exists(),
            "{BINARY} is missing: run scripts/setup.sh (it installs Debian's docker-registry)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        let mut ca = None;
        if tls {
            let (ca_file, cert, key) = make_certs(dir.path());
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
            ca = Some(ca_file);
        }
        if let Some((user, pass)) = auth {
            assert_eq!(
                (user, pass),
                (USER, PASSWORD),
                "only the fixed test user is supported"
            );
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, format!("{USER}:{HASH}\n")).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: wasmchart-test\n    path: {}\n",
                file.display()
            ));
        }
        let config_file = dir.path().join("config.yml");
        std::fs::write(&config_file, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            child,
            dir,
            host,
            ca,
        };
        registry.wait_ready();
        registry
    }

    /// `oci://127.0.0.1:PORT/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.host)
    }

    /// The registry's storage root (blobs under `docker/registry/v2/blobs/sha256/`).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The file holding the blob `sha256:HEX`.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.storage()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if TcpStream::connect(&self.host).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default();
        panic!(
            "docker-registry did not listen on {} within 20 s:\n{log}",
            self.host
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().unwrap().port()
}

/// A CA and a server certificate for 127.0.0.1 signed by it (rustls refuses a self-signed
/// CA certificate used as the server's own), made with the openssl CLI in `dir`: returns
/// (CA, server certificate, server key), all PEM.
pub fn make_certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=wasmchart test CA",
    ]);
    run(&ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    run(&csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}
