// wasmchart-component: write a wasmchart subchart component in JavaScript.
//
//   import { defineRender, invalidValues } from 'wasmchart-component';
//   export const render = defineRender(({ values, release }) => {
//     if (typeof values.replicas !== 'number') throw invalidValues('replicas: expected a number');
//     return { manifests: [{ source: 'templates/deployment.yaml', content: { apiVersion: 'apps/v1', ... } }] };
//   });
//
// Without this wrapper, a thrown Error, a misspelled render-error tag or a
// wrongly shaped return value fails inside the generated bindings, and the
// host can only report "wasm unreachable instruction executed". With it,
// every failure becomes a `render-error` carrying the real message, the
// field at fault and the stack. Pure JavaScript: unit tests call the
// wrapped `render` in node directly.

const TAGS = ['invalid-values', 'unsupported', 'failed'];

/** Stack frames kept in a `failed` message (the host caps messages at 4 KiB). */
const MAX_FRAMES = 8;

/**
 * A failure the author throws on purpose: `kind` is the WIT `render-error`
 * case (`invalid-values`, `unsupported` or `failed`).
 */
export class RenderError extends Error {
  constructor(kind, message) {
    super(message);
    this.name = 'RenderError';
    this.kind = kind;
  }
}

/** The values are wrong for this component; say which key and why. */
export function invalidValues(message) {
  return new RenderError('invalid-values', String(message));
}

/** The request cannot be met (e.g. the cluster lacks an API). */
export function unsupported(message) {
  return new RenderError('unsupported', String(message));
}

/** Any other failure, with a message of your own. */
export function failed(message) {
  return new RenderError('failed', String(message));
}

// Where `log` lines go: the host's `log` import inside a component (set by
// the entry module wasmchart-build-js generates), stderr in node.
let sink = (level, message) => console.error(`[${level}] ${message}`);

/**
 * Sends one log line to the user through the host. `level` is one of
 * trace, debug, info, warn, error; the host shows warn and above by
 * default (`-v` shows all).
 */
export function log(level, message) {
  const lvl = ['trace', 'debug', 'info', 'warn', 'error'].includes(level) ? level : 'info';
  sink(lvl, String(message));
}

/**
 * Routes `log` to `fn(level, message)`. wasmchart-build-js calls it with the
 * WIT `log` import; unit tests may call it to capture log lines.
 */
export function setLogSink(fn) {
  sink = fn;
}

/**
 * Wraps the author's `fn(input)` into the exported `render`.
 *
 * `input` is the WIT `render-input` (camelCase fields: `valuesJson`,
 * `release`, `chart`, `capabilities`, `secrets`, `certificates`) plus
 * `values`, the parsed `valuesJson`. `fn` returns (or resolves to)
 * `{ manifests: [{ source, content }], notes? }` where `content` is YAML or
 * JSON text, or a plain object (serialised with `JSON.stringify`). It
 * fails by throwing: `invalidValues(...)`, `unsupported(...)`, `failed(...)`,
 * or anything else, which becomes `failed` with its message and stack.
 *
 * The returned function gives the bindings' result form: `{ tag: 'ok', val }`
 * or `{ tag: 'err', val: { tag, val } }` (a Promise of it when `fn` is async).
 */
export function defineRender(fn) {
  if (typeof fn !== 'function') {
    throw new TypeError(`defineRender: expected a function, found ${describe(fn)}`);
  }
  return function render(input) {
    let returned;
    try {
      returned = fn(withValues(input));
    } catch (e) {
      return { tag: 'err', val: toRenderError(e) };
    }
    if (returned && typeof returned.then === 'function') {
      return Promise.resolve(returned).then(settle, (e) => ({ tag: 'err', val: toRenderError(e) }));
    }
    return settle(returned);
  };
}

/** The input with `values` parsed from `valuesJson`. */
function withValues(input) {
  if (input === null || typeof input !== 'object') {
    throw invalidValues(`render input: expected an object, found ${describe(input)}`);
  }
  let values;
  try {
    values = JSON.parse(input.valuesJson ?? '{}');
  } catch (e) {
    throw invalidValues(`valuesJson is not valid JSON: ${e.message}`);
  }
  return { ...input, values: values ?? {} };
}

/** The bindings' result for what `fn` returned. */
function settle(returned) {
  try {
    return { tag: 'ok', val: checkOutput(returned) };
  } catch (e) {
    return { tag: 'err', val: toRenderError(e) };
  }
}

/**
 * Checks the shape of a render output and returns it with every `content`
 * as text; a mistake throws `failed` naming the field.
 */
export function checkOutput(out) {
  if (out === null || typeof out !== 'object' || Array.isArray(out)) {
    throw failed(`render returned ${describe(out)}: expected an object { manifests: [...], notes? }`);
  }
  if (!('manifests' in out)) {
    const keys = Object.keys(out).join(', ') || 'no keys';
    throw failed(`render returned an object without 'manifests' (it has ${keys}): expected { manifests: [...], notes? }`);
  }
  if (!Array.isArray(out.manifests)) {
    throw failed(`manifests: expected an array, found ${describe(out.manifests)}`);
  }
  const manifests = out.manifests.map((m, i) => checkManifest(m, `manifests[${i}]`));
  if (out.notes !== undefined && out.notes !== null && typeof out.notes !== 'string') {
    throw failed(`notes: expected a string, found ${describe(out.notes)}`);
  }
  return { manifests, notes: out.notes ?? undefined };
}

function checkManifest(m, at) {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    throw failed(`${at}: expected an object { source, content }, found ${describe(m)}`);
  }
  if (typeof m.source !== 'string' || m.source === '') {
    throw failed(`${at}.source: expected a non-empty string (e.g. 'templates/deployment.yaml'), found ${describe(m.source)}`);
  }
  if (typeof m.content === 'string') {
    return { source: m.source, content: m.content };
  }
  if (isPlainObject(m.content)) {
    return { source: m.source, content: JSON.stringify(m.content) };
  }
  throw failed(`${at}.content: expected a string (YAML or JSON text) or a plain object, found ${describe(m.content)}`);
}

/**
 * The WIT `render-error` for anything thrown: a `RenderError` keeps its case,
 * a raw `{ tag, val }` is checked, anything else becomes `failed` with its
 * type, message and stack.
 */
export function toRenderError(e) {
  if (e instanceof RenderError && TAGS.includes(e.kind)) {
    return { tag: e.kind, val: e.message };
  }
  if (e !== null && typeof e === 'object' && !(e instanceof Error) && 'tag' in e) {
    if (TAGS.includes(e.tag) && typeof e.val === 'string') {
      return { tag: e.tag, val: e.val };
    }
    if (!TAGS.includes(e.tag)) {
      return {
        tag: 'failed',
        val: `render-error tag ${JSON.stringify(e.tag)} is not one of ${TAGS.join(', ')} (message: ${describeValue(e.val)})`,
      };
    }
    return { tag: 'failed', val: `render-error '${e.tag}': expected a string message, found ${describe(e.val)}` };
  }
  if (e instanceof Error) {
    return { tag: 'failed', val: errorText(e) };
  }
  return { tag: 'failed', val: `render threw ${describe(e)}, not an Error: ${describeValue(e)}` };
}

/** "TypeError: message (at f@file:1:2; g@file:3:4)": one readable paragraph. */
function errorText(e) {
  const head = `${e.name || 'Error'}: ${e.message}`;
  const frames = String(e.stack ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith(head) && !isPlumbing(l))
    .map((l) => l.replace(/^at /, ''))
    .slice(0, MAX_FRAMES);
  return frames.length > 0 ? `${head} (at ${frames.join('; ')})` : head;
}

// Frames of this wrapper, the generated bindings and node's test runner:
// noise in the author's stack.
function isPlumbing(frame) {
  return /wasmchart-component\/src\/index\.js|lib\/src\/index\.js|initializer\.js|node:internal|\(node:/.test(frame);
}

function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** "a string", "an array", "null", "an object of class Map"... */
export function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null && proto?.constructor?.name) {
      return `an object of class ${proto.constructor.name}`;
    }
    return 'an object';
  }
  return /^[aeiou]/.test(typeof v) ? `an ${typeof v}` : `a ${typeof v}`;
}

function describeValue(v) {
  if (typeof v === 'string') return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * A render input for unit tests, shaped like the one the host passes:
 * `values` becomes `valuesJson`; `overrides` replaces whole fields
 * (`release`, `chart`, `capabilities`, `secrets`, `certificates`).
 */
export function makeInput(values = {}, overrides = {}) {
  return {
    valuesJson: JSON.stringify(values),
    release: { name: 'release', namespace: 'default', revision: 1, isInstall: true, isUpgrade: false },
    chart: { name: 'chart', version: '0.1.0', appVersion: '1.0.0' },
    capabilities: { kubeVersion: 'v1.31.0', apiVersions: ['apps/v1', 'v1'] },
    secrets: [],
    certificates: [],
    ...overrides,
  };
}
