// A training graph (a step: forward, loss, backward, gradients into accumulators; or an update:
// SGD on each parameter) as ONNX, its state passed through: every state value it reads is a
// graph input named as the state, every one it updates an output named `<state>@next`, so the
// runtime that runs it keeps the state in buffers of its own between runs, reading one and
// writing the other. Each state value is held in one layout (a convolution's weight, its gradient
// and momentum as OIHW), chosen by the caller, so neither reading nor updating it transposes.
import { shapeString } from '../../gpu/tensor.js';
import type { Graph, Value } from '../ir.js';
import { type LoweringParts, type OnnxLayout, type StateSource, lowerGraph } from './lower.js';
import { defaultLayout, sameLayout, shapeIn, transposeBetween } from './layout.js';
import { attribute, valueInfo } from './nodes.js';
import type { GraphProto } from './proto.js';

/** The output name of a state value's new contents. */
export const nextStateName = (state: string): string => `${state}@next`;

/** A training graph as ONNX, and the state it reads and writes (by name, in graph order). */
export interface LoweredTraining {
  graph: GraphProto;
  /** State read: graph inputs named as the state. */
  reads: Value[];
  /** State updated: outputs named nextStateName(state). */
  writes: Value[];
}

/**
 * `graph` as ONNX with its state as inputs and outputs; `stateLayout(v)` is the layout state `v`
 * is passed in (default: the default layout of its rank). Maps in and out in `layout`.
 */
export function lowerTrainingToOnnx(graph: Graph, name: string, stateLayout: (v: Value) => readonly number[] | undefined, layout: OnnxLayout = 'nhwc'): LoweredTraining {
  const reads = new Map<string, Value>();
  const writes = new Map<string, Value>();
  const lowered = lowerGraph(graph, name, layout, (parts) => passedState(parts, stateLayout, reads, writes));
  return { graph: lowered, reads: [...reads.values()], writes: [...writes.values()] };
}

function passedState(parts: LoweringParts, stateLayout: (v: Value) => readonly number[] | undefined, reads: Map<string, Value>, writes: Map<string, Value>): StateSource {
  const layoutOf = (v: Value): readonly number[] => stateLayout(v) ?? defaultLayout(v.shape.length);
  /** Each state value's current tensor (the input, or the latest write) and its layout. */
  const current = new Map<string, { name: string; layout: readonly number[] }>();
  const views = new Map<string, string>();
  const transpose = (from: string, fromLayout: readonly number[], to: readonly number[], into?: string): string => {
    const out = into ?? parts.unique('tensor', `${from}:t${to.join('')}`);
    parts.nodes.push({ name: parts.unique('node', `${from}:transpose`), op_type: 'Transpose', input: [from], output: [out], attribute: [attribute('perm', { ints: transposeBetween(fromLayout, to) })] });
    return out;
  };
  const check = (v: Value): void => {
    if (v.dtype !== 'f32') throw new Error(`state ${v.name} is ${v.dtype}: a training graph's state is f32`);
    const known = reads.get(v.name) ?? writes.get(v.name);
    if (known && shapeString(known.shape) !== shapeString(v.shape)) throw new Error(`state ${v.name} is ${shapeString(v.shape)} here and ${shapeString(known.shape)} elsewhere`);
  };
  return {
    layoutOf,
    atRunTime: true,
    read(v, perm) {
      check(v);
      let cur = current.get(v.name);
      if (!cur) {
        const declared = layoutOf(v);
        const input = parts.unique('tensor', v.name);
        if (input !== v.name) throw new Error(`state ${v.name}: the name is taken by another input or output`);
        parts.inputs.push(valueInfo(input, v, shapeIn(v.shape, declared)));
        reads.set(v.name, v);
        cur = { name: input, layout: declared };
        current.set(v.name, cur);
      }
      if (sameLayout(cur.layout, perm)) return cur.name;
      const key = `${cur.name}|${perm.join(',')}`;
      const known = views.get(key) ?? transpose(cur.name, cur.layout, perm);
      views.set(key, known);
      return known;
    },
    write(v, tensor, perm) {
      check(v);
      writes.set(v.name, v);
      current.set(v.name, { name: tensor, layout: perm });
    },
    finish() {
      for (const v of writes.values()) {
        const cur = current.get(v.name)!;
        const declared = layoutOf(v);
        const out = parts.unique('tensor', nextStateName(v.name));
        if (!sameLayout(cur.layout, declared)) transpose(cur.name, cur.layout, declared, out);
        else if (parts.nodes.some((n) => n.output.includes(cur.name))) renameTensor(parts, cur.name, out);
        else parts.nodes.push({ name: parts.unique('node', `${v.name}:pass`), op_type: 'Identity', input: [cur.name], output: [out], attribute: [] });
        parts.outputs.push(valueInfo(out, v, shapeIn(v.shape, declared)));
      }
    },
  };
}

/** Every node's reference to tensor `from` made to `to` (an updated state's last tensor given its output's name: no copy). */
function renameTensor(parts: LoweringParts, from: string, to: string): void {
  for (const n of parts.nodes) {
    n.input = n.input.map((t) => (t === from ? to : t));
    n.output = n.output.map((t) => (t === from ? to : t));
  }
}
