//! `wasmchart dependency list [CHART]`: Chart.yaml's dependencies and what `charts/` holds for
//! each, with Helm's columns and statuses (`ok`, `unpacked`, `missing`, `wrong version`,
//! `misnamed`, `corrupt`, `too many matches`), read through the confined chart reader.

use anyhow::Result;
use std::io::Write as _;
use std::path::Path;
use wasmchart_values::chartfs::{self, ChartDir, Kind, archive};

use crate::lock::golang::GoDependency;
use crate::text::escape;

/// Prints the table.
///
/// # Errors
///
/// The chart's Chart.yaml cannot be read, or `charts/` cannot be listed.
pub fn list(chart_dir: &Path) -> Result<()> {
    let fs = ChartDir::open(chart_dir)?;
    let deps = crate::lock::requested(&fs)?;
    let mut rows = vec![[
        "NAME".to_string(),
        "VERSION".into(),
        "REPOSITORY".into(),
        "STATUS".into(),
    ]];
    for d in &deps {
        rows.push([
            escape(&d.name).into_owned(),
            escape(&d.version).into_owned(),
            escape(&crate::oci::redact(&d.repository)).into_owned(),
            status(&fs, d)?.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = std::io::stdout().lock();
    for r in &rows {
        let line = (0..4)
            .map(|c| format!("{:w$}", r[c], w = widths[c]))
            .collect::<Vec<_>>()
            .join("\t");
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    Ok(())
}

/// Helm's `dependencyStatus`: one archive `NAME-VERSION.tgz` decides; else a directory.
fn status(fs: &ChartDir, dep: &GoDependency) -> Result<&'static str> {
    if fs.kind("charts")? != Some(Kind::Dir) {
        return Ok("missing");
    }
    let prefix = format!("{}-", dep.name);
    let archives: Vec<String> = fs
        .list("charts")?
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .filter(|n| {
            n.strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".tgz"))
                .is_some_and(|v| wasmchart_values::is_compatible_range(v, v))
        })
        .collect();
    match archives.as_slice() {
        [one] => return Ok(archive_status(fs, &format!("charts/{one}"), dep)),
        [] => {}
        _ => return Ok("too many matches"),
    }
    let dir = format!("charts/{}", dep.name);
    if fs.kind(&dir)? != Some(Kind::Dir) {
        return Ok("missing");
    }
    let Ok(sub) = fs.open_subdir(&dir) else {
        return Ok("corrupt");
    };
    Ok(match identity(&sub) {
        Some((_, version)) if !fits(dep, &version) => "wrong version",
        Some(_) => "unpacked",
        None => "corrupt",
    })
}

fn archive_status(fs: &ChartDir, rel: &str, dep: &GoDependency) -> &'static str {
    let Ok(bytes) = fs.read(rel, &archive::ARCHIVE) else {
        return "corrupt";
    };
    let Ok(tree) = archive::unpack(&bytes, &fs.display(rel)) else {
        return "corrupt";
    };
    match identity(&ChartDir::archive(tree)) {
        None => "corrupt",
        Some((name, _)) if name != dep.name => "misnamed",
        Some((_, version)) if !fits(dep, &version) => "wrong version",
        Some(_) => "ok",
    }
}

fn fits(dep: &GoDependency, version: &str) -> bool {
    dep.version.is_empty() || wasmchart_values::is_compatible_range(&dep.version, version)
}

/// A chart's name and version from its Chart.yaml, if it reads.
fn identity(fs: &ChartDir) -> Option<(String, String)> {
    let text = fs.read_to_string("Chart.yaml", &chartfs::METADATA).ok()?;
    let (map, _) = wasmchart_values::yaml::parse_values(&text, "Chart.yaml").ok()?;
    let field = |k: &str| map.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Some((field("name")?, field("version")?))
}
