// The {{name}} subchart as a wasmchart component.
//
// `render` is a pure function of its input: values in, Kubernetes objects
// out. The wasmchart-component helper parses the values, checks what you
// return and turns every exception into a render-error with its message.
// Build with `wasmchart build` (the command is in ../Chart.yaml), test with
// `npm test` (plain node: no WebAssembly needed).

import { defineRender, invalidValues } from 'wasmchart-component';
import { fullname, labels } from './names.js';

export const render = defineRender((input) => {
  const message = input.values.message ?? 'Hello from {{name}}';
  if (typeof message !== 'string' || message === '') {
    throw invalidValues(`key 'message': expected a non-empty string, found ${JSON.stringify(message)}`);
  }
  const name = fullname(input);
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, labels: labels(input) },
    data: { message },
  };
  return {
    manifests: [{ source: 'templates/configmap.yaml', content: configMap }],
    notes: `ConfigMap ${name} holds the message.\n`,
  };
});
