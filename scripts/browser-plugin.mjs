// The esbuild plugin that makes the page's bundles (scripts/build-browser.mjs): the same kernel,
// graph and model modules as Node, with the few modules that reach Node's own facilities swapped
// for their browser stand-ins in src/browser/ (each says what the page does instead):
//
//   webgpu         the GPU: the page's navigator.gpu
//   shader-source  the WGSL files (scripts/shaders.mjs): built in as strings (deeplab:shaders)
//   runtime-dir    the Vulkan loader's folder: nothing to prepare
//   image-source   image decoding: the browser's decoders
//   tune-store     kernel choices: IndexedDB
//   inflate        zlib for PNGs: fflate
//   png-rgba       colour masks: our PNG decoder on fflate
//   file-bytes     a file read by path: an error (a page passes bytes)
//   write-atomic   a file written to a path: an error (a page takes bytes: checkpointBytes)
//   write-folder-atomic  a folder written to a path: an error (a page zips it: exportModel)
//   node-files     the data readers' disk: an error (a page passes a dropped folder's files)
//   load-weights   loading by registry name or path: an error (a page uses loadModel on a URL,
//                  File or bytes); what needs no file system is shared
//   npy-folder     a folder of .npy tensors: an error (a page loads one file's bytes)
//   crc32          CRC-32 of zip entries, gzip members and PNG chunks: the table-driven loop
//   checkpoint-store  fineTune's checkpoints: a folder in Node, the origin private file system here
//   default-cpu-runtime  the CPU device's runtime, onnxruntime-node: none loaded by itself (the
//                  page hands over onnxruntime-web: useCpuRuntime)
//
// Any other module of the page that imports Node's built-ins (`node:fs`, ...) fails the build,
// naming the module: nothing the page bundles may reach a Node module it does not have. A package
// other than those written for browsers as much as for Node (fflate, protobufjs' light build)
// fails it too.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectShaders } from './shaders.mjs';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const browserDir = join(root, 'src', 'browser');
/**
 * Packages written for the browser as much as for Node, bundled as they are with what they import
 * (fflate: label PNGs' inflate and TF zoo tarballs' gunzip; protobufjs: TF checkpoints and graphs;
 * flatbuffers: TF Lite exports).
 */
const BROWSER_PACKAGES = new Set(['fflate', 'protobufjs/light.js', 'flatbuffers']);
/** Modules (by file name) whose browser stand-in of the same name in src/browser/ is bundled instead. */
export const SWAPPED = ['shader-source', 'runtime-dir', 'image-source', 'tune-store', 'inflate', 'png-rgba', 'file-bytes', 'write-atomic', 'node-files', 'load-weights', 'npy-folder', 'crc32', 'checkpoint-store', 'write-folder-atomic', 'default-cpu-runtime'];
const swappedImport = new RegExp(`(^|/)(${SWAPPED.join('|')})\\.js$`);

export const browserSwaps = {
  name: 'deeplab-browser',
  setup(b) {
    b.onResolve({ filter: /^webgpu$/ }, () => ({ path: join(browserDir, 'webgpu.ts') }));
    b.onResolve({ filter: swappedImport }, (args) => {
      if (args.importer.startsWith(browserDir)) return undefined;
      const name = args.path.split('/').pop().replace(/\.js$/, '');
      return { path: join(browserDir, `${name}.ts`) };
    });
    b.onResolve({ filter: /^deeplab:shaders$/ }, () => ({ path: 'shaders', namespace: 'deeplab-shaders' }));
    b.onLoad({ filter: /.*/, namespace: 'deeplab-shaders' }, () => {
      const shaders = collectShaders();
      const files = Object.fromEntries([...shaders].map(([name, path]) => [name, readFileSync(path, 'utf8')]));
      return { contents: `export default ${JSON.stringify(files)};`, loader: 'js', watchFiles: [...shaders.values()] };
    });
    b.onResolve({ filter: /^node:/ }, (args) => ({
      errors: [
        {
          text:
            `${relative(root, args.importer) || args.importer} imports ${args.path}, which the page does not have: keep Node-only code out of ` +
            'the modules the page bundles, or behind a module with a browser stand-in (scripts/browser-plugin.mjs)',
        },
      ],
    }));
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.namespace !== 'file' || args.path.startsWith('deeplab:') || BROWSER_PACKAGES.has(args.path)) return undefined;
      // An allowed package's own imports.
      if (args.importer.includes('/node_modules/')) return undefined;
      return { errors: [{ text: `the browser bundle cannot include the package '${args.path}' (imported by ${relative(root, args.importer)})` }] };
    });
  },
};
