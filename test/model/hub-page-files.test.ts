// A hub folder as the page gets it (src/browser/hub-files.ts): dropped Files, bytes by name, or
// fetched from a folder URL; each read into the same folder format Node reads from disk.
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fetchHubFolder, hubFileSet, isFolderUrl, isHubFiles } from '../../src/browser/hub-files.js';
import { WEIGHT_FORMATS, folderFormat } from '../../src/model/loading/formats/registry.js';
import type { FileSet } from '../../src/model/loading/formats/format.js';
import { expectRejects } from '../helpers.js';
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
    await expectRejects(fetchHubFolder('https://example.test/repo/', fixtureFetch(['config.json', 'preprocessor_config.json'])), /neither model\.safetensors nor pytorch_model\.bin is served/);
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
