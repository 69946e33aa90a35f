// smp's SKNet encoders (timm-skresnet18, timm-skresnet34, timm-skresnext50_32x4d) as graphs,
// without a device and without a fixture: the encoder's state dict and every conv's geometry are
// derived here from the module structure of timm's ResNet / sknet.py / selective_kernel.py with
// smp's arguments (encoders/timm_sknet.py) and smp's make_dilated, and the graph must declare
// exactly that; the derivation itself is checked against timm's published parameter counts.
// The arithmetic (the input split, the paths, the attention's softmax over the paths) against a
// float64 transcription of timm's forward on the CPU; the device program against the CPU
// interpreter; the training graph reaching every parameter; an smp folder with that state dict
// through the loader.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { expectClose, randomArray, testContext } from '../helpers.js';
import { transformersLikeParams } from './random-params.js';
import { encoderTraining } from './smp-encoder-run.js';
import { type Map3, type TorchConv, conv2dHwio, map3 } from './float64-maps.js';
import { derivedEncoderFolder, encoderGraph } from './smp-fixture.js';

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

/**
 * timm's forward (sknet.py, selective_kernel.py, resnet.py) for smp's features, in float64 on
 * [C, H, W] maps, each conv's geometry from the derived modules (after make_dilated), weights
 * read from our HWIO tensors by their state-dict names.
 */
function referenceFeatures(name: string, params: HostParams, image: Float32Array, side: number, outputStride: number, depth: number): Map3[] {
  const a = SMP_ARGS[name];
  const convs = makeDilated(timmSknet(a, false).convs, outputStride);
  const p = (k: string) => params.get(`encoder.${k}`)!.data;
  const conv = (x: Map3, m: string): Map3 => conv2dHwio(x, p(`${m}.weight`), convs.get(m)!);
  const bn = (x: Map3, m: string, relu: boolean): Map3 => {
    const [g, b, mean, v] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => p(`${m}.${k}`));
    const y = map3(x.c, x.h, x.w);
    const hw = x.h * x.w;
    for (let i = 0; i < y.d.length; i++) {
      const c = Math.floor(i / hw);
      const z = ((x.d[i] - mean[c]) / Math.sqrt(v[c] + 1e-5)) * g[c] + b[c];
      y.d[i] = relu ? Math.max(0, z) : z;
    }
    return y;
  };
  const addRelu = (x: Map3, r: Map3): Map3 => ({ ...x, d: x.d.map((v, i) => Math.max(0, v + r.d[i])) });
  const channels = (x: Map3, from: number, count: number): Map3 => ({ c: count, h: x.h, w: x.w, d: x.d.slice(from * x.h * x.w, (from + count) * x.h * x.w) });
  // SelectiveKernel.forward: split, paths, stack; attn: sum over the paths, mean, fc_reduce, bn, relu, fc_select, softmax over the paths.
  const selectiveKernel = (x: Map3, m: string): Map3 => {
    const inputs = a.sk.splitInput ? [channels(x, 0, x.c / 2), channels(x, x.c / 2, x.c / 2)] : [x, x];
    const paths = inputs.map((xi, j) => bn(conv(xi, `${m}.paths.${j}.conv`), `${m}.paths.${j}.bn`, true));
    const { c, h, w } = paths[0];
    const s = map3(c, 1, 1);
    for (let i = 0; i < c * h * w; i++) s.d[Math.floor(i / (h * w))] += (paths[0].d[i] + paths[1].d[i]) / (h * w);
    const z = conv(bn(conv(s, `${m}.attn.fc_reduce`), `${m}.attn.bn`, true), `${m}.attn.fc_select`);
    const y = map3(c, h, w);
    for (let ch = 0; ch < c; ch++) {
      // view(B, num_paths, C, 1, 1): path j's logit of channel ch is z[j * C + ch].
      const [z0, z1] = [z.d[ch], z.d[c + ch]];
      const top = Math.max(z0, z1);
      const [e0, e1] = [Math.exp(z0 - top), Math.exp(z1 - top)];
      for (let i = ch * h * w; i < (ch + 1) * h * w; i++) y.d[i] = (paths[0].d[i] * e0 + paths[1].d[i] * e1) / (e0 + e1);
    }
    return y;
  };
  const x0 = map3(3, side, side);
  for (let i = 0; i < side * side * 3; i++) x0.d[(i % 3) * side * side + Math.floor(i / 3)] = image[i];
  let x = bn(conv(x0, 'conv1'), 'bn1', true);
  const features = [x];
  // MaxPool2d(3, 2, 1).
  const pooled = map3(x.c, Math.floor((x.h - 1) / 2) + 1, Math.floor((x.w - 1) / 2) + 1);
  for (let c = 0; c < x.c; c++) {
    for (let oy = 0; oy < pooled.h; oy++) {
      for (let ox = 0; ox < pooled.w; ox++) {
        let best = -Infinity;
        for (let iy = Math.max(0, 2 * oy - 1); iy <= Math.min(x.h - 1, 2 * oy + 1); iy++) {
          for (let ix = Math.max(0, 2 * ox - 1); ix <= Math.min(x.w - 1, 2 * ox + 1); ix++) best = Math.max(best, x.d[(c * x.h + iy) * x.w + ix]);
        }
        pooled.d[(c * pooled.h + oy) * pooled.w + ox] = best;
      }
    }
  }
  x = pooled;
  for (let s = 0; s < depth - 1; s++) {
    for (let i = 0; i < a.layers[s]; i++) {
      const m = `layer${s + 1}.${i}`;
      const shortcut = convs.has(`${m}.downsample.0`) ? bn(conv(x, `${m}.downsample.0`), `${m}.downsample.1`, false) : x;
      const y =
        a.block === 'basic'
          ? bn(conv(selectiveKernel(x, `${m}.conv1`), `${m}.conv2.conv`), `${m}.conv2.bn`, false)
          : bn(conv(selectiveKernel(bn(conv(x, `${m}.conv1.conv`), `${m}.conv1.bn`, true), `${m}.conv2`), `${m}.conv3.conv`), `${m}.conv3.bn`, false);
      x = addRelu(y, shortcut);
    }
    features.push(x);
  }
  return features;
}

const numel = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/** The encoder's graph on a side x side RGB image, and its features' shapes. */
const sknetGraph = (name: string, outputStride: number, depth = 5, side = 64) => encoderGraph(name, { outputStride, depth, height: side, width: side });

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
      const ours = torchShapes(sknetGraph(name, 16).graph);
      expect([...ours.keys()].sort()).to.deep.equal([...want.keys()].sort());
      for (const [k, s] of want) expect(ours.get(k), k).to.deep.equal(s);
      // What smp's random initialisation holds, classifier deleted: params only (running statistics aside).
      const params = sknetGraph(name, 32).graph.state.filter((v) => v.role === 'param').reduce((n, v) => n + numel(v.shape), 0);
      const derived = [...want].filter(([k]) => !/running_(mean|var)$/.test(k)).reduce((n, [, s]) => n + numel(s), 0);
      expect(params).to.equal(derived);
    });

    it(`${name}: every conv's kernel, stride, padding, dilation and groups after smp's surgery at OS 32, 16, 8`, () => {
      for (const os of [32, 16, 8]) {
        const want = makeDilated(timmSknet(args, false).convs, os);
        const convs = sknetGraph(name, os).graph.nodes.filter((n) => n.op.type === 'conv2d');
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
        expect(sknetGraph(name, os).features, `OS ${os}`).to.deep.equal(OUT_CHANNELS[name].map((c, i) => [1, sides[i], sides[i], c]));
      }
      expect(sknetGraph(name, 16, 3).features.map((s) => s[3])).to.deep.equal(OUT_CHANNELS[name].slice(0, 3));
    });
  }

  for (const [name, side, outputStride, depth] of [
    ['timm-skresnet18', 32, 8, 4],
    ['timm-skresnext50_32x4d', 32, 16, 3],
  ] as const) {
    it(`${name} (${side}x${side}, OS ${outputStride}, depth ${depth}): the features of timm's forward, in float64 on the CPU`, () => {
      const { graph } = sknetGraph(name, outputStride, depth, side);
      const params = transformersLikeParams(graph);
      const image = randomArray(side * side * 3, -2, 2);
      const out = runGraphCpu(graph, params, { image });
      referenceFeatures(name, params, image, side, outputStride, depth).forEach((ref, i) => {
        // Ours NHWC, the reference CHW.
        const got = out.get(`f${i}`)!;
        const want = Float64Array.from({ length: ref.d.length }, (_, k) => ref.d[(k % ref.c) * ref.h * ref.w + Math.floor(k / ref.c)]);
        expect(got.length, `feature ${i}`).to.equal(want.length);
        expectClose(got, want, `${name} feature ${i}`);
      });
    });
  }

  it('timm-skresnet18 (32x32, OS 8, depth 4) on the device, as built and as compiled for inference, equals the CPU interpreter', async () => {
    const ctx = await testContext();
    const { graph } = sknetGraph('timm-skresnet18', 8, 4, 32);
    const params = transformersLikeParams(graph);
    const image = randomArray(32 * 32 * 3, -2, 2);
    const ref = runGraphCpu(graph, params, { image });
    for (const [what, g] of [['canonical', graph], ['inference', compile(graph, { mode: 'inference' })]] as const) {
      const program = await Program.create(ctx, g, params, `timm-skresnet18 ${what}`);
      try {
        const out = await program.run({ image });
        for (const [k, v] of ref) expectClose(out.get(k)!, v, `${what} ${k}`);
      } finally {
        program.dispose();
      }
    }
  });

  it('timm-skresnext50_32x4d trains as built: every encoder parameter (paths and attention too) gets a gradient', () => {
    const { encoder, withoutGradient } = encoderTraining('timm-skresnext50_32x4d');
    expect(encoder).to.include('encoder.layer4.2.conv2.attn.fc_select.weight');
    expect(withoutGradient).to.deep.equal([]);
  });

  it("an smp folder of timm-skresnet18 (the state dict derived here, smp's decoder of resnet34's fixture) loads: every tensor read or set apart as smp's loader does", async () => {
    // resnet34's decoder reads 512 channels at /16 and 64 at /4, as skresnet18's features are.
    const derived = [...timmSknet(SMP_ARGS['timm-skresnet18'], false).state].map(([k, s]): [string, number[]] => [`encoder.${k}`, s]);
    const { dir, state } = derivedEncoderFolder('deeplabv3plus-resnet34', 'timm-skresnet18', derived);
    try {
      const w = await loadWeights(dir);
      const counters = [...state.keys()].filter((k) => k.endsWith('.num_batches_tracked'));
      expect(w.params.size + counters.length).to.equal(state.size);
      expect([...(w.unread?.keys() ?? [])].sort()).to.deep.equal(counters.sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a file's classifier (SkNetEncoder.load_state_dict drops fc) is unused, nothing else", () => {
    const encoder = SMP_ENCODERS['timm-skresnet18'];
    expect(['encoder.fc.weight', 'encoder.fc.bias', 'encoder.layer1.0.conv1.attn.fc_select.weight'].map((k) => encoder.unused?.(k))).to.deep.equal([true, true, false]);
  });
});
