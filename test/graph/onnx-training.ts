// A training graph (state read and updated) run two ways on the same inputs: written as ONNX
// with its state passed through (lowerTrainingToOnnx) and run by onnxruntime-node, and run by
// our CPU interpreter (each op's reference). Maps go in and come out NHWC; state goes in and
// comes out in our layouts (the ONNX side's layouts undone), so the two compare directly.
import { expect } from 'chai';
import ort from 'onnxruntime-node';
import type { Graph, Value } from '../../src/graph/ir.js';
import { fromLayout, shapeIn, toLayout } from '../../src/graph/onnx/layout.js';
import { type LoweredTraining, lowerTrainingToOnnx, nextStateName } from '../../src/graph/onnx/lower-training.js';
import { onnxModelOf } from '../../src/graph/onnx/lower.js';
import { type NodeProto, encodeModel } from '../../src/graph/onnx/proto.js';
import type { HostParams } from '../../src/graph/params.js';
import { type HostArray, opDef } from '../../src/graph/ops/registry.js';
import { expectClose, numel } from '../helpers.js';

export type Feeds = Record<string, Float32Array | Uint32Array>;

export interface TrainingRun {
  outputs: Map<string, Float32Array | Uint32Array>;
  /** Each state value the graph updates, by name, in our layout. */
  state: Map<string, Float32Array>;
}

/** The graph on onnxruntime-node; `stateLayout` as the CPU trainer would give it. */
export async function runTrainingOnnx(graph: Graph, inputs: Feeds, state: HostParams, stateLayout: (v: Value) => readonly number[] | undefined = () => undefined): Promise<TrainingRun & { lowered: LoweredTraining }> {
  const lowered = lowerTrainingToOnnx(graph, 'test', stateLayout);
  const layoutOf = (v: Value): readonly number[] => stateLayout(v) ?? (v.shape.length === 4 ? [0, 3, 1, 2] : v.shape.map((_, i) => i));
  const session = await ort.InferenceSession.create(encodeModel(onnxModelOf(lowered.graph)), { executionProviders: ['cpu'] });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const v of graph.inputs) {
      const data = inputs[v.name];
      if (!data) throw new Error(`no input ${v.name}`);
      feeds[v.name] = data instanceof Uint32Array ? new ort.Tensor('uint32', data, [...v.shape]) : new ort.Tensor('float32', data, [...v.shape]);
    }
    for (const v of lowered.reads) {
      const t = state.get(v.name);
      if (!t) throw new Error(`no state ${v.name}`);
      feeds[v.name] = new ort.Tensor('float32', toLayout(t.data, v.shape, layoutOf(v)), shapeIn(v.shape, layoutOf(v)));
    }
    const results = await session.run(feeds);
    const outputs = new Map<string, Float32Array | Uint32Array>();
    for (const [name, v] of graph.outputs) outputs.set(name, v.kind === 'input' && v.name === name ? inputs[name] : (results[name].data as Float32Array | Uint32Array));
    const updated = new Map<string, Float32Array>();
    for (const v of lowered.writes) updated.set(v.name, fromLayout(results[nextStateName(v.name)].data as Float32Array, v.shape, layoutOf(v)));
    return { outputs, state: updated, lowered };
  } finally {
    await session.release();
  }
}

/**
 * The graph on each op's CPU reference, node by node (runGraphCpu takes a checkpoint's state
 * only; a training graph also reads gradients and momentum): its outputs and the state it updated.
 */
export function runTrainingCpu(graph: Graph, inputs: Feeds, state: HostParams): TrainingRun {
  const values = new Map<number, HostArray>();
  for (const v of graph.inputs) values.set(v.id, inputs[v.name]);
  for (const v of graph.state) values.set(v.id, state.get(v.name)?.data ?? new Float32Array(numel(v.shape)));
  const updated = new Map<string, Float32Array>();
  for (const node of graph.nodes) {
    const outs = opDef(node.op).cpu(node.op, (v) => values.get(v.id)!, node.outputs);
    node.outputs.forEach((v, i) => {
      values.set(v.id, outs[i]);
      if (v.kind === 'state') updated.set(v.name, Float32Array.from(outs[i]));
    });
  }
  return { outputs: new Map([...graph.outputs].map(([name, v]) => [name, values.get(v.id) as Float32Array | Uint32Array])), state: updated };
}

/**
 * Both runs, every output and updated state compared (relative error under `tol`; u32 outputs
 * equal); returns the ONNX nodes the graph was written with.
 */
export async function expectTrainingMatches(graph: Graph, inputs: Feeds, state: HostParams = new Map(), o: { tol?: number; stateLayout?: (v: Value) => readonly number[] | undefined } = {}): Promise<NodeProto[]> {
  const theirs = await runTrainingOnnx(graph, inputs, state, o.stateLayout);
  const ours = runTrainingCpu(graph, inputs, state);
  for (const [name, ref] of ours.outputs) {
    const got = theirs.outputs.get(name)!;
    expect(got.length, `${name}: length`).to.equal(ref.length);
    if (ref instanceof Uint32Array) expect([...got], name).to.deep.equal([...ref]);
    else expectClose(got, ref, name, o.tol);
  }
  expect([...theirs.state.keys()].sort(), 'state updated').to.deep.equal([...ours.state.keys()].sort());
  for (const [name, ref] of ours.state) expectClose(theirs.state.get(name)!, ref, `state ${name}`, o.tol);
  return theirs.lowered.graph.node;
}
