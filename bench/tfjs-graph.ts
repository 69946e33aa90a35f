// Our graph IR run with TensorFlow.js ops: the peer engine of the model benchmarks. The Node
// bench (bench/model.ts, tfjs on our Dawn instance) and the browser bench's page
// (bench/browser-page.ts, tfjs in Chromium) use this one interpreter, so the network tfjs runs
// is the graph our program runs in both. No Node module is imported here: tfjs itself is passed
// in (Node imports the package; the page has its script bundles).
import type { Graph, Node, NodeOp, OpType, Value } from '../src/graph/ir.js';
import { nodeOutput } from '../src/graph/ir.js';
import { nodeInputs } from '../src/graph/ops/registry.js';
import type { HostParams } from '../src/graph/params.js';
import type { Activation } from '../src/kernels/activation/activation.js';
import type { ResizeMode } from '../src/kernels/resize/resize.js';

export type Tfjs = typeof import('@tensorflow/tfjs-core');
export type TfTensor = import('@tensorflow/tfjs-core').Tensor;
export type TfTensor4D = import('@tensorflow/tfjs-core').Tensor4D;

/**
 * A fresh WebGPU backend: each model starts with an empty buffer pool and pipeline cache, so
 * its memory figures are its own and both engines compile during their warm-up.
 */
export async function freshTfjsBackend(tf: Tfjs): Promise<void> {
  tf.engine().reset();
  if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js could not start its WebGPU backend');
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
export class TfjsGraph {
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
        this.params.set(p.id, tf.tensor(t.data, tfParamShape(this.graph, p), 'float32'));
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
        const y = tf.tidy(() => lowerNode(tf, node, get));
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

  dispose(): void {
    for (const t of this.params.values()) t.dispose();
    this.params.clear();
  }
}

/** Our HWIO depthwise weight [KH,KW,1,C*m] is tfjs' [KH,KW,C,m] with the same memory order. */
export function tfParamShape(graph: Graph, p: Value): number[] {
  for (const n of graph.nodes) {
    if (n.op.type === 'conv2d' && n.op.weight.id === p.id && n.op.attrs.groups > 1) {
      const [KH, KW, , cout] = p.shape;
      const cin = n.op.input.shape[3];
      return [KH, KW, cin, cout / cin];
    }
  }
  return [...p.shape];
}

/** A tfjs activation. */
function activate(tf: Tfjs, x: TfTensor, a: Activation): TfTensor {
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
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case 'tanh':
      return tf.tanh(x);
    case 'erf':
      return tf.erf(x);
  }
}

function resizeFlags(mode: ResizeMode): [alignCorners: boolean, halfPixelCenters: boolean] {
  return mode === 'align_corners' ? [true, false] : mode === 'half_pixel' ? [false, true] : [false, false];
}

export interface LowerOptions {
  /**
   * Forms whose gradients tfjs computes right (the training peer, bench/tfjs-train.ts), each
   * computing the same values:
   * - atrous convolutions as TF builds them (tf.nn.atrous_conv2d): space-to-batch, the plain
   *   convolution, batch-to-space; tfjs has no gradient for a dilated convolution;
   * - a bilinear resize's gradient as its interpolation matrices transposed (tf.customGrad; the
   *   forward is TF.js' own resize): TF.js 4.22's WebGPU ResizeBilinearGrad ignores half-pixel
   *   centers and gives a zero gradient for a 1x1 input with align corners.
   */
  forGradients?: boolean;
}

/** One node as tfjs ops, by the table below (an op it lacks is an error naming the layer). */
export function lowerNode(tf: Tfjs, node: Node, get: (v: Value) => TfTensor, o: LowerOptions = {}): TfTensor {
  if (o.forGradients && node.op.type === 'resize') return resizeWithMatrixGrad(tf, get(node.op.input) as TfTensor4D, node.op.attrs.outH, node.op.attrs.outW, resizeFlags(node.op.attrs.mode));
  const lower = (TFJS_OPS as Record<string, TfjsLowering<NodeOp> | undefined>)[node.op.type];
  if (!lower) throw new Error(`tfjs interpreter: layer ${node.name}: ${node.op.type} is not supported`);
  return lower(tf, node.op, get, { node, activate: (x, a) => activate(tf, x, a), resizeFlags, conv: (n, op) => conv(tf, n, op, get, o) });
}

function conv(tf: Tfjs, node: Node, op: Extract<Node['op'], { type: 'conv2d' }>, get: (v: Value) => TfTensor, o: LowerOptions): TfTensor {
  const a = op.attrs;
  const x = get(op.input) as TfTensor4D;
  const w = get(op.weight) as TfTensor4D;
  const cin = op.input.shape[3];
  const depthwise = a.groups > 1;
  if (depthwise && (a.groups !== cin || op.weight.shape[2] !== 1)) {
    throw new Error(`tfjs interpreter: layer ${node.name}: tfjs has no grouped conv (groups ${a.groups}, ${cin} input channels)`);
  }
  if (o.forGradients && (a.dilationH > 1 || a.dilationW > 1)) return atrousConv(tf, node, op, x, w, get);
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
  return epilogue(tf, op, y, get);
}

/** A conv's scale, bias, residual and activation as separate ops. */
function epilogue(tf: Tfjs, op: Extract<Node['op'], { type: 'conv2d' }>, y: TfTensor, get: (v: Value) => TfTensor): TfTensor {
  if (op.scale) y = tf.mul(y, get(op.scale));
  if (op.bias) y = tf.add(y, get(op.bias));
  if (op.residual) y = tf.add(y, get(op.residual));
  return activate(tf, y, op.attrs.activation);
}

/**
 * A stride-1 dilated convolution at rate r as TF's atrous_conv2d computes it: the input padded
 * (the node's pads, and at the end up to a multiple of r), split into r x r phases
 * (spaceToBatchND), each convolved with the undilated kernel ('valid'), interleaved back
 * (batchToSpaceND) and cropped to the node's output.
 */
function atrousConv(tf: Tfjs, node: Node, op: Extract<Node['op'], { type: 'conv2d' }>, x: TfTensor4D, w: TfTensor4D, get: (v: Value) => TfTensor): TfTensor {
  const a = op.attrs;
  if (a.strideH !== 1 || a.strideW !== 1) throw new Error(`tfjs interpreter: layer ${node.name}: a dilated convolution with stride ${a.strideH}x${a.strideW}`);
  const [, H, W] = op.input.shape;
  const [, outH, outW] = nodeOutput(node).shape;
  const rH = a.dilationH;
  const rW = a.dilationW;
  const extraH = (rH - ((H + a.padTop + a.padBottom) % rH)) % rH;
  const extraW = (rW - ((W + a.padLeft + a.padRight) % rW)) % rW;
  const padded = tf.pad(x, [[0, 0], [a.padTop, a.padBottom + extraH], [a.padLeft, a.padRight + extraW], [0, 0]]);
  const phases = tf.spaceToBatchND(padded, [rH, rW], [[0, 0], [0, 0]]) as TfTensor4D;
  const y = a.groups > 1 ? tf.depthwiseConv2d(phases, w, 1, 'valid') : tf.conv2d(phases, w, 1, 'valid');
  const whole = tf.batchToSpaceND(y, [rH, rW], [[0, extraH], [0, extraW]]) as TfTensor4D;
  if (whole.shape[1] !== outH || whole.shape[2] !== outW) throw new Error(`tfjs interpreter: layer ${node.name}: atrous form gave ${whole.shape[1]}x${whole.shape[2]}, expected ${outH}x${outW}`);
  return epilogue(tf, op, whole, get);
}

/**
 * tf.image.resizeBilinear, differentiated through its interpolation matrices: Rh [outH, H] and
 * Rw [outW, W] are the resize itself applied to one-hot rows and columns (so they are exactly
 * what the forward computes), and dx = Rh^T dy Rw along height and width.
 */
function resizeWithMatrixGrad(tf: Tfjs, x: TfTensor4D, outH: number, outW: number, flags: [boolean, boolean]): TfTensor {
  const [N, H, W, C] = x.shape;
  const matrix = (size: number, out: number): TfTensor =>
    tf.tidy(() => tf.reshape(tf.image.resizeBilinear(tf.reshape(tf.eye(size), [1, size, 1, size]) as TfTensor4D, [out, 1], ...flags), [out, size]));
  const f = tf.customGrad(((input: TfTensor, save: (saved: TfTensor[]) => void) => {
    save([]);
    return {
      value: tf.image.resizeBilinear(input as TfTensor4D, [outH, outW], ...flags),
      gradFunc: (dy: TfTensor) => {
        const rh = matrix(H, outH);
        const rw = matrix(W, outW);
        // Height: [N, outH, outW*C] -> [N, H, outW*C].
        const alongH = tf.matMul(tf.tile(tf.expandDims(tf.transpose(rh), 0), [N, 1, 1]), tf.reshape(dy, [N, outH, outW * C]));
        // Width: [N, H, C, outW] x [outW, W] -> [N, H, C, W] -> NHWC.
        const byRows = tf.reshape(tf.transpose(tf.reshape(alongH, [N, H, outW, C]), [0, 1, 3, 2]), [N * H * C, outW]);
        const alongW = tf.matMul(byRows, rw);
        return tf.transpose(tf.reshape(alongW, [N, H, C, W]), [0, 1, 3, 2]);
      },
    };
  }) as unknown as Parameters<Tfjs['customGrad']>[0]);
  return f(x);
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
