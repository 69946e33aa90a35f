// Our ONNX files run by onnxruntime-node's CPU provider, an implementation independent of ours,
// and our own CPU interpreter on the same input, both in ONNX's NCHW layout.
import ort from 'onnxruntime-node';
import { runGraphCpu } from '../src/graph/cpu-reference.js';
import type { Graph } from '../src/graph/ir.js';
import { permuteAxes } from '../src/graph/onnx/lower.js';
import type { HostParams } from '../src/graph/params.js';

export interface NchwTensor {
  dims: number[];
  data: Float32Array;
}

export const NHWC_TO_NCHW = [0, 3, 1, 2];
export const NCHW_TO_NHWC = [0, 2, 3, 1];

/**
 * Runs an ONNX model on float32 inputs; every output by name (integer outputs as float32).
 * `exact`: onnxruntime's graph optimisations off and one thread, as the fixtures' references were
 * made (its fusions compute some float ops in another order).
 */
export async function runOnnx(model: Uint8Array, inputs: Record<string, NchwTensor>, opts: { exact?: boolean } = {}): Promise<Map<string, NchwTensor>> {
  const exact: ort.InferenceSession.SessionOptions = opts.exact ? { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 } : {};
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], ...exact });
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor('float32', t.data, t.dims)]));
    const results = await session.run(feeds);
    const out = new Map<string, NchwTensor>();
    for (const [k, t] of Object.entries(results)) out.set(k, { dims: [...t.dims].map(Number), data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>) });
    return out;
  } finally {
    await session.release();
  }
}

/** Our CPU interpreter on an NCHW image: each output as NCHW. */
export function runOursNchw(graph: Graph, params: HostParams, image: NchwTensor): Map<string, NchwTensor> {
  const nhwc = permuteAxes(image.data, image.dims, NCHW_TO_NHWC).data;
  const out = runGraphCpu(graph, params, { image: nhwc });
  const result = new Map<string, NchwTensor>();
  for (const [name, v] of graph.outputs) {
    const { dims, data } = permuteAxes(out.get(name) as Float32Array, v.shape, NHWC_TO_NCHW);
    result.set(name, { dims, data });
  }
  return result;
}
