// The package's two entries: Node gets the Node library, a bundler targeting browsers gets the
// browser bundle, which carries the shaders and no Node module.
import { expect } from 'chai';
import { build } from 'esbuild';
import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';

const BUNDLE = 'dist/browser/deeplab.js';

describe('browser: the bundle and the exports map', () => {
  it("Node resolves the package to the Node entry", async () => {
    const lib = await import('deeplab-webgpu');
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
});
