// Builds the browser bundles dist/browser/deeplab.js (src/browser/index.ts) and
// dist/browser/deeplab-worker.js (src/browser/worker.ts) with esbuild, through the plugin in
// browser-plugin.mjs: Node's modules swapped for their browser stand-ins, the shaders built in as
// strings, and the build failing where a bundled module imports a Node built-in or a package.
import { build } from 'esbuild';
import { join } from 'node:path';
import { browserSwaps, root } from './browser-plugin.mjs';

const browserDir = join(root, 'src', 'browser');

// Two bundles: the library (deeplab.js) and the engine as a Web Worker (deeplab-worker.js, which
// SegmentationWorker starts). Minified, as a page loads them (the source map gives the sources
// back); names kept, so stack traces and errors read as in Node.
const result = await build({
  entryPoints: { deeplab: join(browserDir, 'index.ts'), 'deeplab-worker': join(browserDir, 'worker.ts') },
  outdir: join(root, 'dist', 'browser'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  keepNames: true,
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  plugins: [browserSwaps],
});
if (process.argv.includes('--verbose')) {
  for (const [file, o] of Object.entries(result.metafile.outputs)) if (o.entryPoint) console.log(`${file}: ${(o.bytes / 1024).toFixed(0)} KiB`);
}

// The browser benchmark's page script (bench/browser-page.ts; bench/browser.ts serves it), outside
// dist/browser so the package does not ship it. ONNX Runtime and TF.js are the page's own script
// files, so it imports no package either.
await build({
  entryPoints: { 'bench-page': join(root, 'bench', 'browser-page.ts') },
  outdir: join(root, 'dist', 'bench-page'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [browserSwaps],
});

// TF.js' gradients for the Node benchmark's training peer (bench/tfjs-train.ts): tfjs-core's
// Node build registers none, and its per-file sources cannot be imported by Node as they are.
// Bundled into one module, they register on the one engine and registry every tfjs-core copy
// shares (kept on globalThis).
await build({
  entryPoints: { 'tfjs-gradients': join(root, 'node_modules', '@tensorflow', 'tfjs-core', 'dist', 'register_all_gradients.js') },
  outdir: join(root, 'dist', 'bench-tfjs'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'es2022',
  logLevel: 'warning',
});
