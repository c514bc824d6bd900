// Naming, labels and image helpers shared by the console's objects. They
// follow the same rules as the Rust SDK (plugins/sdk) so that every
// component of an umbrella names and labels its objects alike.

import { InvalidValues } from './values.js';

export const NAME = 'app.kubernetes.io/name';
export const INSTANCE = 'app.kubernetes.io/instance';
export const VERSION = 'app.kubernetes.io/version';
export const COMPONENT = 'app.kubernetes.io/component';
export const HELM_CHART = 'helm.sh/chart';

const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

/** Kubernetes names are at most 63 characters; Helm trims a trailing '-'. */
export function trunc63(name) {
  return Array.from(name).slice(0, 63).join('').replace(/-+$/, '');
}

/** The chart name honouring `nameOverride` (Helm's `<chart>.name`). */
export function chartName(input, values) {
  return trunc63(values.nonEmptyStr('nameOverride') ?? input.chart.name);
}

/** Helm's `<chart>.fullname`. */
export function fullname(input, values) {
  const override = values.nonEmptyStr('fullnameOverride');
  if (override !== undefined) return trunc63(override);
  const name = chartName(input, values);
  const release = input.release.name;
  return trunc63(release.includes(name) ? release : `${release}-${name}`);
}

/** Makes text a valid label value. */
export function labelValue(text) {
  const cleaned = Array.from(text)
    .map((c) => (/[A-Za-z0-9._-]/.test(c) ? c : '_'))
    .slice(0, 63)
    .join('');
  return cleaned.replace(/^[^A-Za-z0-9]+/, '').replace(/[^A-Za-z0-9]+$/, '');
}

/** Selector labels: stable for the life of a workload. */
export function selectorLabels(input, values) {
  return { [NAME]: chartName(input, values), [INSTANCE]: input.release.name };
}

/** Standard labels: commonLabels, selector labels, version, chart and component. */
export function standardLabels(input, values, component) {
  const labels = { ...values.stringMap('commonLabels'), ...selectorLabels(input, values) };
  if (input.chart.appVersion) labels[VERSION] = labelValue(input.chart.appVersion);
  labels[HELM_CHART] = labelValue(`${input.chart.name}-${input.chart.version}`.replace(/\+/g, '_'));
  labels[COMPONENT] = component;
  return sortKeys(labels);
}

/** A copy of a flat object with its keys sorted (stable output). */
export function sortKeys(object) {
  const out = {};
  for (const key of Object.keys(object).sort()) out[key] = object[key];
  return out;
}

/**
 * The container image from `image.*`: `global.imageRegistry` wins over
 * `image.registry`; `image.digest` wins over `image.tag`; an empty tag means
 * the chart's appVersion.
 */
export function resolveImage(input, values, defaultRepository) {
  const repository = values.nonEmptyStr('image.repository') ?? defaultRepository;
  const registry = values.nonEmptyStr('global.imageRegistry') ?? values.nonEmptyStr('image.registry');
  const tag = values.scalarOr('image.tag', '') || input.chart.appVersion || '';
  let reference = registry ? `${registry.replace(/\/+$/, '')}/${repository}` : repository;
  const digest = values.nonEmptyStr('image.digest');
  if (digest !== undefined) reference = `${reference}@${digest}`;
  else if (tag !== '') reference = `${reference}:${tag}`;
  const pullPolicy = values.strOr('image.pullPolicy', 'IfNotPresent');
  if (!PULL_POLICIES.includes(pullPolicy)) {
    throw new InvalidValues('image.pullPolicy', `"${pullPolicy}" is not one of ${PULL_POLICIES.join(', ')}`);
  }
  return { reference, pullPolicy };
}

/** `global.imagePullSecrets` then `imagePullSecrets`, names or {name}, without duplicates. */
export function pullSecrets(values) {
  const names = [];
  for (const path of ['global.imagePullSecrets', 'imagePullSecrets']) {
    (values.optList(path) || []).forEach((item, i) => {
      let name;
      if (typeof item === 'string') name = item;
      else if (item !== null && typeof item === 'object' && typeof item.name === 'string') name = item.name;
      else throw new InvalidValues(`${path}[${i}]`, 'expected a name or a map with a string \'name\'');
      if (name !== '' && !names.includes(name)) names.push(name);
    });
  }
  return names.map((name) => ({ name }));
}
