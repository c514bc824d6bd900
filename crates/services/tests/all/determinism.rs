//! Same inputs, same bytes: in one process, across processes, and against a committed hash
//! (so a change of derivation, sealing or object layout is noticed, on any machine).

use sha2::{Digest as _, Sha256};
use wasmchart_services::{Encoding, GenerateSpec, ValueAddress, generate, plan};

use crate::common::*;

fn output(strategy: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    render(&plan(&values(strategy), &ctx(dir.path()), &env_var).unwrap()).text()
}

fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Hashes of the full output for each strategy with the fixed test key and certificate.
/// If a deliberate change alters the output, update `tests/data/expected-output.sha256` from
/// the failure message (and say why in the commit: every user's secrets change with it).
#[test]
fn output_matches_the_committed_hashes() {
    let expected = read("expected-output.sha256");
    let actual: String = ["secret", "sealed", "external"]
        .iter()
        .map(|s| format!("{}  {s}\n", digest(&output(s))))
        .collect();
    assert_eq!(actual, expected, "actual hashes:\n{actual}");
}

/// A known-answer value: the derivation itself, pinned.
#[test]
fn derivation_known_answer() {
    let at = ValueAddress {
        chart: "imprun",
        env: "production",
        id: "jwt",
        key: "JWT_SECRET",
        generation: 0,
    };
    let v = generate(
        &root(),
        at,
        GenerateSpec {
            length: 12,
            encoding: Encoding::Alphanumeric,
        },
    );
    let expected = read("expected-derivation.txt");
    assert_eq!(
        String::from_utf8(v.expose().to_vec()).unwrap(),
        expected.trim()
    );
}

#[test]
fn identical_twice_in_one_process() {
    for s in ["secret", "sealed", "external"] {
        assert_eq!(output(s), output(s), "{s}");
    }
}

/// Runs this test binary again as a child (a fresh process, fresh allocator and hasher
/// state) and compares the hash it prints.
#[test]
fn identical_across_processes() {
    if std::env::var_os("WASMCHART_SERVICES_CHILD").is_some() {
        println!("HASH={}", digest(&output("sealed")));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "determinism::identical_across_processes",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WASMCHART_SERVICES_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let child = stdout
        .split_once("HASH=")
        .map(|(_, rest)| &rest[..64])
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(child, digest(&output("sealed")));
}
