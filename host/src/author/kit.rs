//! The authoring kits `wasmchart new` writes, embedded in the binary so that
//! `new` works from any directory with only the binary installed, and so that
//! a project is pinned to the contract of the wasmchart that made it.
//!
//! Each table is a list of `(path relative to the new chart directory, text)`.
//! Every text is a template: the tokens `{{name}}` (the chart name),
//! `{{name_snake}}` (the name with `-` as `_`, for module and crate names),
//! `{{lang}}` and `{{wasmchart_version}}` are replaced; nothing else is
//! touched (`{{` alone stays), so sources can be vendored verbatim.
//!
//! Every scaffold follows the same convention, which the shared chart files
//! below document: the component renders one ConfigMap named like Helm's
//! `fullname` (`<release>-<name>`) with `data.message` from the `message`
//! value, and its unit test checks that.

use super::Lang;

/// One file of a kit: where it goes (relative to the chart directory) and
/// its template text.
pub type KitFile = (&'static str, &'static str);

/// What one language contributes: its files and the `build:` section of the
/// chart's Chart.yaml (`workdir`, `command`, `output`, relative to the chart
/// directory, templates like the files).
#[derive(Debug)]
pub struct Kit {
    /// The files of the component project (and anything vendored into it).
    pub files: &'static [KitFile],
    /// `build.workdir`: where the command runs.
    pub workdir: &'static str,
    /// `build.command`, run with `sh -c`.
    pub command: &'static str,
    /// `build.output`: the component the command produces.
    pub output: &'static str,
    /// The command that runs the project's unit tests, printed by `new`.
    pub test: &'static str,
}

/// The files every language shares: the chart itself. `{{build}}` in
/// Chart.yaml becomes the kit's `build:` section.
pub const CHART: &[KitFile] = &[
    ("Chart.yaml", include_str!("templates/chart/Chart.yaml")),
    ("values.yaml", include_str!("templates/chart/values.yaml")),
    (
        "values.schema.json",
        include_str!("templates/chart/values.schema.json"),
    ),
    (".helmignore", include_str!("templates/chart/.helmignore")),
];

/// Rust: a cdylib crate with its own workspace and size-first profile, and
/// the SDK vendored beside it with its copy of the WIT (and the plugins
/// workspace's Cargo.lock, so the dependency versions are the tested ones).
const RUST_FILES: &[KitFile] = &[
    (
        "component/Cargo.toml",
        include_str!("templates/rust/Cargo.toml"),
    ),
    (
        "component/src/lib.rs",
        include_str!("templates/rust/src/lib.rs"),
    ),
    (
        "component/README.md",
        include_str!("templates/rust/README.md"),
    ),
    (
        "component/.gitignore",
        include_str!("templates/rust/gitignore"),
    ),
    (
        "component/Cargo.lock",
        include_str!("../../../plugins/Cargo.lock"),
    ),
    (
        "component/wasmchart-sdk/Cargo.toml",
        include_str!("../../../plugins/sdk/Cargo.toml"),
    ),
    (
        "component/wasmchart-sdk/wit/chart.wit",
        include_str!("../../../plugins/sdk/wit/chart.wit"),
    ),
    (
        "component/wasmchart-sdk/src/lib.rs",
        include_str!("../../../plugins/sdk/src/lib.rs"),
    ),
    (
        "component/wasmchart-sdk/src/image.rs",
        include_str!("../../../plugins/sdk/src/image.rs"),
    ),
    (
        "component/wasmchart-sdk/src/labels.rs",
        include_str!("../../../plugins/sdk/src/labels.rs"),
    ),
    (
        "component/wasmchart-sdk/src/log.rs",
        include_str!("../../../plugins/sdk/src/log.rs"),
    ),
    (
        "component/wasmchart-sdk/src/manifest.rs",
        include_str!("../../../plugins/sdk/src/manifest.rs"),
    ),
    (
        "component/wasmchart-sdk/src/pod.rs",
        include_str!("../../../plugins/sdk/src/pod.rs"),
    ),
    (
        "component/wasmchart-sdk/src/refs.rs",
        include_str!("../../../plugins/sdk/src/refs.rs"),
    ),
    (
        "component/wasmchart-sdk/src/service.rs",
        include_str!("../../../plugins/sdk/src/service.rs"),
    ),
    (
        "component/wasmchart-sdk/src/testing.rs",
        include_str!("../../../plugins/sdk/src/testing.rs"),
    ),
    (
        "component/wasmchart-sdk/src/values.rs",
        include_str!("../../../plugins/sdk/src/values.rs"),
    ),
];

const RUST: Kit = Kit {
    files: RUST_FILES,
    workdir: "component",
    command: "cargo build --release --target wasm32-wasip2",
    output: "component/target/wasm32-wasip2/release/{{name_snake}}.wasm",
    test: "cargo test",
};

/// JavaScript: an npm project whose `build` script runs wasmchart-build-js,
/// with the wasmchart-component helper vendored beside it (a `file:`
/// dependency) with its copy of the WIT; `npm install` fetches the pinned
/// componentize-js (from npm's cache when it has it).
const JS_FILES: &[KitFile] = &[
    (
        "component/package.json",
        include_str!("templates/js/package.json"),
    ),
    (
        "component/src/component.js",
        include_str!("templates/js/src/component.js"),
    ),
    (
        "component/src/names.js",
        include_str!("templates/js/src/names.js"),
    ),
    (
        "component/test/component.test.js",
        include_str!("templates/js/test/component.test.js"),
    ),
    (
        "component/.gitignore",
        include_str!("templates/js/gitignore"),
    ),
    (
        "component/README.md",
        include_str!("templates/js/README.md"),
    ),
    (
        "component/wasmchart-component/package.json",
        include_str!("../../../plugins/js/wasmchart-component/package.json"),
    ),
    (
        "component/wasmchart-component/README.md",
        include_str!("../../../plugins/js/wasmchart-component/README.md"),
    ),
    (
        "component/wasmchart-component/src/index.js",
        include_str!("../../../plugins/js/wasmchart-component/src/index.js"),
    ),
    (
        "component/wasmchart-component/src/stage.js",
        include_str!("../../../plugins/js/wasmchart-component/src/stage.js"),
    ),
    (
        "component/wasmchart-component/src/build.js",
        include_str!("../../../plugins/js/wasmchart-component/src/build.js"),
    ),
    (
        "component/wasmchart-component/bin/wasmchart-build-js.mjs",
        include_str!("../../../plugins/js/wasmchart-component/bin/wasmchart-build-js.mjs"),
    ),
    (
        "component/wasmchart-component/wit/chart.wit",
        include_str!("../../../plugins/js/wasmchart-component/wit/chart.wit"),
    ),
];

const JS: Kit = Kit {
    files: JS_FILES,
    workdir: "component",
    command: "npm install --prefer-offline --no-audit --no-fund && npm run build",
    output: "component/dist/{{name}}.wasm",
    test: "npm install && npm test",
};

/// Python: an app module defining `WitWorld` with the wasmchart_component
/// helper vendored beside it (importable from the project folder, so tests
/// and the build need no install), built by the helper's build module with
/// the pinned componentize-py (requirements.txt).
const PYTHON_FILES: &[KitFile] = &[
    ("component/app.py", include_str!("templates/python/app.py")),
    (
        "component/tests/__init__.py",
        include_str!("templates/python/tests/__init__.py"),
    ),
    (
        "component/tests/test_app.py",
        include_str!("templates/python/tests/test_app.py"),
    ),
    (
        "component/requirements.txt",
        include_str!("templates/python/requirements.txt"),
    ),
    (
        "component/.gitignore",
        include_str!("templates/python/gitignore"),
    ),
    (
        "component/README.md",
        include_str!("templates/python/README.md"),
    ),
    (
        "component/wasmchart_component/__init__.py",
        include_str!("../../../plugins/python/wasmchart-component/wasmchart_component/__init__.py"),
    ),
    (
        "component/wasmchart_component/core.py",
        include_str!("../../../plugins/python/wasmchart-component/wasmchart_component/core.py"),
    ),
    (
        "component/wasmchart_component/build.py",
        include_str!("../../../plugins/python/wasmchart-component/wasmchart_component/build.py"),
    ),
    (
        "component/wasmchart_component/wit/chart.wit",
        include_str!(
            "../../../plugins/python/wasmchart-component/wasmchart_component/wit/chart.wit"
        ),
    ),
];

const PYTHON: Kit = Kit {
    files: PYTHON_FILES,
    workdir: "component",
    command: "python3 -m wasmchart_component.build app.py -o dist/{{name}}.wasm",
    output: "component/dist/{{name}}.wasm",
    test: "python3 -m unittest",
};

/// The kit for `lang`.
pub fn kit(lang: Lang) -> &'static Kit {
    match lang {
        Lang::Rust => &RUST,
        Lang::Js => &JS,
        Lang::Python => &PYTHON,
    }
}

/// `text` with the kit's tokens replaced.
pub fn fill(text: &str, vars: &[(&str, &str)]) -> String {
    vars.iter().fold(text.to_string(), |t, (token, value)| {
        t.replace(token, value)
    })
}
