// smp's Mix Transformer encoders (mit_b0..b5) as graphs: the parameters the graph
// declares are exactly the fixture's state dict (Linear weights as 1x1 HWIO), and smp's
// output-stride surgery, which the float64 fixture (OS 16) checks only on the /32 stage, gives
// the shapes smp computes at OS 8 too; a small MiT at OS 8 exports to ONNX, and runs on the GPU
// (f32 and f16) as our interpreter does. The fixture's logits: smp.test.ts.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import { lowerToOnnx, onnxModelOf } from '../../src/graph/onnx/lower.js';
import { encodeModel } from '../../src/graph/onnx/proto.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import type { Graph } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { smpConfig } from '../../src/model/loading/smp-model.js';
import { conv } from '../../src/model/networks/layers.js';
import { buildSmpMixTransformer } from '../../src/model/networks/smp-mix-transformer.js';
import { expectClose, numel, randomArray, rng } from '../helpers.js';
import { runOnnx, runOursNchw } from '../onnx-runtime.js';
import { expectHalfProgramClose, expectRawLogitsAsCpu } from './half-program.js';
import { readSmpManifest } from './smp-fixture.js';

function graphOf(json: Record<string, unknown>, height: number, width: number): Graph {
  const { config, architecture } = smpConfig({ classes: 3, ...json }, 'test config.json');
  return buildDeepLab(config, { height, width }, { architecture });
}

/** Each layer's output shape by name. */
function shapes(g: Graph): Map<string, readonly number[]> {
  return new Map(g.nodes.map((n) => [n.name, n.outputs[0].shape]));
}

/** Our layout of a state-dict shape: 4-D OIHW and 2-D Linear [out, in] weights to HWIO. */
function ours(name: string, shape: readonly number[]): number[] {
  if (shape.length === 4) return [shape[2], shape[3], shape[1], shape[0]];
  if (shape.length === 2 && name.startsWith('encoder.')) return [1, 1, shape[1], shape[0]];
  return [...shape];
}

/** A MiT four stages deep, one block each, at OS 8 on a 32x32 image, a 1x1 classifier on its last feature ('logits_raw'), random weights. */
function smallMit(): { graph: Graph; params: HostParams } {
  const b = new GraphBuilder();
  const spec = { dims: [8, 16, 20, 32], heads: [1, 2, 5, 8], depths: [1, 1, 1, 1], srRatios: [8, 4, 2, 1] };
  const features = buildSmpMixTransformer(b, b.input('image', [1, 32, 32, 3]), spec, { outputStride: 8, depth: 5, prefix: 'encoder' });
  b.output('logits_raw', conv(b, features[features.length - 1], { name: 'classifier', kernel: 1, cout: 3, bias: true }));
  const graph = b.build();
  const r = rng();
  return { graph, params: new Map(graph.state.map((v) => [v.name, { shape: [...v.shape], data: randomArray(numel(v.shape), -1, 1, r) }])) };
}

describe('smp Mix Transformer encoders (graphs)', () => {
  it('mit_b0..mit_b5 are registered', () => {
    expect(Object.keys(SMP_ENCODERS).filter((k) => k.startsWith('mit_'))).to.deep.equal(['mit_b0', 'mit_b1', 'mit_b2', 'mit_b3', 'mit_b4', 'mit_b5']);
  });

  it("deeplabv3plus-mit_b0: the graph's parameters are the state dict's, in our layouts", () => {
    const g = graphOf({ _model_class: 'DeepLabV3Plus', encoder_name: 'mit_b0' }, 64, 64);
    const declared = new Map(g.state.map((v) => [v.name, [...v.shape]]));
    const rows = readSmpManifest('deeplabv3plus-mit_b0').rows.filter(([name]) => !name.endsWith('.num_batches_tracked'));
    expect(new Map(rows.map(([name, shape]) => [name, ours(name, shape)]))).to.deep.equal(declared);
  });

  it('OS 16: the /32 stage dilated (rate 2): patch_embed4 keeps the /16 map, block4 attends over all its tokens', () => {
    const s = shapes(graphOf({ _model_class: 'DeepLabV3Plus', encoder_name: 'mit_b0' }, 96, 128));
    expect(s.get('encoder.norm1')).to.deep.equal([1, 24, 32, 32]);
    expect(s.get('encoder.block1.0.attn.sr')).to.deep.equal([1, 3, 4, 32]);
    expect(s.get('encoder.norm3')).to.deep.equal([1, 6, 8, 160]);
    expect(s.get('encoder.patch_embed4.proj')).to.deep.equal([1, 6, 8, 256]);
    expect(s.get('encoder.block4.0.attn.scores')).to.deep.equal([8, 48, 48]);
  });

  it("OS 8: the /16 stage's 2x2 reduction conv at stride 1, dilation 2, padding 2 gives keys from a larger map, as smp's make_dilated does", () => {
    const s = shapes(graphOf({ _model_class: 'DeepLabV3', encoder_name: 'mit_b0', encoder_output_stride: 8 }, 64, 64));
    expect(s.get('encoder.norm2')).to.deep.equal([1, 8, 8, 64]);
    expect(s.get('encoder.patch_embed3.proj')).to.deep.equal([1, 8, 8, 160]);
    // 8 + 2 * 2 - 2 * (2 - 1) - 1 + 1 = 10 on each side.
    expect(s.get('encoder.block3.0.attn.sr')).to.deep.equal([1, 10, 10, 160]);
    expect(s.get('encoder.block3.0.attn.scores')).to.deep.equal([5, 64, 100]);
    expect(s.get('encoder.norm4')).to.deep.equal([1, 8, 8, 256]);
  });

  it('encoder_depth 3 builds stages 1 and 2 only (the /8 feature last)', () => {
    const g = graphOf({ _model_class: 'DeepLabV3', encoder_name: 'mit_b0', encoder_depth: 3 }, 64, 64);
    const names = g.state.map((v) => v.name);
    expect(names.some((n) => n.startsWith('encoder.block2.'))).to.equal(true);
    expect(names.some((n) => n.startsWith('encoder.patch_embed3.'))).to.equal(false);
  });

  it("mit_b1..b5: smp's widths 64/128/320/512 and blocks per stage", () => {
    const depths: Record<string, number[]> = { mit_b1: [2, 2, 2, 2], mit_b2: [3, 4, 6, 3], mit_b3: [3, 4, 18, 3], mit_b4: [3, 8, 27, 3], mit_b5: [3, 6, 40, 3] };
    for (const [name, want] of Object.entries(depths)) {
      const g = graphOf({ _model_class: 'DeepLabV3Plus', encoder_name: name }, 32, 32);
      const blocks = [1, 2, 3, 4].map((s) => new Set(g.state.filter((v) => v.name.startsWith(`encoder.block${s}.`)).map((v) => v.name.split('.')[2])).size);
      expect(blocks, name).to.deep.equal(want);
      const widths = [1, 2, 3, 4].map((s) => g.state.find((v) => v.name === `encoder.norm${s}.weight`)!.shape[0]);
      expect(widths, name).to.deep.equal([64, 128, 320, 512]);
    }
  });

  it('a small MiT at OS 8 (dilated reduction and depthwise convs, cropped keys and values, GELU) exports to ONNX and runs as our interpreter does', async () => {
    const { graph, params } = smallMit();
    const image = { dims: [1, 3, 32, 32], data: randomArray(3 * 32 * 32, -2, 2) };
    const theirs = (await runOnnx(encodeModel(onnxModelOf(lowerToOnnx(graph, params, 'mit'))), { image })).get('logits_raw')!;
    expect(theirs.dims).to.deep.equal([1, 3, 4, 4]);
    expectClose(theirs.data, runOursNchw(graph, params, image).get('logits_raw')!.data, 'mit logits');
  });

  it('the small MiT at OS 8 on the GPU: f32 as the CPU interpreter, f16 storing half in its transformer ops @slow', async () => {
    const { graph, params } = smallMit();
    await expectRawLogitsAsCpu(graph, params, 'mit logits');
    await expectHalfProgramClose(graph, params, ['layer_norm', 'matmul', 'softmax', 'permute', 'pad']);
  });
});
