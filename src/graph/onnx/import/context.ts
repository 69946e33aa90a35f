// What an import rule works with: the ONNX tensors seen so far as slots (host constants, or graph
// values with their layout), the builder, the state the graph reads and where each came from.
//
// Layout: ONNX's maps are NCHW, ours NHWC. A value slot keeps its ONNX dims and an `order`: our
// axis i holds ONNX axis order[i]. A map from a Conv is NHWC ([0,2,3,1]); a Transpose only
// changes the order (no copy); a rule that needs another order asks `valueIn(slot, order)`, which
// inserts one permute, and an op over an axis (Concat, Softmax, Slice) reads where that ONNX axis
// is among ours. So no rule ever transposes a map by hand, and layouts meet only where an op
// needs them.
import type { GraphBuilder } from '../../builder.js';
import type { Value } from '../../ir.js';
import type { StateRole } from '../../value.js';
import type { OnnxAttr, OnnxNode, OnnxTensor } from '../model.js';
import { hostTranspose, isFloat, numelOf } from './host.js';
import { permuteAxes } from '../lower.js';

export interface ConstSlot {
  kind: 'const';
  t: OnnxTensor;
}

export interface ValueSlot {
  kind: 'value';
  v: Value;
  /** The ONNX dims. */
  dims: number[];
  /** Our axis i holds ONNX axis order[i]: v.shape[i] === dims[order[i]]. */
  order: number[];
  /** A DynamicQuantizeLinear's uint8 codes, held as the codes less its zero point (rules-quant.ts). */
  codes?: Codes;
}

/** Where a tensor of codes came from: the DynamicQuantizeLinear node, and its scale and zero point ([1] values). */
export interface Codes {
  node: string;
  scale: ValueSlot;
  zeroPoint: ValueSlot;
}

export type Slot = ConstSlot | ValueSlot;

/** Where a state value came from: a constant (an initializer, a Constant node) seen as `dims` (unit axes added in front) in `order`. */
export interface StateSource {
  tensor: OnnxTensor;
  dims: number[];
  order: number[];
  role: StateRole;
  /** The initializer it is, where it is one (an export writes it back there). */
  initializer?: string;
}

export const NHWC: readonly number[] = [0, 2, 3, 1];

export const identityOrder = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);

export const sameOrder = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The inverse permutation. */
export function inverseOrder(order: readonly number[]): number[] {
  const inv = new Array<number>(order.length);
  order.forEach((a, i) => (inv[a] = i));
  return inv;
}

/** A rule's error: it names the node and its op, as every refusal of the importer does. */
export class NodeError extends Error {}

/** "node 'name' (Op)", or "the graph" before any node is imported (an output no node makes). */
export const nodeWords = (node: OnnxNode | undefined): string => (node ? `node '${node.name}' (${node.opType})` : 'the graph');

export class ImportContext {
  readonly slots = new Map<string, Slot>();
  readonly sources = new Map<string, StateSource>();
  private readonly layerNames = new Set<string>();
  node!: OnnxNode;
  /** The node that makes the logits' channels, and the class count it is to make there (a new class set), where asked. */
  head?: { node: OnnxNode; classes: number };

  constructor(
    readonly b: GraphBuilder,
    readonly opset: number,
    readonly initializers: ReadonlyMap<string, OnnxTensor>,
  ) {}

  /** The output channels the current node makes: `channels`, or the new class count where it is the logits' head. */
  headClasses(channels: number): number {
    return this.head?.node === this.node ? this.head.classes : channels;
  }

  refuse(message: string): never {
    throw new NodeError(`${nodeWords(this.node)}: ${message}`);
  }

  /** A fresh layer name for the node (its own name, then with a suffix). */
  layer(suffix = ''): string {
    const base = suffix ? `${this.node.name}:${suffix}` : this.node.name;
    let name = base;
    for (let k = 2; this.layerNames.has(name) || this.b.hasLayer(name); k++) name = `${base}_${k}`;
    this.layerNames.add(name);
    return name;
  }

  // ------------------------------------------------------------ inputs and attributes

  /** Input i's slot, or undefined where the node leaves it out. */
  input(i: number): Slot | undefined {
    const name = this.node.inputs[i];
    if (name === undefined || name === '') return undefined;
    const s = this.slots.get(name);
    if (!s) this.refuse(`input '${name}' is computed by no node before it (the graph is not in topological order, or the input is unknown)`);
    return s;
  }

  need(i: number, what: string): Slot {
    return this.input(i) ?? this.refuse(`needs its ${what} (input ${i})`);
  }

  /** Input i as a constant: its values must be known when the graph is built (a shape, a size, an axis list). */
  constant(i: number, what: string): OnnxTensor {
    const s = this.need(i, what);
    if (s.kind !== 'const') this.refuse(`its ${what} (input '${this.node.inputs[i]}') is computed from the image's values, not known when the graph is built`);
    return s.t;
  }

  /** Input i as integers (an int64 shape, axes, sizes). */
  ints(i: number, what: string): number[] {
    return Array.from(this.constant(i, what).data);
  }

  attr(name: string): OnnxAttr | undefined {
    return this.node.attrs.get(name);
  }

  int(name: string, dflt: number): number {
    const a = this.attr(name);
    if (a === undefined) return dflt;
    if (a.kind !== 'int') this.refuse(`attribute ${name} is ${a.kind}, not an int`);
    return a.value;
  }

  float(name: string, dflt: number): number {
    const a = this.attr(name);
    if (a === undefined) return dflt;
    if (a.kind !== 'float') this.refuse(`attribute ${name} is ${a.kind}, not a float`);
    return a.value;
  }

  intList(name: string): number[] | undefined {
    const a = this.attr(name);
    if (a === undefined) return undefined;
    if (a.kind !== 'ints') this.refuse(`attribute ${name} is ${a.kind}, not a list of ints`);
    return a.value;
  }

  string(name: string, dflt: string): string {
    const a = this.attr(name);
    if (a === undefined) return dflt;
    if (a.kind !== 'string') this.refuse(`attribute ${name} is ${a.kind}, not a string`);
    return a.value;
  }

  /** Refuses the attributes of the node that `known` does not list (an attribute we do not read changes what the op computes). */
  only(known: readonly string[]): void {
    for (const k of this.node.attrs.keys()) if (!known.includes(k)) this.refuse(`attribute '${k}' is not read (the ones read: ${known.join(', ') || 'none'})`);
  }

  /** An axis attribute or input, made non-negative against `rank`. */
  axis(a: number, rank: number): number {
    if (!Number.isInteger(a) || a < -rank || a >= rank) this.refuse(`axis ${a} is outside a tensor of rank ${rank}`);
    return a < 0 ? a + rank : a;
  }

  // ------------------------------------------------------------ values

  /** A float slot as a graph value in `order` (a constant becomes state; a value is permuted where its order differs). */
  valueIn(s: Slot, order: readonly number[]): Value {
    if (s.kind === 'const') return this.state(s.t, order);
    if (sameOrder(s.order, order)) return s.v;
    // Output axis j is our current axis holding ONNX axis order[j].
    const where = inverseOrder(s.order);
    return this.b.transpose(this.layer('layout'), s.v, order.map((a) => where[a]));
  }

  /** A float slot as a value in its own order (a constant in ONNX's). */
  value(s: Slot): ValueSlot {
    if (s.kind === 'value') return s;
    const order = s.t.dims.map((_, i) => i);
    return { kind: 'value', v: this.state(s.t, order), dims: [...s.t.dims], order };
  }

  /** A value slot for a graph value `v` holding ONNX dims in `order`. */
  slotOf(v: Value, dims: readonly number[], order: readonly number[]): ValueSlot {
    return { kind: 'value', v, dims: [...dims], order: [...order] };
  }

  /**
   * A constant as state seen as `dims` (its own dims with unit axes in front, by default) in
   * `order`, with the role a rule gives it (weights are parameters, running statistics
   * statistics), else a trainable parameter where it is an initializer of more than one value and
   * a constant of the graph otherwise (a statistic: no gradient moves it). One state value per
   * constant and order.
   */
  state(t: OnnxTensor, order: readonly number[], dims: readonly number[] = t.dims, role?: StateRole): Value {
    if (!isFloat(t.dtype)) this.refuse(`tensor '${t.name}' of ${t.dtype} is used as the values of a float op`);
    const full = [...new Array<number>(order.length - dims.length).fill(1), ...dims];
    if (numelOf(full) !== numelOf(t.dims)) this.refuse(`tensor '${t.name}' [${t.dims.join(',')}] cannot be seen as [${full.join(',')}]`);
    // An initializer, or the new weights standing in for one (the logits' conv under a new class set).
    const isInit = this.initializers.has(t.name);
    const r: StateRole = role ?? (isInit && numelOf(t.dims) > 1 ? 'param' : 'statistic');
    const shape = order.map((a) => full[a]);
    // One name per constant; another layout of the same constant is a second state value.
    let name = t.name || this.layer('const');
    const known = this.sources.get(name);
    if (known && !(sameOrder(known.order, order) && sameOrder(known.dims, full))) name = `${name}@${order.join('')}:${full.join('x')}`;
    this.sources.set(name, { tensor: t, dims: full, order: [...order], role: r, ...(isInit ? { initializer: t.name } : {}) });
    return r === 'statistic' ? this.b.statistic(name, shape) : this.b.param(name, shape);
  }
}

/** A source's values in our layout (the 4-D loops of permuteAxes for weights: a file's bulk). */
export function sourceData(s: StateSource): Float32Array {
  const data = s.tensor.data instanceof Float32Array ? s.tensor.data : Float32Array.from(s.tensor.data);
  if (s.dims.length <= 4) return permuteAxes(data, s.dims, s.order).data;
  return Float32Array.from(hostTranspose({ ...s.tensor, dims: s.dims }, s.order).data);
}

/** Our layout's values back as the constant's own (an export's initializer). */
export function sourceTensorData(s: StateSource, ours: Float32Array): Float32Array {
  const shape = s.order.map((a) => s.dims[a]);
  const back = hostTranspose({ name: '', dtype: 'float', dims: shape, data: ours }, inverseOrder(s.order));
  return Float32Array.from(back.data);
}
