// What the browser benchmark's page loads besides the model files (bench/browser.ts serves them
// with bench/browser-server.ts): its bundled script, and the peers' own scripts and WebAssembly
// files from node_modules, each at a fixed URL path.
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ROOT } from './model.js';

/** URL path -> file for everything the page loads besides the model files. */
export function staticFiles(): Map<string, string> {
  const require = createRequire(import.meta.url);
  const ortDist = dirname(require.resolve('onnxruntime-web')); // its main is in dist/
  const tfjsCore = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));
  const tfjsWebgpu = dirname(require.resolve('@tensorflow/tfjs-backend-webgpu/package.json'));
  const tfjsWasm = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  // Its package exports no package.json: its main (vision_bundle.cjs) is at its root.
  const mediapipe = dirname(require.resolve('@mediapipe/tasks-vision'));
  const litert = dirname(require.resolve('@litertjs/core/package.json'));
  const litertUtils = dirname(require.resolve('@litertjs/wasm-utils/package.json'));
  // Its package exports no package.json: its main (dist/transformers.node.cjs) is in dist/.
  const transformersDist = dirname(require.resolve('@huggingface/transformers'));
  // transformers.js bundles its own onnxruntime-web, whose WebAssembly it loads at run time.
  const transformersOrt = dirname(createRequire(transformersDist + '/').resolve('onnxruntime-web'));
  const page = join(ROOT, 'dist', 'bench-page', 'bench-page.js');
  try {
    statSync(page);
  } catch {
    throw new Error(`bench browser: ${page} is missing: run npm run build first`);
  }
  return new Map([
    ['/bench-page.js', page],
    ['/bench-page.js.map', `${page}.map`],
    ['/tfjs/tf-core.min.js', join(tfjsCore, 'dist', 'tf-core.min.js')],
    ['/tfjs/tf-backend-webgpu.min.js', join(tfjsWebgpu, 'dist', 'tf-backend-webgpu.min.js')],
    // TF.js' WebAssembly backend (window.tf.wasm) and its three builds (it picks one by the
    // browser's SIMD and thread support; its thread worker is inside the script).
    ['/tfjs/tf-backend-wasm.min.js', join(tfjsWasm, 'dist', 'tf-backend-wasm.min.js')],
    ...['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'].map((f) => [`/tfjs-wasm/${f}`, join(tfjsWasm, 'dist', f)] as [string, string]),
    // ORT's WebGPU build (the package's 'onnxruntime-web/webgpu') and the WebAssembly it loads;
    // its WebAssembly-only build (the package's 'onnxruntime-web/wasm') and the WebAssembly that
    // one loads (SIMD, threads; its workers start from the same .mjs).
    ...['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'].map((f) => [`/ort/${f}`, join(ortDist, f)] as [string, string]),
    ...['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'].map((f) => [`/ort/${f}`, join(ortDist, f)] as [string, string]),
    // MediaPipe Tasks Vision: its ES module and its WebAssembly loaders and builds (its
    // FilesetResolver picks the SIMD or no-SIMD one; each task loads its loader script and
    // instantiates its WebAssembly anew).
    ['/mediapipe/vision_bundle.mjs', join(mediapipe, 'vision_bundle.mjs')],
    ...readdirSync(join(mediapipe, 'wasm')).map((f) => [`/mediapipe/wasm/${f}`, join(mediapipe, 'wasm', f)] as [string, string]),
    // transformers.js' self-contained browser build and the WebAssembly of its ONNX Runtime.
    ['/transformers/transformers.min.js', join(transformersDist, 'transformers.min.js')],
    ...readdirSync(transformersOrt)
      .filter((f) => /^ort-wasm-simd-threaded\.[a-z]+\.(mjs|wasm)$/.test(f))
      .map((f) => [`/transformers/${f}`, join(transformersOrt, f)] as [string, string]),
    // LiteRT.js' module, its WebAssembly loader (the import map's target) and every build of its
    // WebAssembly runtime (its loader picks one by the browser's features).
    ['/litert/core.js', join(litert, 'dist', 'index.js')],
    ['/litert/wasm-utils.js', join(litertUtils, 'dist', 'index.js')],
    ...readdirSync(join(litert, 'wasm')).map((f) => [`/litert/wasm/${f}`, join(litert, 'wasm', f)] as [string, string]),
  ]);
}
