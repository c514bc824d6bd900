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

/// The child mode's marker: the parent sets it to its own process id, so a
/// variable left in the environment cannot turn the parent into a child
/// that checks nothing.
const CHILD_VAR: &str = "WASMCHART_SERVICES_CHILD";

/// The output as bytes, exactly as serialised, with no normalisation that
/// could hide a difference in order or formatting.
fn output_bytes(strategy: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let r = render(&plan(&values(strategy), &ctx(dir.path()), &env_var).unwrap());
    let mut bytes = serde_json::to_vec(&r.objects).unwrap();
    bytes.extend(serde_json::to_vec(&r.refs).unwrap());
    bytes
}

/// Runs this test binary again as a child (a fresh process, fresh allocator and hasher
/// state) and compares the bytes it prints, for every strategy.
#[test]
fn identical_across_processes() {
    if let Some(marker) = std::env::var_os(CHILD_VAR) {
        assert_eq!(
            marker.to_str(),
            Some(std::os::unix::process::parent_id().to_string().as_str()),
            "{CHILD_VAR} is set in the test environment; unset it (it is for this test's own child)"
        );
        for s in ["secret", "sealed", "external"] {
            println!("BYTES {s} {}", hex(&output_bytes(s)));
        }
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
        .env(CHILD_VAR, std::process::id().to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for s in ["secret", "sealed", "external"] {
        let prefix = format!("BYTES {s} ");
        let child = stdout
            .lines()
            // The harness may print "test NAME ... " on the same line first.
            .find_map(|l| l.split_once(&prefix).map(|(_, bytes)| bytes))
            .unwrap_or_else(|| panic!("the child printed no {s} output: {stdout}"));
        assert!(
            child == hex(&output_bytes(s)),
            "{s}: output differs between processes"
        );
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn identical_bytes_twice_in_one_process() {
    for s in ["secret", "sealed", "external"] {
        assert!(output_bytes(s) == output_bytes(s), "{s}");
    }
}
