// smp's DPN encoders (src/model/networks/smp-dpn.ts) have no logits fixture: they are checked
// here against smp's source (encoders/dpn.py and _dpn.py at 5006616). dpnModules below follows
// DPN.__init__ module by module, as PyTorch registers them, and yields the state dict smp's
// encoder holds (before `del self.last_linear`) with each Conv2d's stride, padding and dilation,
// then make_dilated (DPNEncoder.get_stages, replace_strides_with_dilation) on top. The graph must
// declare exactly those tensors (bar num_batches_tracked and the classifier), in PyTorch's
// layout once ours (HWIO) is permuted back, and its convs must run with those geometries.
// dpnForwardRef ports DPNEncoder.forward to float64 CHW arithmetic of its own (no kernel of the
// engine) for the numbers: the pre-activation order, the splits and the concatenation order.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph } from '../../src/graph/ir.js';
import { lowerToOnnx, onnxModelOf } from '../../src/graph/onnx/lower.js';
import { encodeModel } from '../../src/graph/onnx/proto.js';
import type { Conv2dOp } from '../../src/graph/ops/conv2d.js';
import { Program } from '../../src/graph/program.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import { expectClose, randomArray, relativeError, testContext } from '../helpers.js';
import { runOnnx, runOursNchw } from '../onnx-runtime.js';
import { randomParams } from './random-params.js';
import { type Map3, map3 } from './float64-maps.js';
import { encoderTraining } from './smp-encoder-run.js';
import { everyFeature } from './smp-fixture.js';

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

/** nn.Conv2d's forward, weights [O, I/groups, k, k], no bias. */
function conv2dRef(x: Map3, weight: Float64Array, cout: number, g: TorchConv): Map3 {
  const k = g.kernel;
  const out = (n: number): number => Math.floor((n + 2 * g.padding - g.dilation * (k - 1) - 1) / g.stride) + 1;
  const y = map3(cout, out(x.h), out(x.w));
  const cin = x.c / g.groups;
  const coutG = cout / g.groups;
  for (let o = 0; o < cout; o++) {
    const group = Math.floor(o / coutG);
    for (let i = 0; i < cin; i++) {
      const src = (group * cin + i) * x.h * x.w;
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const wv = weight[((o * cin + i) * k + ky) * k + kx];
          for (let oy = 0; oy < y.h; oy++) {
            const iy = oy * g.stride - g.padding + ky * g.dilation;
            if (iy < 0 || iy >= x.h) continue;
            for (let ox = 0; ox < y.w; ox++) {
              const ix = ox * g.stride - g.padding + kx * g.dilation;
              if (ix >= 0 && ix < x.w) y.d[(o * y.h + oy) * y.w + ox] += wv * x.d[src + iy * x.w + ix];
            }
          }
        }
      }
    }
  }
  return y;
}

const cat = (a: Map3, b: Map3): Map3 => {
  const y = map3(a.c + b.c, a.h, a.w);
  y.d.set(a.d);
  y.d.set(b.d, a.d.length);
  return y;
};
const sliceC = (x: Map3, from: number, to: number): Map3 => ({ ...x, c: to - from, d: x.d.slice(from * x.h * x.w, to * x.h * x.w) });
const relu = (x: Map3): Map3 => ({ ...x, d: x.d.map((v) => Math.max(v, 0)) });
const add = (a: Map3, b: Map3): Map3 => ({ ...a, d: a.d.map((v, i) => v + b.d[i]) });

/**
 * DPNEncoder.forward (depth 5) in float64 on CHW maps, as dpn.py and _dpn.py write it, reading
 * PyTorch-layout tensors by state-dict name and each conv's geometry from dpnModules.
 */
function dpnForwardRef(p: (typeof SMP_PARAMS)[string], m: TorchModel, t: (name: string) => Float64Array, image: Map3): Map3[] {
  const conv = (name: string, x: Map3): Map3 => conv2dRef(x, t(`${name}.weight`), m.state.get(`${name}.weight`)![0], m.convs.get(name)!);
  const bn = (name: string, x: Map3): Map3 => {
    const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((k) => t(`${name}.${k}`));
    return { ...x, d: x.d.map((v, i) => { const c = Math.floor(i / (x.h * x.w)); return ((v - mean[c]) / Math.sqrt(variance[c] + 1e-3)) * gamma[c] + beta[c]; }) };
  };
  const bnActConv = (name: string, x: Map3): Map3 => conv(`${name}.conv`, relu(bn(`${name}.bn`, x)));
  const maxPool = (x: Map3): Map3 => {
    const out = (n: number): number => Math.floor((n + 2 - 3) / 2) + 1;
    const y = map3(x.c, out(x.h), out(x.w));
    y.d.fill(-Infinity);
    for (let c = 0; c < x.c; c++) for (let oy = 0; oy < y.h; oy++) for (let ox = 0; ox < y.w; ox++) {
      for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
        const iy = oy * 2 - 1 + ky;
        const ix = ox * 2 - 1 + kx;
        if (iy >= 0 && iy < x.h && ix >= 0 && ix < x.w) y.d[(c * y.h + oy) * y.w + ox] = Math.max(y.d[(c * y.h + oy) * y.w + ox], x.d[(c * x.h + iy) * x.w + ix]);
      }
    }
    return y;
  };
  const block = (name: string, x: Map3 | [Map3, Map3], numC: number): [Map3, Map3] => {
    const xIn0 = Array.isArray(x) ? cat(x[0], x[1]) : x;
    const proj = ['c1x1_w_s2', 'c1x1_w_s1'].find((k) => m.convs.has(`${name}.${k}.conv`));
    let xs1: Map3;
    let xs2: Map3;
    if (proj) {
      const xs = bnActConv(`${name}.${proj}`, xIn0);
      [xs1, xs2] = [sliceC(xs, 0, numC), sliceC(xs, numC, xs.c)];
    } else {
      [xs1, xs2] = x as [Map3, Map3];
    }
    let xIn = bnActConv(`${name}.c3x3_b`, bnActConv(`${name}.c1x1_a`, xIn0));
    let out1: Map3;
    let out2: Map3;
    if (p.b) {
      xIn = relu(bn(`${name}.c1x1_c.bn`, xIn));
      [out1, out2] = [conv(`${name}.c1x1_c1`, xIn), conv(`${name}.c1x1_c2`, xIn)];
    } else {
      xIn = bnActConv(`${name}.c1x1_c`, xIn);
      [out1, out2] = [sliceC(xIn, 0, numC), sliceC(xIn, numC, xIn.c)];
    }
    return [add(xs1, out1), cat(xs2, out2)];
  };
  let x = relu(bn('features.conv1_1.bn', conv('features.conv1_1.conv', image)));
  const features = [x];
  let paths: Map3 | [Map3, Map3] = maxPool(x);
  const bounds = [1, ...p.stage_idxs];
  for (let s = 0; s < 4; s++) {
    const numC = 64 * 2 ** s * (p.small ? 1 : 4);
    for (const child of m.children.slice(bounds[s], bounds[s + 1])) {
      if (child === 'features.conv5_bn_ac') paths = relu(bn(`${child}.bn`, cat(...(paths as [Map3, Map3]))));
      else paths = block(child, paths, numC);
    }
    features.push(s < 3 ? relu(cat(...(paths as [Map3, Map3]))) : (paths as Map3));
  }
  return features;
}

/** NHWC (ours) to CHW. */
function chwOf(data: ArrayLike<number>, [, h, w, c]: readonly number[]): Map3 {
  const y = map3(c, h, w);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) y.d[k * h * w + i] = data[i * c + k];
  return y;
}

/** HWIO (ours) to OIHW, other ranks as they are. */
function torchTensor(data: ArrayLike<number>, shape: readonly number[]): Float64Array {
  if (shape.length !== 4) return Float64Array.from(data);
  const [kh, kw, ci, co] = shape;
  const out = new Float64Array(data.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = data[((y * kw + x) * ci + i) * co + o];
  return out;
}

function build(name: string, outputStride: number, size: [number, number] = [64, 96]): { g: Graph; features: number[][] } {
  const b = new GraphBuilder();
  const features = everyFeature(b, name, b.input('image', [1, ...size, 3]), { outputStride, depth: 5 });
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

  // The graph's forward against dpnForwardRef on random weights: odd sizes (the pool's and the
  // stride-2 1x1 projection's edges), dilated and not; float64 on the CPU interpreter, then the
  // compiled program (batch norms folded, activations fused) on the GPU in float32.
  for (const [name, outputStride, size] of [
    ['dpn68', 32, [35, 29]],
    ['dpn68b', 8, [21, 25]],
    ['dpn92', 16, [25, 19]],
  ] as [string, number, [number, number]][]) {
    it(`${name} at output stride ${outputStride}, ${size.join('x')}: every feature equals a float64 port of DPNEncoder.forward`, async function () {
      this.timeout(120_000);
      const p = SMP_PARAMS[name];
      const { g } = build(name, outputStride, size);
      const params = randomParams(g);
      const image = randomArray(size[0] * size[1] * 3);
      const m = dpnModules(p, outputStride);
      const ref = dpnForwardRef(p, m, (k) => torchTensor(params.get(`encoder.${k}`)!.data, params.get(`encoder.${k}`)!.shape), chwOf(image, [1, ...size, 3]));
      const params64 = new Map([...params].map(([k, v]) => [k, { shape: v.shape, data: Float64Array.from(v.data) }]));
      const cpu = runGraphCpu(g, params64, { image: Float64Array.from(image) });
      const outputs = g.outputs;
      ref.forEach((f, i) => {
        const ours = chwOf(cpu.get(`f${i}`)!, outputs.get(`f${i}`)!.shape);
        expect([ours.c, ours.h, ours.w], `f${i} shape`).to.deep.equal([f.c, f.h, f.w]);
        expect(relativeError(ours.d, f.d), `f${i}`).to.be.lessThan(1e-10);
      });
      const program = await Program.create(await testContext(), compile(g, { mode: 'inference' }), params);
      try {
        const out = await program.run({ image });
        ref.forEach((f, i) => expectClose(chwOf(out.get(`f${i}`)!, outputs.get(`f${i}`)!.shape).d, f.d, `GPU f${i}`));
      } finally {
        program.dispose();
      }
    });
  }

  it('dpn68 in half precision: the channel slices store f16 and the features stay within f16 rounding of float32', async function () {
    this.timeout(120_000);
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    const { g } = build('dpn68', 16, [33, 31]);
    const params = randomParams(g);
    const image = randomArray(33 * 31 * 3);
    const single = runGraphCpu(compile(g, { mode: 'inference' }), params, { image });
    const compiled = compile(g, { mode: 'inference', precision: 'f16' });
    const slices = compiled.graph.nodes.filter((n) => n.op.type === 'channel_slice');
    expect(slices.length).to.be.greaterThan(0);
    expect(slices.every((n) => n.outputs[0].dtype === 'f16'), 'channel_slice stores f16').to.equal(true);
    const program = await Program.create(ctx, compiled, params);
    try {
      const out = await program.run({ image });
      for (let i = 0; i < 5; i++) expect(relativeError(out.get(`f${i}`)!, single.get(`f${i}`)!), `f${i}`).to.be.greaterThan(1e-5).and.lessThan(5e-3);
    } finally {
      program.dispose();
    }
  });

  it("dpn68's ONNX file (its splits as Slice on the channel axis) gives our features under onnxruntime", async function () {
    this.timeout(60_000);
    const { g } = build('dpn68', 16, [31, 27]);
    const params = randomParams(g);
    const image = { dims: [1, 3, 31, 27], data: randomArray(3 * 31 * 27) };
    const onnx = await runOnnx(encodeModel(onnxModelOf(lowerToOnnx(g, params, 'dpn68'))), { image });
    const ours = runOursNchw(g, params, image);
    for (const [name, t] of ours) {
      expect(onnx.get(name)!.dims, name).to.deep.equal(t.dims);
      expectClose(onnx.get(name)!.data, t.data, `onnxruntime ${name}`);
    }
  });

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

  it("dpn68 trains: every encoder parameter gets a gradient through the paths' channel splits", () => {
    const { encoder, withoutGradient } = encoderTraining('dpn68');
    expect(encoder).to.include('encoder.features.conv2_1.c1x1_w_s1.bn.weight');
    expect(withoutGradient).to.deep.equal([]);
  });
});
