// Interop: a torchvision-architecture model exports the state dict torchvision's deeplabv3_*
// loads (its exact keys, shapes and dtypes, num_batches_tracked included), and the file comes
// back in with the same logits and class names.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage } from '../../src/io/image.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { loadModel } from '../../src/model/model.js';
import { readPth } from '../../src/model/weights/import/pth.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { exportTorchvision } from '../../src/model/weights/torchvision-export.js';
import { hwioToOihw, oihwToHwio } from '../../src/model/weights/layouts.js';
import { runCli } from '../cli/run-cli.js';
import { expectRejects, randomArray, testContext } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', 'voc12val_0294.png');

/** The dtype each tensor has in a safetensors header. */
function headerDtypes(path: string): Map<string, string> {
  const buf = readFileSync(path);
  const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype: string }>;
  return new Map(Object.entries(header).filter(([k]) => k !== '__metadata__').map(([k, v]) => [k, v.dtype]));
}

describe("model: export to torchvision's state dict @slow", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-export-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('HWIO -> OIHW inverts the import permutation, on shapes off every square', () => {
    const shape = [3, 2, 5, 7];
    const data = randomArray(3 * 2 * 5 * 7);
    const hwio = oihwToHwio(data, shape);
    const back = hwioToOihw(hwio.data, hwio.shape);
    expect(back.shape).to.deep.equal(shape);
    expect(Buffer.from(back.data.buffer).equals(Buffer.from(data.buffer))).to.equal(true);
  });

  it("holds torchvision's keys, shapes, dtypes and values exactly (aux head aside), and loads back with the same logits", async () => {
    const torch = readPth(MNV3_RANDOM);
    const w = await loadWeights(MNV3_RANDOM);
    const path = join(dir, 'mv3.safetensors');
    exportTorchvision(path, w);
    const { tensors, metadata } = readSafetensors(path);
    const want = [...torch.keys()].filter((k) => !k.startsWith('aux_classifier.')).sort();
    expect([...tensors.keys()].sort()).to.deep.equal(want);
    const dtypes = headerDtypes(path);
    for (const k of want) {
      const [a, b] = [tensors.get(k)!, torch.get(k)!];
      expect(a.shape, k).to.deep.equal(b.shape);
      expect(dtypes.get(k), k).to.equal(b.sourceDType === 'i64' ? 'I64' : 'F32');
      if (b.sourceDType !== 'i64') expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength)), k).to.equal(true);
    }
    expect(dtypes.get('backbone.0.1.num_batches_tracked')).to.equal('I64');
    expect(JSON.parse(metadata.classes).names[15]).to.equal('person');

    const ctx = await testContext();
    const img = await readImage(IMAGE);
    const [original, reloaded] = [await loadModel(MNV3_RANDOM, { ctx, shortSide: 65 }), await loadModel(path, { ctx, shortSide: 65 })];
    try {
      const a = (await original.segment(img, { include: ['logits'] })).logits!;
      const b = (await reloaded.segment(img, { include: ['logits'] })).logits!;
      expect([...b]).to.deep.equal([...a]);
      expect(reloaded.classes.names).to.deep.equal(original.classes.names);
    } finally {
      original.dispose();
      reloaded.dispose();
    }
  });

  it('deeplab export writes the file; a TF MobileNetV2 and a non-safetensors name are refused', async () => {
    const out = join(dir, 'cli.safetensors');
    const r = await runCli(['export', '--model', MNV3_RANDOM, '--out', out]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/wrote .*cli\.safetensors: mobilenet_v3_large DeepLabv3, 21 classes/);
    expect(readSafetensors(out).tensors.has('classifier.4.weight')).to.equal(true);
    const tf = await runCli(['export', '--model', 'mobilenetv2-pascal-257', '--out', join(dir, 'tf.safetensors')]);
    expect(tf.code).to.not.equal(0);
    expect(tf.stderr).to.match(/TF DeepLab MobileNetV2 has no torchvision counterpart/);
    const pth = await runCli(['export', '--model', MNV3_RANDOM, '--out', join(dir, 'x.pth')]);
    expect(pth.code).to.equal(2);
    expect(pth.stderr).to.match(/--out must name a \.safetensors file/);
    await expectRejects(() => loadWeights(join(dir, 'missing.safetensors')), /weights file not found/);
  });
});
