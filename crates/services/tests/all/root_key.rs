//! Root key lookup: flag, environment, automatically created local key.

use std::collections::HashMap;

use wasmchart_services::{LOCAL_KEY_FILE, RootKeyOptions, load_root_key};

use crate::common::*;

fn getter(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn file_wins_over_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, format!("{}\n", "22".repeat(32))).unwrap();
    set_mode(&file, 0o600);
    let opts = RootKeyOptions {
        key_file: Some(file),
        ..Default::default()
    };
    let env = getter(&[("WASMCHART_SECRET_KEY", ROOT_HEX.into())]);
    let from_file = load_root_key(&opts, &env).unwrap().unwrap();
    let from_env = load_root_key(&RootKeyOptions::default(), &env)
        .unwrap()
        .unwrap();
    // Different keys give different derived values.
    let at = wasmchart_services::ValueAddress {
        chart: "c",
        env: "e",
        id: "i",
        key: "k",
        generation: 0,
    };
    let spec = wasmchart_services::GenerateSpec {
        length: 8,
        encoding: wasmchart_services::Encoding::Hex,
    };
    assert_ne!(
        wasmchart_services::generate(&from_file, at, spec),
        wasmchart_services::generate(&from_env, at, spec)
    );
    assert_eq!(
        wasmchart_services::generate(&from_env, at, spec),
        wasmchart_services::generate(&root(), at, spec)
    );
}

#[test]
fn nothing_configured_is_none_outside_local() {
    let opts = RootKeyOptions::default();
    assert!(load_root_key(&opts, &|_| None).unwrap().is_none());
    let short = getter(&[("WASMCHART_SECRET_KEY", "abcd".into())]);
    let err = load_root_key(&opts, &short).unwrap_err().to_string();
    assert_eq!(
        err,
        "root key from WASMCHART_SECRET_KEY: the key has 2 bytes, at least 32 are needed"
    );
}

#[test]
fn local_key_is_created_once_private_and_outside_the_chart() {
    let chart = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("cfg");
    let env = getter(&[("WASMCHART_CONFIG_DIR", config.display().to_string())]);
    let opts = RootKeyOptions {
        key_file: None,
        create_local: true,
        chart_dir: chart.path().into(),
    };
    let a = load_root_key(&opts, &env).unwrap().unwrap();
    let b = load_root_key(&opts, &env).unwrap().unwrap();
    let at = wasmchart_services::ValueAddress {
        chart: "c",
        env: "local",
        id: "i",
        key: "k",
        generation: 0,
    };
    let spec = wasmchart_services::GenerateSpec {
        length: 8,
        encoding: wasmchart_services::Encoding::Hex,
    };
    assert_eq!(
        wasmchart_services::generate(&a, at, spec),
        wasmchart_services::generate(&b, at, spec)
    );
    let file = config.join(LOCAL_KEY_FILE);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        std::fs::read_dir(&config).unwrap().count(),
        1,
        "no temporary file left behind"
    );
    // XDG fallback.
    let xdg = getter(&[(
        "XDG_CONFIG_HOME",
        home.path().join("xdg").display().to_string(),
    )]);
    load_root_key(&opts, &xdg).unwrap().unwrap();
    assert!(
        home.path()
            .join("xdg/wasmchart")
            .join(LOCAL_KEY_FILE)
            .exists()
    );
    // Never inside the chart.
    let inside = getter(&[(
        "WASMCHART_CONFIG_DIR",
        chart.path().join(".wasmchart").display().to_string(),
    )]);
    let err = load_root_key(&opts, &inside).unwrap_err().to_string();
    assert!(err.contains("inside the chart directory"), "{err}");
    assert!(!chart.path().join(".wasmchart").exists());
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Like ssh with a private key: a root key file group or others can access is refused, with
/// the fix, and without reading (or echoing) the key.
#[test]
fn key_file_others_can_read_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, format!("{}\n", "22".repeat(32))).unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        set_mode(&file, mode);
        let opts = RootKeyOptions {
            key_file: Some(file.clone()),
            ..Default::default()
        };
        let err = load_root_key(&opts, &|_| None).unwrap_err().to_string();
        assert!(
            err.contains(&file.display().to_string())
                && err.contains(&format!("mode {mode:04o}"))
                && err.contains(&format!("chmod 600 {}", file.display()))
                && !err.contains("2222"),
            "{err}"
        );
    }
    for mode in [0o600, 0o400] {
        set_mode(&file, mode);
        let opts = RootKeyOptions {
            key_file: Some(file.clone()),
            ..Default::default()
        };
        assert!(
            load_root_key(&opts, &|_| None).unwrap().is_some(),
            "{mode:o}"
        );
    }
}
