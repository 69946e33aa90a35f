// smp's DPN encoders (src/model/networks/smp-dpn.ts) have no logits fixture: they are checked
// here against smp's source (encoders/dpn.py and _dpn.py at 5006616). dpnModules below follows
// DPN.__init__ module by module, as PyTorch registers them, and yields the state dict smp's
// encoder holds (before `del self.last_linear`) with each Conv2d's stride, padding and dilation,
// then make_dilated (DPNEncoder.get_stages, replace_strides_with_dilation) on top. The graph must
// declare exactly those tensors (bar num_batches_tracked and the classifier), in PyTorch's
// layout once ours (HWIO) is permuted back, and its convs must run with those geometries.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import type { Conv2dOp } from '../../src/graph/ops/conv2d.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';

/** dpn.py's `params` per encoder, copied (small defaults to False, b to False). */
const SMP_PARAMS: Record<string, { small?: boolean; b?: boolean; num_init_features: number; k_r: number; groups: number; k_sec: number[]; inc_sec: number[]; stage_idxs: number[]; out_channels: number[] }> = {
  dpn68: { small: true, num_init_features: 10, k_r: 128, groups: 32, k_sec: [3, 4, 12, 3], inc_sec: [16, 32, 32, 64], stage_idxs: [4, 8, 20, 24], out_channels: [3, 10, 144, 320, 704, 832] },
  dpn68b: { small: true, b: true, num_init_features: 10, k_r: 128, groups: 32, k_sec: [3, 4, 12, 3], inc_sec: [16, 32, 32, 64], stage_idxs: [4, 8, 20, 24], out_channels: [3, 10, 144, 320, 704, 832] },
  dpn92: { num_init_features: 64, k_r: 96, groups: 32, k_sec: [3, 4, 20, 3], inc_sec: [16, 32, 24, 128], stage_idxs: [4, 8, 28, 32], out_channels: [3, 64, 336, 704, 1552, 2688] },
  dpn98: { num_init_features: 96, k_r: 160, groups: 40, k_sec: [3, 6, 20, 3], inc_sec: [16, 32, 32, 128], stage_idxs: [4, 10, 30, 34], out_channels: [3, 96, 336, 768, 1728, 2688] },
  dpn107: { num_init_features: 128, k_r: 200, groups: 50, k_sec: [4, 8, 20, 3], inc_sec: [20, 64, 64, 128], stage_idxs: [5, 13, 33, 37], out_channels: [3, 128, 376, 1152, 2432, 2688] },
  dpn131: { num_init_features: 128, k_r: 160, groups: 40, k_sec: [4, 8, 28, 3], inc_sec: [16, 32, 32, 128], stage_idxs: [5, 13, 41, 45], out_channels: [3, 128, 352, 832, 1984, 2688] },
};

interface TorchConv {
  stride: number;
  padding: number;
  dilation: number;
  groups: number;
  kernel: number;
}

interface TorchModel {
  /** The state dict, in registration order: name -> PyTorch shape. */
  state: Map<string, number[]>;
  /** Conv2d modules by name, geometry after make_dilated. */
  convs: Map<string, TorchConv>;
  /** `features` children in order (what stage_idxs index). */
  children: string[];
}

/** DPN(**params) as _dpn.py builds it, then make_dilated(outputStride) as dpn.py and _base.py apply it. */
function dpnModules(p: (typeof SMP_PARAMS)[string], outputStride: number): TorchModel {
  const state = new Map<string, number[]>();
  const convs = new Map<string, TorchConv>();
  const children: string[] = [];
  const convChild = new Map<string, string>();
  let child = '';
  const Conv2d = (name: string, cin: number, cout: number, k: number, stride = 1, padding = 0, groups = 1, bias = false): void => {
    state.set(`${name}.weight`, [cout, cin / groups, k, k]);
    if (bias) state.set(`${name}.bias`, [cout]);
    convs.set(name, { stride, padding, dilation: 1, groups, kernel: k });
    convChild.set(name, child);
  };
  const BatchNorm2d = (name: string, c: number): void => {
    for (const t of ['weight', 'bias', 'running_mean', 'running_var']) state.set(`${name}.${t}`, [c]);
    state.set(`${name}.num_batches_tracked`, []);
  };
  const BnActConv2d = (name: string, cin: number, cout: number, k: number, stride: number, padding = 0, groups = 1): void => {
    BatchNorm2d(`${name}.bn`, cin);
    Conv2d(`${name}.conv`, cin, cout, k, stride, padding, groups);
  };
  const CatBnAct = (name: string, c: number): void => BatchNorm2d(`${name}.bn`, c);
  const DualPathBlock = (name: string, inChs: number, a: number, b3: number, c: number, inc: number, groups: number, blockType: string, b: boolean): void => {
    child = name;
    children.push(name);
    const keyStride = blockType === 'down' ? 2 : 1;
    if (blockType !== 'normal') {
      if (keyStride === 2) BnActConv2d(`${name}.c1x1_w_s2`, inChs, c + 2 * inc, 1, 2);
      else BnActConv2d(`${name}.c1x1_w_s1`, inChs, c + 2 * inc, 1, 1);
    }
    BnActConv2d(`${name}.c1x1_a`, inChs, a, 1, 1);
    BnActConv2d(`${name}.c3x3_b`, a, b3, 3, keyStride, 1, groups);
    if (b) {
      CatBnAct(`${name}.c1x1_c`, b3);
      Conv2d(`${name}.c1x1_c1`, b3, c, 1);
      Conv2d(`${name}.c1x1_c2`, b3, inc, 1);
    } else {
      BnActConv2d(`${name}.c1x1_c`, b3, c + inc, 1, 1);
    }
  };

  const bwFactor = p.small ? 1 : 4;
  const f = 'features';
  child = `${f}.conv1_1`;
  children.push(child);
  // InputBlock: conv, bn (the pool has no parameters).
  if (p.small) Conv2d(`${f}.conv1_1.conv`, 3, p.num_init_features, 3, 2, 1);
  else Conv2d(`${f}.conv1_1.conv`, 3, p.num_init_features, 7, 2, 3);
  BatchNorm2d(`${f}.conv1_1.bn`, p.num_init_features);
  let inChs = p.num_init_features;
  // conv2 .. conv5, unrolled in _dpn.py; the same four times but for the first block's type.
  for (const [s, base] of [64, 128, 256, 512].entries()) {
    const bw = base * bwFactor;
    const inc = p.inc_sec[s];
    const r = Math.floor((p.k_r * bw) / (64 * bwFactor));
    DualPathBlock(`${f}.conv${s + 2}_1`, inChs, r, r, bw, inc, p.groups, s === 0 ? 'proj' : 'down', p.b ?? false);
    inChs = bw + 3 * inc;
    for (let i = 2; i <= p.k_sec[s]; i++) {
      DualPathBlock(`${f}.conv${s + 2}_${i}`, inChs, r, r, bw, inc, p.groups, 'normal', p.b ?? false);
      inChs += inc;
    }
  }
  child = `${f}.conv5_bn_ac`;
  children.push(child);
  CatBnAct(`${f}.conv5_bn_ac`, inChs);
  Conv2d('last_linear', inChs, 1000, 1, 1, 0, 1, true);

  // make_dilated: get_stages() = {16: features[idx[1]:idx[2]], 32: features[idx[2]:idx[3]]}.
  if (outputStride !== 32) {
    const stages: [number, string[]][] = [
      [16, children.slice(p.stage_idxs[1], p.stage_idxs[2])],
      [32, children.slice(p.stage_idxs[2], p.stage_idxs[3])],
    ];
    for (const [stageStride, modules] of stages) {
      if (stageStride <= outputStride) continue;
      const rate = stageStride / outputStride;
      for (const [name, c] of convs) {
        if (modules.includes(convChild.get(name)!)) Object.assign(c, { stride: 1, dilation: rate, padding: Math.floor(c.kernel / 2) * rate });
      }
    }
  }
  return { state, convs, children };
}

function build(name: string, outputStride: number, size: [number, number] = [64, 96]): { g: Graph; features: number[][] } {
  const b = new GraphBuilder();
  const features = SMP_ENCODERS[name].build(b, b.input('image', [1, ...size, 3]), { outputStride, depth: 5 });
  features.forEach((f, i) => b.output(`f${i}`, f));
  return { g: b.build(), features: features.map((f) => [...f.shape]) };
}

/** Our layouts in PyTorch's: HWIO kernels as OIHW, vectors as they are. */
function torchShape(shape: readonly number[]): number[] {
  return shape.length === 4 ? [shape[3], shape[2], shape[0], shape[1]] : [...shape];
}

describe('smp DPN encoders', () => {
  for (const name of Object.keys(SMP_PARAMS)) {
    const p = SMP_PARAMS[name];
    it(`${name}: the graph declares smp's state dict, name for name and shape for shape, in its order`, () => {
      const { state } = dpnModules(p, 32);
      const encoder = SMP_ENCODERS[name];
      const expected = [...state]
        .map(([k, shape]): [string, number[]] => [`encoder.${k}`, shape])
        .filter(([k]) => !k.endsWith('.num_batches_tracked') && !encoder.unused?.(k));
      // What the encoder drops on load is the classifier and nothing else.
      expect([...state.keys()].filter((k) => encoder.unused?.(`encoder.${k}`))).to.deep.equal(['last_linear.weight', 'last_linear.bias']);
      const { g } = build(name, 16);
      expect(g.state.map((v): [string, number[]] => [v.name, torchShape(v.shape)])).to.deep.equal(expected);
    });

    it(`${name}: features have smp's out_channels at /2 .. /32`, () => {
      const { features } = build(name, 32);
      expect(features.map((f) => f[3])).to.deep.equal(p.out_channels.slice(1));
      expect(features.map((f) => f.slice(1, 3))).to.deep.equal([
        [32, 48],
        [16, 24],
        [8, 12],
        [4, 6],
        [2, 3],
      ]);
      // stage_idxs cut `features` after conv1_1 into conv2's, conv3's, conv4's blocks and conv5's
      // with conv5_bn_ac: the stages the features are taken after (and dilated by).
      const { children } = dpnModules(p, 32);
      const bounds = [1, ...p.stage_idxs];
      const stages = [0, 1, 2, 3].map((s) => [...new Set(children.slice(bounds[s], bounds[s + 1]).map((c) => c.replace(/^features\.(conv\d)_.*/, '$1')))]);
      expect(stages).to.deep.equal([['conv2'], ['conv3'], ['conv4'], ['conv5']]);
      expect(children.at(-1)).to.equal('features.conv5_bn_ac');
      expect(bounds[4]).to.equal(children.length);
    });
  }

  for (const outputStride of [32, 16, 8]) {
    for (const name of ['dpn68', 'dpn68b', 'dpn92']) {
      it(`${name} at output stride ${outputStride}: every conv's stride, padding, dilation and groups are smp's after make_dilated`, () => {
        const { convs } = dpnModules(SMP_PARAMS[name], outputStride);
        convs.delete('last_linear');
        const { g, features } = build(name, outputStride);
        const ours = new Map(g.nodes.filter((n) => n.op.type === 'conv2d').map((n) => [n.name, (n.op as Conv2dOp).attrs]));
        expect([...ours.keys()].sort()).to.deep.equal([...convs.keys()].map((k) => `encoder.${k}`).sort());
        for (const [k, c] of convs) {
          const a = ours.get(`encoder.${k}`)!;
          // A 1x1 conv reads one pixel whatever its dilation: ours stay at 1 where smp sets the rate.
          const dilation = c.kernel === 1 ? 1 : c.dilation;
          expect([a.strideH, a.strideW, a.padTop, a.padBottom, a.padLeft, a.padRight, a.dilationH, a.dilationW, a.groups], k).to.deep.equal([c.stride, c.stride, c.padding, c.padding, c.padding, c.padding, dilation, dilation, c.groups]);
        }
        const rates = [...convs].filter(([k, c]) => c.kernel === 3 && /conv[45]_1\./.test(k)).map(([, c]) => c.dilation);
        expect(rates).to.deep.equal({ 32: [1, 1], 16: [1, 2], 8: [2, 4] }[outputStride]);
        const deepest = Math.min(outputStride, 32);
        expect(features.map((f) => f[1])).to.deep.equal([32, 16, 8, 4, 2].map((h) => Math.max(h, 64 / deepest)));
      });
    }
  }

  // Trainable parameters with the 1000-class classifier (a 1x1 conv with bias), as osmr's
  // imgclsmob asserts them for its ports of the same MXNet models (dpn92 is not among them).
  const published: [string, number][] = [
    ['dpn68', 12611602],
    ['dpn68b', 12611602],
    ['dpn98', 61570728],
    ['dpn107', 86917800],
    ['dpn131', 79254504],
  ];
  for (const [name, count] of published) {
    it(`${name}: ${count} parameters with the classifier`, () => {
      const { g, features } = build(name, 32, [32, 32]);
      const params = g.state.filter((v) => v.role === 'param').reduce((n, v) => n + v.shape.reduce((a, d) => a * d, 1), 0);
      const channels = features[4][3];
      expect(params + channels * 1000 + 1000).to.equal(count);
    });
  }
});
