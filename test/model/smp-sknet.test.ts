// smp's SKNet encoders (timm-skresnet18, timm-skresnet34, timm-skresnext50_32x4d) as graphs,
// without a device and without a fixture: the encoder's state dict and every conv's geometry are
// derived here from the module structure of timm's ResNet / sknet.py / selective_kernel.py with
// smp's arguments (encoders/timm_sknet.py) and smp's make_dilated, and the graph must declare
// exactly that; the derivation itself is checked against timm's published parameter counts.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';

/** A torch Conv2d as built (and after smp's surgery). */
interface TorchConv {
  cin: number;
  cout: number;
  k: number;
  stride: number;
  padding: number;
  dilation: number;
  groups: number;
}

interface SkKwargs {
  rdRatio: number;
  rdDivisor: number;
  splitInput: boolean;
}

interface SknetArgs {
  block: 'basic' | 'bottleneck';
  layers: [number, number, number, number];
  cardinality: number;
  baseWidth: number;
  sk: SkKwargs;
}

/** SelectiveKernel's defaults (selective_kernel.py), what smp's skresnext50 gets: it passes no sk_kwargs. */
const SK_DEFAULTS: SkKwargs = { rdRatio: 1 / 16, rdDivisor: 8, splitInput: true };

/** encoders/timm_sknet.py's params: sk_kwargs {rd_ratio: 1/8, split_input: True} for the BasicBlock ones, none for skresnext50. */
const SMP_ARGS: Record<string, SknetArgs> = {
  'timm-skresnet18': { block: 'basic', layers: [2, 2, 2, 2], cardinality: 1, baseWidth: 64, sk: { ...SK_DEFAULTS, rdRatio: 1 / 8 } },
  'timm-skresnet34': { block: 'basic', layers: [3, 4, 6, 3], cardinality: 1, baseWidth: 64, sk: { ...SK_DEFAULTS, rdRatio: 1 / 8 } },
  'timm-skresnext50_32x4d': { block: 'bottleneck', layers: [3, 4, 6, 3], cardinality: 32, baseWidth: 4, sk: SK_DEFAULTS },
};

/** timm's own registrations (sknet.py), with their published ImageNet parameter counts (results-imagenet.csv, millions). */
const TIMM_ARGS: [string, SknetArgs, number][] = [
  ['skresnet18', { ...SMP_ARGS['timm-skresnet18'], sk: { rdRatio: 1 / 8, rdDivisor: 16, splitInput: true } }, 11.96],
  ['skresnet34', { ...SMP_ARGS['timm-skresnet34'], sk: { rdRatio: 1 / 8, rdDivisor: 16, splitInput: true } }, 22.28],
  ['skresnext50_32x4d', { ...SMP_ARGS['timm-skresnext50_32x4d'], sk: { rdRatio: 1 / 16, rdDivisor: 32, splitInput: false } }, 27.48],
];

/** timm's layers/helpers.py make_divisible. */
function makeDivisible(v: number, divisor: number, roundLimit = 0.9): number {
  let newV = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (newV < roundLimit * v) newV += divisor;
  return newV;
}

/** timm's get_padding: ((stride - 1) + dilation * (k - 1)) // 2. */
const getPadding = (k: number, stride: number, dilation: number) => Math.floor((stride - 1 + dilation * (k - 1)) / 2);

/** The state dict (torch shapes) and the convs of timm's ResNet(block, layers, ...) as smp builds it, `fc` optional, before any surgery. */
function timmSknet(a: SknetArgs, withFc: boolean): { state: Map<string, number[]>; convs: Map<string, TorchConv> } {
  const state = new Map<string, number[]>();
  const convs = new Map<string, TorchConv>();
  const conv2d = (name: string, cin: number, cout: number, k: number, stride = 1, padding = 0, dilation = 1, groups = 1) => {
    convs.set(name, { cin, cout, k, stride, padding, dilation, groups });
    state.set(`${name}.weight`, [cout, cin / groups, k, k]);
  };
  const bn = (name: string, c: number) => {
    for (const t of ['weight', 'bias', 'running_mean', 'running_var']) state.set(`${name}.${t}`, [c]);
    state.set(`${name}.num_batches_tracked`, []);
  };
  // ConvNormAct: `conv` (create_conv2d, padding '' = get_padding) and `bn` (BatchNormAct2d).
  const convNormAct = (name: string, cin: number, cout: number, k: number, stride = 1, dilation = 1, groups = 1) => {
    conv2d(`${name}.conv`, cin, cout, k, stride, getPadding(k, stride, dilation), dilation, groups);
    bn(`${name}.bn`, cout);
  };
  // SelectiveKernel(in, out, kernel_size=None -> [3, 5], keep_3x3=True, ...).
  const selectiveKernel = (name: string, cin: number, cout: number, stride: number, groups: number) => {
    const kernels = [3, 5];
    const dilations = kernels.map((k) => Math.floor((1 * (k - 1)) / 2));
    const pathIn = a.sk.splitInput ? cin / kernels.length : cin;
    dilations.forEach((d, j) => convNormAct(`${name}.paths.${j}`, pathIn, cout, 3, stride, d, Math.min(cout, groups)));
    const attn = makeDivisible(cout * a.sk.rdRatio, a.sk.rdDivisor);
    conv2d(`${name}.attn.fc_reduce`, cout, attn, 1);
    bn(`${name}.attn.bn`, attn);
    conv2d(`${name}.attn.fc_select`, attn, cout * kernels.length, 1);
  };
  conv2d('conv1', 3, 64, 7, 2, 3);
  bn('bn1', 64);
  const expansion = a.block === 'basic' ? 1 : 4;
  let inplanes = 64;
  [64, 128, 256, 512].forEach((planes, s) => {
    // make_blocks with output_stride 32: stride 1 for layer1, 2 after, no dilation.
    const stageStride = s === 0 ? 1 : 2;
    for (let i = 0; i < a.layers[s]; i++) {
      const name = `layer${s + 1}.${i}`;
      const stride = i === 0 ? stageStride : 1;
      if (i === 0 && (stride !== 1 || inplanes !== planes * expansion)) {
        conv2d(`${name}.downsample.0`, inplanes, planes * expansion, 1, stride, getPadding(1, stride, 1));
        bn(`${name}.downsample.1`, planes * expansion);
      }
      if (a.block === 'basic') {
        selectiveKernel(`${name}.conv1`, inplanes, planes, stride, 1);
        convNormAct(`${name}.conv2`, planes, planes, 3);
      } else {
        const width = Math.floor(planes * (a.baseWidth / 64)) * a.cardinality;
        convNormAct(`${name}.conv1`, inplanes, width, 1);
        selectiveKernel(`${name}.conv2`, width, width, stride, a.cardinality);
        convNormAct(`${name}.conv3`, width, planes * 4, 1);
      }
      inplanes = planes * expansion;
    }
  });
  if (withFc) {
    state.set('fc.weight', [1000, inplanes]);
    state.set('fc.bias', [1000]);
  }
  return { state, convs };
}

/** smp's EncoderMixin.make_dilated: get_stages {16: layer3, 32: layer4}; every Conv2d of a stage past the output stride: stride 1, the rate, padding (k // 2) * rate. */
function makeDilated(convs: Map<string, TorchConv>, outputStride: number): Map<string, TorchConv> {
  if (outputStride === 32) return convs;
  const out = new Map(convs);
  for (const [stageStride, layer] of [
    [16, 'layer3.'],
    [32, 'layer4.'],
  ] as const) {
    if (stageStride <= outputStride) continue;
    const rate = stageStride / outputStride;
    for (const [name, c] of convs) if (name.startsWith(layer)) out.set(name, { ...c, stride: 1, dilation: rate, padding: Math.floor(c.k / 2) * rate });
  }
  return out;
}

const numel = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/** The encoder's graph on an RGB image, and its features' shapes. */
function encoderGraph(name: string, outputStride: number, depth = 5, side = 64): { graph: Graph; features: number[][] } {
  const b = new GraphBuilder();
  const f = SMP_ENCODERS[name].build(b, b.input('image', [1, side, side, 3]), { outputStride, depth });
  f.forEach((v, i) => b.output(`f${i}`, v));
  return { graph: b.build(), features: f.map((v) => [...v.shape]) };
}

/** Our state's shapes in torch's layout: conv weights HWIO -> OIHW, the rest as they are. */
function torchShapes(graph: Graph): Map<string, number[]> {
  return new Map(graph.state.map((v) => [v.name, v.shape.length === 4 ? [v.shape[3], v.shape[2], v.shape[0], v.shape[1]] : [...v.shape]]));
}

// smp's out_channels, the input's 3 aside.
const OUT_CHANNELS: Record<string, number[]> = {
  'timm-skresnet18': [64, 64, 128, 256, 512],
  'timm-skresnet34': [64, 64, 128, 256, 512],
  'timm-skresnext50_32x4d': [64, 256, 512, 1024, 2048],
};

describe('smp SKNet encoders (graph)', () => {
  for (const [name, args, millions] of TIMM_ARGS) {
    it(`the derivation of timm's modules gives timm's ${name} its published ${millions} M parameters`, () => {
      const { state } = timmSknet(args, true);
      const params = [...state].filter(([k]) => !/running_(mean|var)$|num_batches_tracked$/.test(k)).reduce((n, [, s]) => n + numel(s), 0);
      expect((params / 1e6).toFixed(2)).to.equal(millions.toFixed(2));
    });
  }

  for (const [name, args] of Object.entries(SMP_ARGS)) {
    it(`${name}: exactly the encoder's state-dict entries (counters aside) at torch's shapes`, () => {
      const want = new Map([...timmSknet(args, false).state].filter(([k]) => !k.endsWith('.num_batches_tracked')).map(([k, s]) => [`encoder.${k}`, s]));
      const ours = torchShapes(encoderGraph(name, 16).graph);
      expect([...ours.keys()].sort()).to.deep.equal([...want.keys()].sort());
      for (const [k, s] of want) expect(ours.get(k), k).to.deep.equal(s);
      // What smp's random initialisation holds, classifier deleted: params only (running statistics aside).
      const params = encoderGraph(name, 32).graph.state.filter((v) => v.role === 'param').reduce((n, v) => n + numel(v.shape), 0);
      const derived = [...want].filter(([k]) => !/running_(mean|var)$/.test(k)).reduce((n, [, s]) => n + numel(s), 0);
      expect(params).to.equal(derived);
    });

    it(`${name}: every conv's kernel, stride, padding, dilation and groups after smp's surgery at OS 32, 16, 8`, () => {
      for (const os of [32, 16, 8]) {
        const want = makeDilated(timmSknet(args, false).convs, os);
        const convs = encoderGraph(name, os).graph.nodes.filter((n) => n.op.type === 'conv2d');
        expect(convs.map((n) => n.name).sort(), `OS ${os}`).to.deep.equal([...want.keys()].map((k) => `encoder.${k}`).sort());
        for (const n of convs) {
          if (n.op.type !== 'conv2d') continue;
          const t = want.get(n.name.slice('encoder.'.length))!;
          const a = n.op.attrs;
          const got = [n.op.weight.shape, a.strideH, a.strideW, a.padTop, a.padBottom, a.padLeft, a.padRight, a.dilationH, a.dilationW, a.groups];
          // make_dilated sets a 1x1 conv's dilation too, which reads the same pixels: built undilated.
          const dilation = t.k === 1 ? 1 : t.dilation;
          const expected = [[t.k, t.k, t.cin / t.groups, t.cout], t.stride, t.stride, t.padding, t.padding, t.padding, t.padding, dilation, dilation, t.groups];
          expect(got, `OS ${os} ${n.name}`).to.deep.equal(expected);
        }
      }
    });

    it(`${name}: smp's out_channels at /2../32 at OS 16 and 8, and the first three at depth 3`, () => {
      for (const [os, sides] of [
        [32, [32, 16, 8, 4, 2]],
        [16, [32, 16, 8, 4, 4]],
        [8, [32, 16, 8, 8, 8]],
      ] as const) {
        expect(encoderGraph(name, os).features, `OS ${os}`).to.deep.equal(OUT_CHANNELS[name].map((c, i) => [1, sides[i], sides[i], c]));
      }
      expect(encoderGraph(name, 16, 3).features.map((s) => s[3])).to.deep.equal(OUT_CHANNELS[name].slice(0, 3));
    });
  }

  it("a file's classifier (SkNetEncoder.load_state_dict drops fc) is unused, nothing else", () => {
    const encoder = SMP_ENCODERS['timm-skresnet18'];
    expect(['encoder.fc.weight', 'encoder.fc.bias', 'encoder.layer1.0.conv1.attn.fc_select.weight'].map((k) => encoder.unused?.(k))).to.deep.equal([true, true, false]);
  });
});
