// The training step of an imported ONNX graph as one graph the CPU interpreter and the GPU run:
// the network (batch norms on batch statistics), its cross-entropy loss (ignoring 255), every
// parameter's gradient and the running statistics after the step, as outputs. Shared by the
// tests of our own training fixture (onnx-training.test.ts) and the exporters' (onnx-training-torchvision.test.ts).
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';

/** The network with its cross-entropy loss (ignore 255) and the gradient of every parameter; the running statistics as outputs. */
export function gradientGraph(network: Graph): Graph {
  const b = GraphBuilder.extend(network);
  const logits = network.outputs.get('logits')!;
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
