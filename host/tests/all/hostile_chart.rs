//! Hostile charts through the real binary: symlinks out of the chart, `component:` paths
//! outside it, FIFOs, devices, sparse files and hard links are each refused with one clear
//! message naming the file and the rule; the run exits non-zero quickly and writes nothing.
//! A benign `files/` reaches the component as a frozen snapshot that is removed afterwards.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::support::{expect_error, expect_success as success, run_bounded, shared_dir};

/// Every run is bounded: a host blocked on a FIFO must fail the test, not hang it.
const BOUND: Duration = Duration::from_secs(120);

/// Refusals happen while loading the chart, before any compile.
const FAST: Duration = Duration::from_secs(10);

/// A chart whose one subchart `probe` runs the hostile test guest, copied into the chart.
struct Hostile {
    dir: tempfile::TempDir,
    /// TMPDIR of the runs, to see that no snapshot is left behind.
    tmp: tempfile::TempDir,
}

impl Hostile {
    fn new(probe_values: &str) -> Hostile {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("charts/probe");
        fs::create_dir_all(&sub).unwrap();
        fs::copy(test_components::wasm("probe"), sub.join("probe.wasm")).unwrap();
        fs::write(
            sub.join("Chart.yaml"),
            "apiVersion: v2\nname: probe\nversion: 0.1.0\ncomponent: probe.wasm\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("Chart.yaml"),
            "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n  - name: probe\n    version: 0.1.0\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("values.yaml"),
            format!("probe:\n  {probe_values}\n"),
        )
        .unwrap();
        Hostile {
            dir,
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn sub(&self, rel: &str) -> PathBuf {
        self.path().join("charts/probe").join(rel)
    }

    fn run(&self, command: &str, args: &[&str]) -> (Output, Duration) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
        cmd.arg(command)
            .args(args)
            .env("WASMCHART_CACHE_DIR", cache())
            .env("TMPDIR", self.tmp.path())
            .env_remove("WASMCHART_SECRET_KEY");
        run_bounded(cmd, BOUND)
    }

    fn render(&self, args: &[&str]) -> (Output, Duration) {
        let chart = self.path().to_str().unwrap().to_string();
        let mut all = vec![chart.as_str()];
        all.extend_from_slice(args);
        self.run("render", &all)
    }

    /// Renders, expecting a quick refusal; returns the message.
    fn refused(&self, args: &[&str]) -> String {
        let out_dir = self.tmp.path().join("out");
        let out_arg = out_dir.to_str().unwrap().to_string();
        let mut all = args.to_vec();
        all.extend(["--output-dir", out_arg.as_str()]);
        let (out, took) = self.render(&all);
        let err = failure(&out);
        assert!(took < FAST, "took {took:?}: {err}");
        assert!(!out_dir.exists(), "nothing is written on error");
        self.assert_no_snapshot_left();
        err
    }

    fn assert_no_snapshot_left(&self) {
        let left: Vec<_> = fs::read_dir(self.tmp.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("wasmchart-files-"))
            .collect();
        assert!(left.is_empty(), "snapshots left behind: {left:?}");
    }
}

/// One compile cache for the module, so only the first render compiles the probe.
fn cache() -> PathBuf {
    shared_dir("hostile-chart-cache")
}

/// The one-paragraph error of a failed run: exit 1, nothing on stdout, no panic.
fn failure(out: &Output) -> String {
    let err = expect_error(out);
    assert_eq!(err.trim_end().lines().count(), 1, "one paragraph: {err}");
    err
}

fn mkfifo(path: &Path) {
    assert!(
        Command::new("mkfifo").arg(path).status().unwrap().success(),
        "mkfifo"
    );
}

#[test]
fn files_symlinked_to_etc_is_refused() {
    let chart = Hostile::new("action: list-dir\n  path: /files");
    symlink("/etc", chart.sub("files")).unwrap();
    let err = chart.refused(&[]);
    assert!(
        err.contains("charts/probe/files") && err.contains("leads outside the chart directory"),
        "{err}"
    );
    assert!(err.contains("subchart 'probe'"), "{err}");
    assert!(!err.contains("passwd"), "{err}");
}

#[test]
fn a_values_file_symlinked_to_a_kubeconfig_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let kubeconfig = outside.path().join("config");
    fs::write(&kubeconfig, "token: s3cr3t-token\n").unwrap();
    let chart = Hostile::new("action: echo");
    symlink(&kubeconfig, chart.sub("values.yaml")).unwrap();
    let err = chart.refused(&[]);
    assert!(
        err.contains("charts/probe/values.yaml")
            && err.contains("leads outside the chart directory"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[test]
fn component_paths_outside_the_chart_are_refused() {
    let probe = test_components::wasm("probe").display().to_string();
    for (component, why) in [
        (probe.as_str(), "is an absolute path"),
        ("../../../probe.wasm", "climbs out with `..`"),
    ] {
        let chart = Hostile::new("action: ok");
        fs::write(
            chart.sub("Chart.yaml"),
            format!("apiVersion: v2\nname: probe\nversion: 0.1.0\ncomponent: {component}\n"),
        )
        .unwrap();
        let err = chart.refused(&[]);
        assert!(
            err.contains("charts/probe")
                && err.contains("Chart.yaml key \"component\"")
                && err.contains(why),
            "{err}"
        );
    }
    let chart = Hostile::new("action: ok");
    fs::remove_file(chart.sub("probe.wasm")).unwrap();
    symlink(test_components::wasm("probe"), chart.sub("probe.wasm")).unwrap();
    let err = chart.refused(&[]);
    assert!(
        err.contains("charts/probe/probe.wasm")
            && err.contains("leads outside the chart directory"),
        "{err}"
    );
}

#[test]
fn fifos_fail_fast_in_the_chart_and_as_operator_files() {
    let chart = Hostile::new("action: ok");
    fs::remove_file(chart.path().join("values.yaml")).unwrap();
    mkfifo(&chart.path().join("values.yaml"));
    let err = chart.refused(&[]);
    assert!(
        err.contains("values.yaml") && err.contains("is a FIFO (named pipe), not a regular file"),
        "{err}"
    );
    let chart = Hostile::new("action: ok");
    fs::create_dir(chart.sub("files")).unwrap();
    mkfifo(&chart.sub("files/pipe"));
    let err = chart.refused(&[]);
    assert!(err.contains("files/pipe") && err.contains("FIFO"), "{err}");

    let chart = Hostile::new("action: ok");
    let fifo = chart.tmp.path().join("values.fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    for (args, rule) in [
        (
            vec!["-f", fifo],
            "is a FIFO (named pipe), not a regular file",
        ),
        (
            vec!["-f", "/dev/zero"],
            "is a character device, not a regular file",
        ),
        (
            vec!["--set-file", "probe.x=/dev/zero"],
            "is a character device",
        ),
        (vec!["--seal-cert", "/dev/zero"], "is a character device"),
    ] {
        let err = chart.refused(&args);
        let named = if args[1].contains('=') {
            "/dev/zero"
        } else {
            args[1]
        };
        assert!(err.contains(named) && err.contains(rule), "{args:?}: {err}");
    }
}

#[test]
fn sparse_and_oversized_files_are_refused_before_reading() {
    let chart = Hostile::new("action: ok");
    fs::File::create(chart.sub("values.yaml"))
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let err = chart.refused(&[]);
    assert!(
        err.contains("charts/probe/values.yaml")
            && err.contains("it is 2 GiB, over the 4 MiB limit for a values file"),
        "{err}"
    );
    let chart = Hostile::new("action: ok");
    fs::File::create(chart.sub("probe.wasm"))
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let err = chart.refused(&[]);
    assert!(
        err.contains("probe.wasm") && err.contains("over the 256 MiB limit for a component"),
        "{err}"
    );
    let chart = Hostile::new("action: ok");
    fs::create_dir(chart.sub("files")).unwrap();
    fs::File::create(chart.sub("files/big"))
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let err = chart.refused(&[]);
    assert!(
        err.contains("files/big") && err.contains("over the 1 MiB limit for a file under files/"),
        "{err}"
    );
}

#[test]
fn hard_links_and_devices_under_files_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), "s3cr3t").unwrap();
    let chart = Hostile::new("action: ok");
    fs::create_dir(chart.sub("files")).unwrap();
    fs::hard_link(
        outside.path().join("secret"),
        chart.sub("files/innocent.txt"),
    )
    .unwrap();
    let err = chart.refused(&[]);
    assert!(
        err.contains("files/innocent.txt") && err.contains("it has 2 hard links"),
        "{err}"
    );
    let chart = Hostile::new("action: ok");
    fs::create_dir(chart.sub("files")).unwrap();
    let made = Command::new("mknod")
        .arg(chart.sub("files/zero"))
        .args(["c", "1", "5"])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        println!("skipped the device case: mknod is not available or not permitted here");
        return;
    }
    let err = chart.refused(&[]);
    assert!(
        err.contains("files/zero") && err.contains("a character device"),
        "{err}"
    );
}

#[test]
fn chart_files_the_host_services_read_are_confined() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("generations.yaml");
    fs::write(&target, "dev: {jwt: 7}\n").unwrap();
    let chart = Hostile::new("action: ok");
    fs::write(
        chart.path().join("values.yaml"),
        "probe: {action: ok}\nsecrets:\n  items:\n    jwt:\n      keys:\n        K: {generate: {}}\n",
    )
    .unwrap();
    fs::write(chart.path().join("values-dev.yaml"), "{}\n").unwrap();
    symlink(&target, chart.path().join("secret-generations.yaml")).unwrap();
    let chart_arg = chart.path().to_str().unwrap();
    let (out, _) = chart.run(
        "secrets",
        &["rotate", "jwt", "--env", "dev", "--chart", chart_arg],
    );
    let err = failure(&out);
    assert!(
        err.contains("secret-generations.yaml")
            && err.contains("leads outside the chart directory"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "dev: {jwt: 7}\n");

    let cert = outside.path().join("cert.pem");
    fs::write(&cert, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let chart = Hostile::new("action: ok");
    fs::write(
        chart.path().join("values.yaml"),
        "probe: {action: ok}\nsecrets:\n  sealed:\n    certFile: cert.pem\n",
    )
    .unwrap();
    symlink(&cert, chart.path().join("cert.pem")).unwrap();
    let err = chart.refused(&[]);
    assert!(
        err.contains("cert.pem") && err.contains("leads outside the chart directory"),
        "{err}"
    );
}

#[test]
fn rotation_replaces_a_link_instead_of_writing_through_it() {
    let chart = Hostile::new("action: ok");
    fs::write(
        chart.path().join("values.yaml"),
        "probe: {action: ok}\nsecrets:\n  items:\n    jwt:\n      keys:\n        K: {generate: {}}\n",
    )
    .unwrap();
    fs::write(chart.path().join("values-dev.yaml"), "{}\n").unwrap();
    fs::write(chart.path().join("old-generations.yaml"), "dev: {jwt: 1}\n").unwrap();
    symlink(
        "old-generations.yaml",
        chart.path().join("secret-generations.yaml"),
    )
    .unwrap();
    let chart_arg = chart.path().to_str().unwrap();
    let (out, _) = chart.run(
        "secrets",
        &["rotate", "jwt", "--env", "dev", "--chart", chart_arg],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = fs::symlink_metadata(chart.path().join("secret-generations.yaml")).unwrap();
    assert!(link.is_file(), "the link was replaced by a regular file");
    let text = fs::read_to_string(chart.path().join("secret-generations.yaml")).unwrap();
    assert!(text.contains("jwt: 2"), "{text}");
    assert_eq!(
        fs::read_to_string(chart.path().join("old-generations.yaml")).unwrap(),
        "dev: {jwt: 1}\n",
        "the link's target is untouched"
    );
}

#[test]
fn the_component_sees_a_frozen_snapshot_of_files() {
    let chart = Hostile::new("action: list-dir\n  path: /files");
    fs::create_dir_all(chart.sub("files/conf")).unwrap();
    fs::write(chart.sub("files/conf/app.ini"), "[app]\nport = 8080\n").unwrap();
    symlink("conf/app.ini", chart.sub("files/alias.ini")).unwrap();
    let (out, _) = chart.render(&["-o", "json"]);
    let listed = success(&out);
    assert!(
        listed.contains("alias.ini") && listed.contains("conf"),
        "{listed}"
    );
    chart.assert_no_snapshot_left();
    fs::write(
        chart.path().join("values.yaml"),
        "probe:\n  action: read-file\n  path: /files/alias.ini\n",
    )
    .unwrap();
    let (out, _) = chart.render(&["-o", "json"]);
    let read = success(&out);
    assert!(read.contains("port = 8080"), "{read}");
    chart.assert_no_snapshot_left();
}
