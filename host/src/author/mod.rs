//! The author's side: `wasmchart new` scaffolds a subchart and its component
//! project from a kit embedded in the binary ([`kit`]), and `wasmchart build`
//! runs the build command each subchart declares in Chart.yaml ([`build`]),
//! so the whole loop is `new` → `build` → `render` from any directory.
//!
//! `build` runs commands a chart names: it is for the chart's own author,
//! never for charts from elsewhere; `render` never runs them.

pub mod build;
pub mod kit;
pub mod new;
pub mod spec;

use anyhow::Result;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// The language of a new component project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// Rust with the vendored wasmchart-sdk crate (cargo, target wasm32-wasip2).
    Rust,
    /// JavaScript with the vendored wasmchart-component package (componentize-js).
    Js,
    /// Python with the vendored wasmchart-component package (componentize-py).
    Python,
}

impl Lang {
    /// The language's name as people write it, for Chart.yaml and messages.
    pub fn title(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Js => "JavaScript",
            Lang::Python => "Python",
        }
    }
}

/// `wasmchart new`: the flags.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The subchart's name: lowercase letters, digits and `-`, starting with a letter (Helm's chart-name rule; it also names the component and its package).
    pub name: String,
    /// The component's language.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Where to create the subchart (default: ./NAME); must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `wasmchart build`: the flags.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// An umbrella (builds every local subchart under charts/ with a `build:` section, deepest first) or one subchart (default: the current directory).
    #[arg(value_name = "CHART")]
    pub chart: Option<PathBuf>,
    /// Build only the subchart with this chart name; may repeat.
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
}

/// Runs `wasmchart new`.
pub fn run_new(args: NewArgs) -> Result<()> {
    new::run(&args)
}

/// Runs `wasmchart build`.
pub fn run_build(args: BuildArgs) -> Result<()> {
    build::run(&args)
}
