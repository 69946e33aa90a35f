// What one op is, in one place: its operands and attributes (the op record type), shape
// inference, GPU lowering, CPU reference, cost, how `describe` shows it, what kernel choices it
// offers the tuner, (for training) its gradient rule, and its ONNX and TF Lite mappings. Every pass, the executor, the CPU interpreter, the cost
// model, `describe` and the ONNX exporter read ops only through these definitions, so adding an
// op means adding one definition.
import type { GpuContext } from '../../gpu/context.js';
import type { Dispatch } from '../../gpu/dispatch.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import type { GpuTensor } from '../../gpu/tensor.js';
import type { TunableLayer } from '../../kernels/tuning.js';
import type { OnnxRule } from '../onnx/emitter.js';
import type { TfliteRule } from '../tflite/emitter.js';
import type { DType, Value } from '../value.js';

/** Shape and type of one output, as shape inference gives it. */
export interface OutputSpec {
  shape: number[];
  dtype: DType;
}

/** Kernels to compile ahead, and how to prepare the dispatches once every tensor has a buffer. */
export interface LoweredOp {
  specs: KernelSpec[];
  prepare(ctx: GpuContext, tensorOf: (v: Value) => GpuTensor, outputs: GpuTensor[]): Dispatch[];
}

/** A value on the host: f32 values (f64 where the CPU interpreter runs in float64), or u32. */
export type HostArray = Float32Array | Float64Array | Uint32Array;

export interface OpCost {
  /** Multiply-accumulates (convolutions and matrix products only). */
  macs: number;
  /** 2 x macs for those, the per-element estimate of src/model/analysis/flops.ts otherwise. */
  flops: number;
}

/** The attributes `describe` shows for a layer. */
export interface LayerAttributes {
  kernel?: [number, number];
  stride?: number;
  rate?: number;
}

/** What a gradient rule emits its nodes with (src/graph/autograd.ts implements it). */
export interface GradEmitter {
  /**
   * Adds a node (named after the forward layer and `suffix`) and returns its outputs. Name the
   * op record's type (`g.emit<ColumnSumOp>(...)`) so the compiler checks its fields.
   */
  emit<T extends { type: string }>(suffix: string, op: T): Value[];
  /** Whether an operand needs a gradient (depends on something being differentiated). */
  needs(v: Value): boolean;
}

/**
 * A gradient rule: given the op, its outputs and the gradients of those outputs (undefined
 * where nothing downstream needs one), the gradients of its operands, by operand field
 * (a list for list operands such as concat's). Operands left out get no gradient.
 */
export type GradRule<O> = (
  op: O,
  outputs: readonly Value[],
  dOutputs: readonly (Value | undefined)[],
  g: GradEmitter,
) => Partial<Record<string, Value | (Value | undefined)[] | undefined>>;

export interface OpDef<O extends { type: string }> {
  readonly type: O['type'];
  /** The fields of the op record that hold operand Values (or Value lists), in binding order. */
  readonly operands: readonly string[];
  /**
   * Its kernels have a half-precision variant: given f16 float operands they write f16 outputs
   * (computing in f32). The half-precision compile pass (src/graph/half.ts) keeps such ops in
   * f16 and casts around the others.
   */
  readonly half?: boolean;
  /** Output shapes and types; throws a message without the layer name (the builder adds it). */
  infer(op: O): OutputSpec[];
  /** `ctx` is the device the kernels will run on (a kernel may choose its variant by adapter). */
  lower(op: O, outputs: readonly Value[], ctx: GpuContext): LoweredOp;
  /** The CPU reference: the oracle for the GPU executor and for every graph rewrite. */
  cpu(op: O, read: (v: Value) => HostArray, outputs: readonly Value[]): HostArray[];
  cost(op: O, outputs: readonly Value[]): OpCost;
  /**
   * The kernel choices the op's layer offers on `ctx` (candidates for the tuner, src/graph/tune.ts),
   * or null where it has none. Ops without kernel choices leave it out.
   */
  tunable?(op: O, ctx: GpuContext): TunableLayer | null;
  /**
   * A check of the adapter the op's kernels need before any is lowered (the convolution's of the
   * adapter's subgroup matrices, against the CPU reference), run once per context by the first
   * program whose graph holds the op; the check keeps its result on the context.
   */
  adapterCheck?(ctx: GpuContext): Promise<void>;
  layer?(op: O): LayerAttributes;
  /**
   * Stride of the first output relative to the image, from the stride of the op's first operand
   * that has one (null: lost, e.g. after global pooling). Default: that stride unchanged.
   */
  outputStride?(op: O, inputStride: number | null, imageHeight: number | undefined): number | null;
  /** How gradients flow back through the op (ops without one cannot be differentiated). */
  grad?: GradRule<O>;
  /**
   * Why the op runs only in f32 inference programs, where it does (a q8 file's quantisation):
   * autograd and the half-precision pass refuse a graph holding it, naming its layers and this.
   */
  readonly inferenceOnly?: string;
  /** How the op is written as ONNX operators (ops without one cannot be exported to ONNX). */
  onnx?: OnnxRule<O>;
  /** How the op is written as TF Lite builtin operators (ops without one are refused by TF Lite export). */
  tflite?: TfliteRule<O>;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
