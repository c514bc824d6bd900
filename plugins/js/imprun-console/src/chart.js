// The imprun web console: Deployment, Service and, when enabled, an Ingress.
//
// `render(input, log)` is pure: it reads only its input and returns plain
// objects, so it runs the same inside the component and under node's test
// runner. component.js wires it to the WIT world.

import { InvalidValues, Unsupported, Values } from './values.js';
import {
  fullname,
  pullSecrets,
  resolveImage,
  selectorLabels,
  sortKeys,
  standardLabels,
} from './k8s.js';

const COMPONENT = 'console';
const DEFAULT_REPOSITORY = 'junsik/imprun-console';
const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'];
const PATH_TYPES = ['Exact', 'Prefix', 'ImplementationSpecific'];
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const DNS_NAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Renders the console's objects: `{ manifests: [{source, object}], notes }`. */
export function render(input, log) {
  const values = Values.parse(input.valuesJson);
  const ctx = {
    input,
    values,
    log,
    name: fullname(input, values),
    labels: standardLabels(input, values, COMPONENT),
    selector: selectorLabels(input, values),
  };
  const manifests = [
    { source: 'templates/deployment.yaml', object: deployment(ctx) },
    { source: 'templates/service.yaml', object: service(ctx) },
  ];
  const ingressObject = ingress(ctx);
  if (ingressObject) manifests.push({ source: 'templates/ingress.yaml', object: ingressObject });
  return { manifests, notes: notes(ctx, ingressObject) };
}

// Sets `object[key]` only for a non-empty map, as Helm's `with` does.
function setMap(object, key, map) {
  if (Object.keys(map).length > 0) object[key] = map;
}

function metadata(ctx, annotations) {
  const meta = { name: ctx.name, labels: ctx.labels };
  if (annotations && Object.keys(annotations).length > 0) meta.annotations = annotations;
  return meta;
}

function deployment(ctx) {
  const { values } = ctx;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(ctx),
    spec: {
      replicas: values.intIn('replicaCount', 0, 1000, 1),
      selector: { matchLabels: ctx.selector },
      template: podTemplate(ctx),
    },
  };
}

function podTemplate(ctx) {
  const { values } = ctx;
  const meta = { labels: sortKeys({ ...values.stringMap('podLabels'), ...ctx.labels }) };
  const annotations = values.stringMap('podAnnotations');
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  const spec = { automountServiceAccountToken: false };
  const secrets = pullSecrets(values);
  if (secrets.length > 0) spec.imagePullSecrets = secrets;
  setMap(spec, 'securityContext', values.mapOr('podSecurityContext', {}));
  spec.containers = [container(ctx)];
  spec.volumes = [{ name: 'tmp', emptyDir: {} }];
  setMap(spec, 'nodeSelector', values.mapOr('nodeSelector', {}));
  setMap(spec, 'affinity', values.mapOr('affinity', {}));
  const tolerations = values.listOr('tolerations', []);
  if (tolerations.length > 0) spec.tolerations = tolerations;
  return { metadata: meta, spec };
}

function container(ctx) {
  const { input, values } = ctx;
  const image = resolveImage(input, values, DEFAULT_REPOSITORY);
  const out = {
    name: 'console',
    image: image.reference,
    imagePullPolicy: image.pullPolicy,
    ports: [{ name: 'http', containerPort: values.portOr('containerPort', 3000), protocol: 'TCP' }],
  };
  const env = envVars(values);
  if (env.length > 0) out.env = env;
  for (const kind of ['livenessProbe', 'readinessProbe']) {
    const p = probe(values, kind);
    if (p) out[kind] = p;
  }
  setMap(out, 'resources', values.mapOr('resources', {}));
  setMap(out, 'securityContext', values.mapOr('securityContext', {}));
  out.volumeMounts = [{ name: 'tmp', mountPath: '/tmp' }];
  return out;
}

function envVars(values) {
  const env = values.stringMap('env');
  return Object.keys(env).map((name) => {
    if (!ENV_NAME.test(name)) {
      throw new InvalidValues(`env.${name}`, `"${name}" is not a valid environment variable name`);
    }
    return { name, value: env[name] };
  });
}

function probe(values, kind) {
  if (!values.boolOr(`${kind}.enabled`, true)) return undefined;
  const path = values.strOr(`${kind}.path`, '/');
  if (!path.startsWith('/')) throw new InvalidValues(`${kind}.path`, `"${path}" must start with '/'`);
  return {
    httpGet: { path, port: 'http' },
    initialDelaySeconds: values.intIn(`${kind}.initialDelaySeconds`, 0, 3600, 5),
    periodSeconds: values.intIn(`${kind}.periodSeconds`, 1, 3600, 10),
    timeoutSeconds: values.intIn(`${kind}.timeoutSeconds`, 1, 3600, 3),
    failureThreshold: values.intIn(`${kind}.failureThreshold`, 1, 100, 3),
  };
}

function service(ctx) {
  const { values } = ctx;
  const type = values.oneOf('service.type', SERVICE_TYPES, 'ClusterIP');
  const port = { name: 'http', port: values.portOr('service.port', 80), targetPort: 'http', protocol: 'TCP' };
  const nodePort = values.optInt('service.nodePort');
  if (nodePort !== undefined) {
    if (type === 'ClusterIP') {
      throw new InvalidValues('service.nodePort', 'is set but service.type is ClusterIP; use NodePort or LoadBalancer');
    }
    port.nodePort = values.intIn('service.nodePort', 30000, 32767, nodePort);
  }
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(ctx, values.stringMap('service.annotations')),
    spec: { type, selector: ctx.selector, ports: [port] },
  };
}

function ingressHost(values) {
  const host = values.nonEmptyStr('ingress.host');
  if (host !== undefined) return host;
  const domain = values.nonEmptyStr('global.domain');
  if (domain === undefined) {
    throw new InvalidValues('ingress.host', 'is required when ingress.enabled is true and global.domain is not set');
  }
  return `console.${domain}`;
}

function ingress(ctx) {
  const { input, values } = ctx;
  if (!values.boolOr('ingress.enabled', false)) return undefined;
  const apis = input.capabilities.apiVersions;
  if (apis.length > 0 && !apis.includes('networking.k8s.io/v1')) {
    throw new Unsupported(`the cluster (${input.capabilities.kubeVersion}) does not serve networking.k8s.io/v1, needed for the Ingress`);
  }
  const host = ingressHost(values);
  if (!DNS_NAME.test(host)) throw new InvalidValues('ingress.host', `"${host}" is not a valid DNS name`);
  const path = values.strOr('ingress.path', '/');
  if (!path.startsWith('/')) throw new InvalidValues('ingress.path', `"${path}" must start with '/'`);
  const spec = {};
  const className = values.nonEmptyStr('ingress.className');
  if (className !== undefined) spec.ingressClassName = className;
  const secretName = tlsSecret(ctx, host);
  if (secretName !== undefined) spec.tls = [{ hosts: [host], secretName }];
  spec.rules = [{
    host,
    http: {
      paths: [{
        path,
        pathType: values.oneOf('ingress.pathType', PATH_TYPES, 'Prefix'),
        backend: { service: { name: ctx.name, port: { name: 'http' } } },
      }],
    },
  }];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: metadata(ctx, values.stringMap('ingress.annotations')),
    spec,
  };
}

function covers(dnsName, host) {
  if (dnsName === host) return true;
  if (!dnsName.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot + 1) === dnsName.slice(2);
}

/**
 * The Secret holding the Ingress's key pair: the host-managed certificate
 * covering the host (else the first one passed), else `ingress.tls.secretName`.
 */
function tlsSecret(ctx, host) {
  const { input, values, log } = ctx;
  if (!values.boolOr('ingress.tls.enabled', true)) return undefined;
  const certs = input.certificates;
  if (certs.length > 0) {
    const match = certs.find((c) => c.dnsNames.some((d) => covers(d, host)));
    if (match) return match.secretName;
    log('warn', `no certificate in usesCertificates covers "${host}"; using "${certs[0].id}"`);
    return certs[0].secretName;
  }
  const secretName = values.nonEmptyStr('ingress.tls.secretName');
  if (secretName === undefined) {
    log('warn', 'ingress.tls.enabled is true but no certificate is used and ingress.tls.secretName is empty; the Ingress has no TLS');
  }
  return secretName;
}

function notes(ctx, ingressObject) {
  if (ingressObject) {
    const rule = ingressObject.spec.rules[0];
    const scheme = ingressObject.spec.tls ? 'https' : 'http';
    return `The imprun console is served at ${scheme}://${rule.host}${rule.http.paths[0].path}\n`;
  }
  const port = ctx.values.portOr('service.port', 80);
  return `The imprun console is reachable in the cluster at http://${ctx.name}:${port}; `
    + `try: kubectl port-forward svc/${ctx.name} 8080:${port}\n`;
}
