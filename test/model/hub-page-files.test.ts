// A hub folder as the page gets it (src/browser/hub-files.ts): dropped Files, bytes by name, or
// fetched from a folder URL; each read into the same folder format Node reads from disk: a
// transformers folder, an smp folder, a transformers.js folder.
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fetchHubFolder, hubFileSet, isFolderUrl, isHubFiles } from '../../src/browser/hub-files.js';
import { WEIGHT_FORMATS, folderFormat } from '../../src/model/loading/formats/registry.js';
import type { FileSet } from '../../src/model/loading/formats/format.js';
import { expectRejects, expectThrows } from '../helpers.js';
import { sharedPath } from '../shared.js';
import { writeSmpFolder } from './smp-fixture.js';

const DIR = sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small');
const NAMES = ['config.json', 'preprocessor_config.json', 'model.safetensors'];

function load(files: FileSet) {
  const { read } = WEIGHT_FORMATS['hf-hub'];
  if (read.kind !== 'folder') throw new Error('hf-hub is a folder format');
  return read.load(files, { name: 'hub', source: files.what, opts: {}, hints: {} });
}

/** A fetch of the fixture folder's files under https://example.test/repo/, 404 for the rest. */
const fixtureFetch = (served: string[]): typeof fetch =>
  (async (url: string | URL | Request) => {
    const name = String(url).split('/').pop()!;
    if (!served.includes(name)) return new Response(null, { status: 404 });
    return new Response(readFileSync(join(DIR, name)));
  }) as typeof fetch;

describe('model: hub folders in the page (files, bytes by name, a folder URL)', function () {
  this.timeout(60_000);

  it('tells a folder source from a file source', () => {
    expect(isHubFiles(new Map())).to.equal(true);
    expect(isHubFiles([new File([], 'config.json')])).to.equal(true);
    expect(isHubFiles(new Uint8Array(4))).to.equal(false);
    expect(isFolderUrl('https://huggingface.co/apple/deeplabv3-mobilevit-xx-small/resolve/main/')).to.equal(true);
    expect(isFolderUrl('https://example.test/model.tflite')).to.equal(false);
  });

  it('dropped Files and bytes by name load as the folder on disk does', async () => {
    const dropped = NAMES.map((n) => new File([readFileSync(join(DIR, n))], `some/folder/${n}`));
    const fromFiles = load(await hubFileSet(dropped));
    expect(fromFiles.config.backbone).to.equal('mobilevit');
    expect(fromFiles.inputPolicy).to.deep.include({ kind: 'shortest-edge', size: 512 });
    const fromBytes = load(await hubFileSet(new Map(NAMES.map((n) => [n, readFileSync(join(DIR, n))]))));
    expect([...fromBytes.params.keys()]).to.deep.equal([...fromFiles.params.keys()]);
    await expectRejects(hubFileSet([]), /hub folder: no files/);
    const noWeights = new Map(NAMES.slice(0, 2).map((n) => [n, readFileSync(join(DIR, n))]));
    await expectRejects(async () => load(await hubFileSet(noWeights)), /hub folder: no model\.safetensors or pytorch_model\.bin/);
  });

  it('a folder URL: config, processor and the first weights file it serves; what is missing is named', async () => {
    const files = await fetchHubFolder('https://example.test/repo/', fixtureFetch(NAMES));
    expect([...files.names].sort()).to.deep.equal([...NAMES].sort());
    expect(load(files).classes.names).to.have.length(21);
    // A folder without a processor is fetched (an smp folder has none); a transformers one then lacks it.
    const noProcessor = await fetchHubFolder('https://example.test/repo/', fixtureFetch(['config.json', 'model.safetensors']));
    await expectRejects(async () => load(noProcessor), /https:\/\/example\.test\/repo\/: no preprocessor_config\.json/);
    await expectRejects(fetchHubFolder('https://example.test/repo/', fixtureFetch(['config.json', 'preprocessor_config.json'])), /neither model\.safetensors nor pytorch_model\.bin nor onnx\/model\.onnx is served/);
  });
});

describe('model: smp folders in the page', function () {
  this.timeout(60_000);

  it("a folder URL or dropped files of an smp folder load through the page's folder formats as on disk", async () => {
    const { dir } = writeSmpFolder('deeplabv3plus-mobilenet_v2');
    try {
      const served = (async (url: string | URL | Request) => {
        const name = String(url).split('/').pop()!;
        return ['config.json', 'model.safetensors'].includes(name) ? new Response(readFileSync(join(dir, name))) : new Response(null, { status: 404 });
      }) as typeof fetch;
      const fetched = await fetchHubFolder('https://example.test/smp/', served);
      expect(folderFormat(fetched, { page: true }).name).to.equal('smp');
      const dropped = await hubFileSet(['config.json', 'model.safetensors'].map((n) => new File([readFileSync(join(dir, n))], n)));
      const format = folderFormat(dropped, { page: true });
      if (format.read.kind !== 'folder') throw new Error('smp is a folder format');
      const w = format.read.load(dropped, { name: 'smp', source: dropped.what, opts: {}, hints: {} });
      expect(w.config.head).to.equal('smp');
      expect(w.inputPolicy).to.deep.equal({ kind: 'stride-multiple', multiple: 16 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model: transformers.js folders in the page', function () {
  this.timeout(60_000);
  const TJS = 'test/fixtures/hub-onnx/segformer-dynamo';
  const JSON_FILES = ['config.json', 'preprocessor_config.json'];
  const ONNX_FILES = ['onnx/model.onnx', 'onnx/model_fp16.onnx', 'onnx/model_quantized.onnx'];
  /** Loads the page's files as the page does: the page's folder format, the options checked. */
  const pageLoad = (files: FileSet, opts: { dtype?: 'fp32' | 'fp16' | 'q8' } = {}) => {
    const format = folderFormat(files, { page: true });
    if (format.read.kind !== 'folder') throw new Error('not a folder format');
    return { format: format.name, weights: format.read.load(files, { name: 'tjs', source: files.what, opts, hints: {} }) };
  };
  /** Serves the folder's files under https://example.test/tjs/ (GET and HEAD), 404 for the rest; records what was asked. */
  const served = (names: string[], asked: string[] = []): typeof fetch =>
    (async (url: string | URL | Request, init?: RequestInit) => {
      const name = String(url).slice('https://example.test/tjs/'.length);
      asked.push(`${init?.method ?? 'GET'} ${name}`);
      if (!names.includes(name)) return new Response(null, { status: 404 });
      return new Response(init?.method === 'HEAD' ? null : readFileSync(join(TJS, name)));
    }) as typeof fetch;

  it('dropped files (their folders lost) and bytes by name load as the folder on disk does', async () => {
    const dropped = [...JSON_FILES, ...ONNX_FILES].map((n) => new File([readFileSync(join(TJS, n))], n.split('/').pop()!));
    const fromFiles = pageLoad(await hubFileSet(dropped));
    expect(fromFiles.format).to.equal('transformers-js');
    expect(fromFiles.weights.inputPolicy).to.deep.include({ kind: 'height-width', height: 64, width: 64 });
    const fromBytes = pageLoad(await hubFileSet(new Map([...JSON_FILES, 'onnx/model.onnx'].map((n) => [n, readFileSync(join(TJS, n))]))));
    expect([...fromBytes.weights.params.keys()]).to.deep.equal([...fromFiles.weights.params.keys()]);
    const fp32Only: FileSet = { names: [...JSON_FILES, 'onnx/model.onnx'], read: (n) => readFileSync(join(TJS, n)), what: 'tjs' };
    expectThrows(() => pageLoad(fp32Only, { dtype: 'q8' }), "tjs: no onnx/model_quantized.onnx for dtype 'q8' (the folder holds fp32 (onnx/model.onnx))");
  });

  it("a folder URL: the JSON files and the dtype's ONNX file only; a dtype not served names those that are", async () => {
    const asked: string[] = [];
    const files = await fetchHubFolder('https://example.test/tjs/', served([...JSON_FILES, ...ONNX_FILES], asked), 'fp16');
    expect([...files.names].sort()).to.deep.equal([...JSON_FILES, 'onnx/model_fp16.onnx'].sort());
    expect(asked).to.deep.equal(['GET config.json', 'GET preprocessor_config.json', 'GET onnx/model_fp16.onnx']);
    expect(pageLoad(files, { dtype: 'fp16' }).weights.classes.names).to.have.length(5);
    // No dtype: the hub's weights files first, then the fp32 file.
    const plain = await fetchHubFolder('https://example.test/tjs/', served([...JSON_FILES, ...ONNX_FILES]));
    expect(plain.names).to.include('onnx/model.onnx');
    await expectRejects(
      fetchHubFolder('https://example.test/tjs/', served([...JSON_FILES, 'onnx/model.onnx', 'onnx/model_quantized.onnx']), 'fp16'),
      "https://example.test/tjs/: no onnx/model_fp16.onnx for dtype 'fp16' (served: fp32 (onnx/model.onnx), q8 (onnx/model_quantized.onnx))",
    );
    await expectRejects(fetchHubFolder('https://example.test/tjs/', served(JSON_FILES), 'int4' as never), "https://example.test/tjs/: dtype must be 'fp32', 'fp16', 'q8', got 'int4'");
  });
});
