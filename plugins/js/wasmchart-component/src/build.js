// The build behind `wasmchart-build-js`: stage the module graph (stage.js),
// then componentize it with the pinned componentize-js and this package's
// copy of wit/chart.wit, writing the output atomically.

import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { PACKAGE_ROOT, stageComponent } from './stage.js';

/** The WASI features componentize-js would add by default; all off (as plugins/js/build.mjs). */
export const DISABLED_FEATURES = ['stdio', 'random', 'clocks', 'http', 'fetch-event'];

export function usage() {
  return 'usage: wasmchart-build-js COMPONENT.js -o OUT.wasm';
}

function usageError(message) {
  const e = new Error(message);
  e.usage = true;
  return e;
}

/** Parses `COMPONENT.js -o OUT.wasm` (also `--out`, `--out=`, `-oOUT`). */
export function parseArgs(argv) {
  let source;
  let out;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === '-h' || a === '--help') return { help: true };
    if (a === '-o' || a === '--out') {
      if (i + 1 >= argv.length) throw usageError(`${a} needs a file name`);
      out = argv[i + 1];
      i += 1;
    } else if (a.startsWith('--out=')) {
      out = a.slice('--out='.length);
    } else if (a.startsWith('-o') && a.length > 2) {
      out = a.slice(2);
    } else if (a.startsWith('-')) {
      throw usageError(`unknown option '${a}'`);
    } else if (source === undefined) {
      source = a;
    } else {
      throw usageError(`unexpected argument '${a}': give one component source`);
    }
  }
  if (source === undefined) throw usageError('no component source given');
  if (out === undefined || out === '') throw usageError('no output given (-o OUT.wasm)');
  return { source: resolve(source), out: resolve(out) };
}

/** Runs the command; returns the exit code. */
export async function build(argv) {
  const opts = parseArgs(argv);
  if (opts.help) {
    console.log(usage());
    return 0;
  }
  if (!existsSync(opts.source) || !statSync(opts.source).isFile()) {
    throw new Error(`component source '${opts.source}' is not a file`);
  }
  try {
    mkdirSync(dirname(opts.out), { recursive: true });
  } catch (e) {
    throw new Error(`cannot create the output folder '${dirname(opts.out)}' (for -o ${opts.out}): ${e.message}`);
  }
  const started = Date.now();
  const stage = mkdtempSync(join(tmpdir(), 'wasmchart-build-js-'));
  try {
    const entry = await stageComponent(opts.source, stage);
    const { componentize } = await import('@bytecodealliance/componentize-js');
    let component;
    try {
      ({ component } = await componentize({
        sourcePath: entry,
        witPath: join(PACKAGE_ROOT, 'wit'),
        worldName: 'subchart',
        disableFeatures: DISABLED_FEATURES,
      }));
    } catch (e) {
      throw new Error(`componentize-js could not build ${opts.source}: ${e.message ?? e}`);
    }
    const tmp = join(dirname(opts.out), `.${basename(opts.out)}.${process.pid}.tmp`);
    try {
      writeFileSync(tmp, component);
      renameSync(tmp, opts.out);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new Error(`cannot write '${opts.out}': ${e.message}`);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`built ${opts.out} (${component.length} bytes) in ${seconds} s`);
    return 0;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
