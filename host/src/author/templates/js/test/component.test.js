// Unit tests of the {{name}} component, in plain node: `npm test`.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeInput } from 'wasmchart-component';
import { render } from '../src/component.js';

const chart = { name: '{{name}}', version: '0.1.0', appVersion: '0.1.0' };
// A release name that cannot contain the chart's name (Helm's fullname would drop it).
const release = { name: '1001', namespace: 'default', revision: 1, isInstall: true, isUpgrade: false };

test('renders the message into a ConfigMap', () => {
  const out = render(makeInput({ message: 'hi' }, { chart, release }));
  assert.equal(out.tag, 'ok', JSON.stringify(out.val));
  assert.equal(out.val.manifests.length, 1);
  const cm = JSON.parse(out.val.manifests[0].content);
  assert.equal(cm.kind, 'ConfigMap');
  assert.equal(cm.metadata.name, '1001-{{name}}');
  assert.equal(cm.data.message, 'hi');
});

test('a message of the wrong type names the key', () => {
  const out = render(makeInput({ message: 3 }, { chart, release }));
  assert.deepEqual(out, { tag: 'err', val: { tag: 'invalid-values', val: "key 'message': expected a non-empty string, found 3" } });
});
