// Quantized checkpoints (`deeplab export --quantize`): the int8 rule, the file, and loading it:
// the compact weights are widened on the GPU to exactly what the CPU reference decodes, so a
// quantized model's logits are those of an f32 model holding the decoded weights.
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostParams } from '../../src/graph/params.js';
import { readImage } from '../../src/io/image.js';
import { dequantizeCpu } from '../../src/kernels/quantize/dequantize.js';
import { loadWeights, saveCheckpoint } from '../../src/model/loading/load-weights.js';
import { DeepLabModel } from '../../src/model/model.js';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import { quantizeInt8, scaleName } from '../../src/model/weights/quantize.js';
import { messages, runCli } from '../cli/run-cli.js';
import { expectClose, expectRejects, randomArray, testContext, expectThrows } from '../helpers.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', 'voc12val_0294.png');

describe('model: quantized checkpoints (int8 / f16 convolution weights)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-quant-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('int8: one scale per output channel (largest magnitude / 127), rounding error at most half a step', () => {
    const channels = 5;
    const data = randomArray(9 * channels, -2, 2);
    data[3] = 0; // channel 3: all zero -> scale 0, values 0
    for (let i = 3; i < data.length; i += channels) data[i] = 0;
    const { values, scales } = quantizeInt8(data, channels);
    expect(scales[3]).to.equal(0);
    for (let c = 0; c < channels; c++) {
      if (c === 3) continue;
      let max = 0;
      for (let i = c; i < data.length; i += channels) max = Math.max(max, Math.abs(data[i]));
      expect(scales[c]).to.equal(Math.fround(max / 127));
    }
    const back = dequantizeCpu({ kind: 'int8', values, scales });
    data.forEach((v, i) => {
      expect(Math.abs(back[i] - v), `value ${i}`).to.be.at.most(scales[i % channels] / 2 + 1e-7);
      expect(Math.abs(values[i])).to.be.at.most(127);
    });
    expectThrows(() => quantizeInt8(new Float32Array(7), 2), /not a whole number of 2 channels/);
  });

  describe('whole networks, quantized and loaded back @slow', () => {
    for (const kind of ['int8', 'f16'] as const) {
      it(`${kind}: a smaller file whose weights load compact, widen on the GPU exactly as on the CPU, and give the decoded weights' logits`, async () => {
        const ctx = await testContext();
        const weights = await loadWeights(MNV3_RANDOM, { shortSide: 65 });
        const plain = join(dir, `plain-${kind}.safetensors`);
        const small = join(dir, `small-${kind}.safetensors`);
        saveCheckpoint(plain, weights);
        saveCheckpoint(small, weights, weights.params, { quantize: kind });
        const ratio = statSync(small).size / statSync(plain).size;
        expect(ratio, 'size against f32').to.be.below(kind === 'int8' ? 0.3 : 0.55);
        expect(readSafetensors(small).metadata.quantization).to.equal(kind);

        const loaded = await loadWeights(small, { shortSide: 65 });
        const compact = [...loaded.params].filter(([, p]) => p.quantized);
        expect(compact.length, 'convolution weights held compact').to.equal([...weights.params.values()].filter((p) => p.shape.length === 4).length);
        expect(compact.every(([, p]) => p.quantized!.kind === kind)).to.equal(true);

        // What an f32 model would hold: the CPU decode of the compact weights.
        const decoded: HostParams = new Map([...loaded.params].map(([k, p]) => [k, { shape: p.shape, data: p.quantized ? dequantizeCpu(p.quantized) : p.data }]));
        const quantized = await DeepLabModel.fromWeights(loaded, { ctx });
        const reference = await DeepLabModel.fromWeights({ ...loaded, params: decoded }, { ctx });
        const original = await DeepLabModel.fromWeights(weights, { ctx });
        try {
          const onGpu = await quantized.parameters();
          for (const [name, p] of compact) expect([...onGpu.get(name)!.data], `${name} widened on the GPU`).to.deep.equal([...dequantizeCpu(p.quantized!)]);
          const img = await readImage(IMAGE);
          const logits = (await quantized.segment(img, { include: ['logits'] })).logits!;
          expectClose(logits, (await reference.segment(img, { include: ['logits'] })).logits!, `${kind} model against f32 with decoded weights`);
          // And close to the unquantized model's (random weights: a loose sanity bound, not accuracy).
          const f32 = (await original.segment(img, { include: ['logits'] })).logits!;
          expectClose(logits, f32, `${kind} against the original`, kind === 'int8' ? 0.1 : 0.01);
        } finally {
          quantized.dispose();
          reference.dispose();
          original.dispose();
        }
      });
    }
  });

  it('deeplab export --quantize int8 writes a checkpoint of the TF MobileNetV2 that loads compact; an unknown kind is refused, nothing written', async () => {
    const out = join(dir, 'cli-int8.safetensors');
    const r = await runCli(['export', '--model', 'mobilenetv2-pascal-257', '--quantize', 'int8', '--out', out]);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(r.stdout).to.match(/with int8 convolution weights, 0\.\d\d MiB/);
    const loaded = await loadWeights(out);
    expect([...loaded.params.values()].some((p) => p.quantized?.kind === 'int8')).to.equal(true);
    const bad = join(dir, 'cli-int4.safetensors');
    const refused = await runCli(['export', '--model', 'mobilenetv2-pascal-257', '--quantize', 'int4', '--out', bad]);
    expect(refused.code).to.not.equal(0);
    expect(messages(refused.stderr)).to.match(/--quantize must be one of int8, f16, got 'int4'/);
    expectThrows(() => statSync(bad), /ENOENT/);
  });

  it('refuses an int8 tensor without its scales and an unknown quantization', async () => {
    const weights = await loadWeights(MNV3_RANDOM, { shortSide: 65 });
    const good = join(dir, 'good.safetensors');
    saveCheckpoint(good, weights, weights.params, { quantize: 'int8' });
    const { tensors, metadata } = readSafetensors(good);
    const conv = [...tensors.keys()].find((k) => tensors.get(k)!.sourceDType === 'i8')!;
    const noScales = new Map(tensors);
    noScales.delete(scaleName(conv));
    const damaged = join(dir, 'no-scales.safetensors');
    writeSafetensors(damaged, noScales, metadata);
    await expectRejects(() => loadWeights(damaged), new RegExp(`int8 tensor ${conv.replace(/\./g, '\\.')} has no ${scaleName(conv).replace(/\./g, '\\.')}`));
    const odd = join(dir, 'odd.safetensors');
    writeSafetensors(odd, tensors, { ...metadata, quantization: 'int4' });
    await expectRejects(() => loadWeights(odd), /quantization "int4" is not one we read \(int8, f16\)/);
  });
});
