//! Packaged subcharts (`charts/NAME-VERSION.tgz`): loaded in memory as Helm loads them, equal
//! to their unpacked directory, and every hostile archive refused naming the archive and the
//! entry. Archives are built at test time, hostile names written into raw tar headers.

use std::io::Write as _;
use std::path::Path;

use wasmchart_values::chartfs::FilesLimits;
use wasmchart_values::{Chart, ValueOptions, compute};

use crate::common::{chart_yaml, sets, write_tree};

/// One tar entry as written, whatever it is.
struct Ent<'a> {
    name: &'a str,
    kind: tar::EntryType,
    data: &'a [u8],
    link: &'a str,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Ent<'a> {
    Ent {
        name,
        kind: tar::EntryType::Regular,
        data,
        link: "",
    }
}

/// A raw tar stream: names go into the header as given (no builder check).
fn tar_bytes(entries: &[Ent<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_old();
        let name = &mut h.as_old_mut().name;
        name[..e.name.len()].copy_from_slice(e.name.as_bytes());
        h.set_size(e.data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(e.kind);
        if !e.link.is_empty() {
            h.as_old_mut().linkname[..e.link.len()].copy_from_slice(e.link.as_bytes());
        }
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

fn tgz(entries: &[Ent<'_>]) -> Vec<u8> {
    gzip(&tar_bytes(entries))
}

/// Every regular file under `dir`, as `top/<relative path>` entries, in name order.
fn pack_dir(dir: &Path, top: &str) -> Vec<u8> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .collect();
        names.sort();
        for p in names {
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .expect("rel")
                    .to_string_lossy()
                    .to_string();
                out.push((rel, std::fs::read(&p).expect("read")));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    let names: Vec<String> = files.iter().map(|(r, _)| format!("{top}/{r}")).collect();
    let entries: Vec<Ent<'_>> = files
        .iter()
        .zip(&names)
        .map(|((_, data), name)| file(name, data))
        .collect();
    tgz(&entries)
}

const SCHEMA: &str = r##"{"type": "object", "properties": {"port": {"$ref": "defs.json#/port"}}}"##;
const DEFS: &str = r##"{"port": {"type": "integer", "minimum": 1}}"##;

/// An umbrella whose subchart `sub` has everything a subchart can have: a component, a schema
/// with a `$ref`, `files/`, and a packaged subchart of its own.
fn umbrella() -> tempfile::TempDir {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "dependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.enabled\n",
            ),
        ),
        (
            "values.yaml",
            "global:\n  domain: x\nsub:\n  enabled: true\n",
        ),
        (
            "charts/sub/Chart.yaml",
            &chart_yaml(
                "sub",
                "component: sub.wasm\ndependencies:\n- name: inner\n  version: 0.1.0\n",
            ),
        ),
        ("charts/sub/values.yaml", "port: 80\ninner:\n  level: 2\n"),
        ("charts/sub/values.schema.json", SCHEMA),
        ("charts/sub/defs.json", DEFS),
        ("charts/sub/files/a.txt", "alpha\n"),
        ("charts/sub/files/d/b.txt", "beta\n"),
        ("charts/sub/sub.wasm", "\0asm fake component bytes"),
    ]);
    let inner = write_tree(&[
        ("Chart.yaml", &chart_yaml("inner", "")),
        ("values.yaml", "level: 1\nname: inner\n"),
    ]);
    std::fs::create_dir_all(d.path().join("charts/sub/charts")).expect("mkdir");
    std::fs::write(
        d.path().join("charts/sub/charts/inner-0.1.0.tgz"),
        pack_dir(inner.path(), "inner"),
    )
    .expect("write");
    d
}

/// The same umbrella with `charts/sub/` replaced by `charts/sub-0.1.0.tgz`.
fn packed(d: &Path) {
    let sub = d.join("charts/sub");
    let bytes = pack_dir(&sub, "sub");
    std::fs::remove_dir_all(&sub).expect("rm");
    std::fs::write(d.join("charts/sub-0.1.0.tgz"), bytes).expect("write");
}

fn snapshot_of(chart: &Chart) -> Vec<(String, String)> {
    let snap = chart
        .fs()
        .snapshot_files(&FilesLimits::default())
        .expect("snapshot")
        .expect("files/");
    let mut out = Vec::new();
    for rel in ["a.txt", "d/b.txt"] {
        out.push((
            rel.to_string(),
            std::fs::read_to_string(snap.path().join(rel)).expect("snapshot file"),
        ));
    }
    assert_eq!(snap.files(), 2);
    out
}

#[test]
fn a_packaged_subchart_loads_exactly_like_its_directory() {
    let unpacked = umbrella();
    let tarred = umbrella();
    packed(tarred.path());
    let a = Chart::load(unpacked.path()).expect("unpacked");
    let b = Chart::load(tarred.path()).expect("packed");
    let opts = sets(&["sub.inner.level=3"]);
    let (va, vb) = (
        compute(&a, &opts).expect("a"),
        compute(&b, &opts).expect("b"),
    );
    assert_eq!(va.values(), vb.values());
    assert_eq!(vb.values()["sub"]["inner"]["name"], "inner");
    assert_eq!(vb.values()["sub"]["inner"]["level"], 3);
    let (sa, sb) = (&a.subcharts()[0], &b.subcharts()[0]);
    assert!(
        sb.dir().ends_with("charts/sub-0.1.0.tgz"),
        "{}",
        sb.dir().display()
    );
    assert_eq!(
        sa.component_bytes().expect("a").expect("component"),
        sb.component_bytes().expect("b").expect("component")
    );
    assert_eq!(snapshot_of(sa), snapshot_of(sb));
    assert_eq!(sb.subcharts()[0].name(), "inner");
}

#[test]
fn a_packaged_subchart_schema_and_its_refs_apply() {
    let d = umbrella();
    packed(d.path());
    let e = compute(
        &Chart::load(d.path()).expect("load"),
        &sets(&["sub.port=0"]),
    )
    .expect_err("minimum");
    let msg = e.to_string();
    assert!(
        msg.contains("sub.port")
            && msg.contains("minimum")
            && msg.contains("sub-0.1.0.tgz/values.schema.json"),
        "{msg}"
    );
}

#[test]
fn directory_and_archive_of_the_same_chart_are_both_loaded() {
    // Helm loads both charts named `sub` and keeps both as dependencies unless one entry
    // matches both versions: the one the entry does not match stays as an unlisted
    // dependency, placed first, so its defaults fill the `sub` section first. Measured with
    // Helm 4.2.3 (30 renders each): constraint 0.1.0 gives port 2, constraint 0.2.0 gives
    // port 1, every time. When the entry matches both, Helm keeps whichever its map iteration
    // gives first (24 renders the directory, 6 the archive); wasmchart keeps the first in
    // charts/ name order, the directory `sub` before `sub-0.2.0.tgz`, on every run.
    let build = |constraint: &str| {
        let d = write_tree(&[
            (
                "Chart.yaml",
                &chart_yaml(
                    "top",
                    &format!("dependencies:\n- name: sub\n  version: \"{constraint}\"\n"),
                ),
            ),
            ("charts/sub/Chart.yaml", &chart_yaml("sub", "")),
            ("charts/sub/values.yaml", "port: 1\n"),
        ]);
        let chart = b"apiVersion: v2\nname: sub\nversion: 0.2.0\n";
        let archive = tgz(&[
            file("sub/Chart.yaml", chart),
            file("sub/values.yaml", b"port: 2\n"),
        ]);
        std::fs::write(d.path().join("charts/sub-0.2.0.tgz"), archive).expect("write");
        d
    };
    let port = |constraint: &str| {
        let d = build(constraint);
        let chart = Chart::load(d.path()).expect("load");
        assert_eq!(chart.subcharts().len(), 2);
        compute(&chart, &ValueOptions::default())
            .expect("compute")
            .values()["sub"]["port"]
            .clone()
    };
    assert_eq!(port("0.1.0"), 2);
    assert_eq!(port("0.2.0"), 1);
    assert_eq!(port(">=0.1.0"), 1);
}

#[test]
fn every_missing_dependency_is_listed() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "dependencies:\n- name: api\n  version: 0.1.0\n- name: db\n  version: 0.1.0\n\
                 - name: cache\n  version: 0.1.0\n",
            ),
        ),
        ("charts/db/Chart.yaml", &chart_yaml("db", "")),
    ]);
    let msg = Chart::load(d.path()).expect_err("missing").to_string();
    assert!(
        msg.contains("2 dependencies")
            && msg.contains("\"api\", \"cache\"")
            && !msg.contains("\"db\"")
            && msg.contains("missing in charts/ directory")
            && msg.contains(&d.path().join("charts").display().to_string()),
        "{msg}"
    );
}

/// The umbrella with `charts/sub-0.1.0.tgz` holding `archive`; the load error's text.
fn refused(archive: &[u8]) -> String {
    let d = write_tree(&[(
        "Chart.yaml",
        &chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
    )]);
    std::fs::create_dir_all(d.path().join("charts")).expect("mkdir");
    std::fs::write(d.path().join("charts/sub-0.1.0.tgz"), archive).expect("write");
    match Chart::load(d.path()) {
        Ok(_) => panic!("a hostile archive was loaded"),
        Err(e) => e.to_string(),
    }
}

const CHART: &[u8] = b"apiVersion: v2\nname: sub\nversion: 0.1.0\n";

#[test]
fn hostile_entries_are_refused_naming_archive_and_entry() {
    let link = |name: &'static str, kind, target: &'static str| Ent {
        name,
        kind,
        data: b"",
        link: target,
    };
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            tgz(&[file("sub/Chart.yaml", CHART), file("sub/../../x", b"x")]),
            "sub/../../x",
            "parent directory",
        ),
        (
            tgz(&[file("sub/Chart.yaml", CHART), file("sub//etc/passwd", b"x")]),
            "sub//etc/passwd",
            "absolute path",
        ),
        (
            tgz(&[file("/etc/cron.d/x", b"x"), file("sub/Chart.yaml", CHART)]),
            "/etc/cron.d/x",
            "absolute path",
        ),
        (
            tgz(&[
                file("sub/Chart.yaml", CHART),
                link("sub/values.yaml", tar::EntryType::Symlink, "/etc/passwd"),
            ]),
            "sub/values.yaml",
            "a symlink",
        ),
        (
            tgz(&[
                file("sub/Chart.yaml", CHART),
                link("sub/files/x", tar::EntryType::Link, "sub/Chart.yaml"),
            ]),
            "sub/files/x",
            "a hard link",
        ),
        (
            tgz(&[
                file("sub/Chart.yaml", CHART),
                link("sub/files/dev", tar::EntryType::Char, ""),
            ]),
            "sub/files/dev",
            "a character device",
        ),
        (
            tgz(&[file("Chart.yaml", CHART)]),
            "Chart.yaml",
            "outside the base directory",
        ),
        (
            tgz(&[file("Chart.yaml/values.yaml", CHART)]),
            "Chart.yaml/values.yaml",
            "not in base directory",
        ),
        (
            tgz(&[file("sub", CHART)]),
            "sub",
            "outside the base directory",
        ),
    ];
    for (archive, entry, rule) in cases {
        let msg = refused(&archive);
        assert!(
            msg.contains("charts/sub-0.1.0.tgz")
                && msg.contains(&format!("entry {entry:?}"))
                && msg.contains(rule),
            "{entry}: {msg}"
        );
    }
}

#[test]
fn broken_archives_are_refused_naming_the_archive() {
    let good = tgz(&[
        file("sub/Chart.yaml", CHART),
        file("sub/values.yaml", &[b'a'; 4096]),
    ]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..good.len() / 2].to_vec(), "truncated or corrupt"),
        (
            b"apiVersion: v2\nname: sub\n".to_vec(),
            "not a gzip archive",
        ),
        (
            gzip(b"this is not a tar stream at all, only text"),
            "corrupt",
        ),
        (tgz(&[]), "holds no file"),
    ];
    for (archive, rule) in cases {
        let msg = refused(&archive);
        assert!(
            msg.contains("packaged chart")
                && msg.contains("charts/sub-0.1.0.tgz")
                && msg.contains(rule),
            "{rule}: {msg}"
        );
    }
}

#[test]
fn helm_size_caps_apply_and_only_a_component_may_be_larger() {
    let five = vec![0u8; 5 << 20];
    let six = vec![7u8; 6 << 20];
    // Helm's per-file cap: a 6 MiB README is refused, naming the entry and the cap.
    let msg = refused(&tgz(&[
        file("sub/Chart.yaml", CHART),
        file("sub/README.md", &six),
    ]));
    assert!(
        msg.contains("entry \"sub/README.md\"") && msg.contains("6 MiB") && msg.contains("5 MiB"),
        "{msg}"
    );
    // Helm's total cap: 21 entries of 5 MiB each.
    let names: Vec<String> = (0..21).map(|i| format!("sub/files/f{i:02}")).collect();
    let mut entries = vec![file("sub/Chart.yaml", CHART)];
    entries.extend(names.iter().map(|n| file(n, &five)));
    let msg = refused(&tgz(&entries));
    assert!(
        msg.contains("entry \"sub/files/f19\"") && msg.contains("100 MiB"),
        "{msg}"
    );
    // The component Chart.yaml names may pass 5 MiB; it is read whole.
    let d = write_tree(&[(
        "Chart.yaml",
        &chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
    )]);
    let chart = b"apiVersion: v2\nname: sub\nversion: 0.1.0\ncomponent: bin/sub.wasm\n";
    std::fs::create_dir_all(d.path().join("charts")).expect("mkdir");
    std::fs::write(
        d.path().join("charts/sub-0.1.0.tgz"),
        tgz(&[
            file("sub/Chart.yaml", chart),
            file("sub/bin/sub.wasm", &six),
        ]),
    )
    .expect("write");
    let loaded = Chart::load(d.path()).expect("a large component is allowed");
    let bytes = loaded.subcharts()[0].component_bytes().expect("read");
    assert_eq!(bytes.expect("component").len(), six.len());
}

#[test]
fn a_gzip_bomb_stops_at_the_stream_cap() {
    // A GNU long-name record declaring 1 GiB, followed by 400 gzip members of 1 MiB of zeros
    // each: tar reads long names whole, so only the decompressed-stream cap stops it.
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().expect("gnu").name[..13].copy_from_slice(b"././@LongLink");
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(1 << 30);
    h.set_cksum();
    let mut bomb = gzip(h.as_bytes());
    let zeros = gzip(&vec![0u8; 1 << 20]);
    for _ in 0..400 {
        bomb.extend_from_slice(&zeros);
    }
    let started = std::time::Instant::now();
    let msg = refused(&bomb);
    assert!(
        msg.contains("gzip bomb") && msg.contains("372 MiB"),
        "{msg}"
    );
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn a_symlinked_archive_leading_out_of_the_chart_is_refused() {
    let outside = tempfile::tempdir().expect("tmp");
    std::fs::write(
        outside.path().join("sub-0.1.0.tgz"),
        tgz(&[file("sub/Chart.yaml", CHART)]),
    )
    .expect("write");
    let d = write_tree(&[(
        "Chart.yaml",
        &chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
    )]);
    std::fs::create_dir_all(d.path().join("charts")).expect("mkdir");
    std::os::unix::fs::symlink(
        outside.path().join("sub-0.1.0.tgz"),
        d.path().join("charts/sub-0.1.0.tgz"),
    )
    .expect("symlink");
    let msg = Chart::load(d.path()).expect_err("escape").to_string();
    assert!(
        msg.contains("charts/sub-0.1.0.tgz") && msg.contains("outside the chart directory"),
        "{msg}"
    );
}

#[test]
fn a_fifo_named_tgz_fails_at_once() {
    let d = write_tree(&[("Chart.yaml", &chart_yaml("top", ""))]);
    std::fs::create_dir_all(d.path().join("charts")).expect("mkdir");
    let fifo = d.path().join("charts/sub-0.1.0.tgz");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let path = d.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(Chart::load(&path).map(|_| ()).map_err(|e| e.to_string()));
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("a FIFO blocked the load");
    let msg = got.expect_err("a FIFO is not an archive");
    assert!(
        msg.contains("FIFO") && msg.contains("sub-0.1.0.tgz"),
        "{msg}"
    );
}

#[test]
fn other_files_in_charts_are_refused_as_helm_refuses_them() {
    // Helm 4.2.3 on charts/README.md: "error unpacking subchart README.md in top: Chart.yaml
    // file is missing"; names starting with `_` or `.` and .prov files are skipped.
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("charts/_notes.txt", "skipped\n"),
        ("charts/.gitkeep", ""),
        ("charts/sub-0.1.0.tgz.prov", "signature\n"),
    ]);
    std::fs::write(
        d.path().join("charts/sub-0.1.0.tgz"),
        tgz(&[file("sub/Chart.yaml", CHART)]),
    )
    .expect("write");
    let chart = Chart::load(d.path()).expect("skipped files are not charts");
    assert_eq!(chart.subcharts().len(), 1);
    std::fs::write(d.path().join("charts/README.md"), "hello\n").expect("write");
    let msg = Chart::load(d.path()).expect_err("README.md").to_string();
    assert!(
        msg.contains("charts/README.md is not a chart")
            && msg.contains("error unpacking subchart README.md in top"),
        "{msg}"
    );
}

#[test]
fn an_entry_declaring_a_terabyte_is_refused_before_reading() {
    let mut h = tar::Header::new_ustar();
    h.set_path("sub/files/huge").expect("path");
    h.set_size(1 << 40);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    let mut raw = tar_bytes(&[file("sub/Chart.yaml", CHART)]);
    raw.truncate(raw.len() - 1024);
    raw.extend_from_slice(h.as_bytes());
    raw.extend_from_slice(&[b'x'; 4096]);
    let started = std::time::Instant::now();
    let msg = refused(&gzip(&raw));
    assert!(
        msg.contains("entry \"sub/files/huge\"") && msg.contains("256 MiB"),
        "{msg}"
    );
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}
