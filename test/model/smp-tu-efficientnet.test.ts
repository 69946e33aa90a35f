// smp's TimmUniversalEncoder on timm's MobileNetV3 and EfficientNet (tu-mobilenetv3_large_100,
// tu-mobilenetv3_small_100, tu-efficientnet_b0..b3) as graphs, without a fixture: the state dict,
// every conv's geometry under timm's output_stride rule and the features are derived here from
// timm's own block strings and module structure (mobilenetv3.py _gen_mobilenet_v3, efficientnet.py
// _gen_efficientnet, _efficientnet_builder.py, _efficientnet_blocks.py), and the graph must declare
// exactly that; the derivation itself is checked against timm's published parameter counts
// (results/results-imagenet.csv). The arithmetic against a float64 transcription of timm's block
// forwards on the CPU (a planted sigmoid in place of MobileNetV3's hard-sigmoid gate fails it); the
// device program against the CPU interpreter; the training graph reaching every parameter; an smp
// folder with the derived state dict through the loader.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { expectClose, randomArray } from '../helpers.js';
import { transformersLikeParams } from './random-params.js';
import { encoderTraining, expectEncoderAsCpu } from './smp-encoder-run.js';
import { type Map3, type TorchConv, conv2dHwio } from './float64-maps.js';
import { derivedEncoderFolder, encoderGraph } from './smp-fixture.js';

interface TimmModel {
  family: 'mobilenetv3' | 'efficientnet';
  arch: string[][];
  width: number;
  depth: number;
  numFeatures: number;
}

const EFFNET_ARCH = [['ds_r1_k3_s1_e1_c16_se0.25'], ['ir_r2_k3_s2_e6_c24_se0.25'], ['ir_r2_k5_s2_e6_c40_se0.25'], ['ir_r3_k3_s2_e6_c80_se0.25'], ['ir_r3_k5_s1_e6_c112_se0.25'], ['ir_r4_k5_s2_e6_c192_se0.25'], ['ir_r1_k3_s1_e6_c320_se0.25']];

/** timm's registrations, with their published ImageNet parameter counts (millions). */
const MODELS: Record<string, [TimmModel, number]> = {
  mobilenetv3_large_100: [{ family: 'mobilenetv3', arch: [['ds_r1_k3_s1_e1_c16_nre'], ['ir_r1_k3_s2_e4_c24_nre', 'ir_r1_k3_s1_e3_c24_nre'], ['ir_r3_k5_s2_e3_c40_se0.25_nre'], ['ir_r1_k3_s2_e6_c80', 'ir_r1_k3_s1_e2.5_c80', 'ir_r2_k3_s1_e2.3_c80'], ['ir_r2_k3_s1_e6_c112_se0.25'], ['ir_r3_k5_s2_e6_c160_se0.25'], ['cn_r1_k1_s1_c960']], width: 1, depth: 1, numFeatures: 1280 }, 5.48],
  mobilenetv3_small_100: [{ family: 'mobilenetv3', arch: [['ds_r1_k3_s2_e1_c16_se0.25_nre'], ['ir_r1_k3_s2_e4.5_c24_nre', 'ir_r1_k3_s1_e3.67_c24_nre'], ['ir_r1_k5_s2_e4_c40_se0.25', 'ir_r2_k5_s1_e6_c40_se0.25'], ['ir_r2_k5_s1_e3_c48_se0.25'], ['ir_r3_k5_s2_e6_c96_se0.25'], ['cn_r1_k1_s1_c576']], width: 1, depth: 1, numFeatures: 1024 }, 2.54],
  efficientnet_b0: [{ family: 'efficientnet', arch: EFFNET_ARCH, width: 1.0, depth: 1.0, numFeatures: 1280 }, 5.29],
  efficientnet_b1: [{ family: 'efficientnet', arch: EFFNET_ARCH, width: 1.0, depth: 1.1, numFeatures: 1280 }, 7.79],
  efficientnet_b2: [{ family: 'efficientnet', arch: EFFNET_ARCH, width: 1.1, depth: 1.2, numFeatures: 1280 }, 9.11],
  efficientnet_b3: [{ family: 'efficientnet', arch: EFFNET_ARCH, width: 1.2, depth: 1.4, numFeatures: 1280 }, 12.23],
};

/** timm's feature_info channels for features_only (reductions 2, 4, 8, 16, 32). */
const FEATURE_CHANNELS: Record<string, number[]> = {
  mobilenetv3_large_100: [16, 24, 40, 112, 960],
  mobilenetv3_small_100: [16, 16, 24, 48, 576],
  efficientnet_b0: [16, 24, 40, 112, 320],
  efficientnet_b1: [16, 24, 40, 112, 320],
  efficientnet_b2: [16, 24, 48, 120, 352],
  efficientnet_b3: [24, 32, 48, 136, 384],
};

/** timm's make_divisible (divisor 8, round_limit 0.9). */
function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** Whether the first block string has stride 2 (the stem is then a feature). */
const stages0First = (m: TimmModel) => /_s2_/.test(m.arch[0][0]);

const getPadding = (k: number, stride: number, dilation: number) => Math.floor((stride - 1 + dilation * (k - 1)) / 2);

/**
 * timm's model as create_model builds it at output_stride: its state dict (torch shapes; the head
 * and classifier with `head`), its convs, and feature_info's (channels, reduction).
 */
function timmModel(m: TimmModel, outputStride: number, head: boolean): { state: Map<string, number[]>; convs: Map<string, TorchConv>; acts: Map<string, string>; skips: string[]; order: { name: string; type: string }[][]; featureStages: number[]; features: [number, number][] } {
  const state = new Map<string, number[]>();
  // The activation after each module that has one (BatchNormAct2d's, the gate's two), by module name.
  const acts = new Map<string, string>();
  // The blocks whose has_skip holds (in == out and the stride after the output_stride rule 1; ConvBnAct's skip is off).
  const skips: string[] = [];
  // The blocks in forward order, and after which stage (-1: the stem) each feature is taken.
  const order: { name: string; type: string }[][] = [];
  const featureStages: number[] = stages0First(m) ? [-1] : [];
  const act = m.family === 'mobilenetv3' ? 'hardswish' : 'silu';
  const convs = new Map<string, TorchConv>();
  const conv2d = (name: string, c: TorchConv, bias = false) => {
    convs.set(name, c);
    state.set(`${name}.weight`, [c.cout, c.cin / c.groups, c.k, c.k]);
    if (bias) state.set(`${name}.bias`, [c.cout]);
  };
  const bn = (name: string, c: number) => {
    for (const t of ['weight', 'bias', 'running_mean', 'running_var']) state.set(`${name}.${t}`, [c]);
    state.set(`${name}.num_batches_tracked`, []);
  };
  const plain = (cin: number, cout: number, k: number, stride = 1, dilation = 1, groups = 1): TorchConv => ({ cin, cout, k, stride, padding: getPadding(k, stride, dilation), dilation, groups });
  const roundChs = (c: number) => makeDivisible(c * m.width);
  const stem = m.family === 'mobilenetv3' ? 16 : roundChs(32);
  conv2d('conv_stem', plain(3, stem, 3, 2));
  bn('bn1', stem);
  acts.set('bn1', act);
  // decode_arch_def: each stage one block string per repeat group; EfficientNet's depth scaled by ceil (one string per stage).
  const stages = m.arch.map((strings) =>
    strings.flatMap((str) => {
      const [type, ...opts] = str.split('_');
      const o = Object.fromEntries(opts.filter((x) => /^[a-z]+[\d.]+$/.test(x)).map((x) => [x.replace(/[\d.]+$/, ''), Number(x.replace(/^[a-z]+/, ''))]));
      const repeats = Math.ceil(o.r * m.depth);
      return Array.from({ length: repeats }, () => ({ type, k: o.k, s: o.s, e: o.e ?? 1, c: o.c, se: o.se ?? 0, nre: opts.includes('nre') }));
    }),
  );
  // EfficientNetBuilder.__call__.
  let cin = stem;
  let current = 2;
  let dilation = 1;
  const features: [number, number][] = stages[0][0].s > 1 ? [[stem, 2]] : [];
  stages.forEach((blocks, si) => {
    blocks.forEach((ba, bi) => {
      let stride = bi >= 1 ? 1 : ba.s;
      let next = dilation;
      if (stride > 1) {
        if (current * stride > outputStride) {
          next = dilation * stride;
          stride = 1;
        } else current *= stride;
      }
      const d = dilation;
      dilation = next;
      const name = `blocks.${si}.${bi}`;
      const cout = roundChs(ba.c);
      const blockAct = ba.nre ? 'relu' : act;
      if (ba.type !== 'cn' && stride === 1 && cin === cout) skips.push(name);
      (order[si] ??= []).push({ name, type: ba.type });
      // se_from_exp (MobileNetV3): rd from mid, round_channels; else se_ratio / exp_ratio, round.
      const seChs = (mid: number) => (m.family === 'mobilenetv3' ? makeDivisible(mid * ba.se) : Math.round(mid * (ba.se / ba.e)));
      const se = (mid: number) => {
        if (!ba.se) return;
        conv2d(`${name}.se.conv_reduce`, plain(mid, seChs(mid), 1), true);
        conv2d(`${name}.se.conv_expand`, plain(seChs(mid), mid, 1), true);
        // MobileNetV3's se_layer: force_act_layer ReLU, gate hard_sigmoid; EfficientNet's: the block's act, sigmoid.
        acts.set(`${name}.se.conv_reduce`, m.family === 'mobilenetv3' ? 'relu' : blockAct);
        acts.set(`${name}.se.conv_expand`, m.family === 'mobilenetv3' ? 'hardsigmoid' : 'sigmoid');
      };
      if (ba.type === 'ds') {
        conv2d(`${name}.conv_dw`, plain(cin, cin, ba.k, stride, d, cin));
        bn(`${name}.bn1`, cin);
        acts.set(`${name}.bn1`, blockAct);
        se(cin);
        conv2d(`${name}.conv_pw`, plain(cin, cout, 1));
        bn(`${name}.bn2`, cout);
      } else if (ba.type === 'ir') {
        const mid = makeDivisible(cin * ba.e);
        conv2d(`${name}.conv_pw`, plain(cin, mid, 1));
        bn(`${name}.bn1`, mid);
        conv2d(`${name}.conv_dw`, plain(mid, mid, ba.k, stride, d, mid));
        bn(`${name}.bn2`, mid);
        acts.set(`${name}.bn1`, blockAct);
        acts.set(`${name}.bn2`, blockAct);
        se(mid);
        conv2d(`${name}.conv_pwl`, plain(mid, cout, 1));
        bn(`${name}.bn3`, cout);
      } else {
        conv2d(`${name}.conv`, plain(cin, cout, ba.k, stride, d));
        bn(`${name}.bn1`, cout);
        acts.set(`${name}.bn1`, blockAct);
      }
      cin = cout;
    });
    if (si === stages.length - 1 || stages[si + 1][0].s > 1) {
      features.push([cin, current]);
      featureStages.push(si);
    }
  });
  if (head) {
    const nf = m.family === 'mobilenetv3' ? m.numFeatures : roundChs(m.numFeatures);
    // MobileNetV3: conv_head with bias, no norm; EfficientNet: conv_head, bn2.
    conv2d('conv_head', plain(cin, nf, 1), m.family === 'mobilenetv3');
    if (m.family === 'efficientnet') bn('bn2', nf);
    state.set('classifier.weight', [1000, nf]);
    state.set('classifier.bias', [1000]);
  }
  return { state, convs, acts, skips, order, featureStages, features };
}

const numel = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
const countParams = (state: Map<string, number[]>) => [...state].filter(([k]) => !/running_(mean|var)$|num_batches_tracked$/.test(k)).reduce((n, [, s]) => n + numel(s), 0);

function torchShapes(graph: Graph): Map<string, number[]> {
  return new Map(graph.state.map((v) => [v.name, v.shape.length === 4 ? [v.shape[3], v.shape[2], v.shape[0], v.shape[1]] : [...v.shape]]));
}

const PREFIX = 'encoder.model.';

const ACT: Record<string, (x: number) => number> = {
  relu: (x) => Math.max(0, x),
  hardswish: (x) => (x * Math.min(Math.max(x + 3, 0), 6)) / 6,
  hardsigmoid: (x) => Math.min(Math.max(x + 3, 0), 6) / 6,
  silu: (x) => x / (1 + Math.exp(-x)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

/**
 * timm's forward (_efficientnet_blocks.py: DepthwiseSeparableConv, InvertedResidual, ConvBnAct,
 * SqueezeExcite) for smp's features, in float64 on [C, H, W] maps, the geometry and activations
 * from the derivation above, weights read from our HWIO tensors by their state-dict names.
 */
function referenceFeatures(m: TimmModel, params: HostParams, image: Float32Array, side: number, outputStride: number, depth: number): Map3[] {
  const t = timmModel(m, outputStride, false);
  const p = (k: string) => params.get(PREFIX + k)!.data;
  const conv = (x: Map3, name: string): Map3 => {
    const y = conv2dHwio(x, p(`${name}.weight`), t.convs.get(name)!, params.get(`${PREFIX}${name}.bias`)?.data);
    const act = t.acts.get(name);
    return act ? { ...y, d: y.d.map(ACT[act]) } : y;
  };
  const bn = (x: Map3, name: string): Map3 => {
    const [g, b, mean, v] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => p(`${name}.${k}`));
    const act = t.acts.get(name);
    const hw = x.h * x.w;
    return {
      ...x,
      d: x.d.map((xi, i) => {
        const c = Math.floor(i / hw);
        const z = ((xi - mean[c]) / Math.sqrt(v[c] + 1e-5)) * g[c] + b[c];
        return act ? ACT[act](z) : z;
      }),
    };
  };
  const se = (x: Map3, name: string): Map3 => {
    if (!t.convs.has(`${name}.se.conv_reduce`)) return x;
    const hw = x.h * x.w;
    const pooled: Map3 = { c: x.c, h: 1, w: 1, d: new Float64Array(x.c) };
    for (let i = 0; i < x.d.length; i++) pooled.d[Math.floor(i / hw)] += x.d[i] / hw;
    const gate = conv(conv(pooled, `${name}.se.conv_reduce`), `${name}.se.conv_expand`);
    return { ...x, d: x.d.map((xi, i) => xi * gate.d[Math.floor(i / hw)]) };
  };
  let x: Map3 = { c: 3, h: side, w: side, d: new Float64Array(3 * side * side) };
  for (let i = 0; i < side * side * 3; i++) x.d[(i % 3) * side * side + Math.floor(i / 3)] = image[i];
  x = bn(conv(x, 'conv_stem'), 'bn1');
  const points = t.featureStages.slice(0, depth);
  const features = points[0] === -1 ? [x] : [];
  for (let s = 0; s <= points[points.length - 1]; s++) {
    for (const { name, type } of t.order[s]) {
      const input = x;
      if (type === 'ds') x = bn(conv(se(bn(conv(x, `${name}.conv_dw`), `${name}.bn1`), name), `${name}.conv_pw`), `${name}.bn2`);
      else if (type === 'ir') x = bn(conv(se(bn(conv(bn(conv(x, `${name}.conv_pw`), `${name}.bn1`), `${name}.conv_dw`), `${name}.bn2`), name), `${name}.conv_pwl`), `${name}.bn3`);
      else x = bn(conv(x, `${name}.conv`), `${name}.bn1`);
      if (t.skips.includes(name)) x = { ...x, d: x.d.map((v, i) => v + input.d[i]) };
    }
    if (points.includes(s)) features.push(x);
  }
  return features;
}

describe("smp tu- encoders on timm's MobileNetV3 and EfficientNet (graph)", () => {
  for (const [timm, [model, millions]] of Object.entries(MODELS)) {
    const name = `tu-${timm}`;

    it(`the derivation of timm's modules gives ${timm} its published ${millions} M parameters and feature_info channels`, () => {
      expect((countParams(timmModel(model, 32, true).state) / 1e6).toFixed(2)).to.equal(millions.toFixed(2));
      expect(timmModel(model, 32, false).features).to.deep.equal(FEATURE_CHANNELS[timm].map((c, i) => [c, 2 ** (i + 1)]));
    });

    it(`${name}: exactly timm's features_only state dict (counters aside) under encoder.model., at torch's shapes`, () => {
      const want = new Map([...timmModel(model, 16, false).state].filter(([k]) => !k.endsWith('.num_batches_tracked')).map(([k, s]) => [PREFIX + k, s]));
      const ours = torchShapes(encoderGraph(name, { outputStride: 16, depth: 5 }).graph);
      expect([...ours.keys()].sort()).to.deep.equal([...want.keys()].sort());
      for (const [k, s] of want) expect(ours.get(k), k).to.deep.equal(s);
    });

    it(`${name}: every conv's kernel, stride, padding, dilation and groups under timm's output_stride 32, 16, 8`, () => {
      for (const os of [32, 16, 8]) {
        const want = timmModel(model, os, false).convs;
        const convs = encoderGraph(name, { outputStride: os, depth: 5 }).graph.nodes.filter((n) => n.op.type === 'conv2d');
        expect(convs.map((n) => n.name).sort(), `OS ${os}`).to.deep.equal([...want.keys()].map((k) => PREFIX + k).sort());
        for (const n of convs) {
          if (n.op.type !== 'conv2d') continue;
          const t = want.get(n.name.slice(PREFIX.length))!;
          const a = n.op.attrs;
          const got = [n.op.weight.shape, a.strideH, a.strideW, a.padTop, a.padBottom, a.padLeft, a.padRight, a.dilationH, a.dilationW, a.groups];
          // A 1x1 conv's dilation reads the same pixels: built undilated.
          const dilation = t.k === 1 ? 1 : t.dilation;
          const expected = [[t.k, t.k, t.cin / t.groups, t.cout], t.stride, t.stride, t.padding, t.padding, t.padding, t.padding, dilation, dilation, t.groups];
          expect(got, `OS ${os} ${n.name}`).to.deep.equal(expected);
        }
      }
    });

    it(`${name}: the activation after each module as timm's blocks apply it (hard-swish / ReLU for nre / SiLU, the gates' ReLU + hard-sigmoid or SiLU + sigmoid)`, () => {
      const want = new Map([...timmModel(model, 16, false).acts].map(([k, a]) => [PREFIX + k, a]));
      const nodes = encoderGraph(name, { outputStride: 16, depth: 5 }).graph.nodes.filter((n) => n.op.type === 'activation');
      const got = new Map(nodes.map((n) => [n.name.replace(/:[a-z0-9]+$/, ''), n.op.type === 'activation' ? n.op.attrs.activation : '']));
      expect([...got].sort()).to.deep.equal([...want].sort());
    });

    it(`${name}: the identity added exactly where timm's blocks have has_skip, at OS 32, 16, 8`, () => {
      for (const os of [32, 16, 8]) {
        const adds = encoderGraph(name, { outputStride: os, depth: 5 }).graph.nodes.filter((n) => n.op.type === 'add');
        expect(adds.map((n) => n.name).sort(), `OS ${os}`).to.deep.equal(timmModel(model, os, false).skips.map((k) => PREFIX + k).sort());
      }
    });

    it(`${name}: timm's feature_info channels at /2../32 at OS 32, 16, 8, and the first three at depth 3`, () => {
      for (const [os, sides] of [
        [32, [32, 16, 8, 4, 2]],
        [16, [32, 16, 8, 4, 4]],
        [8, [32, 16, 8, 8, 8]],
      ] as const) {
        expect(encoderGraph(name, { outputStride: os, depth: 5 }).features, `OS ${os}`).to.deep.equal(FEATURE_CHANNELS[timm].map((c, i) => [1, sides[i], sides[i], c]));
      }
      expect(encoderGraph(name, { outputStride: 16, depth: 3 }).features.map((s) => s[3])).to.deep.equal(FEATURE_CHANNELS[timm].slice(0, 3));
    });
  }

  it("the output_stride rule: a dilated stage's first block keeps the dilation before it (mobilenetv3_large_100's depthwise convs)", () => {
    const dw = (os: number) => {
      const convs = timmModel(MODELS.mobilenetv3_large_100[0], os, false).convs;
      return [...convs].filter(([k]) => /^blocks\.[345]\.\d+\.conv_dw$/.test(k)).map(([k, c]) => `${k.slice(7, 10)}:s${c.stride}d${c.dilation}`);
    };
    expect(dw(16)).to.deep.equal(['3.0:s2d1', '3.1:s1d1', '3.2:s1d1', '3.3:s1d1', '4.0:s1d1', '4.1:s1d1', '5.0:s1d1', '5.1:s1d2', '5.2:s1d2']);
    expect(dw(8)).to.deep.equal(['3.0:s1d1', '3.1:s1d2', '3.2:s1d2', '3.3:s1d2', '4.0:s1d2', '4.1:s1d2', '5.0:s1d2', '5.1:s1d4', '5.2:s1d4']);
  });

  for (const [name, timm, side, outputStride, depth] of [
    ['tu-mobilenetv3_small_100', 'mobilenetv3_small_100', 32, 8, 5],
    ['tu-mobilenetv3_large_100', 'mobilenetv3_large_100', 32, 16, 5],
    ['tu-efficientnet_b0', 'efficientnet_b0', 32, 8, 4],
  ] as const) {
    it(`${name} (${side}x${side}, OS ${outputStride}, depth ${depth}): the features of timm's forward, in float64 on the CPU`, () => {
      const { graph } = encoderGraph(name, { outputStride, depth, height: side, width: side });
      const params = transformersLikeParams(graph);
      const image = randomArray(side * side * 3, -2, 2);
      const out = runGraphCpu(graph, params, { image });
      referenceFeatures(MODELS[timm][0], params, image, side, outputStride, depth).forEach((ref, i) => {
        const got = out.get(`f${i}`)!;
        const want = Float64Array.from({ length: ref.d.length }, (_, k) => ref.d[(k % ref.c) * ref.h * ref.w + Math.floor(k / ref.c)]);
        expect(got.length, `feature ${i}`).to.equal(want.length);
        expectClose(got, want, `${name} feature ${i}`);
      });
    });
  }

  it("an smp folder of tu-efficientnet_b0 (the state dict derived here, smp's decoder of efficientnet-b0's fixture) loads: every tensor read or set apart as smp's loader does", async () => {
    // efficientnet-b0's decoder reads 24 channels at /4 and 320 at /16, as tu-efficientnet_b0's features are.
    const derived = [...timmModel(MODELS.efficientnet_b0[0], 16, false).state].map(([k, s]): [string, number[]] => [PREFIX + k, s]);
    const { dir, state } = derivedEncoderFolder('deeplabv3plus-efficientnet-b0', 'tu-efficientnet_b0', derived);
    try {
      const w = await loadWeights(dir);
      const counters = [...state.keys()].filter((k) => k.endsWith('.num_batches_tracked'));
      expect(w.params.size + counters.length).to.equal(state.size);
      expect([...(w.unread?.keys() ?? [])].sort()).to.deep.equal(counters.sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tu-mobilenetv3_large_100 (OS 8) on the device equals the CPU interpreter at every feature', async () => {
    await expectEncoderAsCpu('tu-mobilenetv3_large_100', 8);
  });

  it('tu-efficientnet_b0 trains as built: every encoder parameter gets a gradient', () => {
    const { encoder, withoutGradient } = encoderTraining('tu-efficientnet_b0');
    expect(encoder).to.include('encoder.model.blocks.6.0.se.conv_expand.weight');
    expect(withoutGradient).to.deep.equal([]);
  });
});
