// Part ort-node on a transformers.js folder (bench/tjs-folders.ts): ours loads the folder, ORT runs
// its onnx/model.onnx on the input the processor makes of the photo, and the two outputs (each the
// file's own, at its stride) agree within fp32's 1e-4 before both are timed. MobileViT's processor
// flips the channels: ORT gets BGR, ours RGB (its graph reverses them), so a wrong order shows here.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { benchOrtNode } from '../../bench/ort-node.js';
import { TJS_FOLDER_CASES, writeTjsFolder } from '../../bench/tjs-folders.js';
import { FP32_TOLERANCE, expectThrows, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const PHOTO = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const SETTLE = { minRounds: 1, minMs: 0, maxRounds: 2, budgetMs: 0 };

describe('bench ort-node: transformers.js folders in ours and onnxruntime-node', function () {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-bench-tjs-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of ['tjs-segformer-torchscript', 'tjs-mobilevit']) {
    it(`${name}: ORT's output of onnx/model.onnx is ours within 1e-4 on the processor's input of the photo, then both are timed`, async () => {
      const c = TJS_FOLDER_CASES.find((x) => x.name === name)!;
      const r = await benchOrtNode(await testContext(), { folder: writeTjsFolder(c, dir) }, { size: c.size, repeats: 1, settle: SETTLE, image: PHOTO, providers: ['cpu'] });
      expect(r.error).to.equal(undefined);
      expect(r.input).to.deep.equal([1, 64, 64, 3]);
      expect(r.relativeError).to.be.a('number').below(FP32_TOLERANCE);
      expect(r.ortProvider).to.equal('cpu');
      expect(r.ours.samplesMs).to.have.length(1);
      expect(r.ort!.samplesMs).to.have.length(1);
    });
  }

  it('writes a 512 copy of a free-size file with its processor at 512, and refuses one for a file traced at 64 only', () => {
    const c = TJS_FOLDER_CASES.find((x) => x.name === 'tjs-segformer-dynamo-512')!;
    const folder = writeTjsFolder(c, dir);
    expect(JSON.parse(readFileSync(join(folder.dir, 'preprocessor_config.json'), 'utf8')).size).to.deep.equal({ height: 512, width: 512 });
    expect([...folder.files.keys()]).to.deep.equal(['config.json', 'preprocessor_config.json', 'onnx/model.onnx']);
    expectThrows(() => writeTjsFolder({ name: 'dpt-512', fixture: 'dpt', size: 512 }, dir), /dpt's file was traced at 64x64 and is not right at other sizes/);
  });
});
