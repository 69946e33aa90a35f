// smp's tu-convnext_* encoders (timm's ConvNeXt through TimmUniversalEncoder) against
// test/fixtures/smp-convnext (scripts/fixtures/smp-convnext/generate.py ran smp and timm):
//  - two smp folders, their weights from the team's PRNG (the manifest's rows), load and give
//    smp's float64 logits: a DeepLabV3+ on convnext_atto at OS 16, 64x96 (1x1-conv MLP, stage 4
//    dilated: its downsample a 2x2 'same' conv padded after) and a DeepLabV3 on convnext_tiny at
//    OS 8, 64x64 (Linear MLP, stages 3 and 4 dilated: stage 4's downsample at dilation 2); the
//    smp export writes the model.safetensors save_pretrained wrote, byte for byte; the atto one's
//    ONNX export, run by onnxruntime, gives the same logits;
//  - every size's encoder: exactly timm's features_only state dict (names and shapes, as smp
//    built it) and parameter count, which with the classifier head is timm's published count.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeModel } from '../../src/graph/onnx/proto.js';
import { storedState } from '../../src/graph/params.js';
import { onnxModel } from '../../src/model/onnx-export.js';
import { runOnnx } from '../onnx-runtime.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { loadModel } from '../../src/model/model.js';
import { convnextGeometry } from '../../src/model/networks/smp-convnext.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { smpFileFromParam } from '../../src/model/weights/smp-layout.js';
import { writeSmpFolder as exportSmpFolder } from '../../src/model/weights/smp-export.js';
import { relativeError } from '../../src/util/relative-error.js';
import { expectClose, testContext } from '../helpers.js';
import { nchwToNhwc } from './layout.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import { encoderTraining } from './smp-encoder-run.js';
import { CONVNEXT_FIXTURES as FIXTURES, convnextFixtureManifest as manifest, writeConvnextFolder as writeFolder } from './smp-convnext-fixture.js';

const CONFIGS = ['deeplabv3plus-tu-convnext_atto', 'deeplabv3-tu-convnext_tiny'] as const;

/** timm's published ImageNet parameter counts (results-imagenet.csv, millions; the 1000-class head included). */
const PUBLISHED: Record<string, number> = {
  atto: 3.7,
  femto: 5.22,
  pico: 9.05,
  nano: 15.59,
  tiny: 28.59,
  small: 50.22,
  base: 88.59,
  large: 197.77,
  xlarge: 350.2,
};

interface EncoderRecord {
  tensors: [string, number[]][];
  parameters: number;
}

/** The encoder's graph on a 64x64 RGB image, and its features' shapes (null: smp's empty /2). */
function encoderGraph(name: string, size: { outputStride: number; depth: number }): { graph: Graph; features: (number[] | null)[] } {
  const b = new GraphBuilder();
  const f = SMP_ENCODERS[name].build(b, b.input('image', [1, 64, 64, 3]), size);
  f.forEach((v, i) => v && b.output(`f${i}`, v));
  return { graph: b.build(), features: f.map((v) => (v ? [...v.shape] : null)) };
}

const encoders = (): Record<string, EncoderRecord> => JSON.parse(readFileSync(join(FIXTURES, 'encoders.json'), 'utf8'));

describe('smp tu-convnext encoders: logits against smp float64', function () {
  this.timeout(600_000);
  for (const config of CONFIGS) {
    it(`${config}: loadModel(folder) gives smp's logits (relative error < 1e-4); the export writes save_pretrained's file`, async () => {
      const dir = writeFolder(config);
      const out = mkdtempSync(join(tmpdir(), 'smp-export-'));
      const model = await loadModel(dir, { ctx: await testContext() });
      try {
        const x = readNpy(join(FIXTURES, config, 'input.npy'));
        const ref = readNpy(join(FIXTURES, config, 'logits.npy'));
        const [, , h, w] = x.shape;
        const ours = await model.forwardToHost(nchwToNhwc(x.data, x.shape), h, w);
        const want = nchwToNhwc(ref.data, ref.shape);
        console.log(`      (${config}: relative error ${relativeError(ours, want).toExponential(2)})`);
        expectClose(ours, want, config);
        exportSmpFolder(out, await loadWeights(dir));
        expect(createHash('sha256').update(readFileSync(join(out, 'model.safetensors'))).digest('hex'), 'model.safetensors').to.equal(manifest(config).saved);
        expect(readFileSync(join(out, 'config.json'), 'utf8')).to.equal(readFileSync(join(FIXTURES, config, 'config.json'), 'utf8'));
      } finally {
        model.dispose();
        rmSync(dir, { recursive: true, force: true });
        rmSync(out, { recursive: true, force: true });
      }
    });
  }
});

describe('smp tu-convnext encoders: ONNX export', function () {
  this.timeout(300_000);
  it("deeplabv3plus-tu-convnext_atto: the ONNX export, run by onnxruntime, gives smp's float64 logits at 64x96 (relative error < 1e-4)", async () => {
    const config = 'deeplabv3plus-tu-convnext_atto';
    const dir = writeFolder(config);
    try {
      const w = await loadWeights(dir);
      const x = readNpy(join(FIXTURES, config, 'input.npy'));
      const ref = readNpy(join(FIXTURES, config, 'logits.npy'));
      const out = (await runOnnx(encodeModel(onnxModel(w, { height: x.shape[2], width: x.shape[3] })), { image: { dims: x.shape, data: x.data } })).get('logits')!;
      console.log(`      (${config} through onnxruntime: relative error ${relativeError(out.data, ref.data).toExponential(2)})`);
      expectClose(out.data, ref.data, `${config} through onnxruntime`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('smp tu-convnext encoders (graphs)', () => {
  for (const [name, record] of Object.entries(encoders())) {
    const size = name.replace('tu-convnext_', '');
    it(`${name}: exactly timm's features_only state dict at torch's shapes, ${record.parameters} parameters (with the head timm's published ${PUBLISHED[size]} M)`, () => {
      expect(Object.hasOwn(SMP_ENCODERS, name), `${name} is registered`).to.equal(true);
      const { graph } = encoderGraph(name, { outputStride: 16, depth: 5 });
      const encoder = SMP_ENCODERS[name];
      const ours = storedState(graph).map((v) => [v.name, smpFileFromParam(encoder, v.name, { shape: v.shape, data: new Float32Array(0) }).shape] as [string, number[]]);
      const byName = (a: [string, number[]], b: [string, number[]]) => (a[0] < b[0] ? -1 : 1);
      expect(ours.sort(byName)).to.deep.equal([...record.tensors].sort(byName));
      const count = ours.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
      expect(count).to.equal(record.parameters);
      // timm's classifier head: pool, LayerNorm, Linear(C, 1000).
      const C = ours.find(([n]) => /stages_3\.blocks\.0\.gamma$/.test(n))![1][0];
      expect(Math.round((count + 2 * C + 1001 * C + 1000) / 1e4) / 100).to.equal(PUBLISHED[size]);
    });
  }

  it('tu-convnext_atto trains as built: every encoder parameter (layer scales and LayerNorms too) gets a gradient', () => {
    const { encoder, withoutGradient } = encoderTraining('tu-convnext_atto');
    expect(encoder).to.include('encoder.model.stages_3.blocks.1.gamma');
    expect(encoder).to.include('encoder.model.stages_3.downsample.0.weight');
    expect(withoutGradient).to.deep.equal([]);
  });

  it("timm's output_stride: OS 16 dilates stage 4 (rate 2, its downsample at dilation 1), OS 8 stages 3 and 4 (rates 2 and 4, stage 4's downsample at dilation 2)", () => {
    const rows = (os: number) => convnextGeometry(os).map((g) => [g.stride, g.rate, g.firstDilation]);
    expect(rows(32)).to.deep.equal([[1, 1, 1], [2, 1, 1], [2, 1, 1], [2, 1, 1]]);
    expect(rows(16)).to.deep.equal([[1, 1, 1], [2, 1, 1], [2, 1, 1], [1, 2, 1]]);
    expect(rows(8)).to.deep.equal([[1, 1, 1], [2, 1, 1], [1, 2, 1], [1, 4, 2]]);
  });

  it("features at /4../32 after smp's empty /2 (null), the stride held at OS 16 and 8; the first two at depth 3", () => {
    const shapes = (outputStride: number, depth: number) => encoderGraph('tu-convnext_atto', { outputStride, depth }).features.map((s) => s && s.slice(1));
    expect(shapes(32, 5)).to.deep.equal([null, [16, 16, 40], [8, 8, 80], [4, 4, 160], [2, 2, 320]]);
    expect(shapes(16, 5)).to.deep.equal([null, [16, 16, 40], [8, 8, 80], [4, 4, 160], [4, 4, 320]]);
    expect(shapes(8, 5)).to.deep.equal([null, [16, 16, 40], [8, 8, 80], [8, 8, 160], [8, 8, 320]]);
    expect(shapes(16, 3)).to.deep.equal([null, [16, 16, 40], [8, 8, 80]]);
  });
});
