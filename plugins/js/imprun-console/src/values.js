// Typed access to a component's merged values, with errors that name the key.
//
// Values reach the component as JSON text (Helm's `.Values` for this
// subchart, `global` included). Lookups take dotted key paths such as
// "image.tag"; `null` counts as absent, as it does in Helm templates. A value
// of the wrong type is an error naming the key, never a silent default.

/** Values the component cannot use: becomes the `invalid-values` error. */
export class InvalidValues extends Error {
  constructor(path, why) {
    super(`key '${path}': ${why}`);
    this.name = 'InvalidValues';
    this.key = path;
  }
}

/** The cluster lacks something the chart needs: becomes `unsupported`. */
export class Unsupported extends Error {
  constructor(message) {
    super(message);
    this.name = 'Unsupported';
  }
}

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function describe(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return `a boolean (${value})`;
  if (typeof value === 'number') return `a number (${value})`;
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `a string ("${shown}")`;
  }
  return Array.isArray(value) ? 'a list' : 'a map';
}

function wrong(path, expected, found) {
  return new InvalidValues(path, `expected ${expected}, found ${describe(found)}`);
}

/** The merged values of one render. */
export class Values {
  /** Parses the `valuesJson` the host passed; `null` counts as `{}`. */
  static parse(json) {
    let root;
    try {
      root = JSON.parse(json);
    } catch (e) {
      throw new InvalidValues('(root)', `values are not valid JSON: ${e.message}`);
    }
    if (root === null) root = {};
    if (!isMap(root)) throw new InvalidValues('(root)', `values must be a map, found ${describe(root)}`);
    return new Values(root);
  }

  constructor(root) {
    this.root = root;
  }

  /** The value at a dotted path, or `undefined` when absent or null. */
  get(path) {
    let node = this.root;
    for (const key of path.split('.')) {
      if (!isMap(node) || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
      node = node[key];
    }
    return node === null ? undefined : node;
  }

  optStr(path) {
    const v = this.get(path);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw wrong(path, 'a string', v);
    return v;
  }

  strOr(path, fallback) {
    const v = this.optStr(path);
    return v === undefined ? fallback : v;
  }

  /** A non-empty string, or undefined when absent or "" (Helm's `if .Values.x`). */
  nonEmptyStr(path) {
    const v = this.optStr(path);
    return v === undefined || v === '' ? undefined : v;
  }

  /** A scalar as text: strings as they are, numbers and booleans in JSON form. */
  scalarOr(path, fallback) {
    const v = this.get(path);
    if (v === undefined) return fallback;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
    throw wrong(path, 'a string', v);
  }

  boolOr(path, fallback) {
    const v = this.get(path);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw wrong(path, 'a boolean', v);
    return v;
  }

  optInt(path) {
    const v = this.get(path);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw wrong(path, 'an integer', v);
    return v;
  }

  /** An integer within [min, max], or `fallback` when absent. */
  intIn(path, min, max, fallback) {
    const v = this.optInt(path);
    const n = v === undefined ? fallback : v;
    if (n < min || n > max) throw new InvalidValues(path, `${n} is out of range ${min}..=${max}`);
    return n;
  }

  portOr(path, fallback) {
    return this.intIn(path, 1, 65535, fallback);
  }

  /** One of `allowed`, or `fallback` when absent. */
  oneOf(path, allowed, fallback) {
    const v = this.strOr(path, fallback);
    if (!allowed.includes(v)) {
      throw new InvalidValues(path, `"${v}" is not one of ${allowed.join(', ')}`);
    }
    return v;
  }

  optMap(path) {
    const v = this.get(path);
    if (v === undefined) return undefined;
    if (!isMap(v)) throw wrong(path, 'a map', v);
    return v;
  }

  /** A map passed through as is (resources, affinity...); `fallback` when absent. */
  mapOr(path, fallback) {
    const v = this.optMap(path);
    return v === undefined ? fallback : v;
  }

  optList(path) {
    const v = this.get(path);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw wrong(path, 'a list', v);
    return v;
  }

  listOr(path, fallback) {
    const v = this.optList(path);
    return v === undefined ? fallback : v;
  }

  /**
   * A map of strings (labels, annotations, env), sorted by key; numbers and
   * booleans become text, null entries are dropped.
   */
  stringMap(path) {
    const map = this.optMap(path) || {};
    const out = {};
    for (const key of Object.keys(map).sort()) {
      const v = map[key];
      if (v === null) continue;
      if (typeof v === 'string') out[key] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') out[key] = JSON.stringify(v);
      else throw wrong(`${path}.${key}`, 'a string', v);
    }
    return out;
  }
}
