//! `wasmchart dependency update|build [CHART]`, as Helm's: Chart.yaml `dependencies:` into
//! `charts/` and Chart.lock ([`crate::lock`]).
//!
//! - `update` resolves every dependency again: `file://PATH` is packaged into
//!   `charts/NAME-VERSION.tgz` ([`crate::package`]); `oci://HOST/PATH` takes the newest
//!   version in the registry matching the constraint (Helm's Masterminds rules) and pulls it
//!   ([`crate::oci`]); a `file://` path that *is* the dependency's own directory in `charts/`
//!   (the vendored layout, as in examples/imprun) and a dependency without a repository stay
//!   where they are and are only locked. Then it writes Chart.lock with the content digests.
//! - `build` installs exactly what Chart.lock pins, refusing a lock that is out of sync with
//!   Chart.yaml (Helm's check) and any fetched or packaged archive, or kept directory, whose
//!   digest differs from the lock's; without a lock it runs `update`, as Helm does.
//!
//! Both work in a staging directory inside `charts/` (a dot name the loader skips), load
//! and hash everything there, and only then move the archives in, remove the old archives of
//! the same dependencies (as Helm's `safeMoveDeps`) and write Chart.lock atomically: a
//! failure while resolving, fetching, packaging or checking leaves `charts/` and Chart.lock as
//! they were.

mod install;
mod list;
mod resolve;

use anyhow::Result;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `wasmchart dependency` subcommands.
#[derive(Debug, Subcommand)]
pub enum DependencyCommand {
    /// Resolve Chart.yaml's dependencies (file://, oci://) into charts/ and write Chart.lock with the digest of every archive and component.
    Update(DependencyArgs),
    /// Install into charts/ exactly what Chart.lock pins, checking every digest (runs update when there is no lock).
    Build(DependencyArgs),
    /// List Chart.yaml's dependencies and what charts/ holds for each (Helm's statuses).
    List(ListArgs),
}

/// `dependency list`'s chart.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The chart directory.
    #[arg(value_name = "CHART", default_value = ".")]
    pub chart: PathBuf,
}

/// The chart and the registry flags (Helm's names).
#[derive(Debug, Args)]
pub struct DependencyArgs {
    /// The chart directory.
    #[arg(value_name = "CHART", default_value = ".")]
    pub chart: PathBuf,
    #[command(flatten)]
    pub registry: crate::oci::cmd::RegistryFlags,
}

/// Runs a `dependency` subcommand.
///
/// # Errors
///
/// Any resolution, fetch, packaging, digest or write failure, naming the dependency.
pub fn run(command: DependencyCommand) -> Result<()> {
    match command {
        DependencyCommand::Update(args) => {
            let registry = args.registry.options()?;
            install::update(&args.chart, &registry)
        }
        DependencyCommand::Build(args) => {
            let registry = args.registry.options()?;
            install::build(&args.chart, &registry)
        }
        DependencyCommand::List(args) => list::list(&args.chart),
    }
}
