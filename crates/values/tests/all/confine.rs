//! Chart reads are confined to the chart: no symlink or path leaves it, only regular files are
//! opened (never blocking on a FIFO), every file has a size cap, and `files/` becomes a
//! validated snapshot. Hostile trees are made here, at test time, in temp dirs.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use wasmchart_values::chartfs::{self, ChartDir, FilesLimits};
use wasmchart_values::{Chart, Error, ValueOptions, compute};

use crate::common::{chart_yaml, compute_tree, write_tree};

/// Runs `f` on a thread and fails the test if it has not returned within `secs`: a read that
/// blocks (a FIFO) must not hang the test run.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("did not return within {secs}s: a read blocked"))
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A one-chart tree with `Chart.yaml` and the given extra files.
fn chart(files: &[(&str, &str)]) -> tempfile::TempDir {
    let yaml = chart_yaml("top", "");
    let mut all = vec![("Chart.yaml", yaml.as_str())];
    all.extend_from_slice(files);
    write_tree(&all)
}

fn load_err(dir: &Path) -> String {
    Chart::load(dir).expect_err("refused").to_string()
}

#[test]
fn a_values_symlink_leading_out_of_the_chart_is_refused() {
    let outside = write_tree(&[("kubeconfig", "token: s3cr3t\n")]);
    let d = chart(&[]);
    symlink(
        outside.path().join("kubeconfig"),
        d.path().join("values.yaml"),
    )
    .unwrap();
    let e = load_err(d.path());
    assert!(
        e.contains("values.yaml") && e.contains("leads outside the chart directory"),
        "{e}"
    );
    assert!(!e.contains("s3cr3t"), "{e}");
    let relative = chart(&[]);
    symlink(
        "../../../../../../etc/passwd",
        relative.path().join("values.yaml"),
    )
    .unwrap();
    let e = load_err(relative.path());
    assert!(e.contains("leads outside the chart directory"), "{e}");
}

#[test]
fn symlinks_inside_the_chart_are_followed() {
    let d = chart(&[("shared/defaults.yaml", "port: 8080\n")]);
    symlink("shared/defaults.yaml", d.path().join("values.yaml")).unwrap();
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("inside link is fine");
    assert_eq!(c.values()["port"], 8080);
}

#[test]
fn a_subchart_symlinked_out_of_the_chart_is_refused() {
    let outside = write_tree(&[("Chart.yaml", &chart_yaml("evil", ""))]);
    let d = chart(&[]);
    std::fs::create_dir(d.path().join("charts")).unwrap();
    symlink(outside.path(), d.path().join("charts/evil")).unwrap();
    let e = load_err(d.path());
    assert!(
        e.contains("charts/evil") && e.contains("leads outside the chart directory"),
        "{e}"
    );
}

#[test]
fn a_subchart_cannot_reach_its_parent() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("secret.yaml", "password: hunter2\n"),
        ("charts/sub/Chart.yaml", &chart_yaml("sub", "")),
    ]);
    symlink("../../secret.yaml", d.path().join("charts/sub/values.yaml")).unwrap();
    let e = load_err(d.path());
    assert!(
        e.contains("charts/sub/values.yaml") && e.contains("outside the chart directory"),
        "{e}"
    );
}

#[test]
fn a_symlink_loop_of_subcharts_is_bounded() {
    let d = chart(&[]);
    std::fs::create_dir(d.path().join("charts")).unwrap();
    symlink("..", d.path().join("charts/again")).unwrap();
    let started = Instant::now();
    let e = load_err(d.path());
    assert!(e.contains("nested more than 16 levels"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn component_paths_must_stay_inside_the_chart() {
    for (path, why) in [
        ("/usr/lib/x.wasm", "is an absolute path"),
        ("../../x.wasm", "climbs out with `..`"),
        ("a/../../x.wasm", "climbs out with `..`"),
    ] {
        let d = write_tree(&[(
            "Chart.yaml",
            &format!("apiVersion: v2\nname: top\nversion: 0.1.0\ncomponent: {path}\n"),
        )]);
        let e = load_err(d.path());
        assert!(
            e.contains("Chart.yaml key \"component\"") && e.contains(path) && e.contains(why),
            "{e}"
        );
    }
    let d = write_tree(&[(
        "Chart.yaml",
        "apiVersion: v2\nname: top\nversion: 0.1.0\ncomponent: ./bin/x.wasm\n",
    )]);
    let c = Chart::load(d.path()).expect("a relative component path loads");
    assert_eq!(c.component(), Some(d.path().join("./bin/x.wasm")));
}

#[test]
fn a_component_symlinked_out_of_the_chart_is_refused() {
    let outside = write_tree(&[("x.wasm", "\0asm")]);
    let d = write_tree(&[(
        "Chart.yaml",
        "apiVersion: v2\nname: top\nversion: 0.1.0\ncomponent: x.wasm\n",
    )]);
    symlink(outside.path().join("x.wasm"), d.path().join("x.wasm")).unwrap();
    let c = Chart::load(d.path()).expect("load");
    let e = c.component_bytes().expect_err("refused").to_string();
    assert!(
        e.contains("x.wasm") && e.contains("leads outside the chart directory"),
        "{e}"
    );
}

#[test]
fn environment_files_must_stay_inside_the_chart() {
    let outside = write_tree(&[("prod.yaml", "leak: true\n")]);
    let d = write_tree(&[(
        "Chart.yaml",
        &chart_yaml(
            "top",
            &format!(
                "environments:\n  abs:\n    values: [{}]\n  up:\n    values: ../prod.yaml\n  link:\n    values: [linked.yaml]\n",
                outside.path().join("prod.yaml").display()
            ),
        ),
    )]);
    symlink(
        outside.path().join("prod.yaml"),
        d.path().join("linked.yaml"),
    )
    .unwrap();
    let chart = Chart::load(d.path()).expect("load");
    let e = chart.environment("abs").expect_err("absolute").to_string();
    assert!(
        e.contains("environments.abs.values") && e.contains("is an absolute path"),
        "{e}"
    );
    let e = chart.environment("up").expect_err("climbs").to_string();
    assert!(
        e.contains("environments.up.values") && e.contains("climbs out"),
        "{e}"
    );
    let opts = ValueOptions {
        env: Some("link".into()),
        ..Default::default()
    };
    let e = compute(&chart, &opts).expect_err("linked out").to_string();
    assert!(
        e.contains("linked.yaml") && e.contains("leads outside the chart directory"),
        "{e}"
    );
}

#[test]
fn a_fifo_values_file_fails_fast() {
    let d = chart(&[]);
    mkfifo(&d.path().join("values.yaml"));
    let dir = d.path().to_path_buf();
    let e = within(10, move || load_err(&dir));
    assert!(
        e.contains("values.yaml") && e.contains("is a FIFO (named pipe), not a regular file"),
        "{e}"
    );
    let env = chart(&[]);
    mkfifo(&env.path().join("values-prod.yaml"));
    let dir = env.path().to_path_buf();
    let e = within(10, move || {
        let opts = ValueOptions {
            env: Some("prod".into()),
            ..Default::default()
        };
        compute_tree(&dir, &opts).expect_err("fifo").to_string()
    });
    assert!(e.contains("values-prod.yaml") && e.contains("FIFO"), "{e}");
}

#[test]
fn operator_files_get_the_same_rules() {
    let d = chart(&[]);
    let fifo = d.path().join("pipe.yaml");
    mkfifo(&fifo);
    let cases = [
        (fifo.clone(), "is a FIFO (named pipe), not a regular file"),
        (
            "/dev/zero".into(),
            "is a character device, not a regular file",
        ),
        (d.path().to_path_buf(), "is a directory, not a regular file"),
    ];
    for (path, rule) in cases {
        let dir = d.path().to_path_buf();
        let file = path.clone();
        let e = within(10, move || {
            let opts = ValueOptions {
                files: vec![file],
                ..Default::default()
            };
            compute_tree(&dir, &opts).expect_err("refused").to_string()
        });
        assert!(
            e.contains(&path.display().to_string()) && e.contains(rule),
            "{e}"
        );
        let dir = d.path().to_path_buf();
        let expr = format!("k={}", path.display());
        let e = within(10, move || {
            let opts = ValueOptions {
                set_file: vec![expr],
                ..Default::default()
            };
            compute_tree(&dir, &opts).expect_err("refused").to_string()
        });
        assert!(e.contains("--set-file") && e.contains(rule), "{e}");
    }
}

#[test]
fn a_sparse_two_gib_values_file_is_refused_before_reading() {
    let d = chart(&[]);
    let f = std::fs::File::create(d.path().join("values.yaml")).unwrap();
    f.set_len(2 << 30).unwrap();
    let started = Instant::now();
    let e = load_err(d.path());
    assert!(
        e.contains("values.yaml")
            && e.contains("it is 2 GiB, over the 4 MiB limit for a values file"),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let opts = ValueOptions {
        files: vec![d.path().join("values.yaml")],
        ..Default::default()
    };
    let other = chart(&[]);
    let e = compute_tree(other.path(), &opts).expect_err("operator file too");
    assert!(e.to_string().contains("over the 4 MiB limit"), "{e}");
}

#[test]
fn values_files_together_have_a_budget() {
    let big = format!("k: \"{}\"\n", "x".repeat(3 << 20));
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "dependencies:\n  - name: a\n    version: 0.1.0\n  - name: b\n    version: 0.1.0\n",
            ),
        ),
        ("charts/a/Chart.yaml", &chart_yaml("a", "")),
        ("charts/a/values.yaml", &big),
        ("charts/b/Chart.yaml", &chart_yaml("b", "")),
        ("charts/b/values.yaml", &big),
    ]);
    let e = load_err(d.path());
    assert!(
        e.contains("charts/b/values.yaml")
            && e.contains("it brings the total over the 6 MiB limit for all values files"),
        "{e}"
    );
    let one = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("values.yaml", &big),
    ]);
    let extra = write_tree(&[("more.yaml", &big)]);
    let opts = ValueOptions {
        files: vec![extra.path().join("more.yaml")],
        ..Default::default()
    };
    let e = compute_tree(one.path(), &opts)
        .expect_err("over budget")
        .to_string();
    assert!(e.contains("more.yaml") && e.contains("6 MiB"), "{e}");
}

#[test]
fn schema_refs_through_symlinks_stay_inside() {
    let outside = write_tree(&[("defs.json", r#"{"type": "string"}"#)]);
    let d = chart(&[(
        "values.schema.json",
        r#"{"properties": {"image": {"$ref": "defs.json"}}}"#,
    )]);
    symlink(outside.path().join("defs.json"), d.path().join("defs.json")).unwrap();
    let e = compute_tree(d.path(), &ValueOptions::default())
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains("defs.json") && e.contains("leads outside the chart directory"),
        "{e}"
    );
    let abs = chart(&[(
        "values.schema.json",
        &format!(
            r#"{{"properties": {{"image": {{"$ref": "file://{}"}}}}}}"#,
            outside.path().join("defs.json").display()
        ),
    )]);
    let e = compute_tree(abs.path(), &ValueOptions::default()).expect_err("refused");
    assert!(
        e.to_string().contains("points outside the chart directory"),
        "{e}"
    );
}

/// A chart with a `files/` tree made by `build`, snapshotted with `limits`.
fn snapshot(
    build: impl FnOnce(&Path),
    limits: &FilesLimits,
) -> (tempfile::TempDir, Result<Option<chartfs::Snapshot>, String>) {
    let d = chart(&[]);
    std::fs::create_dir(d.path().join("files")).unwrap();
    build(&d.path().join("files"));
    let fs = ChartDir::open(d.path()).unwrap();
    let result = fs.snapshot_files(limits).map_err(|e| e.to_string());
    (d, result)
}

fn refused(build: impl FnOnce(&Path), limits: &FilesLimits) -> String {
    let (_d, result) = snapshot(build, limits);
    result.expect_err("refused")
}

#[test]
fn the_files_snapshot_is_a_frozen_private_copy() {
    let (d, result) = snapshot(
        |f| {
            std::fs::write(f.join("a.txt"), "alpha").unwrap();
            std::fs::create_dir_all(f.join("conf/deep")).unwrap();
            std::fs::write(f.join("conf/deep/b.txt"), "beta").unwrap();
            symlink("conf/deep/b.txt", f.join("link.txt")).unwrap();
        },
        &FilesLimits::default(),
    );
    let snap = result.expect("valid").expect("has files/");
    let root = snap.path().to_path_buf();
    assert!(
        !root.starts_with(d.path()),
        "a copy, not the chart's directory"
    );
    // Times first: reading a file below would update its access time.
    for rel in [
        "",
        "a.txt",
        "conf",
        "conf/deep",
        "conf/deep/b.txt",
        "link.txt",
    ] {
        let m = std::fs::metadata(root.join(rel)).unwrap();
        assert_eq!(
            (m.mtime(), m.atime()),
            (946_684_800, 946_684_800),
            "{rel:?}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "alpha"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("conf/deep/b.txt")).unwrap(),
        "beta"
    );
    let link = std::fs::symlink_metadata(root.join("link.txt")).unwrap();
    assert!(
        link.is_file(),
        "an inside symlink is copied as a regular file"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("link.txt")).unwrap(),
        "beta"
    );
    assert_eq!((snap.files(), snap.bytes()), (3, 13));
    assert_eq!(
        std::fs::metadata(&root).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for (rel, mode) in [
        ("a.txt", 0o444),
        ("conf", 0o755),
        ("conf/deep/b.txt", 0o444),
    ] {
        let m = std::fs::metadata(root.join(rel)).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, mode, "{rel}");
    }
    drop(snap);
    assert!(!root.exists(), "the snapshot is removed when dropped");
}

#[test]
fn no_files_directory_means_no_snapshot() {
    let d = chart(&[]);
    let fs = ChartDir::open(d.path()).unwrap();
    assert!(
        fs.snapshot_files(&FilesLimits::default())
            .unwrap()
            .is_none()
    );
    std::fs::write(d.path().join("files"), "not a dir").unwrap();
    let e = fs
        .snapshot_files(&FilesLimits::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("files") && e.contains("not a directory"), "{e}");
}

#[test]
fn a_files_directory_symlinked_out_is_refused() {
    let d = chart(&[]);
    symlink("/etc", d.path().join("files")).unwrap();
    let fs = ChartDir::open(d.path()).unwrap();
    let e = fs
        .snapshot_files(&FilesLimits::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("files") && e.contains("leads outside the chart directory"),
        "{e}"
    );
}

#[test]
fn hostile_entries_under_files_are_refused() {
    let outside = write_tree(&[("secret", "s3cr3t")]);
    let secret = outside.path().join("secret");
    let limits = FilesLimits::default();
    let e = refused(|f| symlink(&secret, f.join("leak")).unwrap(), &limits);
    assert!(
        e.contains("files/leak") && e.contains("symlink leading outside files/"),
        "{e}"
    );
    let e = refused(
        |f| symlink("../values.yaml", f.join("up")).unwrap(),
        &limits,
    );
    assert!(
        e.contains("files/up") && e.contains("outside files/"),
        "{e}"
    );
    let e = refused(
        |f| std::fs::hard_link(&secret, f.join("hard")).unwrap(),
        &limits,
    );
    assert!(
        e.contains("files/hard") && e.contains("it has 2 hard links"),
        "{e}"
    );
    let e = within(10, move || {
        refused(|f| mkfifo(&f.join("pipe")), &FilesLimits::default())
    });
    assert!(
        e.contains("files/pipe") && e.contains("a FIFO (named pipe)"),
        "{e}"
    );
    let e = refused(
        |f| {
            std::fs::create_dir(f.join("d")).unwrap();
            symlink("d", f.join("dirlink")).unwrap();
        },
        &limits,
    );
    assert!(
        e.contains("files/dirlink") && e.contains("symlink to a directory"),
        "{e}"
    );
    let e = refused(
        |f| {
            std::os::unix::net::UnixListener::bind(f.join("sock")).unwrap();
        },
        &limits,
    );
    assert!(e.contains("files/sock") && e.contains("a socket"), "{e}");
}

#[test]
fn a_device_under_files_is_refused() {
    let d = chart(&[]);
    std::fs::create_dir(d.path().join("files")).unwrap();
    let node = d.path().join("files/zero");
    let made = Command::new("mknod")
        .arg(&node)
        .args(["c", "1", "5"])
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        println!("skipped: mknod is not available or not permitted here");
        return;
    }
    let fs = ChartDir::open(d.path()).unwrap();
    let e = fs
        .snapshot_files(&FilesLimits::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("files/zero") && e.contains("a character device"),
        "{e}"
    );
}

#[test]
fn files_limits_are_enforced() {
    let small = FilesLimits {
        file: 10,
        total: 15,
        entries: 3,
        depth: 2,
    };
    let e = refused(
        |f| std::fs::write(f.join("big"), "x".repeat(11)).unwrap(),
        &small,
    );
    assert!(
        e.contains("files/big") && e.contains("over the 10 bytes limit for a file under files/"),
        "{e}"
    );
    let e = refused(
        |f| {
            std::fs::write(f.join("a"), "x".repeat(8)).unwrap();
            std::fs::write(f.join("b"), "x".repeat(8)).unwrap();
        },
        &small,
    );
    assert!(
        e.contains("files/b") && e.contains("over the 15 bytes limit"),
        "{e}"
    );
    let e = refused(
        |f| {
            for n in ["a", "b", "c", "d"] {
                std::fs::write(f.join(n), "").unwrap();
            }
        },
        &small,
    );
    assert!(
        e.contains("files/d") && e.contains("more than 3 entries"),
        "{e}"
    );
    let e = refused(
        |f| std::fs::create_dir_all(f.join("1/2/3")).unwrap(),
        &small,
    );
    assert!(
        e.contains("files/1/2/3") && e.contains("more than 2 directories deep"),
        "{e}"
    );
    let sparse = refused(
        |f| {
            std::fs::File::create(f.join("sparse"))
                .unwrap()
                .set_len(2 << 30)
                .unwrap();
        },
        &FilesLimits::default(),
    );
    assert!(
        sparse.contains("it is 2 GiB, over the 1 MiB limit"),
        "{sparse}"
    );
}

#[test]
fn a_file_growing_past_its_cap_while_read_is_stopped() {
    // /proc files report size 0 but have content: the cap is enforced on the bytes read.
    let e = chartfs::read_operator_file(
        Path::new("/proc/self/status"),
        &chartfs::Limit {
            what: "a test file",
            bytes: 8,
        },
    )
    .expect_err("over the cap")
    .to_string();
    assert!(
        e.contains("grew past the 8 bytes limit for a test file"),
        "{e}"
    );
}

#[test]
fn hard_linked_files_outside_files_are_still_read() {
    // Documented caveat: only files/ refuses hard links; values.yaml is parsed, not copied.
    let d = chart(&[("real.yaml", "a: 1\n")]);
    std::fs::hard_link(d.path().join("real.yaml"), d.path().join("values.yaml")).unwrap();
    assert_eq!(
        std::fs::metadata(d.path().join("values.yaml"))
            .unwrap()
            .nlink(),
        2
    );
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("read");
    assert_eq!(c.values()["a"], 1);
    assert!(matches!(
        Chart::load(Path::new("/nonexistent/chart")),
        Err(Error::Io { .. })
    ));
}
