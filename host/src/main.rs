//! The `wasmchart` binary: a thin shell over the library.

fn main() -> std::process::ExitCode {
    wasmchart::cli::main()
}
