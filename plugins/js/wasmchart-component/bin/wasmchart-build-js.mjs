#!/usr/bin/env node
// wasmchart-build-js COMPONENT.js -o OUT.wasm
//
// Builds a JavaScript wasmchart component anywhere on disk with the pinned
// componentize-js, against the WIT bundled in this package (world
// `subchart`), with every optional WASI feature disabled: the component
// imports only the contract's `log`, and its output depends on its input.
import { build, usage } from '../src/build.js';

try {
  const code = await build(process.argv.slice(2));
  process.exit(code);
} catch (e) {
  console.error(`error: ${e.message ?? e}`);
  if (e.usage) console.error(usage());
  process.exit(1);
}
