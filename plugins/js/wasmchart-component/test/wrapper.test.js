// Unit tests of the render wrapper: every failure the issue lists becomes a
// render-error with its real message. Run: node --test (from this folder).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineRender, failed, invalidValues, setLogSink, unsupported, log } from '../src/index.js';

function input(values) {
  return {
    valuesJson: JSON.stringify(values),
    release: { name: 'demo', namespace: 'ns', revision: 1, isInstall: true, isUpgrade: false },
    chart: { name: 'web', version: '0.1.0', appVersion: '1.0.0' },
    capabilities: { kubeVersion: 'v1.31.0', apiVersions: ['v1'] },
    secrets: [],
    certificates: [],
  };
}

const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } };

function err(fn, values = {}) {
  const out = defineRender(fn)(input(values));
  assert.equal(out.tag, 'err', `expected an error, got ${JSON.stringify(out)}`);
  return out.val;
}

test('values are parsed and a good output passes, objects serialised', () => {
  const out = defineRender(({ values, release }) => ({
    manifests: [
      { source: 'templates/a.yaml', content: { ...cm, data: { n: String(values.n) } } },
      { source: 'templates/b.yaml', content: 'kind: ConfigMap' },
    ],
    notes: `hello ${release.name}`,
  }))(input({ n: 3 }));
  assert.deepEqual(out, {
    tag: 'ok',
    val: {
      manifests: [
        { source: 'templates/a.yaml', content: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"n":"3"}}' },
        { source: 'templates/b.yaml', content: 'kind: ConfigMap' },
      ],
      notes: 'hello demo',
    },
  });
});

test('a thrown Error becomes failed with its message and stack', () => {
  const e = err(function renderDb() {
    throw new Error('the database section is missing');
  });
  assert.equal(e.tag, 'failed');
  assert.match(e.val, /^Error: the database section is missing \(at /);
  assert.match(e.val, /renderDb/);
  assert.match(e.val, /wrapper\.test\.js:\d+/);
  assert.doesNotMatch(e.val, /src\/index\.js/, 'the wrapper frames are left out');
});

test('a TypeError keeps its type and message', () => {
  const e = err(({ values }) => values.missing.field);
  assert.equal(e.tag, 'failed');
  assert.match(e.val, /^TypeError: Cannot read properties of undefined \(reading 'field'\)/);
});

test('thrown strings and plain objects are reported as such', () => {
  assert.deepEqual(err(() => {
    throw 'boom';
  }), { tag: 'failed', val: 'render threw a string, not an Error: "boom"' });
  assert.deepEqual(err(() => {
    throw 42;
  }), { tag: 'failed', val: 'render threw a number, not an Error: 42' });
  assert.deepEqual(err(() => {
    throw undefined;
  }), { tag: 'failed', val: 'render threw undefined, not an Error: undefined' });
});

test('helpers choose the render-error case', () => {
  assert.deepEqual(err(() => {
    throw invalidValues('replicas: expected a number');
  }), { tag: 'invalid-values', val: 'replicas: expected a number' });
  assert.deepEqual(err(() => {
    throw unsupported('no networking.k8s.io/v1');
  }), { tag: 'unsupported', val: 'no networking.k8s.io/v1' });
  assert.deepEqual(err(() => {
    throw failed('upstream');
  }), { tag: 'failed', val: 'upstream' });
});

test('a raw render-error passes; a misspelled tag is named', () => {
  assert.deepEqual(err(() => {
    throw { tag: 'unsupported', val: 'old cluster' };
  }), { tag: 'unsupported', val: 'old cluster' });
  assert.deepEqual(err(() => {
    throw { tag: 'invalid-value', val: 'replicas must be positive' };
  }), {
    tag: 'failed',
    val: 'render-error tag "invalid-value" is not one of invalid-values, unsupported, failed (message: "replicas must be positive")',
  });
  assert.deepEqual(err(() => {
    throw { tag: 'failed', val: { why: 1 } };
  }), { tag: 'failed', val: "render-error 'failed': expected a string message, found an object" });
});

test('return shape mistakes name the field', () => {
  const cases = [
    [undefined, "render returned undefined: expected an object { manifests: [...], notes? }"],
    [[], 'render returned an array: expected an object { manifests: [...], notes? }'],
    [{ objects: [] }, "render returned an object without 'manifests' (it has objects): expected { manifests: [...], notes? }"],
    [{ manifests: {} }, 'manifests: expected an array, found an object'],
    [{ manifests: [null] }, 'manifests[0]: expected an object { source, content }, found null'],
    [{ manifests: [{ content: 'x' }] }, "manifests[0].source: expected a non-empty string (e.g. 'templates/deployment.yaml'), found undefined"],
    [
      { manifests: [{ source: 'a', content: 'x' }, { source: 'b', content: 'y' }, { source: 'c', content: [cm] }] },
      'manifests[2].content: expected a string (YAML or JSON text) or a plain object, found an array',
    ],
    [{ manifests: [{ source: 'a', content: 42 }] }, 'manifests[0].content: expected a string (YAML or JSON text) or a plain object, found a number'],
    [{ manifests: [{ source: 'a', content: new Map() }] }, 'manifests[0].content: expected a string (YAML or JSON text) or a plain object, found an object of class Map'],
    [{ manifests: [], notes: 7 }, 'notes: expected a string, found a number'],
  ];
  for (const [returned, message] of cases) {
    assert.deepEqual(err(() => returned), { tag: 'failed', val: message }, JSON.stringify(returned));
  }
});

test('invalid valuesJson is invalid-values', () => {
  const out = defineRender(() => ({ manifests: [] }))({ ...input({}), valuesJson: '{nope' });
  assert.equal(out.tag, 'err');
  assert.equal(out.val.tag, 'invalid-values');
  assert.match(out.val.val, /^valuesJson is not valid JSON: /);
});

test('async render functions resolve and reject the same way', async () => {
  const ok = await defineRender(async () => ({ manifests: [{ source: 's', content: cm }] }))(input({}));
  assert.equal(ok.tag, 'ok');
  const bad = await defineRender(async () => {
    throw new RangeError('too many');
  })(input({}));
  assert.equal(bad.tag, 'err');
  assert.match(bad.val.val, /^RangeError: too many/);
});

test('log goes to the sink', () => {
  const lines = [];
  setLogSink((level, message) => lines.push([level, message]));
  try {
    defineRender(() => {
      log('warn', 'careful');
      log('bogus', 42);
      return { manifests: [] };
    })(input({}));
  } finally {
    setLogSink((level, message) => console.error(`[${level}] ${message}`));
  }
  assert.deepEqual(lines, [['warn', 'careful'], ['info', '42']]);
});

test('defineRender refuses a non-function', () => {
  assert.throws(() => defineRender({}), /defineRender: expected a function, found an object/);
});
