// The package's two entries: Node gets the Node library, a bundler targeting browsers gets the
// browser bundle, which carries the shaders and no Node module.
import { expect } from 'chai';
import { type Plugin, build } from 'esbuild';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expectRejects } from '../helpers.js';

const BUNDLE = 'dist/browser/deeplab.js';

describe('browser: the bundle and the exports map', () => {
  it("Node resolves the package to the Node entry", async () => {
    // By a name held in a variable: TypeScript would read the package's types from dist/, this
    // project's own output.
    const name = 'deeplab-webgpu';
    const lib = (await import(name)) as typeof import('../../src/index.js');
    expect(import.meta.resolve('deeplab-webgpu')).to.match(/\/dist\/src\/index\.js$/);
    expect(lib.loadModel).to.be.a('function');
    expect(lib.readImage, 'the Node entry has file I/O').to.be.a('function');
  });

  it('a bundler targeting browsers gets the browser bundle', async () => {
    const result = await build({
      stdin: { contents: "import { loadModel, imageToRgb } from 'deeplab-webgpu'; console.log(loadModel, imageToRgb);", resolveDir: resolve('.'), loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(Object.keys(result.metafile.inputs)).to.include(BUNDLE);
  });

  it('the bundle has every shader built in and imports no Node module', () => {
    const text = readFileSync(BUNDLE, 'utf8');
    expect(text).to.not.match(/(from|import|require\()\s*["']node:/);
    expect(text).to.not.match(/from\s*["'](webgpu|sharp|pngjs)["']/);
    for (const shader of readdirSync('dist/shaders').filter((f) => f.endsWith('.wgsl'))) expect(text, shader).to.contain(JSON.stringify(shader));
  });

  it("the page's build fails, naming the module, where a module it bundles imports a Node built-in; a swapped module's stand-in is bundled instead", async () => {
    // The plugin the build uses (a variable path, so the compiler does not look for its types).
    const pluginPath = resolve('scripts/browser-plugin.mjs');
    const { browserSwaps } = (await import(pluginPath)) as { browserSwaps: Plugin };
    const dir = mkdtempSync(join(resolve('dist'), 'plugin-check-'));
    try {
      writeFileSync(join(dir, 'uses-fs.js'), "import { readFileSync } from 'node:fs'; export const f = readFileSync;");
      writeFileSync(join(dir, 'entry.js'), "import { f } from './uses-fs.js'; console.log(f);");
      const bundle = (entry: string) => build({ entryPoints: [join(dir, entry)], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent', plugins: [browserSwaps] });
      await expectRejects(() => bundle('entry.js'), /uses-fs\.js imports node:fs, which the page does not have/);
      // The weights readers reach files through file-bytes, which the page swaps for its stand-in.
      writeFileSync(join(dir, 'reader.js'), `import { readPth } from ${JSON.stringify(resolve('src/model/weights/import/pth.ts'))}; console.log(readPth);`);
      const inputs = Object.keys((await bundle('reader.js')).metafile.inputs);
      expect(inputs).to.include('src/browser/file-bytes.ts');
      expect(inputs).to.not.include('src/io/file-bytes.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
