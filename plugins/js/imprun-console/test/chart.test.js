// Unit tests of the console's pure renderer (no WebAssembly needed).
// Run from plugins/js: node --test

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from '../src/chart.js';
import { InvalidValues, Unsupported } from '../src/values.js';

function input(values, extra = {}) {
  return {
    valuesJson: JSON.stringify(values),
    release: { name: 'imprun', namespace: 'imprun-system', revision: 1, isInstall: true, isUpgrade: false },
    chart: { name: 'imprun-console', version: '0.1.0', appVersion: '1.0.0' },
    capabilities: { kubeVersion: 'v1.31.0', apiVersions: ['apps/v1', 'networking.k8s.io/v1', 'v1'] },
    secrets: [],
    certificates: [],
    ...extra,
  };
}

// The rendered objects by kind; a kind rendered twice fails the test
// instead of one object silently hiding the other.
function objects(values, extra, logs = []) {
  const out = render(input(values, extra), (level, message) => logs.push([level, message]));
  const byKind = {};
  for (const { object } of out.manifests) {
    assert.ok(!(object.kind in byKind), `${object.kind} rendered twice`);
    byKind[object.kind] = object;
  }
  return byKind;
}

test('defaults give a Deployment and a Service, no Ingress', () => {
  const objs = objects({});
  assert.deepEqual(Object.keys(objs).sort(), ['Deployment', 'Service']);
  const pod = objs.Deployment.spec.template.spec;
  assert.equal(objs.Deployment.metadata.name, 'imprun-imprun-console');
  assert.equal(pod.containers[0].image, 'junsik/imprun-console:1.0.0');
  assert.equal(pod.containers[0].ports[0].containerPort, 3000);
  assert.deepEqual(objs.Service.spec.ports[0], { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' });
  assert.deepEqual(objs.Service.spec.selector, objs.Deployment.spec.selector.matchLabels);
});

test('ingress takes TLS from the certificate covering its host', () => {
  const certificates = [
    { id: 'api', secretName: 'api-tls', dnsNames: ['api.imprun.dev'] },
    { id: 'wild', secretName: 'wild-tls', dnsNames: ['*.imprun.dev'] },
  ];
  const objs = objects({ ingress: { enabled: true, host: 'portal.imprun.dev', className: 'nginx' } }, { certificates });
  assert.deepEqual(objs.Ingress.spec.tls, [{ hosts: ['portal.imprun.dev'], secretName: 'wild-tls' }]);
  assert.equal(objs.Ingress.spec.ingressClassName, 'nginx');
  assert.equal(objs.Ingress.spec.rules[0].http.paths[0].backend.service.name, 'imprun-imprun-console');
});

test('ingress falls back to ingress.tls.secretName, then to no TLS with a warning', () => {
  let objs = objects({ ingress: { enabled: true, host: 'c.example.com', tls: { secretName: 'own-tls' } } });
  assert.deepEqual(objs.Ingress.spec.tls, [{ hosts: ['c.example.com'], secretName: 'own-tls' }]);
  const logs = [];
  objs = objects({ global: { domain: 'staging.imprun.dev' }, ingress: { enabled: true } }, {}, logs);
  assert.equal(objs.Ingress.spec.rules[0].host, 'console.staging.imprun.dev');
  assert.equal(objs.Ingress.spec.tls, undefined);
  assert.equal(logs[0][0], 'warn');
});

test('global registry, digest and pull secrets', () => {
  const pod = objects({
    global: { imageRegistry: 'reg.example', imagePullSecrets: ['a'] },
    imagePullSecrets: [{ name: 'b' }, 'a'],
    image: { digest: 'sha256:abc', pullPolicy: 'Always' },
  }).Deployment.spec.template.spec;
  assert.equal(pod.containers[0].image, 'reg.example/junsik/imprun-console@sha256:abc');
  assert.equal(pod.containers[0].imagePullPolicy, 'Always');
  assert.deepEqual(pod.imagePullSecrets, [{ name: 'a' }, { name: 'b' }]);
});

test('bad values name the key', () => {
  const cases = [
    [{ replicaCount: '2' }, 'replicaCount'],
    [{ containerPort: 0 }, 'containerPort'],
    [{ service: { type: 'Internal' } }, 'service.type'],
    [{ service: { nodePort: 30001 } }, 'service.nodePort'],
    [{ service: { type: 'NodePort', nodePort: 80 } }, 'service.nodePort'],
    [{ ingress: { enabled: true } }, 'ingress.host'],
    [{ ingress: { enabled: true, host: 'Bad_Host' } }, 'ingress.host'],
    [{ ingress: { enabled: true, host: 'a.b', pathType: 'Glob' } }, 'ingress.pathType'],
    [{ ingress: { enabled: 'yes' } }, 'ingress.enabled'],
    [{ env: { 'BAD NAME': 'x' } }, 'env.BAD NAME'],
    [{ env: { A: { nested: 1 } } }, 'env.A'],
    [{ imagePullSecrets: [3] }, 'imagePullSecrets[0]'],
  ];
  for (const [values, key] of cases) {
    assert.throws(() => objects(values), (e) => e instanceof InvalidValues && e.key === key && e.message.includes(`'${key}'`), key);
  }
});

test('an Ingress on a cluster without networking.k8s.io/v1 is unsupported', () => {
  const capabilities = { kubeVersion: 'v1.18.0', apiVersions: ['apps/v1', 'v1'] };
  assert.throws(() => objects({ ingress: { enabled: true, host: 'a.b' } }, { capabilities }), Unsupported);
});

test('output is deterministic and env is sorted', () => {
  const values = { env: { B: 2, A: true }, podAnnotations: { z: '1', a: '2' } };
  const a = JSON.stringify(render(input(values), () => {}));
  assert.equal(a, JSON.stringify(render(input(values), () => {})));
  const env = objects(values).Deployment.spec.template.spec.containers[0].env;
  assert.deepEqual(env, [{ name: 'A', value: 'true' }, { name: 'B', value: '2' }]);
});
