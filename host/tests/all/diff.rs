//! `wasmchart diff` through the real binary, on the bundled example: the
//! promotion check (one image tag shows exactly the image line), a rotated
//! secret shows as "changed" with its consumer's checksum and never a
//! value, `--from` as a file, a tree and stdin, two environments, the
//! ignore flags, colour, and diff(1)'s exit statuses (0 same, 1 different,
//! 2 error) for every kind of error.

use super::support::copy_tree;
use crate::support::{repo_root, run_bounded, shared_dir};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The imprun tests' fixed root key (a test key, not a secret).
const SECRET_KEY: &str = "696d7072756e2d6578616d706c652d746573742d726f6f742d6b657921212121";
const BOUND: Duration = Duration::from_secs(120);

fn example() -> PathBuf {
    repo_root().join("examples/imprun")
}

fn wasmchart(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", shared_dir("diff-home"))
        .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"))
        .env("WASMCHART_SECRET_KEY", SECRET_KEY)
        .envs([
            ("GITHUB_CLIENT_ID", "test-github-client-id"),
            ("GITHUB_CLIENT_SECRET", "test-github-client-secret"),
            ("GOOGLE_CLIENT_ID", "test-google-client-id"),
            ("GOOGLE_CLIENT_SECRET", "test-google-client-secret"),
        ])
        .current_dir(repo_root());
    cmd
}

fn run(args: &[&str]) -> Output {
    run_bounded(wasmchart(args), BOUND).0
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// `render` of `chart` for `env` into a file in `dir`; returns its path.
fn render_to(dir: &Path, chart: &Path, env: &str) -> PathBuf {
    let out = run(&["render", &chart.to_string_lossy(), "--env", env]);
    assert!(out.status.success(), "render failed: {}", stderr(&out));
    let path = dir.join(format!("{env}.yaml"));
    fs::write(&path, &out.stdout).expect("write the render");
    path
}

/// Asserts diff's error: status 2, nothing on stdout, one `error:`
/// paragraph, no panic; returns stderr.
fn expect_diff_error(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "diff exits 2 on error: {err}");
    assert!(out.stdout.is_empty(), "no report on error: {}", stdout(out));
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn promoting_an_image_tag_shows_exactly_the_image_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let from = render_to(dir.path(), &example(), "staging");
    let from = from.to_string_lossy();
    let same = run(&[
        "diff",
        "examples/imprun",
        "--env",
        "staging",
        "--from",
        &from,
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert_eq!(stdout(&same), "");
    let out = run(&[
        "diff",
        "examples/imprun",
        "--env",
        "staging",
        "--from",
        &from,
        "--set",
        "imprun-server.image.tag=v2.0.1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "~ apps/v1 Deployment imprun-staging/imprun-imprun-server\n    \
         ~ spec.template.spec.containers[name=imprun-server].image: \
         \"docker.io/junsik/imprun-server:staging\" → \"docker.io/junsik/imprun-server:v2.0.1\"\n\
         1 changed, 0 added, 0 removed\n"
    );
}

#[test]
fn rotating_jwt_shows_the_sealed_secret_as_changed_and_its_consumers_checksum() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chart = dir.path().join("imprun");
    copy_tree(&example(), &chart);
    let from = render_to(dir.path(), &chart, "staging");
    let before = fs::read_to_string(&from).expect("render");
    let chart_arg = chart.to_string_lossy();
    let rotate = run(&[
        "secrets", "rotate", "jwt", "--env", "staging", "--chart", &chart_arg,
    ]);
    assert!(rotate.status.success(), "{}", stderr(&rotate));
    let out = run(&[
        "diff",
        &chart_arg,
        "--env",
        "staging",
        "--from",
        &from.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = stdout(&out);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 5, "{report}");
    assert_eq!(
        lines[0],
        "~ apps/v1 Deployment imprun-staging/imprun-imprun-server"
    );
    assert!(
        lines[1].starts_with(
            "    ~ spec.template.metadata.annotations[\"checksum/secret-imprun-jwt-secret\"]: \""
        ),
        "{report}"
    );
    assert_eq!(
        lines[2],
        "~ bitnami.com/v1alpha1 SealedSecret imprun-staging/imprun-jwt-secret"
    );
    assert_eq!(
        lines[3],
        "    ~ spec.encryptedData.JWT_SECRET: changed (secret value hidden)"
    );
    assert_eq!(lines[4], "2 changed, 0 added, 0 removed");
    // Neither the old nor the new sealed value is printed.
    let after = stdout(&run(&["render", &chart_arg, "--env", "staging"]));
    for text in [&before, &after] {
        let sealed = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("JWT_SECRET: "))
            .expect("the sealed JWT_SECRET line");
        assert!(sealed.len() > 40, "{sealed}");
        assert!(
            !report.contains(&sealed[..40]),
            "a sealed value leaked: {report}"
        );
    }
}

/// A plain Secret (local environment): `data` keys show only as changed,
/// and no base64 value reaches the report.
#[test]
fn plain_secret_data_is_never_printed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chart = dir.path().join("imprun");
    copy_tree(&example(), &chart);
    let from = render_to(dir.path(), &chart, "local");
    let before = fs::read_to_string(&from).expect("render");
    let chart_arg = chart.to_string_lossy();
    let list = stdout(&run(&[
        "secrets", "list", "--env", "local", "--chart", &chart_arg,
    ]));
    let ids: Vec<&str> = list
        .lines()
        .filter(|l| !l.starts_with(' ') && l.contains(": Secret "))
        .filter_map(|l| l.split(':').next())
        .collect();
    assert!(!ids.is_empty(), "{list}");
    for id in &ids {
        let out = run(&[
            "secrets", "rotate", id, "--env", "local", "--chart", &chart_arg,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = run(&[
        "diff",
        &chart_arg,
        "--env",
        "local",
        "--from",
        &from.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(report.contains(" Secret "), "{report}");
    let hidden = report.matches("changed (secret value hidden)").count();
    assert!(hidden > 0, "{report}");
    let data_lines = report.lines().filter(|l| {
        let path = l.trim_start().get(2..).unwrap_or_default();
        path.starts_with("data.") || path.starts_with("stringData.")
    });
    let mut seen = 0;
    for line in data_lines {
        seen += 1;
        assert!(line.ends_with("(secret value hidden)"), "{line}");
    }
    assert!(seen > 0, "a rotated Secret shows its data keys: {report}");
    for value in before
        .lines()
        .filter_map(|l| l.trim().split_once(": ").map(|(_, v)| v))
        .filter(|v| v.len() >= 16 && v.ends_with('='))
    {
        assert!(!report.contains(value), "secret data leaked: {value}");
    }
}

#[test]
fn from_a_tree_and_from_stdin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tree = dir.path().join("out");
    let out = run(&[
        "render",
        "examples/imprun",
        "--env",
        "prod",
        "--output-dir",
        &tree.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let same = run(&[
        "diff",
        "examples/imprun",
        "--env",
        "prod",
        "--from",
        &tree.to_string_lossy(),
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    assert_eq!(stdout(&same), "");
    let json = run(&["render", "examples/imprun", "--env", "prod", "-o", "json"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let list = dir.path().join("prod.json");
    fs::write(&list, &json.stdout).expect("write");
    let same = run(&[
        "diff",
        "examples/imprun",
        "--env",
        "prod",
        "--from",
        &list.to_string_lossy(),
    ]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "a List counts as its items: {}",
        stderr(&same)
    );
    // stdin is empty under run_bounded: every object is new.
    let empty = run(&["diff", "examples/imprun", "--env", "prod", "--from", "-"]);
    assert_eq!(empty.status.code(), Some(1), "{}", stderr(&empty));
    let report = stdout(&empty);
    let added = report
        .lines()
        .filter(|l| l.starts_with("+ ") && l.ends_with(" (added)"))
        .count();
    assert!(added > 5, "{report}");
    assert!(
        report.ends_with(&format!("0 changed, {added} added, 0 removed\n")),
        "{report}"
    );
}

#[test]
fn two_environments_and_the_ignore_flags() {
    let same = run(&[
        "diff",
        "examples/imprun",
        "--env",
        "staging",
        "--env",
        "staging",
    ]);
    assert_eq!(same.status.code(), Some(0), "{}", stderr(&same));
    let plain = run(&[
        "diff",
        "examples/imprun",
        "--env",
        "staging",
        "--env",
        "prod",
    ]);
    assert_eq!(plain.status.code(), Some(1), "{}", stderr(&plain));
    let plain = stdout(&plain);
    assert!(
        plain.contains("- apps/v1 Deployment imprun-staging/imprun-imprun-server (removed)")
            && plain.contains("+ apps/v1 Deployment imprun-system/imprun-imprun-server (added)"),
        "different namespaces are different objects: {plain}"
    );
    let out = run(&[
        "diff",
        "examples/imprun",
        "--env",
        "staging",
        "--env",
        "prod",
        "--ignore-namespace",
        "--ignore-labels",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("~ apps/v1 Deployment imprun-imprun-server\n"),
        "{report}"
    );
    assert!(
        report.contains(
            "~ spec.template.spec.containers[name=imprun-server].image: \
             \"docker.io/junsik/imprun-server:staging\" → \"docker.io/junsik/imprun-server:v1.2.3\""
        ),
        "{report}"
    );
    assert!(!report.contains("metadata.namespace"), "{report}");
    assert!(!report.contains(".labels"), "{report}");
    assert!(!report.contains('\u{1b}'), "no colour into a pipe");
    let colored = run(&[
        "diff",
        "examples/imprun",
        "--env",
        "staging",
        "--env",
        "prod",
        "--color",
        "always",
    ]);
    assert!(stdout(&colored).contains("\u{1b}[31m- "), "--color always");
}

#[test]
fn errors_exit_2_naming_the_flag_or_file() {
    let err = expect_diff_error(&run(&["diff", "examples/imprun", "--env", "staging"]));
    assert!(
        err.contains("--env OLD --env NEW") && err.contains("--from"),
        "{err}"
    );
    let err = expect_diff_error(&run(&[
        "diff",
        "examples/imprun",
        "--env",
        "staging",
        "--env",
        "prod",
        "--from",
        "x.yaml",
    ]));
    assert!(err.contains("at most one --env with --from"), "{err}");
    let err = expect_diff_error(&run(&[
        "diff",
        "examples/imprun",
        "--env",
        "staging",
        "--env",
        "prod",
        "--timeout",
        "soon",
    ]));
    assert!(err.contains("--timeout") && err.contains("soon"), "{err}");
    let usage = run(&["diff", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2), "usage errors exit 2 too");
    let err = expect_diff_error(&run(&[
        "diff",
        "examples/imprun",
        "--env",
        "nowhere",
        "--env",
        "prod",
    ]));
    assert!(err.contains("\"nowhere\""), "{err}");
    let err = expect_diff_error(&run(&[
        "diff",
        "examples/imprun",
        "--env",
        "prod",
        "--from",
        "-",
        "-f",
        "-",
    ]));
    assert!(err.contains("--from - and -f -"), "{err}");

    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("fifo.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let (out, took) = run_bounded(
        wasmchart(&[
            "diff",
            "examples/imprun",
            "--env",
            "prod",
            "--from",
            &fifo.to_string_lossy(),
        ]),
        BOUND,
    );
    let err = expect_diff_error(&out);
    assert!(err.contains("fifo.yaml") && err.contains("FIFO"), "{err}");
    assert!(
        took < Duration::from_secs(30),
        "a FIFO must not block: {took:?}"
    );

    let tree = dir.path().join("tree");
    fs::create_dir_all(tree.join("t")).expect("tree");
    std::os::unix::fs::symlink("/etc/passwd", tree.join("t/x.yaml")).expect("symlink");
    let err = expect_diff_error(&run(&[
        "diff",
        "examples/imprun",
        "--env",
        "prod",
        "--from",
        &tree.to_string_lossy(),
    ]));
    assert!(err.contains("x.yaml") && err.contains("a symlink"), "{err}");

    let bad = dir.path().join("bad.yaml");
    fs::write(&bad, "- just\n- a list\n").expect("write");
    let err = expect_diff_error(&run(&[
        "diff",
        "examples/imprun",
        "--env",
        "prod",
        "--from",
        &bad.to_string_lossy(),
    ]));
    assert!(
        err.contains("bad.yaml") && err.contains("not a Kubernetes object"),
        "{err}"
    );
}
