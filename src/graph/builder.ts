// Builds a Graph layer by layer, inferring each output shape as it goes, so a wrong shape is
// reported at the layer that causes it (with the layer's name) rather than at run time.
import { type Activation } from '../kernels/activation.js';
import { conv2dOutputShape, samePadding } from '../kernels/conv2d.js';
import { pool2dOutputShape } from '../kernels/pool.js';
import type { ResizeMode } from '../kernels/resize.js';
import { shapeString } from '../gpu/tensor.js';
import type { BatchNormAttrs, ConvAttrs, DType, Graph, Node, NodeOp, Pool2dAttrs, Value } from './ir.js';
import { shapeEq } from './ir.js';

export interface ConvOptions {
  stride?: number | [number, number];
  /** Explicit [top, bottom, left, right], a symmetric number, or 'same' (TF: extra pad after). */
  padding?: number | [number, number, number, number] | 'same' | 'valid';
  dilation?: number | [number, number];
  groups?: number;
  activation?: Activation;
  bias?: Value;
}

function pair(v: number | [number, number] | undefined, dflt: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  return typeof v === 'number' ? [v, v] : v;
}

export class GraphBuilder {
  private nextId = 0;
  private readonly inputs: Value[] = [];
  private readonly params = new Map<string, Value>();
  private readonly nodes: Node[] = [];
  private readonly outputs = new Map<string, Value>();
  private readonly names = new Set<string>();

  private value(shape: readonly number[], kind: Value['kind'], name: string, dtype: DType = 'f32'): Value {
    for (const d of shape) {
      if (!Number.isInteger(d) || d <= 0) throw new Error(`${name}: invalid shape ${shapeString(shape)}`);
    }
    return { id: this.nextId++, shape: [...shape], kind, name, dtype };
  }

  input(name: string, shape: readonly number[]): Value {
    const v = this.value(shape, 'input', name);
    this.inputs.push(v);
    return v;
  }

  /** A named parameter; asking twice for one name returns the same value (shapes must agree). */
  param(name: string, shape: readonly number[]): Value {
    const existing = this.params.get(name);
    if (existing) {
      if (!shapeEq(existing.shape, shape)) {
        throw new Error(`parameter ${name} declared as ${shapeString(existing.shape)} and ${shapeString(shape)}`);
      }
      return existing;
    }
    const v = this.value(shape, 'param', name);
    this.params.set(name, v);
    return v;
  }

  private add(name: string, op: NodeOp, shape: readonly number[], dtype: DType = 'f32'): Value {
    if (this.names.has(name)) throw new Error(`graph: duplicate layer name '${name}'`);
    this.names.add(name);
    const output = this.value(shape, 'activation', name, dtype);
    this.nodes.push({ id: this.nodes.length, name, op, output });
    return output;
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
      activation: opts.activation ?? 'none',
    };
    let shape: number[];
    try {
      shape = conv2dOutputShape(input.shape, weight.shape, attrs);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
    if (opts.bias && !shapeEq(opts.bias.shape, [weight.shape[3]])) {
      throw new Error(`${name}: bias ${shapeString(opts.bias.shape)} does not match ${weight.shape[3]} output channels`);
    }
    return this.add(name, { type: 'conv2d', input, weight, bias: opts.bias, attrs }, shape);
  }

  /** BN with parameters `${prefix}.{weight,bias,running_mean,running_var}` unless names are given. */
  batchNorm(
    name: string,
    input: Value,
    p: { gamma: Value; beta: Value; mean: Value; variance: Value },
    attrs: Partial<BatchNormAttrs> = {},
  ): Value {
    const c = input.shape[input.shape.length - 1];
    for (const [role, v] of Object.entries(p)) {
      if (!shapeEq(v.shape, [c])) throw new Error(`${name}: batch-norm ${role} ${shapeString(v.shape)} does not match ${c} channels`);
    }
    return this.add(
      name,
      { type: 'batchnorm', input, ...p, attrs: { eps: attrs.eps ?? 1e-5, activation: attrs.activation ?? 'none' } },
      input.shape,
    );
  }

  private binary(type: 'add' | 'mul', name: string, a: Value, b: Value, activation: Activation): Value {
    const sameShape = shapeEq(a.shape, b.shape);
    const seBroadcast =
      type === 'mul' && a.shape.length === 4 && shapeEq(b.shape, [a.shape[0], 1, 1, a.shape[3]]);
    if (!sameShape && !seBroadcast) {
      throw new Error(`${name}: cannot ${type} ${shapeString(a.shape)} and ${shapeString(b.shape)}`);
    }
    return this.add(name, { type, a, b, attrs: { activation } }, a.shape);
  }

  addValues(name: string, a: Value, b: Value, activation: Activation = 'none'): Value {
    return this.binary('add', name, a, b, activation);
  }

  /** a * b, with b the same shape or [N,1,1,C] (squeeze-and-excite). */
  mulValues(name: string, a: Value, b: Value, activation: Activation = 'none'): Value {
    return this.binary('mul', name, a, b, activation);
  }

  activation(name: string, input: Value, activation: Activation): Value {
    return this.add(name, { type: 'activation', input, attrs: { activation } }, input.shape);
  }

  globalAvgPool(name: string, input: Value): Value {
    const [n, , , c] = input.shape;
    return this.add(name, { type: 'global_avg_pool', input }, [n, 1, 1, c]);
  }

  pool2d(name: string, input: Value, attrs: Pool2dAttrs): Value {
    let shape: number[];
    try {
      shape = pool2dOutputShape(input.shape, attrs);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
    return this.add(name, { type: 'pool2d', input, attrs }, shape);
  }

  resize(name: string, input: Value, outH: number, outW: number, mode: ResizeMode): Value {
    const [n, , , c] = input.shape;
    return this.add(name, { type: 'resize', input, attrs: { outH, outW, mode } }, [n, outH, outW, c]);
  }

  /** Class index per pixel of the input resized to outH x outW, without materialising the resize. */
  resizeArgmax(name: string, input: Value, outH: number, outW: number, mode: ResizeMode): Value {
    return this.add(name, { type: 'resize_argmax', input, attrs: { outH, outW, mode } }, [input.shape[0], outH, outW], 'u32');
  }

  concat(name: string, inputs: Value[]): Value {
    if (inputs.length === 0) throw new Error(`${name}: concat of nothing`);
    const [n, h, w] = inputs[0].shape;
    let c = 0;
    for (const v of inputs) {
      if (v.shape.length !== 4 || v.shape[0] !== n || v.shape[1] !== h || v.shape[2] !== w) {
        throw new Error(`${name}: concat inputs differ: ${inputs.map((x) => shapeString(x.shape)).join(' vs ')}`);
      }
      c += v.shape[3];
    }
    return this.add(name, { type: 'concat', inputs }, [n, h, w, c]);
  }

  softmax(name: string, input: Value): Value {
    return this.add(name, { type: 'softmax', input }, input.shape);
  }

  argmax(name: string, input: Value): Value {
    return this.add(name, { type: 'argmax', input }, input.shape.slice(0, 3), 'u32');
  }

  output(name: string, v: Value): void {
    this.outputs.set(name, v);
  }

  build(): Graph {
    if (this.outputs.size === 0) throw new Error('graph has no outputs');
    return { inputs: [...this.inputs], params: [...this.params.values()], nodes: [...this.nodes], outputs: new Map(this.outputs) };
  }
}
