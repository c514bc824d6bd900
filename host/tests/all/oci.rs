//! `wasmchart push`/`pull`/`registry login` against a real registry (Distribution 2.8, see
//! [`super::registry`]) and against Helm itself (helm-python-sdk in .venv): byte-identical
//! round trips, Helm interop both ways, credentials from every place Helm users keep them,
//! TLS with and without the CA, a tampered blob, a missing version.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::registry::{PASSWORD, Registry, USER};
use super::support::{expect_error, expect_success, repo_root, run_bounded};

const BOUND: Duration = Duration::from_secs(60);

/// A temporary home with no credentials in it, so the developer's own never leak in.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
        cmd.args(args)
            .current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("DOCKER_CONFIG", self.path().join("docker"))
            .env("HELM_REGISTRY_CONFIG", self.path().join("helm/config.json"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("RUST_BACKTRACE");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        run_bounded(self.cmd(args), BOUND).0
    }

    /// Runs with `stdin` piped in (for --password-stdin), under the same bound.
    fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let pid = child.id();
        let guard = std::thread::spawn(move || {
            std::thread::sleep(BOUND);
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        });
        let out = child.wait_with_output().unwrap();
        drop(guard);
        out
    }

    /// A chart directory NAME with `version`, packaged by Helm into this env's dir.
    fn package(&self, name: &str, version: &str) -> PathBuf {
        let src = self.path().join("src").join(format!("{name}-{version}"));
        let chart = src.join(name);
        std::fs::create_dir_all(chart.join("files")).unwrap();
        std::fs::write(
            chart.join("Chart.yaml"),
            format!(
                "apiVersion: v2\nname: {name}\nversion: {version}\ndescription: test chart \
                 {name}\nhome: https://example.com/{name}\ncomponent: component.wasm\n"
            ),
        )
        .unwrap();
        std::fs::write(chart.join("values.yaml"), "replicas: 2\n").unwrap();
        std::fs::write(
            chart.join("component.wasm"),
            b"\0asm\x0d\0\x01\0not-a-real-one",
        )
        .unwrap();
        std::fs::write(chart.join("files/config.txt"), "hello\n").unwrap();
        python(&format!(
            "from helm_python import chart\nprint(chart.package({:?}, destination={:?}))",
            chart.display().to_string(),
            self.path().display().to_string()
        ));
        self.path().join(format!("{name}-{version}.tgz"))
    }
}

/// Runs Python from .venv (Helm's engine) and returns stdout; asserts success.
fn python(code: &str) -> String {
    let mut cmd = Command::new(repo_root().join(".venv/bin/python"));
    cmd.args(["-c", code]);
    let out = run_bounded(cmd, BOUND).0;
    assert!(
        out.status.success(),
        "python failed:\n{code}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn sha256_file(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    format!("sha256:{}", text.split_whitespace().next().unwrap())
}

/// The value after `key: ` on stdout.
fn line<'a>(stdout: &'a str, key: &str) -> &'a str {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key:?} line in:\n{stdout}"))
}

/// The manifest digest a tag points at, from the registry's own storage.
fn tag_digest(reg: &Registry, repo: &str, tag: &str) -> String {
    let link = reg
        .storage()
        .join("docker/registry/v2/repositories")
        .join(repo)
        .join("_manifests/tags")
        .join(tag)
        .join("current/link");
    std::fs::read_to_string(&link)
        .unwrap_or_else(|e| panic!("{}: {e}", link.display()))
        .trim()
        .to_string()
}

fn blob_json(reg: &Registry, digest: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(reg.blob_file(digest)).unwrap()).unwrap()
}

#[test]
fn push_then_pull_is_byte_identical_and_the_digests_are_the_registrys() {
    let reg = Registry::start();
    let env = Env::new();
    let archive = env.package("web", "1.2.3+build.7");
    let dest = reg.url("charts");
    let out = env.run(&["push", archive.to_str().unwrap(), &dest, "--plain-http"]);
    let pushed = expect_success(&out);
    let reference = format!("{}/charts/web:1.2.3_build.7", reg.host);
    assert_eq!(line(&pushed, "Pushed"), reference);
    assert_eq!(line(&pushed, "Archive digest"), sha256_file(&archive));
    let manifest = line(&pushed, "Digest");
    assert_eq!(manifest, tag_digest(&reg, "charts/web", "1.2.3_build.7"));
    assert_eq!(sha256_file(&reg.blob_file(manifest)), manifest);
    // Pushing the same archive again (blobs already there) gives the same manifest digest.
    let again =
        expect_success(&env.run(&["push", archive.to_str().unwrap(), &dest, "--plain-http"]));
    assert_eq!(line(&again, "Digest"), manifest);

    let out = env.run(&[
        "pull",
        &reg.url("charts/web"),
        "--version",
        "^1.2",
        "--plain-http",
        "-d",
        "got",
        "--untar",
    ]);
    let pulled = expect_success(&out);
    assert_eq!(line(&pulled, "Pulled"), reference);
    assert_eq!(line(&pulled, "Digest"), manifest);
    let got = env.path().join("got/web-1.2.3+build.7.tgz");
    assert_eq!(
        std::fs::read(&got).unwrap(),
        std::fs::read(&archive).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(env.path().join("got/web/files/config.txt")).unwrap(),
        "hello\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(env.path().join("got"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn helm_pulls_what_we_push_and_we_pull_what_helm_pushes() {
    let reg = Registry::start();
    let env = Env::new();
    let archive = env.package("api", "0.3.0");
    std::fs::create_dir_all(env.path().join("helm-got")).unwrap();
    expect_success(&env.run(&[
        "push",
        archive.to_str().unwrap(),
        &reg.url("ours"),
        "--plain-http",
    ]));
    let meta = python(&format!(
        "import json\nfrom helm_python import registry, chart\n\
         registry.pull({:?}, version='0.3.0', destination={:?}, plain_http=True)\n\
         c = chart.Chart.load({:?})\nprint(json.dumps(c.metadata))",
        reg.url("ours/api"),
        env.path().join("helm-got").display().to_string(),
        env.path()
            .join("helm-got/api-0.3.0.tgz")
            .display()
            .to_string(),
    ));
    let meta: serde_json::Value = serde_json::from_str(meta.trim()).unwrap();
    assert_eq!(meta["name"], "api", "{meta}");
    assert_eq!(meta["version"], "0.3.0", "{meta}");
    assert_eq!(meta["description"], "test chart api", "{meta}");

    python(&format!(
        "from helm_python import registry\nregistry.push({:?}, {:?}, plain_http=True)",
        archive.display().to_string(),
        reg.url("theirs")
    ));
    let pulled = expect_success(&env.run(&[
        "pull",
        &reg.url("theirs/api"),
        "--version",
        "0.3.0",
        "--plain-http",
        "-d",
        "ours-got",
    ]));
    assert_eq!(
        std::fs::read(env.path().join("ours-got/api-0.3.0.tgz")).unwrap(),
        std::fs::read(&archive).unwrap()
    );
    // Same layer and a byte-identical config blob; Helm's manifest only adds `created`.
    let helm = blob_json(&reg, &tag_digest(&reg, "theirs/api", "0.3.0"));
    let ours = blob_json(&reg, &tag_digest(&reg, "ours/api", "0.3.0"));
    assert_eq!(
        line(&pulled, "Digest"),
        tag_digest(&reg, "theirs/api", "0.3.0")
    );
    assert_eq!(helm["config"], ours["config"]);
    assert_eq!(helm["layers"], ours["layers"]);
    let mut helm_notes = helm["annotations"].as_object().unwrap().clone();
    helm_notes.remove("org.opencontainers.image.created");
    assert_eq!(serde_json::Value::Object(helm_notes), ours["annotations"]);
}

#[test]
fn credentials_flags_docker_config_and_login() {
    let reg = Registry::start_with(Some((USER, PASSWORD)), false);
    let env = Env::new();
    let archive = env.package("auth", "1.0.0");
    let a = archive.to_str().unwrap();
    let dest = reg.url("private");

    let err = expect_error(&env.run(&["push", a, &dest, "--plain-http"]));
    assert!(
        err.contains(&reg.host) && err.contains("401 unauthorized"),
        "{err}"
    );
    assert!(err.contains("no credentials were found"), "{err}");

    let err = expect_error(&env.run_stdin(
        &[
            "push",
            a,
            &dest,
            "--plain-http",
            "--username",
            USER,
            "--password-stdin",
        ],
        "wrong-password\n",
    ));
    assert!(
        err.contains("401 unauthorized") && err.contains("were rejected"),
        "{err}"
    );
    assert!(
        !err.contains("wrong-password"),
        "the password leaked: {err}"
    );

    expect_success(&env.run_stdin(
        &[
            "push",
            a,
            &dest,
            "--plain-http",
            "--username",
            USER,
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    ));

    // Docker's config.json, as `docker login` writes it.
    std::fs::create_dir_all(env.path().join("docker")).unwrap();
    let token = python(&format!(
        "import base64\nprint(base64.b64encode(b'{USER}:{PASSWORD}').decode())"
    ));
    std::fs::write(
        env.path().join("docker/config.json"),
        format!(
            r#"{{"auths":{{"http://{}":{{"auth":"{}"}}}}}}"#,
            reg.host,
            token.trim()
        ),
    )
    .unwrap();
    expect_success(&env.run(&[
        "pull",
        &reg.url("private/auth"),
        "--version",
        "1.0.0",
        "--plain-http",
        "-d",
        "d1",
    ]));
    std::fs::remove_file(env.path().join("docker/config.json")).unwrap();

    // A credential helper, as `credsStore` names it (Docker Desktop, ECR, GCR helpers).
    let bin = env.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-fake");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread host\n[ \"$1\" = get ] && [ \"$host\" = {} ] || exit 1\n\
             printf '{{\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}'\n",
            reg.host
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        env.path().join("docker/config.json"),
        r#"{"credsStore":"fake"}"#,
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = env.cmd(&[
        "pull",
        &reg.url("private/auth"),
        "--version",
        "1.0.0",
        "--plain-http",
        "-d",
        "d3",
    ]);
    cmd.env("PATH", &path);
    expect_success(&run_bounded(cmd, BOUND).0);
    std::fs::write(
        env.path().join("docker/config.json"),
        format!(r#"{{"credHelpers":{{"{}":"absent"}}}}"#, reg.host),
    )
    .unwrap();
    let err = expect_error(&env.run(&[
        "pull",
        &reg.url("private/auth"),
        "--version",
        "1.0.0",
        "--plain-http",
    ]));
    assert!(
        err.contains("docker-credential-absent is not on PATH"),
        "{err}"
    );
    std::fs::remove_file(env.path().join("docker/config.json")).unwrap();

    // `registry login` checks the password, then stores it (0600) where pull finds it.
    let err = expect_error(&env.run_stdin(
        &[
            "registry",
            "login",
            &reg.host,
            "--plain-http",
            "--username",
            USER,
            "--password-stdin",
        ],
        "nope",
    ));
    assert!(err.contains("401 unauthorized"), "{err}");
    assert!(!env.path().join("helm/config.json").exists());
    let out = env.run_stdin(
        &[
            "registry",
            "login",
            &reg.host,
            "--plain-http",
            "--username",
            USER,
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::fs::metadata(env.path().join("helm/config.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    expect_success(&env.run(&[
        "pull",
        &reg.url("private/auth"),
        "--version",
        "1.0.0",
        "--plain-http",
        "-d",
        "d2",
    ]));
    // `registry logout` removes the entry: the registry refuses again.
    let out = env.run(&["registry", "logout", &reg.host]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = expect_error(&env.run(&[
        "pull",
        &reg.url("private/auth"),
        "--version",
        "1.0.0",
        "--plain-http",
    ]));
    assert!(err.contains("no credentials were found"), "{err}");
    let err = expect_error(&env.run(&["registry", "logout", &reg.host]));
    assert!(err.contains("not logged in"), "{err}");
}

#[test]
fn tls_needs_the_ca_file() {
    let reg = Registry::start_with(None, true);
    let env = Env::new();
    let archive = env.package("tls", "2.0.0");
    let a = archive.to_str().unwrap();
    let dest = reg.url("secure");
    let err = expect_error(&env.run(&["push", a, &dest]));
    assert!(
        err.contains(&reg.host) && err.contains("certificate"),
        "{err}"
    );
    assert!(err.contains("--ca-file"), "{err}");
    let ca = reg.ca.clone().unwrap();
    let ca = ca.to_str().unwrap();
    expect_success(&env.run(&["push", a, &dest, "--ca-file", ca]));
    expect_success(&env.run(&[
        "pull",
        &reg.url("secure/tls"),
        "--version",
        "2.0.0",
        "--ca-file",
        ca,
        "-d",
        "d",
    ]));
    assert_eq!(
        std::fs::read(env.path().join("d/tls-2.0.0.tgz")).unwrap(),
        std::fs::read(&archive).unwrap()
    );
    // Not a PEM file: named, before any connection.
    let err = expect_error(&env.run(&["push", a, &dest, "--ca-file", a]));
    assert!(
        err.contains("--ca-file") && err.contains("not a PEM"),
        "{err}"
    );
    // Verification off: works without the CA (test registries only).
    expect_success(&env.run(&[
        "pull",
        &reg.url("secure/tls"),
        "--version",
        "2.0.0",
        "--insecure-skip-tls-verify",
        "-d",
        "d2",
    ]));
}

#[test]
fn a_tampered_blob_is_refused_naming_the_digest_and_nothing_is_written() {
    let reg = Registry::start();
    let env = Env::new();
    let archive = env.package("tamper", "1.0.0");
    let pushed = expect_success(&env.run(&[
        "push",
        archive.to_str().unwrap(),
        &reg.url("t"),
        "--plain-http",
    ]));
    let layer = line(&pushed, "Archive digest").to_string();
    let blob = reg.blob_file(&layer);
    let mut bytes = std::fs::read(&blob).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let out = env.run(&[
        "pull",
        &reg.url("t/tamper"),
        "--version",
        "1.0.0",
        "--plain-http",
        "-d",
        "d",
    ]);
    let err = expect_error(&out);
    assert!(
        err.contains(&layer)
            && err.contains("does not match the digest")
            && err.contains("tampered"),
        "{err}"
    );
    let written = std::fs::read_dir(env.path().join("d")).map_or(0, |d| d.count());
    assert_eq!(written, 0, "nothing may be written for a refused pull");

    // Longer than the manifest declares: refused before it is all read.
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    std::fs::write(&blob, &bytes).unwrap();
    let err = expect_error(&env.run(&[
        "pull",
        &reg.url("t/tamper"),
        "--version",
        "1.0.0",
        "--plain-http",
        "-d",
        "d",
    ]));
    assert!(err.contains(&layer) && err.contains("declares"), "{err}");
}

#[test]
fn a_missing_version_lists_what_exists_and_bad_input_is_named() {
    let reg = Registry::start();
    let env = Env::new();
    for v in ["1.0.0", "1.1.0"] {
        let a = env.package("multi", v);
        expect_success(&env.run(&["push", a.to_str().unwrap(), &reg.url("m"), "--plain-http"]));
    }
    let err = expect_error(&env.run(&[
        "pull",
        &reg.url("m/multi"),
        "--version",
        "2.0.0",
        "--plain-http",
    ]));
    assert!(
        err.contains("has no version 2.0.0") && err.contains("versions available: 1.1.0, 1.0.0"),
        "{err}"
    );
    let err = expect_error(&env.run(&[
        "pull",
        &reg.url("m/multi"),
        "--version",
        "^3",
        "--plain-http",
    ]));
    assert!(
        err.contains("no version matching \"^3\"") && err.contains("1.1.0, 1.0.0"),
        "{err}"
    );
    let err = expect_error(&env.run(&[
        "pull",
        &reg.url("m/absent"),
        "--version",
        "1.0.0",
        "--plain-http",
    ]));
    assert!(
        err.contains("no such chart") && err.contains("m/absent"),
        "{err}"
    );
    let got =
        expect_success(&env.run(&["pull", &reg.url("m/multi"), "--plain-http", "-d", "newest"]));
    assert!(got.contains(":1.1.0"), "{got}");

    // An archive whose file name disagrees with its Chart.yaml is not pushed.
    let a = env.package("multi", "1.0.0");
    let renamed = env.path().join("other-1.0.0.tgz");
    std::fs::copy(&a, &renamed).unwrap();
    let err = expect_error(&env.run(&[
        "push",
        renamed.to_str().unwrap(),
        &reg.url("m"),
        "--plain-http",
    ]));
    assert!(
        err.contains("multi-1.0.0.tgz") && err.contains("other-1.0.0.tgz"),
        "{err}"
    );
    // A version that is not SemVer cannot become a tag.
    let bad = env.path().join("hand/bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("Chart.yaml"),
        "apiVersion: v2\nname: bad\nversion: one\n",
    )
    .unwrap();
    let status = Command::new("tar")
        .args(["czf", "../bad-one.tgz", "bad"])
        .current_dir(env.path().join("hand"))
        .status()
        .unwrap();
    assert!(status.success());
    let tgz = env.path().join("bad-one.tgz");
    let err =
        expect_error(&env.run(&["push", tgz.to_str().unwrap(), &reg.url("m"), "--plain-http"]));
    assert!(
        err.contains("version \"one\" is not a SemVer version"),
        "{err}"
    );
    let err = expect_error(&env.run(&["push", a.to_str().unwrap(), "https://h/x"]));
    assert!(err.contains("must start with oci://"), "{err}");
    // Plain HTTP spoken to by an HTTPS client: the hint names the flag.
    let err = expect_error(&env.run(&["pull", &reg.url("m/multi"), "--version", "1.0.0"]));
    assert!(err.contains("--plain-http"), "{err}");
}

/// A hostile registry in Python's standard library: an endless manifest, a manifest whose
/// `Docker-Content-Digest` lies, a redirect that changes the scheme.
const HOSTILE: &str = r#"
import http.server, json, sys
MANIFEST = json.dumps({"schemaVersion": 2, "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": "sha256:" + "a" * 64, "size": 2}, "layers": []}).encode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/v2/" and getattr(H, "challenge", None):
            self.send_response(401); self.send_header("WWW-Authenticate", H.challenge); self.send_header("Content-Length", "0"); self.end_headers()
        elif self.path == "/v2/":
            self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
        elif self.path.startswith("/v2/x/endless/manifests/"):
            self.send_response(200); self.send_header("Transfer-Encoding", "chunked"); self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(4096):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except Exception:
                pass
        elif self.path.startswith("/v2/x/lying/manifests/"):
            self.send_response(200); self.send_header("Content-Length", str(len(MANIFEST)))
            self.send_header("Docker-Content-Digest", "sha256:" + "b" * 64); self.end_headers(); self.wfile.write(MANIFEST)
        elif self.path == "/v2/x/paged/tags/list":
            self.json({"tags": ["1.0.0"]}, '</v2/x/paged/tags/list?n=1&last=1.0.0>; rel="next"')
        elif self.path == "/v2/x/paged/tags/list?n=1&last=1.0.0":
            self.json({"tags": ["1.1.0"]}, '<http://elsewhere.invalid/v2/x/paged/tags/list?n=9>; rel="next"')
        elif self.path == "/v2/x/loop/tags/list" or self.path.startswith("/v2/x/loop/tags/list?"):
            self.json({"tags": []}, '</v2/x/loop/tags/list?n=1&last=x>; rel="next"')
        elif self.path.startswith("/v2/x/redirect/manifests/"):
            self.send_response(302); self.send_header("Location", "https://127.0.0.1:9/elsewhere"); self.send_header("Content-Length", "0"); self.end_headers()
        else:
            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
    def json(self, value, link):
        body = json.dumps(value).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.send_header("Link", link); self.end_headers(); self.wfile.write(body)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
if len(sys.argv) > 2:
    import ssl
    H.challenge = 'Bearer realm="http://127.0.0.1:9/token",service="hostile"'
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

struct Hostile(std::process::Child, String);

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hostile_registry() -> Hostile {
    hostile_registry_with(&[])
}

/// The hostile registry; with a certificate and key, over TLS, its token realm plain HTTP.
fn hostile_registry_with(tls: &[&Path]) -> Hostile {
    use std::io::BufRead as _;
    let mut child = Command::new("python3")
        .args(["-c", HOSTILE])
        .args(tls)
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("python3");
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let host = format!("127.0.0.1:{}", port.trim());
    Hostile(child, host)
}

#[test]
fn a_hostile_registry_is_refused_quickly() {
    let reg = hostile_registry();
    let env = Env::new();
    let pull = |name: &str| {
        let (out, took) = run_bounded(
            env.cmd(&[
                "pull",
                &format!("oci://{}/x/{name}", reg.1),
                "--version",
                "1.0.0",
                "--plain-http",
                "-d",
                "d",
            ]),
            BOUND,
        );
        (expect_error(&out), took)
    };
    let (err, took) = pull("endless");
    assert!(err.contains("over the 4 MiB cap"), "{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let (err, _) = pull("lying");
    assert!(
        err.contains("the registry says the manifest's digest is sha256:bbbb"),
        "{err}"
    );
    let (err, _) = pull("redirect");
    assert!(err.contains("may not change the scheme"), "{err}");
    assert!(!env.path().join("d").exists(), "nothing may be written");

    // Tag lists: pages followed on the same repository only; a page loop is bounded.
    let err = expect_error(&env.run(&[
        "pull",
        &format!("oci://{}/x/paged", reg.1),
        "--version",
        "^3",
        "--plain-http",
    ]));
    assert!(err.contains("versions available: 1.1.0, 1.0.0"), "{err}");
    let (out, took) = run_bounded(
        env.cmd(&["pull", &format!("oci://{}/x/loop", reg.1), "--plain-http"]),
        BOUND,
    );
    let err = expect_error(&out);
    assert!(err.contains("more than 100 pages of tags"), "{err}");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn credentials_are_never_sent_to_a_plain_http_token_service() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = super::registry::make_certs(certs.path());
    let reg = hostile_registry_with(&[&cert, &key]);
    let env = Env::new();
    let out = env.run_stdin(
        &[
            "pull",
            &format!("oci://{}/x/any", reg.1),
            "--version",
            "1.0.0",
            "--ca-file",
            ca.to_str().unwrap(),
            "--username",
            "u",
            "--password-stdin",
        ],
        "secret-password",
    );
    let err = expect_error(&out);
    assert!(
        err.contains("http://127.0.0.1:9/token") && err.contains("over plain HTTP; refused"),
        "{err}"
    );
    assert!(!err.contains("secret-password"), "{err}");
}

#[test]
fn a_chart_served_under_another_name_is_refused() {
    let reg = Registry::start();
    let env = Env::new();
    let archive = env.package("real", "1.0.0");
    expect_success(&env.run(&[
        "push",
        archive.to_str().unwrap(),
        &reg.url("x"),
        "--plain-http",
    ]));
    // The registry serves the same manifest and blobs as x/impostor.
    let repos = reg.storage().join("docker/registry/v2/repositories/x");
    let status = Command::new("cp")
        .arg("-a")
        .arg(repos.join("real"))
        .arg(repos.join("impostor"))
        .status()
        .unwrap();
    assert!(status.success());
    let err = expect_error(&env.run(&[
        "pull",
        &reg.url("x/impostor"),
        "--version",
        "1.0.0",
        "--plain-http",
        "-d",
        "d",
    ]));
    assert!(
        err.contains("the archive holds chart \"real\" version \"1.0.0\", not impostor 1.0.0"),
        "{err}"
    );
    assert!(!env.path().join("d").exists(), "nothing may be written");
}

/// A registry with Bearer token auth (as GHCR, Docker Hub and Harbor use), serving files
/// from a directory: `/token` hands out a token for `tester` only; everything under `/v2/x/`
/// needs it.
const TOKEN_REGISTRY: &str = r#"
import base64, http.server, os, sys
root, port_holder = sys.argv[1], {}
GOOD = "Basic " + base64.b64encode(sys.argv[2].encode()).decode()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_HEAD(self): self.do_GET()
    def do_GET(self):
        challenge = ("WWW-Authenticate", 'Bearer realm="http://127.0.0.1:%d/token",service="test"' % port_holder["port"])
        if self.path.startswith("/token"):
            if self.headers.get("Authorization") == GOOD:
                return self.send(200, b'{"token":"t0k3n","expires_in":300}')
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}')
        if self.headers.get("Authorization") != "Bearer t0k3n":
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [challenge])
        if self.path == "/v2/":
            return self.send(200, b"{}")
        name = {"/v2/x/c/tags/list": "tags", "/v2/x/c/manifests/1.0.0": "manifest"}.get(self.path)
        if name is None and self.path.startswith("/v2/x/c/blobs/"):
            name = self.path.rsplit("/", 1)[1]
        path = os.path.join(root, name or "-")
        if not os.path.exists(path):
            return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
        ctype = "application/vnd.oci.image.manifest.v1+json" if name == "manifest" else "application/octet-stream"
        self.send(200, open(path, "rb").read(), [("Content-Type", ctype)])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
port_holder["port"] = s.server_address[1]
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

#[test]
fn bearer_token_registries_work_and_refuse_wrong_credentials() {
    // A real push gives the manifest and blobs the token registry then serves.
    let reg = Registry::start();
    let env = Env::new();
    let archive = env.package("c", "1.0.0");
    expect_success(&env.run(&[
        "push",
        archive.to_str().unwrap(),
        &reg.url("x"),
        "--plain-http",
    ]));
    let served = env.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let manifest = tag_digest(&reg, "x/c", "1.0.0");
    std::fs::copy(reg.blob_file(&manifest), served.join("manifest")).unwrap();
    let m = blob_json(&reg, &manifest);
    for d in [&m["config"]["digest"], &m["layers"][0]["digest"]] {
        let d = d.as_str().unwrap();
        std::fs::copy(reg.blob_file(d), served.join(d)).unwrap();
    }
    std::fs::write(served.join("tags"), r#"{"name":"x/c","tags":["1.0.0"]}"#).unwrap();

    use std::io::BufRead as _;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(TOKEN_REGISTRY)
        .arg(&served)
        .arg(format!("{USER}:{PASSWORD}"))
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let server = Hostile(child, format!("127.0.0.1:{}", port.trim()));
    let chart = format!("oci://{}/x/c", server.1);

    let pull = |password: &str, dir: &str| {
        env.run_stdin(
            &[
                "pull",
                &chart,
                "--version",
                "^1",
                "--plain-http",
                "--username",
                USER,
                "--password-stdin",
                "-d",
                dir,
            ],
            password,
        )
    };
    let got = expect_success(&pull(PASSWORD, "ok"));
    assert_eq!(line(&got, "Digest"), manifest);
    assert_eq!(
        std::fs::read(env.path().join("ok/c-1.0.0.tgz")).unwrap(),
        std::fs::read(&archive).unwrap()
    );
    let err = expect_error(&pull("Wr0ng-pass", "no"));
    assert!(
        err.contains(&server.1) && err.contains("refused to authenticate"),
        "{err}"
    );
    assert!(
        err.contains(&format!("user \"{USER}\"")) && !err.contains("Wr0ng-pass"),
        "{err}"
    );
    assert!(!env.path().join("no").exists());
}
