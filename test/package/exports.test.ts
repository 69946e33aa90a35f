// The package's exports map as resolvers read it: Node's library for Node, the page's bundle for
// everything else, the worker as an export of its own, and TypeScript's types by resolution mode
// and version (the installed TypeScript is 5.x: the entries that bring @webgpu/types).
import { expect } from 'chai';
import { build } from 'esbuild';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve('.');

/** The file esbuild bundles for `specifier` with `conditions` (platform neutral: no implied ones). */
async function bundledFile(specifier: string, conditions: string[]): Promise<string[]> {
  const result = await build({
    stdin: { contents: `import * as m from '${specifier}'; console.log(m);`, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions,
    write: false,
    metafile: true,
    logLevel: 'silent',
    external: ['fflate', 'flatbuffers', 'protobufjs/*', 'piscina', 'pngjs', 'webgpu', 'sharp', 'onnxruntime-node', 'node:*'],
  });
  return Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('<stdin>'));
}

/** The declaration file TypeScript resolves `deeplab-webgpu` to, from a file in this project. */
function typesFile(options: ts.CompilerOptions, specifier = 'deeplab-webgpu'): string | undefined {
  const resolved = ts.resolveModuleName(specifier, join(ROOT, 'consumer.ts'), options, ts.sys, undefined, undefined, ts.ModuleKind.ESNext);
  const file = resolved.resolvedModule?.resolvedFileName;
  return file && relative(ROOT, file);
}

describe('package: the exports map', () => {
  it("bundlers get the page's bundle, with or without the browser condition; the worker is an export", async () => {
    expect(await bundledFile('deeplab-webgpu', [])).to.deep.equal(['dist/browser/deeplab.js']);
    expect(await bundledFile('deeplab-webgpu', ['browser'])).to.deep.equal(['dist/browser/deeplab.js']);
    expect(await bundledFile('deeplab-webgpu/worker', ['browser'])).to.deep.equal(['dist/browser/deeplab-worker.js']);
    expect(await bundledFile('deeplab-webgpu', ['node'])).to.include('dist/src/index.js');
  });

  it('TypeScript 5 reads the Node types under nodenext and node16, the page types under bundler', () => {
    expect(ts.versionMajorMinor.startsWith('5.'), `TypeScript ${ts.version}`).to.equal(true);
    const nodenext = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext };
    expect(typesFile(nodenext)).to.equal('types/node-ts5.d.ts');
    expect(typesFile({ module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 })).to.equal('types/node-ts5.d.ts');
    const bundler = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
    expect(typesFile(bundler)).to.equal('types/browser-ts5.d.ts');
    expect(typesFile({ ...bundler, customConditions: ['browser'] })).to.equal('types/browser-ts5.d.ts');
    expect(typesFile({ ...bundler, customConditions: ['node'] })).to.equal('types/node-ts5.d.ts');
    expect(typesFile(bundler, 'deeplab-webgpu/node')).to.equal('types/node-ts5.d.ts');
    expect(typesFile(nodenext, 'deeplab-webgpu/browser')).to.equal('types/browser-ts5.d.ts');
  });
});
