// Helm's naming conventions (the `fullname` and standard labels of
// `helm create`), for the objects this component renders.

/** `<release>-<chart>`, or the release alone when it contains the chart name; at most 63 characters. */
export function fullname({ values, release, chart }) {
  if (typeof values.fullnameOverride === 'string' && values.fullnameOverride !== '') {
    return trunc63(values.fullnameOverride);
  }
  const name = typeof values.nameOverride === 'string' && values.nameOverride !== '' ? values.nameOverride : chart.name;
  return trunc63(release.name.includes(name) ? release.name : `${release.name}-${name}`);
}

/** The standard labels: name, instance, version and helm.sh/chart. */
export function labels({ values, release, chart }) {
  const name = typeof values.nameOverride === 'string' && values.nameOverride !== '' ? values.nameOverride : chart.name;
  const out = {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/instance': release.name,
    'helm.sh/chart': labelValue(`${chart.name}-${chart.version}`.replaceAll('+', '_')),
  };
  if (chart.appVersion) out['app.kubernetes.io/version'] = labelValue(chart.appVersion);
  return out;
}

function trunc63(text) {
  return text.slice(0, 63).replace(/-+$/, '');
}

function labelValue(text) {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
