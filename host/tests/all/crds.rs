//! `crds/`, Go templates and the umbrella's own component, through the real binary:
//! `--include-crds` prints the CRDs of the umbrella and its enabled subcharts first, in the
//! order and under the sources Helm's own loader gives (a fixture computed by the Helm SDK),
//! checked and policed like any object, and not read at all without the flag; a
//! chart with templates and no component is refused, every such chart in one error; the
//! umbrella's component renders with the umbrella's values, secret references, files, limits.

use serde_json::{Value, json};
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest any run may take (a first compile of the probe included).
const BOUND: Duration = Duration::from_secs(120);
/// A fixed test root key for generated secrets (not a secret).
const ROOT_KEY: &str = "6372642d746573742d726f6f742d6b65792d6e6f742d612d7265616c2d6b6579";

/// A throwaway chart tree; the umbrella's Chart.yaml names it `u`.
struct TestChart {
    dir: tempfile::TempDir,
}

impl TestChart {
    /// Writes each `(path, content)` below a fresh directory.
    fn new(files: &[(&str, &str)]) -> TestChart {
        let chart = TestChart {
            dir: tempfile::tempdir().expect("temporary chart directory"),
        };
        for (path, content) in files {
            chart.write(path, content);
        }
        chart
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, path: &str, content: &str) {
        let path = self.path().join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create directories");
        fs::write(&path, content).expect("write a chart file");
    }

    /// Copies the probe guest to `<dir>/probe.wasm` (a `component:` must be inside the chart).
    fn probe(&self, dir: &str) {
        let to = self.path().join(dir).join("probe.wasm");
        fs::create_dir_all(to.parent().expect("a parent")).expect("create directories");
        fs::copy(test_components::wasm("probe"), to).expect("copy the probe");
    }

    fn run(&self, command: &str, args: &[&str]) -> (Output, Duration) {
        let mut all = vec![command, self.path().to_str().expect("UTF-8 temp path")];
        all.extend_from_slice(args);
        wasmchart(&all)
    }

    fn render(&self, args: &[&str]) -> (Output, Duration) {
        self.run("render", args)
    }
}

/// `wasmchart ARGS` in a clean environment (PATH, a private HOME, a compile cache shared by
/// this module's tests, the test root key), bounded by [`BOUND`]. Returns the output and the
/// time it took.
fn wasmchart(args: &[&str]) -> (Output, Duration) {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let home = tmp.join("crds-home");
    fs::create_dir_all(&home).expect("create test HOME");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("WASMCHART_CACHE_DIR", tmp.join("crds-cache"))
        .env("WASMCHART_SECRET_KEY", ROOT_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd.spawn().expect("run wasmchart");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(BOUND) {
        Ok(out) => (out.expect("wasmchart's output"), started.elapsed()),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("wasmchart {args:?} did not finish within {BOUND:?}")
        }
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "wasmchart failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

/// The documented failure: exit status 1, nothing on stdout, one `error:` paragraph, no panic.
fn failed(out: &Output) -> String {
    let err = String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr");
    assert_eq!(out.status.code(), Some(1), "exit status 1 on error:\n{err}");
    assert!(out.stdout.is_empty(), "no output on error:\n{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// `(source, object)` for every document of a `render` stream.
fn documents(stream: &str) -> Vec<(String, Value)> {
    stream
        .split("---\n# Source: ")
        .filter(|d| !d.is_empty())
        .map(|d| {
            let (source, body) = d.split_once('\n').expect("a source line");
            let mut docs =
                wasmchart_values::yaml::parse_documents(body, source).expect("YAML output");
            assert_eq!(docs.len(), 1, "one object per document: {d}");
            (source.to_string(), docs.remove(0))
        })
        .collect()
}

/// A CustomResourceDefinition named `<plural>.example.com`, as YAML.
fn crd(plural: &str) -> String {
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
         name: {plural}.example.com\nspec:\n  group: example.com\n  names: {{kind: K{plural}, \
         plural: {plural}}}\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: \
         true\n      storage: true\n      schema: {{openAPIV3Schema: {{type: object}}}}\n"
    )
}

fn crd_json(plural: &str) -> String {
    let value = wasmchart_values::yaml::parse_documents(&crd(plural), "crd")
        .expect("CRD YAML")
        .remove(0);
    serde_json::to_string_pretty(&value).expect("CRD JSON")
}

fn is_crd(object: &Value) -> bool {
    object["kind"] == "CustomResourceDefinition"
}

fn label<'a>(object: &'a Value, key: &str) -> &'a Value {
    &object["metadata"]["labels"][key]
}

/// Sources in order, each once (a multi-document file prints one source per object).
fn distinct_in_order(sources: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in sources {
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out
}

fn helm_fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/crds/helm-order.json");
    serde_json::from_str(&fs::read_to_string(path).expect("the Helm order fixture"))
        .expect("fixture JSON")
}

/// The chart of the Helm fixture: umbrella `u` → `child` (the probe) → `grand` (no component,
/// no templates: it renders nothing but its CRDs). Each fixture file holds CRDs named after
/// its index; `crds/b.yaml` holds two and an empty document, `.txt` files are not YAML (and
/// must be ignored), `.hidden.yaml` asks for a namespace (which must be dropped) and has a
/// label of its own (which must be kept).
fn fixture_chart(files: &[Value]) -> TestChart {
    let chart = TestChart::new(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: u\nversion: 0.1.0\ndependencies:\n  - name: child\n    version: 0.1.0\n",
        ),
        ("values.yaml", "child: {action: ok}\n"),
        (
            "charts/child/Chart.yaml",
            "apiVersion: v2\nname: child\nversion: 0.1.0\ncomponent: probe.wasm\ndependencies:\n  - name: grand\n    version: 0.1.0\n",
        ),
        (
            "charts/child/charts/grand/Chart.yaml",
            "apiVersion: v2\nname: grand\nversion: 0.1.0\n",
        ),
    ]);
    chart.probe("charts/child");
    for (i, file) in files.iter().enumerate() {
        let name = file.as_str().expect("file name");
        let plural = format!("f{i}");
        let content = if name.ends_with(".txt") {
            "{{ not: [yaml\n".to_string()
        } else if name.to_ascii_lowercase().ends_with(".json") {
            crd_json(&plural)
        } else if name.ends_with("/b.yaml") {
            format!(
                "---\n# leading comment\n{}---\n---\n{}",
                crd(&plural),
                crd(&format!("{plural}b"))
            )
        } else if name.ends_with(".hidden.yaml") {
            crd(&plural).replace(
                "  name: ",
                "  namespace: elsewhere\n  labels: {team: a}\n  name: ",
            )
        } else {
            crd(&plural)
        };
        chart.write(name, &content);
    }
    chart
}

/// The fixture from Helm's own loader fixes which files are CRDs, their order (Walk order:
/// `sub/x.json` before `sub.yaml`, hidden files and upper-case extensions included, the parent
/// before its subcharts, depth first) and their `# Source:` paths. Without the flag nothing
/// changes: the stream is exactly the tail of the one with CRDs.
#[test]
fn include_crds_prints_them_first_in_helms_order() {
    let fixture = helm_fixture();
    let files = fixture["files"].as_array().expect("files");
    let helm: Vec<String> = fixture["helm_sources"]
        .as_array()
        .expect("helm_sources")
        .iter()
        .map(|s| s.as_str().expect("a source").to_string())
        .collect();
    assert_eq!(helm.len(), 10, "regenerate the fixture: {fixture}");
    let chart = fixture_chart(files);

    let without = ok(&chart.render(&[]).0);
    let with = ok(&chart.render(&["--include-crds"]).0);
    assert!(
        documents(&without).iter().all(|(_, o)| !is_crd(o)),
        "no CRD without the flag:\n{without}"
    );
    assert!(
        with.ends_with(&without) && with.len() > without.len(),
        "the flag only adds the CRDs, first:\n{with}"
    );

    let docs = documents(&with);
    let crds: Vec<&(String, Value)> = docs.iter().take_while(|(_, o)| is_crd(o)).collect();
    assert_eq!(crds.len(), 11, "ten files, one with two CRDs:\n{with}");
    assert!(docs[crds.len()..].iter().all(|(_, o)| !is_crd(o)));
    assert_eq!(distinct_in_order(crds.iter().map(|(s, _)| s.clone())), helm);

    for (source, object) in &crds {
        assert_eq!(
            object["metadata"].get("namespace"),
            None,
            "{source}: {object}"
        );
        // Verbatim as Helm prints them: no host label a prune could select them by.
        let labels = &object["metadata"]["labels"];
        if source == "u/crds/.hidden.yaml" {
            assert_eq!(*labels, json!({"team": "a"}), "its own labels kept");
        } else {
            assert_eq!(*labels, Value::Null, "{source}: {object}");
        }
    }
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().to_str().unwrap();
    assert_eq!(
        ok(&chart.render(&["--include-crds", "--output-dir", dir]).0),
        ""
    );
    let written = fs::read_to_string(out.path().join("u/crds/b.yaml")).unwrap();
    assert_eq!(
        written.matches("---\n# Source: u/crds/b.yaml\n").count(),
        2,
        "{written}"
    );
    assert!(
        out.path()
            .join("u/charts/child/charts/grand/crds/g.yaml")
            .is_file()
    );

    let b: Vec<&Value> = crds
        .iter()
        .filter(|(s, _)| s == "u/crds/b.yaml")
        .map(|(_, o)| o)
        .collect();
    assert_eq!(b.len(), 2);
    assert_eq!(b[0]["metadata"]["name"], "f0.example.com");
    assert_eq!(b[1]["metadata"]["name"], "f0b.example.com");
}

/// From Helm's source (install.go runs ProcessDependencies before renderResources, then
/// Chart.CRDObjects): a disabled subchart ships no CRDs, an aliased one ships them under its
/// alias, and subcharts follow the dependency order of Chart.yaml, not directory order.
#[test]
fn disabled_subcharts_ship_none_and_aliases_rename_them() {
    let chart = TestChart::new(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: u\nversion: 0.1.0\ndependencies:\n  - name: zeta\n    version: 0.1.0\n  - name: alpha\n    version: 0.1.0\n    alias: first\n  - name: gone\n    version: 0.1.0\n    condition: gone.enabled\n",
        ),
        ("values.yaml", "gone: {enabled: false}\n"),
        (
            "charts/zeta/Chart.yaml",
            "apiVersion: v2\nname: zeta\nversion: 0.1.0\n",
        ),
        ("charts/zeta/crds/x.yaml", &crd("zetas")),
        (
            "charts/alpha/Chart.yaml",
            "apiVersion: v2\nname: alpha\nversion: 0.1.0\n",
        ),
        ("charts/alpha/crds/x.yaml", &crd("alphas")),
        (
            "charts/gone/Chart.yaml",
            "apiVersion: v2\nname: gone\nversion: 0.1.0\n",
        ),
        ("charts/gone/crds/x.yaml", &crd("gones")),
        ("charts/gone/templates/cm.yaml", "{{ .Values.never }}\n"),
    ]);
    let out = ok(&chart.render(&["--include-crds"]).0);
    let docs = documents(&out);
    let sources: Vec<&str> = docs.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        sources,
        ["u/charts/zeta/crds/x.yaml", "u/charts/first/crds/x.yaml"],
        "{out}"
    );

    // Enabled, 'gone' is seen: its Go templates are refused.
    let err = failed(
        &chart
            .render(&["--include-crds", "--set", "gone.enabled=true"])
            .0,
    );
    assert!(err.contains("subchart 'gone'"), "{err}");
}

/// A file to create under the chart, how, and what the error must say.
type BadFile = (&'static str, Box<dyn Fn(&Path)>, Vec<&'static str>);

/// Broken or hostile `crds/` files fail the render with the file (and document) named, a FIFO
/// at once; without `--include-crds` none of them is read, so the render succeeds.
#[test]
fn bad_crds_files_are_refused_naming_the_file() {
    let chart = TestChart::new(&[("Chart.yaml", "apiVersion: v2\nname: u\nversion: 0.1.0\n")]);
    let cases: Vec<BadFile> = vec![
        (
            "crds/bad.yaml",
            Box::new(|p| fs::write(p, "a: [\n").unwrap()),
            vec!["crds/bad.yaml", "not valid YAML or JSON"],
        ),
        (
            "crds/cm.yaml",
            Box::new(|p| {
                fs::write(p, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n").unwrap()
            }),
            vec![
                "crds/cm.yaml: document 1",
                "ConfigMap 'c' (apiVersion v1) is not a CustomResourceDefinition",
                "crds/ may hold only CRDs",
            ],
        ),
        (
            "crds/two.yaml",
            Box::new(|p| {
                let second =
                    crd("seconds").replace("  name: seconds.example.com\n", "  labels: {a: b}\n");
                fs::write(p, format!("{}---\n{second}", crd("firsts"))).unwrap()
            }),
            vec!["crds/two.yaml: document 2", "metadata.name"],
        ),
        (
            "crds/pipe.yaml",
            Box::new(|p| {
                let status = Command::new("mkfifo").arg(p).status().expect("mkfifo");
                assert!(status.success());
            }),
            vec!["crds/pipe.yaml", "FIFO", "only regular files are read"],
        ),
        (
            "crds/out.yaml",
            Box::new(|p| std::os::unix::fs::symlink("/etc/passwd", p).unwrap()),
            vec!["crds/out.yaml", "leads outside the chart directory"],
        ),
        (
            "crds/big.yaml",
            Box::new(|p| fs::File::create(p).unwrap().set_len(9 << 20).unwrap()),
            vec!["crds/big.yaml", "over the 8 MiB limit for a crds/ file"],
        ),
        (
            "crds/loop/x.yaml",
            Box::new(|p| {
                let dir = p.parent().unwrap();
                std::os::unix::fs::symlink(".", dir.join("again")).unwrap();
                fs::write(p, crd("loops")).unwrap();
            }),
            vec!["crds/loop/again/again", "nested more than 16 levels deep"],
        ),
    ];
    for (name, make, wanted) in cases {
        let path = chart.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        make(&path);
        let (out, took) = chart.render(&["--include-crds"]);
        let err = failed(&out);
        for want in wanted {
            assert!(err.contains(want), "{name}: wanted {want:?} in:\n{err}");
        }
        assert!(took < Duration::from_secs(20), "{name}: took {took:?}");
        assert_eq!(
            ok(&chart.render(&[]).0),
            "",
            "{name}: read without the flag"
        );
        fs::remove_dir_all(chart.path().join("crds")).unwrap();
    }
}

/// A CRD that both `crds/` and a component emit is one object twice: refused, both named.
#[test]
fn a_crd_also_emitted_by_a_component_is_a_duplicate() {
    let manifests = json!([{"source": "templates/crd.yaml", "content": crd("widgets")}]);
    let chart = TestChart::new(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: u\nversion: 0.1.0\ndependencies:\n  - name: a\n    version: 0.1.0\n",
        ),
        (
            "values.yaml",
            &format!("a: {}\n", json!({"action": "emit", "manifests": manifests})),
        ),
        (
            "charts/a/Chart.yaml",
            "apiVersion: v2\nname: a\nversion: 0.1.0\ncomponent: probe.wasm\n",
        ),
        ("crds/w.yaml", &crd("widgets")),
    ]);
    chart.probe("charts/a");
    assert_eq!(documents(&ok(&chart.render(&[]).0)).len(), 1);
    let err = failed(&chart.render(&["--include-crds"]).0);
    for want in [
        "duplicate object CustomResourceDefinition 'widgets.example.com'",
        "'u/crds/w.yaml'",
        "'u/charts/a/templates/crd.yaml'",
    ] {
        assert!(err.contains(want), "wanted {want:?} in:\n{err}");
    }
}

/// Under a policy CRDs are denied unless `kinds.allow` lists them, from `crds/` as from a
/// component; the refusal names who shipped the object, its source and the rule.
#[test]
fn the_policy_applies_to_crds() {
    let chart = TestChart::new(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: u\nversion: 0.1.0\ndependencies:\n  - name: s\n    version: 0.1.0\n",
        ),
        (
            "charts/s/Chart.yaml",
            "apiVersion: v2\nname: s\nversion: 0.1.0\n",
        ),
        ("charts/s/crds/g.yaml", &crd("gadgets")),
        ("crds/w.yaml", &crd("widgets")),
        ("strict.yaml", "clusterScoped: allow\n"),
        (
            "allowing.yaml",
            "kinds:\n  allow: [apiextensions.k8s.io/CustomResourceDefinition]\n",
        ),
    ]);
    let strict = chart.path().join("strict.yaml");
    let strict = strict.to_str().unwrap();
    let err = failed(&chart.render(&["--include-crds", "--policy", strict]).0);
    for want in [
        "refuses 2 objects",
        "the crds/ of the umbrella 'u': CustomResourceDefinition 'widgets.example.com' (u/crds/w.yaml)",
        "the crds/ of subchart 's': CustomResourceDefinition 'gadgets.example.com' (u/charts/s/crds/g.yaml)",
        "[rule kinds.allow]",
    ] {
        assert!(err.contains(want), "wanted {want:?} in:\n{err}");
    }
    assert_eq!(
        ok(&chart.render(&["--policy", strict]).0),
        "",
        "not emitted, not refused"
    );
    let allowing = chart.path().join("allowing.yaml");
    let out = ok(&chart
        .render(&["--include-crds", "--policy", allowing.to_str().unwrap()])
        .0);
    assert_eq!(documents(&out).len(), 2, "{out}");
}

/// Charts with Go templates and no component are listed in one error (partials, NOTES.txt
/// and hidden files are not templates; a chart with a component may keep templates for
/// Helm; a disabled subchart does not count), and `values` still works on them.
#[test]
fn go_templates_without_a_component_are_refused_all_at_once() {
    let chart = TestChart::new(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: u\nversion: 0.1.0\ndependencies:\n  - {name: a, version: 0.1.0, condition: a.enabled}\n  - {name: b, version: 0.1.0}\n  - {name: c, version: 0.1.0, condition: c.enabled}\n  - {name: d, version: 0.1.0}\n",
        ),
        (
            "values.yaml",
            "a: {enabled: true}\nc: {enabled: false}\nd: {action: ok}\n",
        ),
        ("templates/deployment.yaml", "kind: {{ .Values.kind }}\n"),
        ("templates/_helpers.tpl", "{{ define \"x\" }}{{ end }}\n"),
        ("templates/NOTES.txt", "hello\n"),
        (
            "charts/a/Chart.yaml",
            "apiVersion: v2\nname: a\nversion: 0.1.0\n",
        ),
        ("charts/a/templates/a1.yaml", "x\n"),
        ("charts/a/templates/a2.yaml", "x\n"),
        ("charts/a/templates/more/a3.yaml", "x\n"),
        ("charts/a/templates/z.yaml", "x\n"),
        (
            "charts/b/Chart.yaml",
            "apiVersion: v2\nname: b\nversion: 0.1.0\n",
        ),
        ("charts/b/templates/_helpers.tpl", "x\n"),
        ("charts/b/templates/NOTES.txt", "x\n"),
        ("charts/b/templates/.gitkeep", ""),
        (
            "charts/c/Chart.yaml",
            "apiVersion: v2\nname: c\nversion: 0.1.0\n",
        ),
        ("charts/c/templates/c.yaml", "x\n"),
        (
            "charts/d/Chart.yaml",
            "apiVersion: v2\nname: d\nversion: 0.1.0\ncomponent: probe.wasm\n",
        ),
        ("charts/d/templates/d.yaml", "x\n"),
    ]);
    chart.probe("charts/d");
    let err = failed(&chart.render(&[]).0);
    let dir = chart.path().display();
    for want in [
        "does not run Go templates".to_string(),
        "these charts have templates/ and no `component:`".to_string(),
        format!("the umbrella 'u' ({dir}/Chart.yaml): templates/deployment.yaml\n"),
        format!(
            "subchart 'a' ({dir}/charts/a/Chart.yaml): templates/a1.yaml, templates/a2.yaml, templates/more/a3.yaml and 1 more\n"
        ),
        "top-level `component: <file>.wasm`".to_string(),
        "`wasmchart values` works on these charts".to_string(),
    ] {
        assert!(err.contains(&want), "wanted {want:?} in:\n{err}");
    }
    for unwanted in [
        "subchart 'b'",
        "subchart 'c'",
        "subchart 'd'",
        "_helpers",
        "NOTES",
    ] {
        assert!(!err.contains(unwanted), "{unwanted:?} listed in:\n{err}");
    }
    let values = ok(&chart.run("values", &[]).0);
    assert!(values.contains("enabled: true"), "{values}");

    fs::remove_file(chart.path().join("templates/deployment.yaml")).unwrap();
    let err = failed(&chart.render(&[]).0);
    assert!(
        err.contains("this chart has templates/ and no `component:` in its"),
        "{err}"
    );
    let out = ok(&chart.render(&["--set", "a.enabled=false"]).0);
    let docs = documents(&out);
    assert_eq!(docs.len(), 1, "{out}");
    assert_eq!(docs[0].0, "u/charts/d/templates/probe.yaml");
}

/// The value of `field` in the probe's `echo` ConfigMap, parsed as JSON.
fn echoed(object: &Value, field: &str) -> Value {
    let text = object["data"][field].as_str().expect("an echoed field");
    serde_json::from_str(text).expect("echoed JSON")
}

/// The umbrella's own component renders with the umbrella's computed values (exactly what
/// `wasmchart values` prints, supplied secrets redacted), its chart facts, references to the
/// secrets its `usesSecrets` lists (with the host's RBAC), sources under `<umbrella>/`, and its
/// own label, beside a subchart component.
#[test]
fn the_umbrella_component_gets_the_umbrella_values_and_services() {
    let chart = TestChart::new(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: u\nversion: 1.2.3\nappVersion: \"9.9\"\ncomponent: probe.wasm\ndependencies:\n  - {name: probe, version: 0.1.0, alias: side}\n",
        ),
        (
            "values.yaml",
            "action: echo\nusesSecrets: [db, gh]\nglobal: {region: eu}\nside: {action: ok}\nsecrets:\n  items:\n    db:\n      name: u-db\n      keys:\n        PASSWORD: {generate: {length: 16, encoding: hex}}\n    gh:\n      name: u-gh\n      keys:\n        TOKEN: {required: true}\n",
        ),
        (
            "charts/probe/Chart.yaml",
            "apiVersion: v2\nname: probe\nversion: 0.1.0\ncomponent: probe.wasm\n",
        ),
        ("charts/probe/values.yaml", "fromSub: 1\n"),
    ]);
    chart.probe("");
    chart.probe("charts/probe");
    let set = [
        "--set",
        "secrets.items.gh.keys.TOKEN.value=hunter2-not-real",
    ];
    let out = ok(&chart.render(&set).0);
    assert!(!out.contains("hunter2"), "supplied secret printed:\n{out}");
    let docs = documents(&out);
    let (source, echo) = docs
        .iter()
        .find(|(_, o)| o["metadata"]["name"] == "probe-echo")
        .expect("the umbrella's echo");
    assert_eq!(source, "u/templates/probe.yaml");
    assert_eq!(label(echo, "wasmchart/component"), "u");
    assert_eq!(echo["metadata"]["namespace"], "default");
    assert_eq!(
        echoed(echo, "chart"),
        json!({"name": "u", "version": "1.2.3", "appVersion": "9.9"})
    );
    let mut values_args = vec!["-o", "json"];
    values_args.extend_from_slice(&set);
    let helm_values: Value =
        serde_json::from_str(&ok(&chart.run("values", &values_args).0)).unwrap();
    let values = echoed(echo, "values");
    assert_eq!(
        values, helm_values,
        "the umbrella's .Values, as `values` prints them"
    );
    assert_eq!(
        values["secrets"]["items"]["gh"]["keys"]["TOKEN"]["value"],
        "(redacted)"
    );
    assert_eq!(values["side"]["fromSub"], 1, "subchart sections included");
    assert_eq!(
        echoed(echo, "secrets"),
        json!([{"id": "db", "secretName": "u-db", "keys": ["PASSWORD"]},
               {"id": "gh", "secretName": "u-gh", "keys": ["TOKEN"]}])
    );
    let named = |kind: &str, name: &str| {
        docs.iter().any(|(s, o)| {
            o["kind"] == kind && o["metadata"]["name"] == name && s.starts_with("u/host/")
        })
    };
    assert!(named("ServiceAccount", "u-u-secrets"), "{out}");
    assert!(named("Role", "u-u-secret-reader"), "{out}");
    let side = docs
        .iter()
        .find(|(_, o)| o["metadata"]["name"] == "probe-ok")
        .expect("the subchart's object");
    assert_eq!(side.0, "u/charts/side/templates/probe.yaml");
    assert_eq!(label(&side.1, "wasmchart/component"), "side");
}

/// Same sandbox: the umbrella's `files/` is its `/files`; its limits come from the flags (and
/// policy), since the umbrella has no dependency entry of its own.
#[test]
fn the_umbrella_component_has_files_and_flag_limits() {
    let chart = TestChart::new(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: u\nversion: 0.1.0\ncomponent: probe.wasm\n",
        ),
        ("values.yaml", "action: read-file\npath: /files/hello.txt\n"),
        ("files/hello.txt", "hi from the umbrella"),
    ]);
    chart.probe("");
    let docs = documents(&ok(&chart.render(&[]).0));
    assert_eq!(docs.len(), 1);
    assert_eq!(
        docs[0].1["data"]["result"],
        "allowed: \"hi from the umbrella\""
    );

    let (out, took) = chart.render(&["--set", "action=loop", "--timeout", "300ms"]);
    let err = failed(&out);
    assert!(
        err.contains("component 'u' exceeded its 300ms time limit"),
        "{err}"
    );
    assert!(took < Duration::from_secs(60), "{took:?}");
}

/// An umbrella component and a top-level subchart of the umbrella's name with a component of
/// its own would share labels, log prefixes and RBAC names: refused, pointing to an alias; the
/// same subchart without a component collides with nothing.
#[test]
fn an_umbrella_component_and_a_subchart_of_its_name_are_refused() {
    let chart = TestChart::new(&[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: u\nversion: 0.1.0\ncomponent: probe.wasm\ndependencies:\n  - {name: u, version: 0.1.0}\n",
        ),
        (
            "charts/u/Chart.yaml",
            "apiVersion: v2\nname: u\nversion: 0.1.0\ncomponent: probe.wasm\n",
        ),
    ]);
    chart.probe("");
    chart.probe("charts/u");
    let err = failed(&chart.render(&[]).0);
    assert!(
        err.contains("the umbrella 'u' has a component, and so does its subchart 'u'")
            && err.contains("alias"),
        "{err}"
    );
    // Without a component the subchart renders nothing, so nothing collides.
    chart.write(
        "charts/u/Chart.yaml",
        "apiVersion: v2\nname: u\nversion: 0.1.0\n",
    );
    let docs = documents(&ok(&chart.render(&[]).0));
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].0, "u/templates/probe.yaml");
}

/// A packaged subchart (`charts/NAME-VERSION.tgz`, what `helm dependency update` leaves) ships
/// its `crds/` like a directory does, and its Go templates are refused the same way.
#[test]
fn packaged_subcharts_ship_crds_and_are_checked_for_templates() {
    let chart = TestChart::new(&[(
        "Chart.yaml",
        "apiVersion: v2\nname: u\nversion: 0.1.0\ndependencies:\n  - {name: sub, version: 0.1.0}\n",
    )]);
    let src = TestChart::new(&[
        (
            "sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
        ),
        ("sub/crds/w.yaml", &crd("widgets")),
        (
            "sub/templates/_helpers.tpl",
            "{{ define \"x\" }}{{ end }}\n",
        ),
    ]);
    let pack = || {
        fs::create_dir_all(chart.path().join("charts")).unwrap();
        let status = Command::new("tar")
            .arg("czf")
            .arg(chart.path().join("charts/sub-0.1.0.tgz"))
            .arg("-C")
            .arg(src.path())
            .arg("sub")
            .status()
            .expect("tar");
        assert!(status.success());
    };
    pack();
    let out = ok(&chart.render(&["--include-crds"]).0);
    let docs = documents(&out);
    assert_eq!(docs.len(), 1, "{out}");
    assert_eq!(docs[0].0, "u/charts/sub/crds/w.yaml");
    assert_eq!(docs[0].1["metadata"]["name"], "widgets.example.com");

    src.write("sub/templates/cm.yaml", "kind: {{ .Values.kind }}\n");
    pack();
    let err = failed(&chart.render(&[]).0);
    assert!(
        err.contains("subchart 'sub' (")
            && err.contains("sub-0.1.0.tgz")
            && err.contains("): templates/cm.yaml\n"),
        "{err}"
    );
}
