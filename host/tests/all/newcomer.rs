//! What tripped an outside team following the docs (`wasmchart new` laying the component's
//! project out inside the vendored subchart, `file://./charts/NAME`): the lock of an unpacked
//! subchart pins what a package of it holds (`.helmignore` applied), so build trees beside
//! the chart neither break the lock nor get hashed, while what a render reads stays pinned
//! whatever `.helmignore` says; and `dependency update` refuses a vendored subchart whose
//! version does not satisfy Chart.yaml's constraint, as Helm refuses it.

use std::fs;
use std::path::{Path, PathBuf};

use super::dependency::wasmchart;
use super::support::{expect_error, expect_success, repo_root};

/// An umbrella in `dir` vendoring the example's redis subchart as `file://./charts/redis`
/// with the constraint `version`, plus a component project beside it, left out by
/// `.helmignore` as the scaffold of `wasmchart new` leaves it out.
fn vendored(dir: &Path, version: &str) -> PathBuf {
    let sub = dir.join("charts/redis");
    fs::create_dir_all(sub.join("component/target/release")).unwrap();
    for name in ["Chart.yaml", "values.yaml", "redis.wasm"] {
        fs::copy(
            repo_root().join("examples/imprun/charts/redis").join(name),
            sub.join(name),
        )
        .unwrap();
    }
    fs::write(sub.join(".helmignore"), "component/\nvalues.yaml\n").unwrap();
    fs::write(sub.join("component/src.rs"), "fn main() {}\n").unwrap();
    fs::write(sub.join("component/target/release/build.o"), "one").unwrap();
    fs::write(
        dir.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: u\nversion: 1.0.0\ndependencies:\n  - name: redis\n    \
             version: \"{version}\"\n    repository: file://./charts/redis\n"
        ),
    )
    .unwrap();
    fs::write(
        dir.join("values.yaml"),
        "secrets:\n  items:\n    redis:\n      name: u-redis-secret\n      keys:\n        \
         REDIS_PASSWORD: {generate: {length: 24, encoding: alphanumeric}}\n",
    )
    .unwrap();
    sub
}

/// A rebuild beside the chart (new build outputs, edited sources) keeps the lock valid; a
/// changed values file, though `.helmignore` names it, is refused because render reads it.
#[test]
fn lock_of_a_vendored_subchart_ignores_its_build_tree_but_not_what_render_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let sub = vendored(tmp.path(), "0.1.0");
    expect_success(&wasmchart(tmp.path(), &["dependency", "update"]));
    let lock = fs::read_to_string(tmp.path().join("Chart.lock")).unwrap();
    let pinned = expect_success(&wasmchart(tmp.path(), &["render", "--verify-lock"]));

    fs::write(sub.join("component/target/release/build.o"), "two").unwrap();
    fs::write(sub.join("component/target/release/new.d"), "dep").unwrap();
    fs::write(sub.join("component/src.rs"), "fn main() { }\n").unwrap();
    let again = expect_success(&wasmchart(tmp.path(), &["render", "--verify-lock"]));
    assert_eq!(again, pinned);
    expect_success(&wasmchart(tmp.path(), &["dependency", "update"]));
    assert_eq!(
        fs::read_to_string(tmp.path().join("Chart.lock")).unwrap(),
        lock,
        "an unchanged chart keeps its lock byte for byte"
    );

    let values = fs::read_to_string(sub.join("values.yaml")).unwrap();
    fs::write(sub.join("values.yaml"), format!("{values}\n# edited\n")).unwrap();
    let err = expect_error(&wasmchart(tmp.path(), &["render", "--verify-lock"]));
    assert!(
        err.contains("dependency 'redis': directory charts/redis: expected sha256:"),
        "{err}"
    );
}

/// Chart.yaml asks for 0.2.0 while charts/redis holds 0.1.0: `update` names the place, both
/// versions and the constraint, and writes no lock.
#[test]
fn update_refuses_a_vendored_subchart_outside_the_constraint() {
    let tmp = tempfile::tempdir().unwrap();
    vendored(tmp.path(), "0.2.0");
    let err = expect_error(&wasmchart(tmp.path(), &["dependency", "update"]));
    assert!(
        err.contains("dependency 'redis'")
            && err.contains(
                "charts/redis holds version 0.1.0, which does not satisfy the constraint \"0.2.0\""
            ),
        "{err}"
    );
    assert!(!tmp.path().join("Chart.lock").exists());
}

/// The help of the commands that take an optional chart states its default once, in clap's
/// own `[default: .]`.
#[test]
fn dependency_help_states_the_chart_default_once() {
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["update", "build", "list"] {
        let help = expect_success(&wasmchart(tmp.path(), &["dependency", sub, "--help"]));
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with("[CHART]"))
            .unwrap_or_else(|| panic!("no [CHART] line in:\n{help}"));
        assert_eq!(line.matches("default").count(), 1, "{line}");
        assert!(line.ends_with("[default: .]"), "{line}");
    }
}

/// Every scaffold keeps its build outputs out of git: a team committing the umbrella (for
/// Argo CD, say) must not commit Cargo's `target/` or npm's `node_modules/`.
#[test]
fn scaffolds_gitignore_their_build_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    for (lang, ignored) in [
        ("rust", &["target/"][..]),
        ("js", &["node_modules/", "dist/"][..]),
        ("python", &["__pycache__/", "dist/"][..]),
    ] {
        let dir = format!("c-{lang}");
        expect_success(&wasmchart(
            tmp.path(),
            &["new", "c", "--lang", lang, "--dir", &dir],
        ));
        let gitignore = tmp.path().join(&dir).join("component/.gitignore");
        let text = fs::read_to_string(&gitignore)
            .unwrap_or_else(|e| panic!("{}: {e}", gitignore.display()));
        for entry in ignored {
            assert!(
                text.lines().any(|l| l == *entry),
                "{lang}: {entry} in {text}"
            );
        }
    }
}
