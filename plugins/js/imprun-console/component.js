// Entry point of the imprun-console component (world `subchart` of
// wit/chart.wit). It adapts the pure renderer in src/chart.js to the WIT
// types: manifests become JSON text, thrown errors become `render-error`.

import { log } from 'wasmchart:chart/log@0.1.0';
import { render as renderChart } from './src/chart.js';
import { InvalidValues, Unsupported } from './src/values.js';

function toRenderError(e) {
  if (e instanceof InvalidValues) return { tag: 'invalid-values', val: e.message };
  if (e instanceof Unsupported) return { tag: 'unsupported', val: e.message };
  return { tag: 'failed', val: e instanceof Error ? e.message : String(e) };
}

/** Exported `render`: values in, Kubernetes objects out. */
export function render(input) {
  let out;
  try {
    out = renderChart(input, (level, message) => log(level, message));
  } catch (e) {
    throw toRenderError(e);
  }
  return {
    manifests: out.manifests.map(({ source, object }) => ({ source, content: JSON.stringify(object) })),
    notes: out.notes,
  };
}
