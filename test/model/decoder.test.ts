// DeepLabv3+ (issue 18, item 2): the `decoder` config option; the graph on every backbone at
// output strides 8 and 16 (map sizes computed here from the conv output formula, never read back
// from the builders), the stride-4 tap, separable convs on MobileNets, parameter names; describe;
// the forward pass on the GPU against the CPU interpreter; and checkpoints: a DeepLabv3+ saved
// and loaded back is a DeepLabv3+ again, with the same numbers.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeCommand, formatDescription } from '../../src/cli/commands/describe.js';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph, Node, Value } from '../../src/graph/ir.js';
import { Program } from '../../src/graph/program.js';
import { describeModel } from '../../src/model/analysis/describe.js';
import { loadWeights, saveCheckpoint } from '../../src/model/loading/load-weights.js';
import { DeepLabModel, loadModel } from '../../src/model/model.js';
import { backboneRecord } from '../../src/model/backbones/registry.js';
import { BACKBONES, type BackboneName, type DeepLabConfig } from '../../src/model/networks/config.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import { torchvisionStateDict } from '../../src/model/weights/torchvision-export.js';
import { adaptWeights } from '../../src/train/adapt.js';
import { expectClose, expectRejects, expectThrows, randomArray, randomRgbImage, testContext } from '../helpers.js';
import { randomParams } from './random-params.js';
import { sharedPath } from '../shared.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');

/** PyTorch's conv / pool output size. */
function convOut(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - (k - 1) - 1) / stride) + 1;
}

/** TF 'SAME' at stride 2. */
const same2 = (n: number): number => Math.ceil(n / 2);

/**
 * Each backbone's stride-4 map for an n-pixel side, and its encoder map at OS 8 and 16:
 * ResNet: 7x7/2 pad 3, 3x3/2 max-pool pad 1, then the 3x3/2 convs of layer2 and layer3;
 * MobileNetV3: the 3x3/2 stem and block 1 (3x3/2), then block 3 (5x5/2) and block 6 (3x3/2);
 * MobileNetV2: TF 'SAME' everywhere, ceil(n / 2) per stride.
 */
function mapSizes(backbone: BackboneName, n: number): { low: number; os8: number; os16: number } {
  if (backbone === 'mobilenet_v2') {
    const low = same2(same2(n));
    return { low, os8: same2(low), os16: same2(same2(low)) };
  }
  if (backbone === 'mobilenet_v3_large') {
    const low = convOut(convOut(n, 3, 2, 1), 3, 2, 1);
    const os8 = convOut(low, 5, 2, 2);
    return { low, os8, os16: convOut(os8, 3, 2, 1) };
  }
  const low = convOut(convOut(n, 7, 2, 3), 3, 2, 1);
  const os8 = convOut(low, 3, 2, 1);
  return { low, os8, os16: convOut(os8, 3, 2, 1) };
}

/**
 * The backbones our DeepLabv3+ decoder sits on, as their records say (MobileViT's head is
 * transformers' own; smp's encoders take smp's decoder, checked against smp in smp.test.ts).
 */
const DECODER_BACKBONES = BACKBONES.filter((b) => backboneRecord(b).decoder && (backboneRecord(b).heads ?? ['torchvision']).includes('torchvision'));

/** The stride-4 value each backbone's decoder reads, and its channels (MobileNetV2 at width 1). */
const LOW_LEVEL: Partial<Record<BackboneName, { value: string; channels: number }>> = {
  resnet18: { value: 'backbone.layer1.1:relu', channels: 64 },
  resnet50: { value: 'backbone.layer1.2:relu', channels: 256 },
  resnet101: { value: 'backbone.layer1.2:relu', channels: 256 },
  mobilenet_v3_large: { value: 'backbone.3.block.1.1:relu', channels: 72 },
  mobilenet_v2: { value: 'MobilenetV2/expanded_conv_2/depthwise:relu6', channels: 144 },
};

function lowLevel(backbone: BackboneName): { value: string; channels: number } {
  const low = LOW_LEVEL[backbone];
  if (!low) throw new Error(`${backbone} takes a decoder: LOW_LEVEL needs its stride-4 value`);
  return low;
}

/** The decoder's layer names in each family's checkpoint style. */
function decoderLayers(backbone: BackboneName): { project: string; upsample: string; concat: string; refine: string[][]; logits: string; encoder: string; encoderTraining: string } {
  if (backbone === 'mobilenet_v2') {
    const r = (i: number) => [`decoder/decoder_conv${i}_depthwise`, `decoder/decoder_conv${i}_pointwise`];
    return { project: 'decoder/feature_projection0', upsample: 'decoder/upsample', concat: 'decoder/concat', refine: [r(0), r(1)], logits: 'logits/semantic', encoder: 'concat_projection:relu', encoderTraining: 'concat_projection_dropout' };
  }
  const r = (i: number) => (backbone === 'mobilenet_v3_large' ? [`decoder.refine.${i}.depthwise.0`, `decoder.refine.${i}.pointwise.0`] : [`decoder.refine.${i}.0`]);
  return { project: 'decoder.project.0', upsample: 'decoder.upsample', concat: 'decoder.concat', refine: [r(0), r(1)], logits: 'classifier.4', encoder: 'classifier.0.project.1:relu', encoderTraining: 'classifier.0.project.3' };
}

function node(g: Graph, name: string): Node {
  const n = g.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`the graph has no layer ${name}`);
  return n;
}

function input(n: Node): Value {
  return (n.op as { input: Value }).input;
}

/** Trainable scalars of the decoder, by hand: 1x1 to 48 + BN, two 3x3 to 256 + BN (separable: depthwise + BN, pointwise + BN). */
function decoderTrainable(lowChannels: number, separable: boolean): number {
  const concat = 256 + 48;
  const refine = (cin: number) => (separable ? 9 * cin + 2 * cin + cin * 256 + 2 * 256 : 9 * cin * 256 + 2 * 256);
  return lowChannels * 48 + 2 * 48 + refine(concat) + refine(256);
}

describe('model: DeepLabv3+ decoder', function () {
  this.timeout(600_000);

  it("is a config option, 'none' unless asked for; an unknown decoder is an error naming the field, the value and the choices", async () => {
    // But on TF DeepLab's Xception-65, whose zoo checkpoints all hold the decoder.
    for (const b of BACKBONES) expect(defaultConfig(b).decoder, b).to.equal(b === 'xception_65' ? 'deeplabv3plus' : 'none');
    expectThrows(() => defaultConfig('mobilevit', { decoder: 'deeplabv3plus' }), "DeepLab config (mobilevit): decoder 'deeplabv3plus' cannot sit on MobileViT, whose head is its own");
    expectThrows(() => defaultConfig('resnet50', { decoder: 'unet' as DeepLabConfig['decoder'] }), "DeepLab config (resnet50): decoder 'unet' is not one of none, deeplabv3plus");
    // A config that bypasses defaultConfig is still checked before anything is built.
    const bad = { ...defaultConfig('mobilenet_v3_large'), decoder: 'plus' } as unknown as DeepLabConfig;
    expectThrows(() => buildDeepLab(bad, { height: 33, width: 33 }), "decoder 'plus' is not one of none, deeplabv3plus");
    const plain = buildDeepLab(defaultConfig('resnet50'), { height: 33, width: 33 });
    expect(plain.nodes.filter((n) => n.name.startsWith('decoder')), 'DeepLabv3 has no decoder').to.deep.equal([]);
    let err = '';
    const code = await describeCommand(['--decoder', 'unet'], () => {}, (t) => (err += t));
    expect(code).to.equal(2);
    expect(err).to.contain("--decoder: 'unet' is not one of none, deeplabv3plus");
  });

  describe('the graph on every backbone (batch 2, 49x41 input)', () => {
    const [H, W] = [49, 41];
    for (const backbone of DECODER_BACKBONES) {
      for (const outputStride of [8, 16]) {
        it(`${backbone}, OS ${outputStride}: stride-4 tap, upsampled ASPP output, concat of 256 + 48, two 3x3 convs of 256${backbone.startsWith('mobilenet') ? ' (separable)' : ''}, logits at stride 4 then the input size`, () => {
          const cfg = defaultConfig(backbone, { outputStride, numClasses: 7, decoder: 'deeplabv3plus' });
          const [h, w] = [mapSizes(backbone, H), mapSizes(backbone, W)];
          const [eh, ew] = outputStride === 8 ? [h.os8, w.os8] : [h.os16, w.os16];
          const low = lowLevel(backbone);
          const names = decoderLayers(backbone);
          for (const training of [false, true]) {
            const g = buildDeepLab(cfg, { batch: 2, height: H, width: W }, { dropout: training });
            const project = node(g, names.project);
            expect(input(project).name, 'low-level features').to.equal(low.value);
            expect(input(project).shape).to.deep.equal([2, h.low, w.low, low.channels]);
            expect(project.outputs[0].shape).to.deep.equal([2, h.low, w.low, 48]);
            const upsample = node(g, names.upsample);
            expect(input(upsample).name, 'the encoder output: ASPP after its projection').to.equal(training ? names.encoderTraining : names.encoder);
            expect(input(upsample).shape).to.deep.equal([2, eh, ew, 256]);
            expect(upsample.op.type === 'resize' && upsample.op.attrs.mode).to.equal(cfg.resizeMode);
            expect(upsample.outputs[0].shape).to.deep.equal([2, h.low, w.low, 256]);
            const concat = node(g, names.concat);
            expect(concat.op.type === 'concat' && concat.op.inputs.map((v) => v.shape[3])).to.deep.equal([256, 48]);
            expect(concat.outputs[0].shape).to.deep.equal([2, h.low, w.low, 304]);
            for (const [i, convs] of names.refine.entries()) {
              const cin = i === 0 ? 304 : 256;
              const first = node(g, convs[0]);
              if (first.op.type !== 'conv2d') throw new Error(`${convs[0]} is not a conv`);
              expect(first.op.weight.shape.slice(0, 2), `${convs[0]} kernel`).to.deep.equal([3, 3]);
              expect(first.op.attrs.groups, `${convs[0]} groups`).to.equal(convs.length === 2 ? cin : 1);
              const last = node(g, convs[convs.length - 1]);
              expect(last.outputs[0].shape, `${convs[convs.length - 1]}`).to.deep.equal([2, h.low, w.low, 256]);
            }
            expect(node(g, names.logits).outputs[0].shape).to.deep.equal([2, h.low, w.low, 7]);
            expect(g.outputs.get('logits')!.shape).to.deep.equal([2, H, W, 7]);
          }
        });
      }
    }
  });

  it('parameter names: decoder.* beside classifier.0 (ASPP) and classifier.4 (logits); TF names decoder/* on MobileNetV2', () => {
    const names = (backbone: BackboneName): string[] => {
      const g = buildDeepLab(defaultConfig(backbone, { decoder: 'deeplabv3plus' }), { height: 33, width: 33 });
      return g.state.map((v) => v.name).filter((n) => !/^(backbone\.|MobilenetV2\/|classifier\.0\.|aspp0|image_pooling|concat_projection)/.test(n));
    };
    const bn = (p: string) => ['weight', 'bias', 'running_mean', 'running_var'].map((s) => `${p}.${s}`);
    const tfBn = (p: string) => ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((s) => `${p}/BatchNorm/${s}`);
    expect(names('resnet50')).to.have.members([
      'decoder.project.0.weight', ...bn('decoder.project.1'),
      'decoder.refine.0.0.weight', ...bn('decoder.refine.0.1'),
      'decoder.refine.1.0.weight', ...bn('decoder.refine.1.1'),
      'classifier.4.weight', 'classifier.4.bias',
    ]);
    const separable = (i: number) => [`decoder.refine.${i}.depthwise.0.weight`, ...bn(`decoder.refine.${i}.depthwise.1`), `decoder.refine.${i}.pointwise.0.weight`, ...bn(`decoder.refine.${i}.pointwise.1`)];
    expect(names('mobilenet_v3_large')).to.have.members(['decoder.project.0.weight', ...bn('decoder.project.1'), ...separable(0), ...separable(1), 'classifier.4.weight', 'classifier.4.bias']);
    const tf = (s: string) => [`decoder/${s}/weights`, ...tfBn(`decoder/${s}`)];
    expect(names('mobilenet_v2')).to.have.members([
      ...tf('feature_projection0'), ...tf('decoder_conv0_depthwise'), ...tf('decoder_conv0_pointwise'), ...tf('decoder_conv1_depthwise'), ...tf('decoder_conv1_pointwise'),
      'logits/semantic/weights', 'logits/semantic/biases',
    ]);
  });

  it('describe: a decoder block at stride 4 with the parameters counted by hand; the header names it; --decoder in the command', async () => {
    for (const backbone of DECODER_BACKBONES) {
      const v3 = describeModel(defaultConfig(backbone, { outputStride: 16 }), 129, 129);
      const cfg = defaultConfig(backbone, { outputStride: 16, decoder: 'deeplabv3plus' });
      const d = describeModel(cfg, 129, 129);
      const block = d.blocks.find((b) => b.name === 'decoder');
      expect(block, `${backbone}: blocks ${d.blocks.map((b) => b.name).join(',')}`).to.not.equal(undefined);
      expect(block!.outputStride).to.equal(4);
      expect(block!.output).to.deep.equal([mapSizes(backbone, 129).low, mapSizes(backbone, 129).low, 256]);
      const separable = backbone.startsWith('mobilenet');
      const trainable = decoderTrainable(lowLevel(backbone).channels, separable);
      const statistics = 2 * (48 + (separable ? 304 + 256 + 256 + 256 : 256 + 256));
      expect(block!.params, `${backbone}: decoder parameters`).to.equal(trainable + statistics);
      // DeepLabv3's torchvision head has a 3x3 conv of 256 + BN (classifier.1, .2) that v3+ replaces.
      const replaced = backbone === 'mobilenet_v2' ? 0 : 9 * 256 * 256 + 4 * 256;
      expect(d.totals.params - v3.totals.params, `${backbone}: v3+ - v3`).to.equal(trainable + statistics - replaced);
      expect(formatDescription(d, false)).to.contain('DeepLabv3+ decoder (stride 4)');
      expect(formatDescription(v3, false)).to.not.contain('decoder');
    }
    let out = '';
    expect(await describeCommand(['--backbone', 'mobilenet_v3_large', '--decoder', 'deeplabv3plus', '--input', '65', '--json'], (t) => (out += t))).to.equal(0);
    const json = JSON.parse(out) as { config: DeepLabConfig; blocks: { name: string }[] };
    expect(json.config.decoder).to.equal('deeplabv3plus');
    expect(json.blocks.map((b) => b.name)).to.include('decoder');
  });

  describe('the forward pass on the GPU equals the CPU interpreter (random weights, 33x33, OS 16 and one at OS 8) @slow', () => {
    const cases: [BackboneName, number][] = [...DECODER_BACKBONES.map((b): [BackboneName, number] => [b, 16]), ['mobilenet_v3_large', 8]];
    for (const [backbone, outputStride] of cases) {
      it(`${backbone}, OS ${outputStride}: logits as built and as compiled for inference (batch norms folded, epilogues fused)`, async () => {
        const ctx = await testContext();
        const cfg = defaultConfig(backbone, { outputStride, numClasses: 6, decoder: 'deeplabv3plus' });
        const graph = buildDeepLab(cfg, { height: 33, width: 33 });
        const params = randomParams(graph);
        const image = randomArray(33 * 33 * 3);
        const ref = runGraphCpu(graph, params, { image }).get('logits')!;
        for (const [what, g] of [['canonical', graph], ['inference', compile(graph, { mode: 'inference' })]] as const) {
          const program = await Program.create(ctx, g, params, `${backbone} ${what}`);
          try {
            expectClose((await program.run({ image })).get('logits')!, ref, `${backbone} OS ${outputStride} ${what}`);
          } finally {
            program.dispose();
          }
        }
      });
    }
  });

  describe('checkpoints carry the decoder @slow', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'deeplab-v3plus-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('torchvision MobileNetV3: the decoder starts afresh (nothing else), the checkpoint reloads as DeepLabv3+ with the same parameters and logits', async () => {
      const ctx = await testContext();
      const base = await loadWeights(MNV3_RANDOM);
      const { weights, reinitialised } = adaptWeights(base, { decoder: 'deeplabv3plus', seed: 3 });
      const probe = weights.buildGraph({ height: 65, width: 65 });
      const decoderState = probe.state.map((v) => v.name).filter((n) => n.startsWith('decoder.'));
      expect(decoderState.length).to.equal(5 * 5);
      expect(reinitialised, 'the same classes: only the decoder is new').to.have.members(decoderState);
      expect(weights.params.get('classifier.4.weight')!.data, 'the classifier is loaded').to.equal(base.params.get('classifier.4.weight')!.data);
      expect([...weights.params.get('decoder.project.1.running_var')!.data].every((v) => v === 1), 'fresh running variance').to.equal(true);
      const small = { ...weights, inputPolicy: { kind: 'short-side' as const, size: 65 }, probeSize: [65, 65] as [number, number] };
      const path = join(dir, 'mnv3-v3plus.safetensors');
      saveCheckpoint(path, small);
      expect(JSON.parse(readSafetensors(path).metadata.config).decoder).to.equal('deeplabv3plus');
      const reloaded = await loadWeights(path);
      expect(reloaded.config).to.deep.equal(weights.config);
      expect(reloaded.params.size).to.equal(weights.params.size);
      for (const [name, t] of weights.params) expect([...reloaded.params.get(name)!.data], name).to.deep.equal([...t.data]);

      const image = randomRgbImage(80, 65, 11);
      const original = await DeepLabModel.fromWeights(small, { ctx });
      const loaded = await loadModel(path, { ctx });
      try {
        const a = (await original.segment(image, { include: ['logits'] })).logits!;
        const b = (await loaded.segment(image, { include: ['logits'] })).logits!;
        expect(loaded.config.decoder).to.equal('deeplabv3plus');
        expect([...b]).to.deep.equal([...a]);
      } finally {
        original.dispose();
        loaded.dispose();
      }
      expectThrows(() => torchvisionStateDict(reloaded, reloaded.params), /DeepLabv3\+ \(decoder deeplabv3plus\) has no torchvision counterpart/);
    });

    it('TF MobileNetV2 with 11 new classes: the decoder and the logits start afresh; the checkpoint (TF names, batch norms in the decoder only) round-trips', async () => {
      const base = await loadWeights('mobilenetv2-pascal-257');
      const classes = { names: Array.from({ length: 11 }, (_, i) => `c${i}`), colors: Array.from({ length: 11 }, (_, i) => [i, i, i] as [number, number, number]) };
      const { weights, reinitialised } = adaptWeights(base, { classes, outputStride: 16, decoder: 'deeplabv3plus', seed: 4 });
      expect(reinitialised.filter((n) => !n.startsWith('decoder/'))).to.have.members(['logits/semantic/weights', 'logits/semantic/biases']);
      expect(reinitialised.filter((n) => n.startsWith('decoder/')).length).to.equal(5 * 5);
      // Width 0.5: expanded_conv_2's depthwise has 12 x 6 channels.
      expect(weights.params.get('decoder/feature_projection0/weights')!.shape).to.deep.equal([1, 1, 72, 48]);
      const path = join(dir, 'mnv2-v3plus.safetensors');
      saveCheckpoint(path, weights);
      const reloaded = await loadWeights(path);
      expect(reloaded.config).to.deep.equal(weights.config);
      expect(reloaded.config.decoder).to.equal('deeplabv3plus');
      expect(backboneRecord('mobilenet_v2').architecture.toJson(reloaded.architecture), 'the width multiplier').to.equal(0.5);
      for (const [name, t] of weights.params) expect([...reloaded.params.get(name)!.data], name).to.deep.equal([...t.data]);
    });

    it("a checkpoint saved before decoders existed loads as DeepLabv3; an unknown decoder in the metadata is an error naming the file", async () => {
      const base = await loadWeights(MNV3_RANDOM);
      const path = join(dir, 'v3.safetensors');
      saveCheckpoint(path, base);
      const { tensors, metadata } = readSafetensors(path);
      const config = JSON.parse(metadata.config) as Record<string, unknown>;
      delete config.decoder;
      const old = join(dir, 'old.safetensors');
      writeSafetensors(old, tensors, { ...metadata, config: JSON.stringify(config) });
      expect((await loadWeights(old)).config.decoder).to.equal('none');
      const unknown = join(dir, 'unknown.safetensors');
      writeSafetensors(unknown, tensors, { ...metadata, config: JSON.stringify({ ...config, decoder: 'unet' }) });
      await expectRejects(loadWeights(unknown), new RegExp(`^${unknown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*decoder 'unet' is not one of none, deeplabv3plus`), 'a checkpoint with an unknown decoder');
    });
  });
});
