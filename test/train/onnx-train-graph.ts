// The training step of an imported ONNX graph as one graph the CPU interpreter and the GPU run:
// the network (batch norms on batch statistics), its cross-entropy loss (ignoring 255), every
// parameter's gradient and the running statistics after the step, as outputs; and what the tests
// compare them with: the file's own layout of each initializer, and errors over many tensors.
// Shared by the tests of our own training fixture (onnx-training.test.ts) and the exporters'
// (onnx-training-torchvision.test.ts, onnx-training-segformer.test.ts).
import { readFileSync } from 'node:fs';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import { inverseOrder } from '../../src/graph/onnx/import/context.js';
import { hostTranspose } from '../../src/graph/onnx/import/host.js';
import { importOnnx } from '../../src/graph/onnx/import/import.js';
import { onnxSignature } from '../../src/graph/onnx/import/signature.js';
import { readOnnx } from '../../src/graph/onnx/read.js';

/**
 * The network with its cross-entropy loss (ignore 255) and the gradient of every parameter; the
 * running statistics as outputs. `ownLogits` names the node resizing the file's output to the
 * input's size (the importer's 'logits:resize'): its input is then an output too, 'own_logits'.
 */
export function gradientGraph(network: Graph, opts: { ownLogits?: string } = {}): Graph {
  const b = GraphBuilder.extend(network);
  const logits = network.outputs.get('logits')!;
  if (opts.ownLogits !== undefined) {
    const resize = network.nodes.find((n) => n.name === opts.ownLogits);
    if (resize?.op.type !== 'resize') throw new Error(`no resize node '${opts.ownLogits}'`);
    b.output('own_logits', resize.op.input);
  }
  const [n, h, w] = logits.shape;
  const labels = b.input('labels', [n, h, w], 'u32');
  const [loss, dlogits] = b.node('loss', { type: 'softmax_cross_entropy', logits, labels, attrs: { ignoreIndex: 255, scale: 1 } });
  b.output('loss', loss);
  const params = network.state.filter((v) => v.role === 'param');
  const d = differentiate(b.build(), new Map([[logits, dlogits]]), params);
  const out = GraphBuilder.extend(d.graph);
  for (const p of params) out.output(`grad:${p.name}`, d.grads.get(p.id)!);
  for (const v of network.state) if (v.role === 'statistic') out.output(`state:${v.name}`, v);
  return out.build();
}

/** Our values of a state tensor put back in the layout of the file's initializer it came from. */
export type ToFileLayout = <T extends Float32Array | Float64Array>(ours: T) => T;

/** Every state value the file's import makes, by name: how ours go back to the initializer's layout. */
export function initializerLayouts(path: string): Map<string, ToFileLayout> {
  const model = readOnnx(new Uint8Array(readFileSync(path)), path);
  const sig = onnxSignature(model, path);
  const b = new GraphBuilder();
  const { sources } = importOnnx(b, b.input('image', [1, 64, 64, sig.channels]), model, sig, path);
  const out = new Map<string, ToFileLayout>();
  for (const [name, s] of sources) {
    const shape = s.order.map((a) => s.dims[a]);
    out.set(name, (ours) => hostTranspose({ name, dtype: 'float', dims: shape, data: ours }, inverseOrder(s.order)).data as typeof ours);
  }
  return out;
}

/** The relative error of the concatenation of every pair's first array against its second. */
export function globalError(pairs: [ArrayLike<number>, ArrayLike<number>][]): number {
  let diff = 0;
  let norm = 0;
  for (const [a, b] of pairs) {
    for (let i = 0; i < b.length; i++) {
      diff += (a[i] - b[i]) ** 2;
      norm += b[i] ** 2;
    }
  }
  return Math.sqrt(diff / norm);
}
