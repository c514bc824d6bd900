//! Builds every guest in `plugins/` (its own Cargo workspace) for
//! `wasm32-wasip2` and writes `gen.rs`: one path constant per guest, a
//! `path(name)` lookup and the `foreach_component!` / `foreach_fixture!`
//! macros. Modelled on wasmtime's `crates/test-programs/artifacts/build.rs`.
//!
//! - The guests build into `<repo>/target/guests`, shared with any other
//!   build of `plugins/`, and separate from the host's own target directory
//!   so the nested cargo never waits on the outer one's lock.
//! - Host rustflags never leak into the wasm build; `-D warnings` is passed on
//!   only when the outer build had it.
//! - `WASMCHART_GUESTS_DIR=<dir>` uses prebuilt `<name>.wasm` files instead.
//! - When the `wasm32-wasip2` target is missing, the build still succeeds:
//!   each constant then holds the diagnostic, so only guest tests fail.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// One guest crate of the plugins workspace.
struct Guest {
    /// Package name, e.g. `wrong-contract`.
    name: String,
    /// `components` or `fixtures`.
    suite: String,
}

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let repo = manifest_dir
        .parent()
        .expect("test-components lives in the repository")
        .to_path_buf();
    let plugins = repo.join("plugins");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=WASMCHART_GUESTS_DIR");
    println!("cargo:rerun-if-changed={}", repo.join("wit").display());
    println!(
        "cargo:rerun-if-changed={}",
        plugins.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        plugins.join("Cargo.lock").display()
    );
    for suite in ["components", "fixtures"] {
        println!("cargo:rerun-if-changed={}", plugins.join(suite).display());
    }

    let guests = list_guests(&plugins);
    let artifacts = match env::var_os("WASMCHART_GUESTS_DIR") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => build_guests(&repo, &plugins),
    };
    let code = match artifacts {
        Ok(dir) => generate(&guests, |g| Ok(dir.join(wasm_file(&g.name)))),
        Err(diagnostic) => {
            println!("cargo:warning={}", diagnostic.replace('\n', " "));
            generate(&guests, |_| Err(diagnostic.clone()))
        }
    };
    fs::write(out_dir.join("gen.rs"), code).expect("write gen.rs");
}

/// The guests, from the directories under `plugins/components` and
/// `plugins/fixtures`, sorted by name.
fn list_guests(plugins: &Path) -> Vec<Guest> {
    let mut guests = Vec::new();
    for suite in ["components", "fixtures"] {
        let Ok(entries) = fs::read_dir(plugins.join(suite)) else {
            continue;
        };
        for entry in entries.flatten() {
            let manifest = entry.path().join("Cargo.toml");
            println!("cargo:rerun-if-changed={}", manifest.display());
            if let Some(name) = package_name(&manifest) {
                guests.push(Guest {
                    name,
                    suite: suite.to_string(),
                });
            }
        }
    }
    guests.sort_by(|a, b| a.name.cmp(&b.name));
    guests
}

/// The `name` of a Cargo.toml's `[package]` table.
fn package_name(manifest: &Path) -> Option<String> {
    let text = fs::read_to_string(manifest).ok()?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(rest) = line.strip_prefix("name") {
            let value = rest.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_string());
        }
    }
    None
}

fn wasm_file(name: &str) -> String {
    format!("{}.wasm", name.replace('-', "_"))
}

/// Runs the nested cargo build; returns the directory holding the `.wasm`
/// files, or a diagnostic when the wasm target is not installed.
fn build_guests(repo: &Path, plugins: &Path) -> Result<PathBuf, String> {
    check_target()?;
    let target_dir = repo.join("target").join("guests");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(plugins.join("Cargo.toml"))
        .args(["--workspace", "--release", "--target", TARGET])
        .env("CARGO_TARGET_DIR", &target_dir);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    if outer_denies_warnings() {
        cmd.env("RUSTFLAGS", "-Dwarnings");
    }
    let status = cmd
        .status()
        .expect("run cargo to build the guests in plugins/");
    assert!(
        status.success(),
        "building the guests in plugins/ failed (see above)"
    );
    let dir = target_dir.join(TARGET).join("release");
    read_deps(&dir);
    Ok(dir)
}

/// Fails with a rustc-style diagnostic when `wasm32-wasip2` is missing.
fn check_target() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Ok(sysroot) = Command::new(&rustc).args(["--print", "sysroot"]).output() {
        let root = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
        // Installing the target changes this directory: build again then.
        println!(
            "cargo:rerun-if-changed={}",
            root.join("lib").join("rustlib").display()
        );
    }
    match libdir {
        Some(dir) if dir.exists() => Ok(()),
        _ => Err(format!(
            "error: the `{TARGET}` target is not installed, so the guest components were not built\n\
             help: run `rustup target add {TARGET}`, or set WASMCHART_GUESTS_DIR to a directory of prebuilt .wasm files"
        )),
    }
}

fn outer_denies_warnings() -> bool {
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let flags: Vec<&str> = flags.split('\x1f').collect();
    flags.contains(&"-Dwarnings") || flags.windows(2).any(|w| w == ["-D", "warnings"])
}

/// Prints a `rerun-if-changed` line for every source file listed in the
/// guests' dep-info (`.d`) files, so editing a guest rebuilds it.
fn read_deps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "d") {
            for dep in deps_of(&path) {
                println!("cargo:rerun-if-changed={dep}");
            }
        }
    }
}

/// The dependencies in a Makefile-style dep-info file (`out: dep dep ...`,
/// spaces in paths escaped as `\ `).
fn deps_of(dep_info: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(dep_info) else {
        return Vec::new();
    };
    let Some(line) = text.lines().next() else {
        return Vec::new();
    };
    let Some((_, deps)) = line.split_once(": ") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                current.push(' ');
                chars.next();
            }
            ' ' => out.extend((!current.is_empty()).then(|| std::mem::take(&mut current))),
            c => current.push(c),
        }
    }
    out.extend((!current.is_empty()).then_some(current));
    out.retain(|d| !d.contains("/target/") && !d.contains(".cargo/registry"));
    out
}

/// Writes the Rust source of `gen.rs`.
fn generate(guests: &[Guest], path_of: impl Fn(&Guest) -> Result<PathBuf, String>) -> String {
    let mut code = String::new();
    let mut error = None;
    for guest in guests {
        let konst = guest.name.to_uppercase().replace('-', "_");
        let value = match path_of(guest) {
            Ok(path) => path.display().to_string(),
            Err(diagnostic) => {
                error = Some(diagnostic.clone());
                diagnostic
            }
        };
        let _ = writeln!(
            code,
            "/// Path of the `{}` guest's `.wasm` ({}).",
            guest.name, guest.suite
        );
        let _ = writeln!(code, "pub const {konst}: &str = {value:?};");
    }
    let _ = writeln!(code, "/// Why the guests were not built, if they were not.");
    let _ = writeln!(code, "pub const BUILD_ERROR: Option<&str> = {error:?};");
    for suite in ["components", "fixtures"] {
        let names: Vec<&Guest> = guests.iter().filter(|g| g.suite == suite).collect();
        let _ = writeln!(
            code,
            "/// `(name, path)` of every guest under `plugins/{suite}`."
        );
        let _ = write!(
            code,
            "pub const {}: &[(&str, &str)] = &[",
            suite.to_uppercase()
        );
        for g in &names {
            let _ = write!(
                code,
                "({:?}, {}), ",
                g.name,
                g.name.to_uppercase().replace('-', "_")
            );
        }
        let _ = writeln!(code, "];");
        let singular = suite.trim_end_matches('s');
        let _ = writeln!(
            code,
            "/// Calls `$mac!(name)` for every guest under `plugins/{suite}` (names with `_`)."
        );
        let _ = writeln!(
            code,
            "#[macro_export]\nmacro_rules! foreach_{singular} {{ ($mac:ident) => {{"
        );
        for g in &names {
            let _ = writeln!(code, "    $mac!({});", g.name.replace('-', "_"));
        }
        let _ = writeln!(code, "}}; }}");
    }
    code
}
