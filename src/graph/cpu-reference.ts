// Runs a graph on the CPU with each op's reference implementation. Slow and simple: the oracle
// for the GPU program and for graph rewrites (a compile stage must not change the numbers).
import { roundToHalf } from '../gpu/half.js';
import type { CompiledGraph } from './ir.js';
import type { Graph, Value } from './ir.js';
import { type HostArray, opDef } from './ops/registry.js';
import type { HostParams } from './params.js';
import { checkParams } from './params.js';

type CpuInput = Float32Array | Float64Array | Uint32Array;

/** Weights for the interpreter: float32 as the GPU gets them, or float64 for a float64 run. */
export type CpuParams = ReadonlyMap<string, { shape: number[]; data: Float32Array | Float64Array }>;

/** Called with each value the graph computes, as soon as it is computed; it may change the data in place. */
export type ValueHook = (v: Value, data: HostArray) => void;

function runNodes(graph: Graph, values: Map<number, HostArray>, onValue?: ValueHook): void {
  const read = (v: Value): HostArray => {
    const x = values.get(v.id);
    if (!x) throw new Error(`cpu reference: ${v.name} has no value`);
    return x;
  };
  for (const node of graph.nodes) {
    const outs = opDef(node.op).cpu(node.op, read, node.outputs);
    // f16 values are f32 arrays holding what f16 can: the rounding storage does on the GPU.
    node.outputs.forEach((v, i) => {
      const data = v.dtype === 'f16' ? roundToHalf(outs[i] as Float32Array) : outs[i];
      values.set(v.id, data);
      onValue?.(v, data);
    });
  }
}

/**
 * Runs a canonical graph, or a compiled one (its derive graph first), on the CPU. With float64
 * inputs and weights it runs in float64: every float reference keeps its input's precision.
 * `onValue` sees (and may edit) each value of the main graph as it is computed.
 */
export function runGraphCpu(
  compiled: Graph | CompiledGraph,
  params: CpuParams,
  inputs: Record<string, CpuInput>,
  onValue?: ValueHook,
): Map<string, HostArray> {
  const { graph, derive, source } = 'derive' in compiled ? compiled : { graph: compiled, derive: null, source: compiled };
  checkParams(source, params);
  const values = new Map<number, HostArray>();
  for (const v of graph.inputs) {
    const data = inputs[v.name];
    if (!data) throw new Error(`input '${v.name}' not given`);
    values.set(v.id, data);
  }
  const byName = new Map<string, HostArray>();
  for (const [name, t] of params) byName.set(name, t.data);
  if (derive) {
    for (const v of derive.state) if (byName.has(v.name)) values.set(v.id, byName.get(v.name)!);
    runNodes(derive, values);
    for (const n of derive.nodes) for (const v of n.outputs) byName.set(v.name, values.get(v.id)!);
  }
  for (const v of graph.state) {
    const t = byName.get(v.name);
    if (!t) throw new Error(`cpu reference: no value for state ${v.name}`);
    values.set(v.id, t);
  }
  runNodes(graph, values, onValue);
  const result = new Map<string, HostArray>();
  for (const [name, v] of graph.outputs) result.set(name, values.get(v.id)!);
  return result;
}

/**
 * The state a compiled graph reads, on the CPU: the given parameters plus the derived tensors
 * (folded weights) computed from them by the derive graph's CPU references.
 */
export function deriveStateCpu(compiled: CompiledGraph, params: HostParams): HostParams {
  checkParams(compiled.source, params);
  const values = new Map<number, HostArray>();
  for (const v of compiled.derive.state) {
    const t = params.get(v.name);
    if (t) values.set(v.id, t.data);
  }
  runNodes(compiled.derive, values);
  const out: HostParams = new Map();
  for (const v of compiled.graph.state) {
    const data = v.role === 'derived' ? values.get(v.id) : params.get(v.name)?.data;
    if (!data) throw new Error(`deriveStateCpu: no value for ${v.name}`);
    out.set(v.name, { shape: [...v.shape], data: data as Float32Array });
  }
  return out;
}
