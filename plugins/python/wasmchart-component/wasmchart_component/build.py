"""`wasmchart-build-py APP.py -o OUT.wasm` (also `python -m
wasmchart_component.build`): builds a Python wasmchart component anywhere on
disk with the pinned componentize-py, against the WIT bundled in this
package (world `subchart`).

The app's folder and a copy of this package's modules go on componentize-py's
path, so the component imports `wasmchart_component` whether it is
pip-installed or not. `--stub-wasi` leaves the component importing nothing but the contract
(no clocks, randomness, stdio, files or sockets): its output depends on its
input alone. VIRTUAL_ENV is unset for the build so no installed package is
bundled by accident; pass `-p DIR` for extra source folders.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

PACKAGE_DIR = Path(__file__).resolve().parent

#: The componentize-py this package is pinned to (plugins/python/requirements.txt).
COMPONENTIZE_PY = "0.25.1"


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="wasmchart-build-py",
        description="Build a Python wasmchart component with the pinned componentize-py.",
    )
    parser.add_argument("app", help="the component's module file, e.g. app.py (it defines WitWorld)")
    parser.add_argument("-o", "--out", required=True, help="where to write the component (.wasm)")
    parser.add_argument("-p", "--path", action="append", default=[], help="an extra folder on the module path")
    return parser.parse_args(argv)


def componentize_py() -> List[str]:
    """The command running componentize-py: the one installed next to this
    Python if any, else the one on PATH."""
    try:
        import componentize_py  # noqa: F401
        return [sys.executable, "-c", "import sys; from componentize_py import script; sys.argv[0] = 'componentize-py'; sys.exit(script())"]
    except ImportError:
        found = shutil.which("componentize-py")
        if found is None:
            raise SystemExit(
                f"error: componentize-py is not installed; run `pip install componentize-py=={COMPONENTIZE_PY}`")
        return [found]


def stage_package(into: Path) -> Path:
    """Copies this package's modules into `into`/wasmchart_component and
    returns `into`: only they go on the component's path, not the
    site-packages folder the package may be installed in."""
    target = into / "wasmchart_component"
    target.mkdir(parents=True)
    for module in PACKAGE_DIR.glob("*.py"):
        shutil.copyfile(module, target / module.name)
    return into


def command(app: Path, out_tmp: Path, package_path: Path, extra: List[str],
            runner: Optional[List[str]] = None) -> List[str]:
    """The componentize-py command line for `app` (`runner`: how to start
    componentize-py, default `componentize_py()`)."""
    paths = [str(app.parent), str(package_path), *extra]
    args = [*(runner or componentize_py()), "--quiet", "-d", str(PACKAGE_DIR / "wit"), "-w", "subchart",
            "componentize", app.stem]
    for p in paths:
        args += ["-p", p]
    return args + ["--stub-wasi", "-o", str(out_tmp)]


def build(argv: Optional[List[str]] = None) -> int:
    """Runs the build; returns the exit code."""
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    app = Path(opts.app).resolve()
    out = Path(opts.out).resolve()
    if not app.is_file() or app.suffix != ".py":
        print(f"error: component source '{opts.app}' is not a .py file", file=sys.stderr)
        return 1
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"error: cannot create the output folder '{out.parent}' (for -o {opts.out}): {e}", file=sys.stderr)
        return 1
    for extra in opts.path:
        if not Path(extra).is_dir():
            print(f"error: -p {extra}: not a folder", file=sys.stderr)
            return 1
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    try:
        with tempfile.TemporaryDirectory(prefix="wasmchart-build-py-") as staged:
            cmd = command(app, tmp, stage_package(Path(staged)), [str(Path(p).resolve()) for p in opts.path])
            done = subprocess.run(cmd, env=env)
        if done.returncode != 0:
            print(f"error: componentize-py could not build {app} (exit status {done.returncode}; see above)",
                  file=sys.stderr)
            return 1
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"built {out} ({out.stat().st_size} bytes)")
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(build())


if __name__ == "__main__":
    main()
