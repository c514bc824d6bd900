//! The `wasmchart` binary: a thin shell over the library.

use std::ffi::OsString;
use wasmchart::sandbox;

fn main() -> std::process::ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    // The hidden compile mode (see `sandbox/compile.rs`): this binary,
    // started by itself, compiles one component under the compile limits.
    if args
        .first()
        .is_some_and(|a| a == sandbox::COMPILE_CHILD_ARG)
    {
        let rest: Vec<String> = args[1..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return sandbox::compile_child_main(&rest);
    }
    if let Ok(exe) = std::env::current_exe() {
        sandbox::compile_in_child_processes(exe);
    }
    wasmchart::cli::main()
}
