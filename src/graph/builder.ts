// Builds a canonical Graph layer by layer, inferring each output shape as it goes (through the
// op registry), so a wrong shape is reported at the layer that causes it, with the layer's name.
//
// The graph is canonical: an activation asked of a conv, batch norm or add becomes its own
// `activation` node after it (named `<layer>:<activation>`), so the value before the activation
// exists for differentiation; the inference compile fuses it back into the producer.
import { type Activation } from '../kernels/activation/activation.js';
import { samePadding } from '../kernels/conv2d/params.js';
import type { PadParams } from '../kernels/layout/pad.js';
import type { PermuteParams } from '../kernels/layout/permute.js';
import type { MatmulParams } from '../kernels/matmul/matmul.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import type { BroadcastOp } from '../kernels/broadcast/broadcast.js';
import { shapeString } from '../gpu/tensor.js';
import type { BatchNormAttrs, ConvAttrs, DType, Graph, Node, NodeOp, Pool2dAttrs, StateRole, Value } from './ir.js';
import { IdAllocator, shapeEq } from './ir.js';
import { opDef } from './ops/registry.js';

export interface ConvOptions {
  stride?: number | [number, number];
  /** Explicit [top, bottom, left, right], a symmetric number, or 'same' (TF: extra pad after). */
  padding?: number | [number, number, number, number] | 'same' | 'valid';
  dilation?: number | [number, number];
  groups?: number;
  /** Emitted as a separate activation node after the conv. */
  activation?: Activation;
  bias?: Value;
}

function pair(v: number | [number, number] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  return typeof v === 'number' ? [v, v] : v;
}

/** The per-run input that seeds every dropout mask of a graph. */
export const DROPOUT_SEED = 'dropout_seed';

export class GraphBuilder {
  private ids = new IdAllocator();
  private readonly inputs: Value[] = [];
  private readonly state = new Map<string, Value>();
  private readonly nodes: Node[] = [];
  private readonly outputs = new Map<string, Value>();
  private readonly names = new Set<string>();

  /**
   * A builder that extends an existing graph (autograd, losses, optimizer updates): the same
   * values, nodes, outputs and id allocator, so new values never collide with old ones.
   */
  static extend(graph: Graph): GraphBuilder {
    const b = new GraphBuilder();
    b.ids = graph.ids;
    b.inputs.push(...graph.inputs);
    for (const v of graph.state) b.state.set(v.name, v);
    for (const n of graph.nodes) {
      b.nodes.push(n);
      b.names.add(n.name);
    }
    for (const [k, v] of graph.outputs) b.outputs.set(k, v);
    return b;
  }

  /** A state value already declared, by name (undefined when none). */
  stateNamed(name: string): Value | undefined {
    return this.state.get(name);
  }

  private value(shape: readonly number[], kind: Value['kind'], name: string, dtype: DType = 'f32', role?: StateRole): Value {
    for (const d of shape) {
      if (!Number.isInteger(d) || d <= 0) throw new Error(`${name}: invalid shape ${shapeString(shape)}`);
    }
    return { id: this.ids.take(), shape: [...shape], kind, name, dtype, ...(role ? { role } : {}) };
  }

  /** A per-run input: images (f32), labels (u32), per-run scalars such as a learning rate ([1]). */
  input(name: string, shape: readonly number[], dtype: DType = 'f32'): Value {
    if (this.inputs.some((v) => v.name === name)) throw new Error(`graph: duplicate input '${name}'`);
    const v = this.value(shape, 'input', name, dtype);
    this.inputs.push(v);
    return v;
  }

  /** A named state value; asking twice for one name returns the same value (shapes and roles must agree). */
  stateValue(name: string, shape: readonly number[], role: StateRole): Value {
    const existing = this.state.get(name);
    if (existing) {
      if (!shapeEq(existing.shape, shape)) {
        throw new Error(`parameter ${name} declared as ${shapeString(existing.shape)} and ${shapeString(shape)}`);
      }
      if (existing.role !== role) throw new Error(`parameter ${name} declared as ${existing.role} and ${role}`);
      return existing;
    }
    const v = this.value(shape, 'state', name, 'f32', role);
    this.state.set(name, v);
    return v;
  }

  /** A trainable parameter (weights, biases, BN gamma / beta). */
  param(name: string, shape: readonly number[]): Value {
    return this.stateValue(name, shape, 'param');
  }

  /** A statistic: state updated by training but not by gradients (BN running mean / variance). */
  statistic(name: string, shape: readonly number[]): Value {
    return this.stateValue(name, shape, 'statistic');
  }

  /**
   * Adds a node of any registered op; shapes are inferred by the op's definition. `updates`
   * are state values the node also writes in place (running statistics, optimizer steps); they
   * follow the inferred outputs in the node's output list.
   */
  node(name: string, op: NodeOp, updates: readonly Value[] = []): Value[] {
    if (this.names.has(name)) throw new Error(`graph: duplicate layer name '${name}'`);
    let specs;
    try {
      specs = opDef(op).infer(op);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
    for (const v of updates) if (v.kind !== 'state') throw new Error(`${name}: only state is updated in place, not ${v.name}`);
    this.names.add(name);
    const outputs = [...specs.map((s) => this.value(s.shape, 'activation', name, s.dtype)), ...updates];
    for (const v of updates) this.state.set(v.name, v);
    this.nodes.push({ id: this.nodes.length, name, op, outputs });
    return outputs;
  }

  /** True when a layer of that name exists. */
  hasLayer(name: string): boolean {
    return this.names.has(name);
  }

  private single(name: string, op: NodeOp): Value {
    return this.node(name, op)[0];
  }

  /** `x`, or an activation node after it. */
  private activate(name: string, x: Value, activation: Activation | undefined): Value {
    return !activation || activation === 'none' ? x : this.activation(`${name}:${activation}`, x, activation);
  }

  conv2d(name: string, input: Value, weight: Value, opts: ConvOptions = {}): Value {
    if (input.shape.length !== 4) throw new Error(`${name}: conv input must be NHWC, got ${shapeString(input.shape)}`);
    if (weight.shape.length !== 4) throw new Error(`${name}: conv weight must be HWIO, got ${shapeString(weight.shape)}`);
    const [strideH, strideW] = pair(opts.stride, 1);
    const [dilationH, dilationW] = pair(opts.dilation, 1);
    const [kh, kw] = [weight.shape[0], weight.shape[1]];
    let pads: [number, number, number, number];
    const padding = opts.padding ?? 0;
    if (padding === 'same') {
      pads = [...samePadding(input.shape[1], kh, strideH, dilationH), ...samePadding(input.shape[2], kw, strideW, dilationW)];
    } else if (padding === 'valid') {
      pads = [0, 0, 0, 0];
    } else if (typeof padding === 'number') {
      pads = [padding, padding, padding, padding];
    } else {
      pads = padding;
    }
    const attrs: ConvAttrs = {
      strideH,
      strideW,
      padTop: pads[0],
      padBottom: pads[1],
      padLeft: pads[2],
      padRight: pads[3],
      dilationH,
      dilationW,
      groups: opts.groups ?? 1,
      activation: 'none',
    };
    const y = this.single(name, { type: 'conv2d', input, weight, bias: opts.bias, attrs });
    return this.activate(name, y, opts.activation);
  }

  /** Inference batch norm over the channel axis, then `attrs.activation` as its own node. */
  batchNorm(
    name: string,
    input: Value,
    p: { gamma: Value; beta: Value; mean: Value; variance: Value },
    attrs: Partial<BatchNormAttrs> = {},
  ): Value {
    const y = this.single(name, { type: 'batchnorm', input, ...p, attrs: { eps: attrs.eps ?? 1e-5, activation: 'none', momentum: attrs.momentum ?? 0.1 } });
    return this.activate(name, y, attrs.activation);
  }

  /** Layer normalisation over the last axis, with an affine weight (gamma) and bias (beta). */
  layerNorm(name: string, input: Value, p: { gamma: Value; beta: Value }, attrs: { eps: number }): Value {
    return this.single(name, { type: 'layer_norm', input, ...p, attrs: { eps: attrs.eps } });
  }

  /** Group normalisation with one group: each batch item of a map over all its values, an affine weight and bias per channel. */
  groupNorm(name: string, input: Value, p: { gamma: Value; beta: Value }, attrs: { eps: number }): Value {
    return this.single(name, { type: 'group_norm', input, ...p, attrs: { eps: attrs.eps } });
  }

  /** alpha * op(a) op(b) per batch item of rank-3 a and b, op a transpose where asked. */
  matmul(name: string, a: Value, b: Value, p: Partial<MatmulParams> = {}): Value {
    return this.single(name, { type: 'matmul', a, b, attrs: { transA: p.transA ?? false, transB: p.transB ?? false, alpha: p.alpha ?? 1 } });
  }

  addValues(name: string, a: Value, b: Value, activation: Activation = 'none'): Value {
    return this.activate(name, this.single(name, { type: 'add', a, b, attrs: { activation: 'none' } }), activation);
  }

  /** a * b, with b the same shape or [N,1,1,C] (squeeze-and-excite). */
  mulValues(name: string, a: Value, b: Value, activation: Activation = 'none'): Value {
    return this.activate(name, this.single(name, { type: 'mul', a, b, attrs: { activation: 'none' } }), activation);
  }

  /** a OP b broadcast numpy-style between operands of one rank (an axis of extent 1 broadcasts). */
  binary(name: string, op: BroadcastOp, a: Value, b: Value): Value {
    return this.single(name, { type: 'binary', a, b, attrs: { op } });
  }

  /** The input broadcast to `shape` (one rank; its extents equal or 1). */
  expand(name: string, input: Value, shape: readonly number[]): Value {
    return this.single(name, { type: 'expand', input, attrs: { shape: [...shape] } });
  }

  /** The input summed over the axes where `shape` (one rank) is 1. */
  reduceSum(name: string, input: Value, shape: readonly number[]): Value {
    return this.single(name, { type: 'reduce_sum', input, attrs: { shape: [...shape] } });
  }

  activation(name: string, input: Value, activation: Activation): Value {
    return this.single(name, { type: 'activation', input, attrs: { activation } });
  }

  globalAvgPool(name: string, input: Value): Value {
    return this.single(name, { type: 'global_avg_pool', input });
  }

  pool2d(name: string, input: Value, attrs: Pool2dAttrs): Value {
    return this.single(name, { type: 'pool2d', input, attrs });
  }

  resize(name: string, input: Value, outH: number, outW: number, mode: ResizeMode): Value {
    return this.single(name, { type: 'resize', input, attrs: { outH, outW, mode } });
  }

  /** Class index per pixel of the input resized to outH x outW, without materialising the resize. */
  resizeArgmax(name: string, input: Value, outH: number, outW: number, mode: ResizeMode): Value {
    return this.single(name, { type: 'resize_argmax', input, attrs: { outH, outW, mode } });
  }

  concat(name: string, inputs: Value[]): Value {
    return this.single(name, { type: 'concat', inputs });
  }

  /** Channels [offset, offset + channels) of an NHWC map (a split of one conv's output). */
  channelSlice(name: string, input: Value, offset: number, channels: number): Value {
    return this.single(name, { type: 'channel_slice', input, attrs: { offset, channels } });
  }

  /** Left-right mirror. */
  flipWidth(name: string, input: Value): Value {
    return this.single(name, { type: 'flip_w', input });
  }

  /** The input viewed as `p.view`, its axes reordered by `p.perm`, read as `p.shape` (one copy). */
  permute(name: string, input: Value, p: PermuteParams): Value {
    return this.single(name, { type: 'permute', input, attrs: p });
  }

  /** A map's sides padded with zeros (positive amounts) or cropped (negative). */
  pad(name: string, input: Value, p: PadParams): Value {
    return this.single(name, { type: 'pad', input, attrs: { ...p } });
  }

  /** Output axis i is input axis perm[i]. */
  transpose(name: string, input: Value, perm: readonly number[]): Value {
    return this.permute(name, input, { view: input.shape, perm, shape: perm.map((a) => input.shape[a]) });
  }

  /** The same elements in row-major order, as another shape. */
  reshape(name: string, input: Value, shape: readonly number[]): Value {
    return this.permute(name, input, { view: input.shape, perm: input.shape.map((_, i) => i), shape });
  }

  softmax(name: string, input: Value): Value {
    return this.single(name, { type: 'softmax', input });
  }

  argmax(name: string, input: Value): Value {
    return this.single(name, { type: 'argmax', input });
  }

  /**
   * Training-only inverted dropout with probability p; every dropout layer reads the per-run
   * u32 input 'dropout_seed' (made by the first), and its salt is its order among them.
   * `channelwise` drops whole channels of an NHWC tensor (PyTorch's Dropout2d).
   */
  dropout(name: string, input: Value, p: number, opts: { channelwise?: boolean } = {}): Value {
    const seed = this.inputs.find((v) => v.name === DROPOUT_SEED) ?? this.input(DROPOUT_SEED, [1], 'u32');
    const salt = this.nodes.filter((n) => n.op.type === 'dropout').length;
    const attrs = opts.channelwise ? { p, salt, channelwise: true } : { p, salt };
    return this.single(name, { type: 'dropout', input, seed, attrs });
  }

  output(name: string, v: Value): void {
    this.outputs.set(name, v);
  }

  build(): Graph {
    if (this.outputs.size === 0) throw new Error('graph has no outputs');
    return { inputs: [...this.inputs], state: [...this.state.values()], nodes: this.nodes.map((n, id) => ({ ...n, id })), outputs: new Map(this.outputs), ids: this.ids };
  }
}
