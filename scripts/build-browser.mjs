// Builds the browser bundles dist/browser/deeplab.js (src/browser/index.ts) and
// dist/browser/deeplab-worker.js (src/browser/worker.ts) with esbuild.
// The bundle holds the same kernel, graph and model modules as Node; seven Node modules are
// swapped for their browser stand-ins in src/browser/ (the GPU, shader files, image decoding,
// the Vulkan runtime folder, the kernel-tuning store, zlib's inflate and PNG-to-RGBA decoding
// for label masks), and the shaders/ files are built in as strings. Node's
// built-in modules, still imported by code the browser never runs (weights from a file path,
// saving), become stubs that throw a clear error if called. Any other package is an error.
import { build } from 'esbuild';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const browserDir = join(root, 'src', 'browser');
/**
 * Packages written for the browser as much as for Node, bundled as they are with what they import
 * (fflate: label PNGs' inflate and TF zoo tarballs' gunzip; protobufjs: TF checkpoints and graphs).
 */
const BROWSER_PACKAGES = new Set(['fflate', 'protobufjs/light.js']);
const SWAPPED = new Set(['shader-source', 'runtime-dir', 'image-source', 'tune-store', 'inflate', 'png-rgba']);

const browserSwaps = {
  name: 'deeplab-browser',
  setup(b) {
    b.onResolve({ filter: /^webgpu$/ }, () => ({ path: join(browserDir, 'webgpu.ts') }));
    b.onResolve({ filter: /(^|\/)(shader-source|runtime-dir|image-source|tune-store|inflate|png-rgba)\.js$/ }, (args) => {
      if (args.importer.startsWith(browserDir)) return undefined;
      const name = args.path.split('/').pop().replace(/\.js$/, '');
      return SWAPPED.has(name) ? { path: join(browserDir, `${name}.ts`) } : undefined;
    });
    b.onResolve({ filter: /^deeplab:shaders$/ }, () => ({ path: 'shaders', namespace: 'deeplab-shaders' }));
    b.onLoad({ filter: /.*/, namespace: 'deeplab-shaders' }, () => {
      const dir = join(root, 'shaders');
      const files = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.wgsl')).sort().map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
      return { contents: `export default ${JSON.stringify(files)};`, loader: 'js', watchFiles: Object.keys(files).map((f) => join(dir, f)) };
    });
    b.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      contents:
        `const what = ${JSON.stringify(args.path)};\n` +
        'module.exports = new Proxy({}, { get: (_t, key) => key === "__esModule" ? false : () => { ' +
        'throw new Error(`deeplab: ${what} (${String(key)}) is not available in the browser; pass weights and images as URLs, Files or bytes`); } });\n',
      loader: 'js',
    }));
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.namespace !== 'file' || args.path.startsWith('deeplab:') || BROWSER_PACKAGES.has(args.path)) return undefined;
      // An allowed package's own imports.
      if (args.importer.includes('/node_modules/')) return undefined;
      return { errors: [{ text: `the browser bundle cannot include the package '${args.path}' (imported by ${args.importer.slice(root.length + 1)})` }] };
    });
  },
};

// Two bundles: the library (deeplab.js) and the engine as a Web Worker (deeplab-worker.js, which
// SegmentationWorker starts).
const result = await build({
  entryPoints: { deeplab: join(browserDir, 'index.ts'), 'deeplab-worker': join(browserDir, 'worker.ts') },
  outdir: join(root, 'dist', 'browser'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
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
