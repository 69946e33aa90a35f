// End-to-end model benchmark: the whole DeepLabv3 forward pass in our engine against the same
// network written with TensorFlow.js ops on its WebGPU backend, both on one Dawn instance and
// adapter, from the same host params, measured side by side in one run.
//
//   npm run bench:model -- [--quick] [--models 257,513] [--repeats N] [--warmup N] [--image FILE] [--out FILE]
//
// The tfjs network is not written by hand: a small interpreter walks our graph IR (the graph
// DeepLabModel executes, after BN folding and epilogue fusion) and emits one tfjs op per node,
// so the two cannot drift. Both engines are first checked to give the same logits on a VOC image.
//
// Timing (one method for both engines): wall time from the normalised input in host memory to
// the logits in host memory. Ours: DeepLabModel.forwardToHost (write input, one command buffer
// holding the pass and the logits' copy to a mappable buffer, submit, sleep through the expected
// GPU time, map). tfjs: tf.tensor4d(input) + the ops + `await logits.data()` (its wait polls:
// see src/gpu/work-timer.ts). Reported: median of the repeats after warm-up; the two engines
// alternate run by run so that load from elsewhere on the machine hits both alike.
import { benchArgs, median, pad, pickByName, runIfMain, writeReport } from './common.js';
import { relativeError } from '../src/util/relative-error.js';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GpuContext } from '../src/gpu/context.js';
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import type { Graph, Node, NodeOp, OpType, Value } from '../src/graph/ir.js';
import { nodeOutput } from '../src/graph/ir.js';
import { nodeInputs } from '../src/graph/ops/registry.js';
import { deriveStateCpu } from '../src/graph/cpu-reference.js';
import { planMemory } from '../src/graph/memory-plan.js';
import type { HostParams } from '../src/graph/params.js';
import { type RgbImage, readImage } from '../src/io/image.js';
import type { Activation } from '../src/kernels/activation.js';
import type { ResizeMode } from '../src/kernels/resize.js';
import { graphCost } from '../src/model/analysis/flops.js';
import { type LoadedWeights, loadWeights } from '../src/model/loading/load-weights.js';
import type { Precision } from '../src/model/loading/options.js';
import { DeepLabModel } from '../src/model/model.js';

type Tfjs = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;
type TfTensor4D = import('@tensorflow/tfjs-core').Tensor4D;

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..'); // dist/bench -> root
export const MAX_RELATIVE_ERROR = 1e-4;

export interface ModelCase {
  key: string;
  registryName: string;
}

export const MODELS: ModelCase[] = [
  { key: '257', registryName: 'mobilenetv2-pascal-257' },
  { key: '513', registryName: 'mobilenetv2-pascal-513' },
];

export interface ModelOptions {
  quick: boolean;
  repeats: number;
  warmup: number;
  image: string;
  /** Our engine's storage precision (default f32). */
  precision?: Precision;
}

interface Options extends ModelOptions {
  models: ModelCase[];
  out: string;
}

function parseArgs(argv: string[]): Options {
  const args = benchArgs('bench:model', argv, ['--quick'], ['--models', '--repeats', '--warmup', '--image', '--out']);
  const value = args.value;
  const quick = args.has('--quick');
  const count = args.count;
  const models = pickByName('bench:model', 'model(s)', value('--models'), MODELS, (m) => m.key);
  return {
    quick,
    repeats: Math.max(1, count('--repeats', quick ? 2 : 5)),
    warmup: count('--warmup', 1),
    models,
    image: resolve(value('--image') ?? join(ROOT, '..', 'shared', 'data', 'voc-sample', 'JPEGImages', 'voc12val_0001.png')),
    out: resolve(value('--out') ?? join(ROOT, 'bench', 'results', 'model.json')),
  };
}

/** Fraction of pixels whose argmax class agrees between two [.., C] logit maps. */
function argmaxAgreement(a: Float32Array, b: Float32Array, classes: number): number {
  const argmax = (x: Float32Array, base: number): number => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (x[base + c] > x[base + best]) best = c;
    return best;
  };
  const pixels = a.length / classes;
  let same = 0;
  for (let p = 0; p < pixels; p++) if (argmax(a, p * classes) === argmax(b, p * classes)) same++;
  return same / pixels;
}

// ------------------------------------------------------------------ TensorFlow.js side

/** Imports TensorFlow.js' WebGPU backend on our Dawn instance (it looks for navigator.gpu at import). */
export async function importTfjs(ctx: GpuContext): Promise<Tfjs> {
  // Node 21+ defines a read-only navigator; defineProperty works on every version.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: ctx.gpu }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  return tf;
}

/**
 * A fresh WebGPU backend: each model starts with an empty buffer pool and pipeline cache, so
 * its memory figures are its own and both engines compile during their warm-up.
 */
async function freshTfjsBackend(tf: Tfjs): Promise<void> {
  tf.engine().reset();
  if (!(await tf.setBackend('webgpu'))) throw new Error('bench:model: TensorFlow.js could not start its WebGPU backend');
  await tf.ready();
}

type TfExplicitPad = [[number, number], [number, number], [number, number], [number, number]];
type TfPad = 'valid' | 'same' | number | TfExplicitPad;

/** TF 'SAME' padding [before, after] along one axis, from TF's own formula. */
function tfSamePads(inSize: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The tfjs padding argument that gives exactly a conv node's pads. */
function tfPadding(op: Extract<Node['op'], { type: 'conv2d' }>, explicitAllowed: boolean): TfPad | null {
  const a = op.attrs;
  const [, H, W] = op.input.shape;
  const [KH, KW] = op.weight.shape;
  const pads = [a.padTop, a.padBottom, a.padLeft, a.padRight];
  if (pads.every((p) => p === 0)) return 'valid';
  const same = [...tfSamePads(H, KH, a.strideH, a.dilationH), ...tfSamePads(W, KW, a.strideW, a.dilationW)];
  if (pads.every((p, i) => p === same[i])) return 'same';
  if (pads.every((p) => p === pads[0])) return pads[0];
  if (!explicitAllowed) return null;
  return [[0, 0], [a.padTop, a.padBottom], [a.padLeft, a.padRight], [0, 0]];
}

/**
 * Our IR run with TensorFlow.js ops. Each node becomes the tfjs op that does the same thing
 * (a conv with bias and ReLU / ReLU6 becomes tfjs' fused conv, as tfjs' graph converter emits for
 * TF models); intermediate tensors are disposed after their last reader, as tfjs' graph executor
 * does, so tfjs' memory figure is its best case and not "every activation kept".
 */
class TfjsGraph {
  private readonly params = new Map<number, TfTensor>();
  private readonly lastUse = new Map<number, number>();
  private readonly output: Value;
  readonly paramBytes: number;

  constructor(private readonly tf: Tfjs, private readonly graph: Graph, host: HostParams) {
    const outputs = [...graph.outputs.values()];
    if (outputs.length !== 1) throw new Error(`tfjs interpreter: expected one graph output, got ${outputs.length}`);
    this.output = outputs[0];
    if (graph.inputs.length !== 1) throw new Error(`tfjs interpreter: expected one graph input, got ${graph.inputs.length}`);
    let bytes = 0;
    try {
      for (const p of graph.state) {
        const t = host.get(p.name);
        if (!t) throw new Error(`tfjs interpreter: no host data for param ${p.name}`);
        this.params.set(p.id, tf.tensor(t.data, this.tfParamShape(p), 'float32'));
        bytes += t.data.byteLength;
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
    this.paramBytes = bytes;
    graph.nodes.forEach((n, i) => {
      for (const v of nodeInputs(n)) if (v.kind === 'activation') this.lastUse.set(v.id, i);
    });
  }

  /** Our HWIO depthwise weight [KH,KW,1,C*m] is tfjs' [KH,KW,C,m] with the same memory order. */
  private tfParamShape(p: Value): number[] {
    for (const n of this.graph.nodes) {
      if (n.op.type === 'conv2d' && n.op.weight.id === p.id && n.op.attrs.groups > 1) {
        const [KH, KW, , cout] = p.shape;
        const cin = n.op.input.shape[3];
        return [KH, KW, cin, cout / cin];
      }
    }
    return [...p.shape];
  }

  /** Logits for one input; the caller disposes both. */
  run(input: TfTensor4D): TfTensor {
    const { tf } = this;
    const env = new Map<number, TfTensor>([[this.graph.inputs[0].id, input]]);
    const get = (v: Value): TfTensor => {
      const t = v.kind === 'state' ? this.params.get(v.id) : env.get(v.id);
      if (!t) throw new Error(`tfjs interpreter: ${v.name} is not available`);
      return t;
    };
    try {
      this.graph.nodes.forEach((node, i) => {
        const y = tf.tidy(() => this.node(node, get));
        const output = nodeOutput(node);
        if (!y.shape.every((d, k) => d === output.shape[k]) || y.shape.length !== output.shape.length) {
          y.dispose();
          throw new Error(`tfjs interpreter: layer ${node.name} gave [${y.shape.join(',')}], our graph says [${output.shape.join(',')}]`);
        }
        env.set(output.id, y);
        const dead = nodeInputs(node).filter((v) => v.kind === 'activation' && this.lastUse.get(v.id) === i);
        // An output nobody reads is dead at once (our memory planner frees it the same way).
        if (!this.lastUse.has(output.id)) dead.push(output);
        for (const v of dead) {
          if (v.id === this.output.id) continue;
          env.get(v.id)?.dispose(); // a node may read one value twice
          env.delete(v.id);
        }
      });
      const out = env.get(this.output.id)!;
      env.delete(this.output.id);
      return out;
    } finally {
      env.delete(this.graph.inputs[0].id); // the caller's
      for (const t of env.values()) t.dispose();
    }
  }

  private activate(x: TfTensor, a: Activation): TfTensor {
    const { tf } = this;
    switch (a) {
      case 'none':
        return x;
      case 'relu':
        return tf.relu(x);
      case 'relu6':
        return tf.relu6(x);
      case 'hardswish':
        return tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6);
      case 'hardsigmoid':
        return tf.div(tf.relu6(tf.add(x, 3)), 6);
    }
  }

  private resizeFlags(mode: ResizeMode): [alignCorners: boolean, halfPixelCenters: boolean] {
    return mode === 'align_corners' ? [true, false] : mode === 'half_pixel' ? [false, true] : [false, false];
  }

  /** One node as tfjs ops, by the table below (an op it lacks is an error naming the layer). */
  private node(node: Node, get: (v: Value) => TfTensor): TfTensor {
    const lower = (TFJS_OPS as Record<string, TfjsLowering<NodeOp> | undefined>)[node.op.type];
    if (!lower) throw new Error(`tfjs interpreter: layer ${node.name}: ${node.op.type} is not supported`);
    return lower(this.tf, node.op, get, { node, activate: (x, a) => this.activate(x, a), resizeFlags: (m) => this.resizeFlags(m), conv: (n, op) => this.conv(n, op, get) });
  }

  private conv(node: Node, op: Extract<Node['op'], { type: 'conv2d' }>, get: (v: Value) => TfTensor): TfTensor {
    const { tf } = this;
    const a = op.attrs;
    const x = get(op.input) as TfTensor4D;
    const w = get(op.weight) as TfTensor4D;
    const cin = op.input.shape[3];
    const depthwise = a.groups > 1;
    if (depthwise && (a.groups !== cin || op.weight.shape[2] !== 1)) {
      throw new Error(`tfjs interpreter: layer ${node.name}: tfjs has no grouped conv (groups ${a.groups}, ${cin} input channels)`);
    }
    const strides: [number, number] = [a.strideH, a.strideW];
    const dilations: [number, number] = [a.dilationH, a.dilationW];
    const bias = op.bias && get(op.bias);
    // tfjs' fused convs take bias + relu/relu6 but no scale or residual; its fused depthwise
    // conv takes no explicit (asymmetric) pads.
    const fusedPad = tfPadding(op, !depthwise);
    const activation = a.activation === 'none' ? 'linear' : a.activation === 'relu' || a.activation === 'relu6' ? a.activation : null;
    if (!op.scale && !op.residual && fusedPad !== null && activation !== null) {
      const common = { x, filter: w, strides, dataFormat: 'NHWC' as const, dilations, bias, activation } as const;
      if (!depthwise) return tf.fused.conv2d({ ...common, pad: fusedPad });
      if (Array.isArray(fusedPad)) throw new Error('unreachable: explicit pads for a fused depthwise conv');
      return tf.fused.depthwiseConv2d({ ...common, pad: fusedPad });
    }
    const pad = tfPadding(op, true)!;
    let y: TfTensor = depthwise ? tf.depthwiseConv2d(x, w, strides, pad, 'NHWC', dilations) : tf.conv2d(x, w, strides, pad, 'NHWC', dilations);
    if (op.scale) y = tf.mul(y, get(op.scale));
    if (bias) y = tf.add(y, bias);
    if (op.residual) y = tf.add(y, get(op.residual));
    return this.activate(y, a.activation);
  }

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    this.params.clear();
  }
}

/** What a tfjs lowering may use besides tfjs and the op's operands. */
interface TfjsHelpers {
  node: Node;
  activate(x: TfTensor, a: Activation): TfTensor;
  resizeFlags(mode: ResizeMode): [alignCorners: boolean, halfPixelCenters: boolean];
  conv(node: Node, op: Extract<NodeOp, { type: 'conv2d' }>): TfTensor;
}

type TfjsLowering<O> = (tf: Tfjs, op: O, get: (v: Value) => TfTensor, h: TfjsHelpers) => TfTensor;

/**
 * The peer engine's lowering of our ops, one entry per op the benchmarked networks use. Ops
 * without an entry (fold_bn: derives weights, it is not part of a pass) are refused by name, and
 * so are average pools (tfjs' have no count-include-pad switch) and unequal pool padding.
 */
const TFJS_OPS: { [K in OpType]?: TfjsLowering<Extract<NodeOp, { type: K }>> } = {
  conv2d: (_tf, op, _get, h) => h.conv(h.node, op),
  batchnorm: (tf, op, get, h) =>
    h.activate(tf.batchNorm(get(op.input) as TfTensor4D, get(op.mean), get(op.variance), get(op.beta), get(op.gamma), op.attrs.eps), op.attrs.activation),
  add: (tf, op, get, h) => h.activate(tf.add(get(op.a), get(op.b)), op.attrs.activation),
  mul: (tf, op, get, h) => h.activate(tf.mul(get(op.a), get(op.b)), op.attrs.activation),
  // A new tensor even for 'none': the node's output must not alias its input.
  activation: (tf, op, get, h) => (op.attrs.activation === 'none' ? tf.clone(get(op.input)) : h.activate(get(op.input), op.attrs.activation)),
  global_avg_pool: (tf, op, get) => tf.mean(get(op.input), [1, 2], true),
  // ResNet's stem: max pooling, padded taps never chosen in either engine.
  pool2d: (tf, op, get, h) => {
    const a = op.attrs;
    const pads = [a.padTop, a.padBottom, a.padLeft, a.padRight];
    if (a.kind !== 'max' || pads.some((p) => p !== pads[0])) {
      throw new Error(`tfjs interpreter: layer ${h.node.name}: only max pools with equal padding are mapped`);
    }
    return tf.maxPool(get(op.input) as TfTensor4D, [a.kernelH, a.kernelW], [a.strideH, a.strideW], pads[0]);
  },
  resize: (tf, op, get, h) => tf.image.resizeBilinear(get(op.input) as TfTensor4D, [op.attrs.outH, op.attrs.outW], ...h.resizeFlags(op.attrs.mode)),
  resize_argmax: (tf, op, get, h) =>
    tf.argMax(tf.image.resizeBilinear(get(op.input) as TfTensor4D, [op.attrs.outH, op.attrs.outW], ...h.resizeFlags(op.attrs.mode)), 3),
  concat: (tf, op, get) => tf.concat(op.inputs.map(get), 3),
  flip_w: (tf, op, get) => tf.reverse(get(op.input), 2),
  softmax: (tf, op, get) => tf.softmax(get(op.input)),
  argmax: (tf, op, get) => tf.argMax(get(op.input), 3),
};

// ------------------------------------------------------------------ one model, both engines

export interface Timing {
  samplesMs: number[];
  medianMs: number;
  /** The first pass, compiling included (ours: model made from loaded weights + first pass). */
  firstRunMs: number;
  /** Ours: the first pass alone, once the model is made (its kernels compiled at load). */
  firstPassMs?: number;
}

interface Memory {
  /** Ours: the executor's planned activation buffers (Program.plan.peakBytes). */
  oursActivationBytes: number;
  /** Ours: what one buffer per activation would take (Program.plan.unplannedBytes). */
  oursUnplannedBytes: number;
  /** The graph's live-set peak: the least any plan could use (tfjs' figure counts the same thing). */
  liveSetPeakBytes: number;
  /** Both engines hold the same params (BN-folded weights and biases). */
  paramBytes: number;
  /** tfjs: most bytes of live tensors at any kernel of one run, less params and input (tf.profile peakBytes). */
  tfjsActivationPeakBytes: number;
  /** tfjs: tf.memory().numBytes after a run, logits still held (params + input + logits). */
  tfjsNumBytesAfterRun: number;
  /** tfjs: every GPU buffer its backend has allocated and pools (params, activations, staging, uniforms). */
  tfjsAllocatedBytes: number | null;
}

export interface Row {
  key: string;
  model: string;
  description: string;
  input: number[];
  logits: number[];
  widthMultiplier: number;
  outputStride: number;
  gflop: number;
  nodes: number;
  ours: Timing;
  tfjs: Timing;
  /** tfjs ms / ours ms: above 1, ours is faster. */
  ratio: number;
  relativeErrorVsTfjs: number;
  argmaxAgreement: number;
  memory: Memory;
}

function summarise(samplesMs: number[], firstRunMs: number, firstPassMs?: number): Timing {
  return { samplesMs, medianMs: median(samplesMs), firstRunMs, ...(firstPassMs === undefined ? {} : { firstPassMs }) };
}

/**
 * The lower bound any planner can reach on this graph: the most activation bytes alive at once,
 * counted right after each node runs (its inputs still alive), as tf.profile counts tfjs' tensors.
 */
function liveSetPeakBytes(graph: Graph): number {
  const bytes = (v: Value): number => v.shape.reduce((a, b) => a * b, 1) * 4;
  const lastUse = new Map<number, number>();
  graph.nodes.forEach((n, i) => {
    for (const v of nodeInputs(n)) if (v.kind === 'activation') lastUse.set(v.id, i);
  });
  const outputs = new Set([...graph.outputs.values()].map((v) => v.id));
  let live = 0;
  let peak = 0;
  graph.nodes.forEach((n, i) => {
    const output = nodeOutput(n);
    live += bytes(output);
    peak = Math.max(peak, live);
    for (const v of nodeInputs(n)) if (v.kind === 'activation' && lastUse.get(v.id) === i && !outputs.has(v.id)) live -= bytes(v);
    if (!lastUse.has(output.id) && !outputs.has(output.id)) live -= bytes(output);
  });
  return peak;
}

/** Stem conv filters / 32: MobileNetV2's width multiplier (1 for other backbones). */
function widthMultiplier(graph: Graph): number {
  const stem = graph.nodes.find((n) => n.op.type === 'conv2d');
  return stem?.op.type === 'conv2d' && stem.name.startsWith('MobilenetV2/') ? stem.op.weight.shape[3] / 32 : 1;
}

type HostRun = () => Promise<{ ms: number; out: Float32Array }>;

/** Our engine on loaded weights, timed from before compiling to its first logits in host memory. */
interface Ours {
  model: DeepLabModel;
  input: Float32Array;
  height: number;
  width: number;
  /** One pass, normalised input in host memory to logits in host memory. */
  run: HostRun;
  firstRunMs: number;
  firstPassMs: number;
  firstOut: Float32Array;
}

async function openOurs(ctx: GpuContext, weights: LoadedWeights, img: RgbImage, precision: Precision = 'f32'): Promise<Ours> {
  const t0 = performance.now();
  const model = await DeepLabModel.fromWeights(weights, { ctx, precision });
  const loadMs = performance.now() - t0;
  try {
    const { input, height, width } = model.preprocess(img);
    const run: HostRun = async () => {
      const t = performance.now();
      const out = await model.forwardToHost(input, height, width);
      return { ms: performance.now() - t, out };
    };
    const first = await run();
    return { model, input, height, width, run, firstRunMs: loadMs + first.ms, firstPassMs: first.ms, firstOut: first.out };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** What our engine alone is measured for (models tfjs is not run on). */
export interface OursRow {
  model: string;
  input: number[];
  gflop: number;
  ours: Timing;
  /** program.plan.peakBytes */
  activationBytes: number;
}

/** Our engine alone on `weights`: first run, then the median of the repeats (the first run is a warm-up). */
export async function benchOursOnly(ctx: GpuContext, weights: LoadedWeights, o: ModelOptions): Promise<OursRow> {
  const ours = await openOurs(ctx, weights, await readImage(o.image), o.precision);
  try {
    for (let i = 1; i < o.warmup; i++) await ours.run();
    const samples: number[] = [];
    for (let i = 0; i < o.repeats; i++) samples.push((await ours.run()).ms);
    const graph = ours.model.compiledGraph({ height: ours.height, width: ours.width }).graph;
    return {
      model: weights.name,
      input: [1, ours.height, ours.width, 3],
      gflop: graphCost(graph).flops / 1e9,
      ours: summarise(samples, ours.firstRunMs, ours.firstPassMs),
      activationBytes: planMemory(graph).peakBytes,
    };
  } finally {
    ours.model.dispose();
  }
}

/**
 * Our engine on `weights` in two configurations side by side: `a` is compiled first, then
 * `between` runs (tuning, say) and `b` is compiled; the timed runs then alternate a, b, so drift
 * on a shared host falls on both alike. Returns each one's timing.
 */
export async function benchOursSideBySide(ctx: GpuContext, weights: LoadedWeights, o: ModelOptions, between: (size: { height: number; width: number }) => Promise<void>): Promise<{ a: Timing; b: Timing; input: number[] }> {
  const img = await readImage(o.image);
  const a = await openOurs(ctx, weights, img, o.precision);
  try {
    await between({ height: a.height, width: a.width });
    const b = await openOurs(ctx, weights, img, o.precision);
    try {
      for (let i = 1; i < o.warmup; i++) for (const e of [a, b]) await e.run();
      const samples: [number[], number[]] = [[], []];
      for (let i = 0; i < o.repeats; i++) for (const [k, e] of [a, b].entries()) samples[k].push((await e.run()).ms);
      return { a: summarise(samples[0], a.firstRunMs, a.firstPassMs), b: summarise(samples[1], b.firstRunMs, b.firstPassMs), input: [1, a.height, a.width, 3] };
    } finally {
      b.model.dispose();
    }
  } finally {
    a.model.dispose();
  }
}

/** Both engines on one model: a registry case, or (`given`) weights of a case named `mc.key`. */
export async function benchModel(ctx: GpuContext, tf: Tfjs, mc: ModelCase, o: ModelOptions, given?: LoadedWeights): Promise<Row> {
  const weights = given ?? (await loadWeights(mc.registryName, { download: false }));
  const eng = await openOurs(ctx, weights, await readImage(o.image));
  const { model, input, height, width } = eng;
  let net: TfjsGraph | undefined;
  try {
    const inputShape: [number, number, number, number] = [1, height, width, 3];
    // The very graph the model executes (folded, fused; its program plans this graph), with the
    // folded weights it reads derived on the CPU from the same parameters.
    const compiled = model.compiledGraph({ height, width });
    const graph = compiled.graph;
    const params = deriveStateCpu(compiled, await model.parameters());
    const plan = planMemory(graph);
    const logitsValue = graph.outputs.get('logits')!;

    await freshTfjsBackend(tf);
    net = new TfjsGraph(tf, graph, params);
    const tfjsNet = net;

    const ours = eng.run;
    const theirs: HostRun = async () => {
      const t0 = performance.now();
      const x = tf.tensor4d(input, inputShape);
      try {
        const y = tfjsNet.run(x);
        try {
          const out = (await y.data()) as Float32Array;
          return { ms: performance.now() - t0, out };
        } finally {
          y.dispose();
        }
      } finally {
        x.dispose();
      }
    };

    // Same logits first (this run is also the first warm-up of each engine).
    const b = await theirs();
    const err = relativeError(eng.firstOut, b.out);
    const agree = argmaxAgreement(eng.firstOut, b.out, logitsValue.shape[3]);
    console.log(
      `${mc.key}: logits ours vs tfjs: relative error ${err.toExponential(2)} (limit ${MAX_RELATIVE_ERROR}), ` +
        `argmax agreement ${(agree * 100).toFixed(3)}% ${err < MAX_RELATIVE_ERROR ? 'OK' : 'MISMATCH'}`,
    );

    for (let i = 1; i < o.warmup; i++) {
      await ours();
      await theirs();
    }
    const oursMs: number[] = [];
    const tfjsMs: number[] = [];
    for (let i = 0; i < o.repeats; i++) {
      // Alternate, with the leading engine swapped each round, so drift hits both alike.
      if (i % 2 === 0) {
        oursMs.push((await ours()).ms);
        tfjsMs.push((await theirs()).ms);
      } else {
        tfjsMs.push((await theirs()).ms);
        oursMs.push((await ours()).ms);
      }
    }

    // tfjs memory: a profiled run (not timed; profiling records every kernel).
    const x = tf.tensor4d(input, inputShape);
    let memory: Memory;
    try {
      const before = tf.memory().numBytes;
      let y: TfTensor | undefined;
      const profile = await tf.profile(() => {
        y = tfjsNet.run(x);
        return y;
      });
      await y!.data();
      const info = tf.memory() as ReturnType<Tfjs['memory']> & { numBytesAllocatedInGPU?: number };
      memory = {
        oursActivationBytes: plan.peakBytes,
        oursUnplannedBytes: plan.unplannedBytes,
        liveSetPeakBytes: liveSetPeakBytes(graph),
        paramBytes: tfjsNet.paramBytes,
        tfjsActivationPeakBytes: profile.peakBytes - before,
        tfjsNumBytesAfterRun: info.numBytes,
        tfjsAllocatedBytes: info.numBytesAllocatedInGPU ?? null,
      };
      y!.dispose();
    } finally {
      x.dispose();
    }

    const ourT = summarise(oursMs, eng.firstRunMs, eng.firstPassMs);
    const tfT = summarise(tfjsMs, b.ms);
    return {
      key: mc.key,
      model: mc.registryName,
      description: `DeepLabv3 MobileNetV2 x${widthMultiplier(graph)}, ${height}x${width}, OS ${model.config.outputStride}`,
      input: [...inputShape],
      logits: [...logitsValue.shape],
      widthMultiplier: widthMultiplier(graph),
      outputStride: model.config.outputStride,
      gflop: graphCost(graph).flops / 1e9,
      nodes: graph.nodes.length,
      ours: ourT,
      tfjs: tfT,
      ratio: tfT.medianMs / ourT.medianMs,
      relativeErrorVsTfjs: err,
      argmaxAgreement: agree,
      memory,
    };
  } finally {
    net?.dispose();
    model.dispose();
  }
}

// ------------------------------------------------------------------ report

const mib = (bytes: number | null): string => (bytes === null ? '-' : (bytes / 2 ** 20).toFixed(1));

export function printTables(rows: Row[]): void {
  console.log(`\n${pad('model', 46)} ${pad('GFLOP', 6)} ${pad('ours ms', 9)} ${pad('tfjs ms', 9)} ${pad('ratio', 6)} rel.err`);
  for (const r of rows) {
    console.log(
      `${pad(`${r.key}: ${r.description}`, 46)} ${pad(r.gflop.toFixed(2), 6)} ${pad(r.ours.medianMs.toFixed(0), 9)} ${pad(r.tfjs.medianMs.toFixed(0), 9)} ` +
        `${pad(r.ratio.toFixed(2), 6)} ${r.relativeErrorVsTfjs.toExponential(1)}`,
    );
  }
  console.log('ratio = tfjs ms / ours ms (above 1: ours is faster)');
  console.log(
    `\n${pad('memory (MiB)', 13)} ${pad('params', 7)} ${pad('ours act. (plan)', 17)} ${pad('ours unplanned', 15)} ${pad('live-set peak', 14)} ` +
      `${pad('tfjs act. peak', 15)} ${pad('tfjs numBytes', 14)} tfjs allocated`,
  );
  for (const r of rows) {
    const m = r.memory;
    console.log(
      `${pad(r.key, 13)} ${pad(mib(m.paramBytes), 7)} ${pad(mib(m.oursActivationBytes), 17)} ${pad(mib(m.oursUnplannedBytes), 15)} ${pad(mib(m.liveSetPeakBytes), 14)} ` +
        `${pad(mib(m.tfjsActivationPeakBytes), 15)} ${pad(mib(m.tfjsNumBytesAfterRun), 14)} ${mib(m.tfjsAllocatedBytes)}`,
    );
  }
  console.log(
    'ours act. = program.plan.peakBytes; live-set peak = most activation bytes alive at once in the graph (the least any plan needs);\n' +
      'tfjs act. peak = tf.profile peakBytes less params and input; tfjs numBytes = tf.memory().numBytes after a run\n' +
      '(params + input + logits); tfjs allocated = every GPU buffer its backend holds (params, pooled activations, staging, uniforms)',
  );
}

/** Offline copies of the weights (the shared folder) unless the caller points elsewhere. */
export function useSharedWeights(): void {
  const shared = join(ROOT, '..', 'shared', 'weights');
  if (!process.env.DEEPLAB_WEIGHTS_DIR && existsSync(shared)) process.env.DEEPLAB_WEIGHTS_DIR = shared;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.image)) throw new Error(`bench:model: image not found: ${o.image}`);
  useSharedWeights();
  ensureRuntimeDir();
  const ctx = await GpuContext.create();
  try {
    const tf = await importTfjs(ctx);
    const method = 'wall time, normalised input in host memory -> logits in host memory (ours: forward + readback; tfjs: tensor4d + ops + await data())';
    console.log(`adapter: ${ctx.adapterInfo.name}`);
    console.log(`tfjs: ${tf.version_core} (webgpu backend)`);
    console.log(`image: ${relative(ROOT, o.image)}`);
    console.log(`timing: ${method}; median of ${o.repeats} after ${o.warmup} warm-up run(s), engines alternating${o.quick ? ' (--quick)' : ''}\n`);
    const rows: Row[] = [];
    for (const mc of o.models) rows.push(await benchModel(ctx, tf, mc, o));
    printTables(rows);
    writeReport(o.out, {
      date: new Date().toISOString(),
      adapter: ctx.adapterInfo.name,
      timing: method,
      repeats: o.repeats,
      warmup: o.warmup,
      quick: o.quick,
      image: relative(ROOT, o.image),
      tfjsVersion: tf.version_core,
      maxRelativeError: MAX_RELATIVE_ERROR,
      models: rows,
    });
    const bad = rows.filter((r) => !(r.relativeErrorVsTfjs < MAX_RELATIVE_ERROR));
    if (bad.length) {
      console.error(`bench:model: logits differ from tfjs beyond ${MAX_RELATIVE_ERROR} for ${bad.map((r) => r.key).join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    ctx.destroy();
  }
}

runIfMain(import.meta.url, main);
