// Stages a component's module graph for componentize-js.
//
// componentize-js 0.23 runs the source inside StarlingMonkey with one host
// directory mapped as `/`: relative imports under that directory resolve,
// but bare package names (`wasmchart-component`) and paths above it do not.
// Rather than pull in a bundler, this walks the graph from the entry with
// es-module-lexer (the lexer componentize-js itself uses), copies every
// module into one staging directory (the project's files under `app/`, this
// package under `lib/`) and rewrites `wasmchart-component` imports to
// relative paths. Unsupported imports are refused here, with the importing
// file named, instead of failing later inside the engine.

import { init, parse } from 'es-module-lexer';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's root (holding src/ and wit/). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const SELF = 'wasmchart-component';

/** The nearest directory at or above `file`'s holding a package.json, else its own. */
export function projectRoot(file) {
  let dir = dirname(file);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(file);
    dir = up;
  }
}

/**
 * Copies the module graph of `entry` into `stage` and writes
 * `stage/entry.js`, which wires the WIT `log` import into the helper and
 * re-exports the component's `render`. Returns the entry's path.
 */
export async function stageComponent(entry, stage) {
  await init;
  const root = projectRoot(entry);
  // This package first: installed under the project's node_modules, its
  // files must still land where entry.js imports them (one module instance).
  const places = [
    { from: PACKAGE_ROOT, to: join(stage, 'lib') },
    { from: root, to: join(stage, 'app') },
  ];
  const queue = [entry];
  const seen = new Set();
  let entryExports = null;
  while (queue.length > 0) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    let imports;
    let exports;
    try {
      [imports, exports] = parse(source, file);
    } catch (e) {
      throw new Error(`${shown(file)}: cannot parse it as an ES module: ${syntaxError(source) ?? e.message}`);
    }
    if (file === entry) entryExports = exports.map((x) => x.n);
    let out = '';
    let last = 0;
    for (const imp of imports) {
      if (imp.d === -2) continue; // import.meta
      const spec = imp.n;
      if (spec === undefined) {
        throw new Error(`${shown(file)}: a dynamic import() with a computed name cannot be built into a component; import the module statically`);
      }
      const target = resolveImport(spec, file, places);
      if (target === null) continue;
      queue.push(target);
      const rewritten = relativeSpecifier(stagedPath(file, places), stagedPath(target, places));
      if (rewritten !== spec) {
        // A dynamic import's range includes the quotes; a static one's does not.
        out += source.slice(last, imp.s) + (imp.d > -1 ? `'${rewritten}'` : rewritten);
        last = imp.e;
      }
    }
    out += source.slice(last);
    const staged = stagedPath(file, places);
    mkdirSync(dirname(staged), { recursive: true });
    writeFileSync(staged, out);
  }
  if (!entryExports.includes('render')) {
    throw new Error(`${shown(entry)} does not export 'render': add \`export const render = defineRender((input) => ...)\` (see wasmchart-component's README)`);
  }
  const app = relativeSpecifier(join(stage, 'entry.js'), stagedPath(entry, places));
  const lib = relativeSpecifier(join(stage, 'entry.js'), join(stage, 'lib', 'src', 'index.js'));
  const entryFile = join(stage, 'entry.js');
  mkdirSync(join(stage, 'lib', 'src'), { recursive: true });
  if (!existsSync(join(stage, 'lib', 'src', 'index.js'))) {
    writeFileSync(join(stage, 'lib', 'src', 'index.js'), readFileSync(join(PACKAGE_ROOT, 'src', 'index.js')));
  }
  writeFileSync(
    entryFile,
    [
      "import { log } from 'wasmchart:chart/log@0.1.0';",
      `import { setLogSink } from '${lib}';`,
      'setLogSink((level, message) => log(level, message));',
      `export { render } from '${app}';`,
      '',
    ].join('\n'),
  );
  return entryFile;
}

/** The file `spec` names, or null for a WIT import left as it is. */
function resolveImport(spec, from, places) {
  if (spec.startsWith('wasmchart:')) return null;
  if (spec === SELF || spec.startsWith(`${SELF}/`)) {
    const sub = spec === SELF ? 'src/index.js' : spec.slice(SELF.length + 1);
    return existing(join(PACKAGE_ROOT, sub), spec, from);
  }
  if (spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('/')) {
    const target = existing(resolve(dirname(from), spec), spec, from);
    placeOf(target, places, `${shown(from)} imports '${spec}'`);
    return target;
  }
  if (spec.startsWith('node:')) {
    throw new Error(`${shown(from)} imports '${spec}': node's built-in modules do not exist inside a component (it has no files, network or process); keep node-only code in your tests`);
  }
  throw new Error(
    `${shown(from)} imports the package '${spec}': a component can import only relative files, '${SELF}' and the WIT imports 'wasmchart:chart/...'; copy the package's ES module files into your project and import them relatively`,
  );
}

/** node's own account of a syntax error in `source` ("SyntaxError: ... at line N"), if it has one. */
function syntaxError(source) {
  const check = spawnSync(process.execPath, ['--input-type=module', '--check'], { input: source, encoding: 'utf8' });
  if (check.status === 0 || typeof check.stderr !== 'string') return null;
  const lines = check.stderr.split('\n').map((l) => l.trimEnd());
  const line = lines.find((l) => /^\[stdin\]:\d+$/.test(l))?.slice('[stdin]:'.length);
  const what = lines.find((l) => /^[A-Z][A-Za-z]*Error: /.test(l));
  if (!what) return null;
  return line ? `${what} at line ${line}` : what;
}

function existing(path, spec, from) {
  if (existsSync(path) && statSync(path).isFile()) return path;
  const hint = existsSync(`${path}.js`) ? ` (ES modules need the extension: '${spec}.js')` : '';
  throw new Error(`${shown(from)} imports '${spec}', but ${shown(path)} is not a file${hint}`);
}

/** The place (project or this package) a file belongs to; refuses others. */
function placeOf(file, places, context = shown(file)) {
  const place = places.find((p) => file === p.from || file.startsWith(p.from + sep));
  if (!place) {
    throw new Error(`${context}: ${shown(file)} is outside the project (${places[1].from}); a component is built from the files under its package.json's folder`);
  }
  return place;
}

function stagedPath(file, places) {
  const place = placeOf(file, places);
  return join(place.to, relative(place.from, file));
}

function relativeSpecifier(fromFile, toFile) {
  const rel = relative(dirname(fromFile), toFile).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

function shown(path) {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
