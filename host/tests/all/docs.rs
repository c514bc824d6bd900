//! Every `wasmchart` command the documentation shows in a shell block runs
//! as written and succeeds, against a copy of the example (so `secrets
//! rotate` and `secrets export -o` touch nothing in the repository).
//!
//! Placeholders the docs use are replaced by the example's real paths, each
//! listed in [`PLACEHOLDERS`]; anything else unusual in a documented command
//! (quotes, substitutions) fails the test, so the list of what is checked
//! can only grow deliberately.

use super::support::{copy_tree, expect_success, repo_root, run_bounded, shared_dir};
use std::fs;
use std::process::Command;
use std::time::Duration;

/// The files whose shell blocks are checked.
const DOCS: &[&str] = &[
    "README.md",
    "SECURITY.md",
    "docs/argocd.md",
    "docs/policy.md",
    "docs/secrets.md",
    "docs/values.md",
    "examples/imprun/README.md",
    "plugins/README.md",
    // Last: its commands write a Chart.lock into the copy of the example.
    "docs/distribution.md",
];

/// Placeholder → what it stands for in the example.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("CHART", "examples/imprun"),
    (
        "/etc/wasmchart/policy.yaml",
        "examples/policies/multi-tenant-ci.yaml",
    ),
];

/// The example's test root key and OAuth credentials (not secrets).
const ENV: &[(&str, &str)] = &[
    (
        "WASMCHART_SECRET_KEY",
        "646f63732d636f6d6d616e64732d746573742d726f6f742d6b65792d31323334",
    ),
    ("GITHUB_CLIENT_ID", "test-github-client-id"),
    ("GITHUB_CLIENT_SECRET", "test-github-client-secret"),
    ("GOOGLE_CLIENT_ID", "test-google-client-id"),
    ("GOOGLE_CLIENT_SECRET", "test-google-client-secret"),
];

/// One documented command: where it is, its environment and arguments.
struct Documented {
    place: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

/// The `wasmchart` commands in fenced `sh`/`bash`/`console` blocks of `text`.
fn commands(file: &str, text: &str) -> Vec<Documented> {
    let mut out = Vec::new();
    let mut in_shell = false;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(lang) = trimmed.strip_prefix("```") {
            in_shell = !in_shell && matches!(lang, "sh" | "bash" | "console" | "shell");
            continue;
        }
        if !in_shell {
            continue;
        }
        if let Some(cmd) = parse(trimmed) {
            out.push(Documented {
                place: format!("{file}:{}: {trimmed}", i + 1),
                ..cmd
            });
        }
    }
    out
}

/// The command on one shell line, if it runs `wasmchart` (directly or as
/// `cargo run ... --`, after an `&&`), without its comment or pipe.
fn parse(line: &str) -> Option<Documented> {
    let line = line.split("  #").next()?.split(" | ").next()?;
    let line = line.rsplit("&& ").next()?.trim();
    let mut env = Vec::new();
    let mut words = line.split_whitespace().peekable();
    while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
        if !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            break;
        }
        env.push((name.to_string(), value.to_string()));
        words.next();
    }
    let words: Vec<&str> = words.collect();
    let args = match words.first() {
        Some(&"wasmchart") => &words[1..],
        Some(&"cargo") if words.get(1) == Some(&"run") => {
            let dashes = words.iter().position(|w| *w == "--")?;
            &words[dashes + 1..]
        }
        _ => return None,
    };
    assert!(
        !line.contains(['"', '\'', '$', '`']),
        "a documented command this test cannot run as written: {line}"
    );
    let args = args
        .iter()
        .map(|a| {
            PLACEHOLDERS
                .iter()
                .find(|(p, _)| p == a)
                .map_or(a.to_string(), |(_, real)| real.to_string())
        })
        .collect();
    let env = env
        .into_iter()
        .map(|(k, v)| {
            let v = PLACEHOLDERS
                .iter()
                .find(|(p, _)| *p == v)
                .map_or(v.clone(), |(_, real)| real.to_string());
            (k, v)
        })
        .collect();
    Some(Documented {
        place: String::new(),
        env,
        args,
    })
}

#[test]
fn every_documented_command_runs_as_written() {
    let root = repo_root();
    let documented: Vec<Documented> = DOCS
        .iter()
        .flat_map(|f| {
            let text = fs::read_to_string(root.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            commands(f, &text)
        })
        .collect();
    assert!(
        documented.len() >= 10,
        "found only {} documented commands; did the docs or this parser change?",
        documented.len()
    );
    let work = tempfile::tempdir().expect("temp dir");
    copy_tree(
        &root.join("examples/imprun"),
        &work.path().join("examples/imprun"),
    );
    copy_tree(
        &root.join("examples/policies"),
        &work.path().join("examples/policies"),
    );
    let home = tempfile::tempdir().expect("temp HOME");
    for cmd in &documented {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
        command
            .args(&cmd.args)
            .current_dir(work.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
            .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"))
            .envs(ENV.iter().copied())
            .envs(cmd.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (out, _) = run_bounded(command, Duration::from_secs(300));
        assert!(
            out.status.success(),
            "{}\nfailed: {}",
            cmd.place,
            String::from_utf8_lossy(&out.stderr)
        );
        expect_success(&out);
    }
}

#[test]
fn the_parser_finds_commands_and_leaves_others() {
    let text = "```sh\nscripts/setup.sh && cargo run -q -p wasmchart -- render CHART --env prod\nWASMCHART_POLICY=/etc/wasmchart/policy.yaml wasmchart render CHART  # same\nwasmchart values x | jq .\ncargo test -p wasmchart\n```\n```text\nwasmchart render [CHART]\n```\n";
    type Found = (Vec<(String, String)>, Vec<String>);
    let found: Vec<Found> = commands("t.md", text)
        .into_iter()
        .map(|c| (c.env, c.args))
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        found,
        vec![
            (vec![], s(&["render", "examples/imprun", "--env", "prod"])),
            (
                vec![(
                    "WASMCHART_POLICY".to_string(),
                    "examples/policies/multi-tenant-ci.yaml".to_string()
                )],
                s(&["render", "examples/imprun"])
            ),
            (vec![], s(&["values", "x"])),
        ]
    );
}
