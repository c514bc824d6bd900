// Tests of wasmchart-build-js's staging and argument parsing (no
// componentize: that is exercised by scripts/build-components.sh and the
// host's guest_errors tests), and of the bundled WIT.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../src/build.js';
import { PACKAGE_ROOT, stageComponent } from '../src/stage.js';

const here = dirname(fileURLToPath(import.meta.url));

function project(files) {
  const dir = mkdtempSync(join(tmpdir(), 'wcb-test-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test('the bundled WIT is byte-identical to the repository one', (t) => {
  const repoWit = join(here, '..', '..', '..', '..', 'wit', 'chart.wit');
  if (!existsSync(repoWit)) {
    t.skip('not inside the wasmchart repository');
    return;
  }
  assert.ok(readFileSync(join(PACKAGE_ROOT, 'wit', 'chart.wit')).equals(readFileSync(repoWit)),
    'wit/chart.wit differs from the repository copy: cp ../../../wit/chart.wit wit/');
});

test('relative and helper imports are staged and rewritten', async () => {
  const dir = project({
    'package.json': '{}',
    'src/component.js': "import { defineRender } from 'wasmchart-component';\nimport { cm } from './lib/objects.js';\nexport const render = defineRender(() => ({ manifests: [cm()] }));\n",
    'src/lib/objects.js': "import { log } from 'wasmchart:chart/log@0.1.0';\nexport const cm = () => ({ source: 's', content: '{}' });\nexport const later = () => import('wasmchart-component');\n",
  });
  const stage = mkdtempSync(join(tmpdir(), 'wcb-stage-'));
  try {
    const entry = await stageComponent(join(dir, 'src', 'component.js'), stage);
    const entryText = readFileSync(entry, 'utf8');
    assert.match(entryText, /import \{ log \} from 'wasmchart:chart\/log@0\.1\.0';/);
    assert.match(entryText, /import \{ setLogSink \} from '\.\/lib\/src\/index\.js';/);
    assert.match(entryText, /export \{ render \} from '\.\/app\/src\/component\.js';/);
    const comp = readFileSync(join(stage, 'app', 'src', 'component.js'), 'utf8');
    assert.match(comp, /from '\.\.\/\.\.\/lib\/src\/index\.js'/);
    assert.match(comp, /from '\.\/lib\/objects\.js'/);
    const objects = readFileSync(join(stage, 'app', 'src', 'lib', 'objects.js'), 'utf8');
    assert.match(objects, /'wasmchart:chart\/log@0\.1\.0'/);
    assert.match(objects, /import\('\.\.\/\.\.\/\.\.\/lib\/src\/index\.js'\)/, 'a dynamic import keeps its quotes');
    assert.ok(existsSync(join(stage, 'lib', 'src', 'index.js')));
    assert.ok(!existsSync(join(stage, 'app', 'package.json')), 'only the module graph is copied');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(stage, { recursive: true, force: true });
  }
});

async function stageError(files, entry = 'component.js') {
  const dir = project({ 'package.json': '{}', ...files });
  const stage = mkdtempSync(join(tmpdir(), 'wcb-stage-'));
  try {
    await stageComponent(join(dir, entry), stage);
  } catch (e) {
    return e.message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(stage, { recursive: true, force: true });
  }
  assert.fail('staging should have failed');
}

test('unsupported imports are refused naming the file and the import', async () => {
  assert.match(await stageError({ 'component.js': "import _ from 'lodash';\nexport function render() {}\n" }),
    /component\.js imports the package 'lodash': a component can import only relative files, 'wasmchart-component' and the WIT imports/);
  assert.match(await stageError({ 'component.js': "import fs from 'node:fs';\nexport function render() {}\n" }),
    /component\.js imports 'node:fs': node's built-in modules do not exist inside a component/);
  assert.match(await stageError({ 'component.js': "import { a } from './a';\nexport function render() {}\n", 'a.js': 'export const a = 1;' }),
    /component\.js imports '\.\/a', but .*a is not a file \(ES modules need the extension: '\.\/a\.js'\)/);
  assert.match(await stageError({ 'component.js': "export function render() { return {; }\n" }),
    /component\.js: cannot parse it as an ES module: SyntaxError: Unexpected token ';' at line 1$/);
  assert.match(await stageError({ 'component.js': "export function notRender() {}\n" }),
    /component\.js does not export 'render'/);
  assert.match(await stageError({ 'component.js': "const m = 'x'; await import(m);\nexport function render() {}\n" }),
    /a dynamic import\(\) with a computed name cannot be built/);
});

test('imports above the project folder are refused', async () => {
  const outside = mkdtempSync(join(tmpdir(), 'wcb-outside-'));
  writeFileSync(join(outside, 'x.js'), 'export const x = 1;');
  try {
    const message = await stageError({ 'component.js': `import { x } from '${join(outside, 'x.js')}';\nexport function render() {}\n` });
    assert.match(message, /is outside the project/);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test('arguments', () => {
  assert.equal(parseArgs(['c.js', '-o', 'o.wasm']).out.endsWith('o.wasm'), true);
  assert.equal(parseArgs(['--out=o.wasm', 'c.js']).source.endsWith('c.js'), true);
  assert.throws(() => parseArgs(['c.js']), /no output given \(-o OUT\.wasm\)/);
  assert.throws(() => parseArgs(['-o', 'x.wasm']), /no component source given/);
  assert.throws(() => parseArgs(['a.js', 'b.js', '-o', 'x']), /unexpected argument 'b\.js'/);
  assert.throws(() => parseArgs(['a.js', '--bundle']), /unknown option '--bundle'/);
});
