// EfficientNet's scaling and lukemelas' static padding (src/model/networks/efficientnet.ts,
// smp-efficientnet.ts) against the numbers smp and the fixture README state: the variants beyond
// b0 have no logits reference, so their widths and block counts are checked here. timm's
// variants (smp-timm-efficientnet.ts: b0..b8, l2, lite0..lite4) also as graphs: their state
// against the state dict smp's module structure holds, derived here on its own from smp's
// arch_def strings and timm's EfficientNet / EfficientNetBuilder / block classes, and their
// parameter counts against timm's published ones.
import { expect } from 'chai';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import { efficientNetStages } from '../../src/model/networks/efficientnet.js';
import { LUKEMELAS_EFFICIENTNETS, staticSamePadding } from '../../src/model/networks/smp-efficientnet.js';
import { TIMM_EFFICIENTNETS } from '../../src/model/networks/smp-timm-efficientnet.js';
import { expectEncoderAsCpu } from './smp-encoder-run.js';
import { encoderGraph } from './smp-fixture.js';

/** smp's out_channels (stem, /4, /8, /16, /32) per variant, the same for both libraries. */
const SMP_OUT_CHANNELS: Record<string, number[]> = {
  b0: [32, 24, 40, 112, 320],
  b1: [32, 24, 40, 112, 320],
  b2: [32, 24, 48, 120, 352],
  b3: [40, 32, 48, 136, 384],
  b4: [48, 32, 56, 160, 448],
  b5: [48, 40, 64, 176, 512],
  b6: [56, 40, 72, 200, 576],
  b7: [64, 48, 80, 224, 640],
  b8: [72, 56, 88, 248, 704],
  // timm_efficientnet.py only.
  l2: [136, 104, 176, 480, 1376],
  lite0: [32, 24, 40, 112, 320],
  lite1: [32, 24, 40, 112, 320],
  lite2: [32, 24, 48, 120, 352],
  lite3: [32, 32, 48, 136, 384],
  lite4: [32, 32, 56, 160, 448],
};

/** The key of SMP_OUT_CHANNELS for an smp name: b0..b8, l2, lite0..lite4. */
const variantKey = (name: string) => /(b\d|l2|lite\d)$/.exec(name)![1];

describe('EfficientNet scaling (smp efficientnet-* and timm-efficientnet-*)', () => {
  for (const [name, v] of Object.entries(LUKEMELAS_EFFICIENTNETS)) {
    it(`${name}: smp's out_indexes pick its feature widths; the last is the last block`, () => {
      const blocks = efficientNetStages(v).flat();
      expect([blocks[0].cin, ...v.outIndexes.map((i) => blocks[i].cout)]).to.deep.equal(SMP_OUT_CHANNELS[name.slice(-2)]);
      expect(v.outIndexes[3]).to.equal(blocks.length - 1);
    });
  }

  for (const [name, v] of Object.entries(TIMM_EFFICIENTNETS)) {
    it(`${name}: the widths after stages 1, 2, 4 and 6 are smp's`, () => {
      const stages = efficientNetStages(v);
      expect([stages[0][0].cin, ...[1, 2, 4, 6].map((s) => stages[s].at(-1)!.cout)]).to.deep.equal(SMP_OUT_CHANNELS[variantKey(name)]);
    });
  }

  it("b0 has 16 blocks, b7 55 (ceil of the repeats times the depth multiplier, 3.1 x 1 = 4)", () => {
    expect(efficientNetStages(LUKEMELAS_EFFICIENTNETS['efficientnet-b0']).flat()).to.have.length(16);
    expect(efficientNetStages(LUKEMELAS_EFFICIENTNETS['efficientnet-b7']).map((s) => s.length)).to.deep.equal([4, 7, 7, 10, 10, 13, 4]);
  });

  it("lukemelas' static padding: b0's stride-2 convs (0, 1) for k3, (1, 2) for k5; stride 1 symmetric; an odd nominal size symmetric", () => {
    expect(staticSamePadding(224, 3, 2)).to.deep.equal([0, 1, 0, 1]);
    expect(staticSamePadding(56, 5, 2)).to.deep.equal([1, 2, 1, 2]);
    expect(staticSamePadding(14, 5, 1)).to.deep.equal([2, 2, 2, 2]);
    expect(staticSamePadding(65, 5, 2)).to.deep.equal([2, 2, 2, 2]);
  });
});

// ---- timm's variants as graphs, against the state dict smp's module structure holds ----

/** smp's arch_def strings (get_efficientnet_kwargs); gen_efficientnet_lite_kwargs has them without `_se0.25`. */
const ARCH_DEF = ['ds_r1_k3_s1_e1_c16', 'ir_r2_k3_s2_e6_c24', 'ir_r2_k5_s2_e6_c40', 'ir_r3_k3_s2_e6_c80', 'ir_r3_k5_s1_e6_c112', 'ir_r4_k5_s2_e6_c192', 'ir_r1_k3_s1_e6_c320'];

/** smp's timm_efficientnet_encoders params: channel_multiplier, depth_multiplier, and whether EfficientNetLiteEncoder builds it. */
const SMP_TIMM_PARAMS: Record<string, [width: number, depth: number, lite: boolean]> = {
  'timm-efficientnet-b0': [1.0, 1.0, false],
  'timm-efficientnet-b1': [1.0, 1.1, false],
  'timm-efficientnet-b2': [1.1, 1.2, false],
  'timm-efficientnet-b3': [1.2, 1.4, false],
  'timm-efficientnet-b4': [1.4, 1.8, false],
  'timm-efficientnet-b5': [1.6, 2.2, false],
  'timm-efficientnet-b6': [1.8, 2.6, false],
  'timm-efficientnet-b7': [2.0, 3.1, false],
  'timm-efficientnet-b8': [2.2, 3.6, false],
  'timm-efficientnet-l2': [4.3, 5.3, false],
  'timm-tf_efficientnet_lite0': [1.0, 1.0, true],
  'timm-tf_efficientnet_lite1': [1.0, 1.1, true],
  'timm-tf_efficientnet_lite2': [1.1, 1.2, true],
  'timm-tf_efficientnet_lite3': [1.2, 1.4, true],
  'timm-tf_efficientnet_lite4': [1.4, 1.8, true],
};

/**
 * timm's published parameter counts (M, results/results-imagenet.csv of pytorch-image-models) of
 * the models with the same modules: tf_efficientnet_b0..b8, tf_efficientnet_l2,
 * tf_efficientnet_lite0..lite4 (the `tf_` padding and BN eps change no parameter), classifier included.
 */
const TIMM_PARAM_COUNT_M: Record<string, string> = {
  b0: '5.29', b1: '7.79', b2: '9.11', b3: '12.23', b4: '19.34', b5: '30.39', b6: '43.04', b7: '66.35', b8: '87.41',
  l2: '480.31', lite0: '4.65', lite1: '5.42', lite2: '6.09', lite3: '8.20', lite4: '13.01',
};

/** timm's make_divisible(v, 8, round_limit=0.9). */
function timmMakeDivisible(v: number): number {
  let n = Math.max(8, Math.floor(Math.trunc(v + 4) / 8) * 8);
  if (n < 0.9 * v) n += 8;
  return n;
}

/**
 * Every parameter and BN buffer (num_batches_tracked aside) of smp's encoder, PyTorch shapes, in
 * module order: timm's EfficientNet (`conv_stem`, `bn1`, `blocks`, `conv_head`, `bn2`; the
 * classifier deleted by smp) with decode_arch_def's repeats (ceil(r * depth); fix_first_last for
 * lite), round_channels on every block's channels (the stem's and head's too, unless lite fixes
 * them at 32 and 1280), InvertedResidual's mid = make_divisible(in * e) and SqueezeExcite's
 * round(mid * 0.25 / e).
 */
function smpEncoderState(name: string): Map<string, number[]> {
  const [width, depth, lite] = SMP_TIMM_PARAMS[name];
  const round = (c: number) => timmMakeDivisible(c * width);
  const out = new Map<string, number[]>();
  const conv = (p: string, o: number, i: number, k: number) => out.set(`${p}.weight`, [o, i, k, k]);
  const bn = (p: string, c: number) => ['weight', 'bias', 'running_mean', 'running_var'].forEach((t) => out.set(`${p}.${t}`, [c]));
  const se = (p: string, c: number, rd: number) => {
    out.set(`${p}.conv_reduce.weight`, [rd, c, 1, 1]).set(`${p}.conv_reduce.bias`, [rd]);
    out.set(`${p}.conv_expand.weight`, [c, rd, 1, 1]).set(`${p}.conv_expand.bias`, [c]);
  };
  let chs = lite ? 32 : round(32);
  conv('encoder.conv_stem', chs, 3, 3);
  bn('encoder.bn1', chs);
  ARCH_DEF.forEach((str, s) => {
    const a = Object.fromEntries(str.split('_').slice(1).map((t) => [t[0], Number(t.slice(1))]));
    const repeats = lite && (s === 0 || s === ARCH_DEF.length - 1) ? a.r : Math.ceil(a.r * depth);
    for (let i = 0; i < repeats; i++) {
      const p = `encoder.blocks.${s}.${i}`;
      const cout = round(a.c);
      if (str.startsWith('ds')) {
        conv(`${p}.conv_dw`, chs, 1, a.k);
        bn(`${p}.bn1`, chs);
        if (!lite) se(`${p}.se`, chs, Math.round(chs * 0.25));
        conv(`${p}.conv_pw`, cout, chs, 1);
        bn(`${p}.bn2`, cout);
      } else {
        const mid = timmMakeDivisible(chs * a.e);
        conv(`${p}.conv_pw`, mid, chs, 1);
        bn(`${p}.bn1`, mid);
        conv(`${p}.conv_dw`, mid, 1, a.k);
        bn(`${p}.bn2`, mid);
        if (!lite) se(`${p}.se`, mid, Math.round(mid * (0.25 / a.e)));
        conv(`${p}.conv_pwl`, cout, mid, 1);
        bn(`${p}.bn3`, cout);
      }
      chs = cout;
    }
  });
  const head = lite ? 1280 : round(1280);
  conv('encoder.conv_head', head, chs, 1);
  bn('encoder.bn2', head);
  return out;
}

/** A PyTorch shape as this engine declares it: conv weights [out, in/g, kh, kw] -> [kh, kw, in/g, out]. */
const ours = (s: number[]) => (s.length === 4 ? [s[2], s[3], s[1], s[0]] : s);

const timmGraph = (name: string, outputStride: number) => encoderGraph(name, { outputStride, depth: 5 });

describe("smp's timm-efficientnet-* / timm-tf_efficientnet_lite* encoders (graph)", () => {
  it('the test tables name exactly the registered timm variants', () => {
    expect(Object.keys(TIMM_EFFICIENTNETS)).to.deep.equal(Object.keys(SMP_TIMM_PARAMS));
    for (const [name, [width, depth, lite]] of Object.entries(SMP_TIMM_PARAMS)) {
      expect(TIMM_EFFICIENTNETS[name as keyof typeof TIMM_EFFICIENTNETS], name).to.deep.equal(lite ? { width, depth, lite } : { width, depth });
    }
  });

  for (const name of Object.keys(SMP_TIMM_PARAMS)) {
    it(`${name}: the state dict smp's modules hold (names, shapes), the head unused; smp's out_channels; timm's parameter count`, () => {
      const expected = smpEncoderState(name);
      const { graph, features } = timmGraph(name, 16);
      const declared = new Map(graph.state.map((v) => [v.name, [...v.shape]]));
      const unused = SMP_ENCODERS[name].unused!;
      const used = [...expected.keys()].filter((k) => !unused(k));
      expect([...declared.keys()].sort()).to.deep.equal(used.sort());
      expect([...expected.keys()].filter(unused).sort()).to.deep.equal([...expected.keys()].filter((k) => /^encoder\.(conv_head|bn2)\./.test(k)).sort());
      for (const k of used) expect(declared.get(k), k).to.deep.equal(ours(expected.get(k)!));
      const sides = [32, 16, 8, 4, 4];
      expect(features).to.deep.equal(SMP_OUT_CHANNELS[variantKey(name)].map((c, i) => [1, sides[i], sides[i], c]));
      const numel = (s: number[]) => s.reduce((x, y) => x * y, 1);
      const params = [...expected].filter(([k]) => !/running_(mean|var)$/.test(k)).reduce((n, [, s]) => n + numel(s), 0);
      const head = expected.get('encoder.conv_head.weight')![0];
      expect(((params + head * 1000 + 1000) / 1e6).toFixed(2)).to.equal(TIMM_PARAM_COUNT_M[variantKey(name)]);
    });
  }

  it('lite: ReLU6 everywhere, no squeeze-excite, symmetric padding (not TF "same") at the stride-2 convs, BN eps 1e-5', () => {
    const { graph } = timmGraph('timm-tf_efficientnet_lite2', 32);
    const acts = new Set(graph.nodes.flatMap((n) => (n.op.type === 'activation' || n.op.type === 'batchnorm' || n.op.type === 'conv2d' ? [n.op.attrs.activation] : [])));
    expect([...acts].sort()).to.deep.equal(['none', 'relu6']);
    expect(graph.nodes.filter((n) => n.op.type === 'global_avg_pool' || n.name.includes('.se'))).to.deep.equal([]);
    const pads = (name: string) => {
      const n = graph.nodes.find((m) => m.name === name)!;
      return n.op.type === 'conv2d' ? [n.op.attrs.strideH, n.op.attrs.padTop, n.op.attrs.padBottom, n.op.attrs.padLeft, n.op.attrs.padRight] : [];
    };
    expect(pads('encoder.conv_stem')).to.deep.equal([2, 1, 1, 1, 1]);
    expect(pads('encoder.blocks.1.0.conv_dw')).to.deep.equal([2, 1, 1, 1, 1]);
    expect(pads('encoder.blocks.2.0.conv_dw')).to.deep.equal([2, 2, 2, 2, 2]);
    expect(new Set(graph.nodes.flatMap((n) => (n.op.type === 'batchnorm' ? [n.op.attrs.eps] : [])))).to.deep.equal(new Set([1e-5]));
  });

  it('lite4 at OS 8: stages 3-4 at rate 2 and 5-6 at rate 4, stride 1, padding (k // 2) * rate; blocks 0 and 6 unscaled (1 each)', () => {
    const { graph, features } = timmGraph('timm-tf_efficientnet_lite4', 8);
    expect(features.map((s) => s[1])).to.deep.equal([32, 16, 8, 8, 8]);
    const geo = (name: string) => {
      const n = graph.nodes.find((m) => m.name === name)!;
      return n.op.type === 'conv2d' ? [n.op.attrs.strideH, n.op.attrs.dilationH, n.op.attrs.padTop] : [];
    };
    expect(geo('encoder.blocks.3.0.conv_dw')).to.deep.equal([1, 2, 2]);
    expect(geo('encoder.blocks.5.0.conv_dw')).to.deep.equal([1, 4, 8]);
    expect(efficientNetStages(TIMM_EFFICIENTNETS['timm-tf_efficientnet_lite4']).map((s) => s.length)).to.deep.equal([1, 4, 4, 6, 6, 8, 1]);
  });

  it('lite0 runs on the device as the CPU interpreter computes its graph (random weights, OS 16 and 8)', async function () {
    this.timeout(120_000);
    await expectEncoderAsCpu('timm-tf_efficientnet_lite0', 16);
    await expectEncoderAsCpu('timm-tf_efficientnet_lite0', 8);
  });
});
