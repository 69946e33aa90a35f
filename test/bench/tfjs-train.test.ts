// The training peer of bench part train (bench/tfjs-train.ts) computes the gradients it is
// compared on correctly: on a small network with what needed rewriting for TF.js (an atrous
// convolution, a half-pixel resize, a resize of a 1x1 map) and batch norms on batch statistics,
// its loss and gradients match our CPU reference's in float64 (the training graph's own
// gradient accumulators, computed from the ops' gradient rules).
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importTfjs, ROOT } from '../../bench/model.js';
import { freshTfjsBackend } from '../../bench/tfjs-graph.js';
import { TfjsTrainStep } from '../../bench/tfjs-train.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph } from '../../src/graph/ir.js';
import { differentiate } from '../../src/graph/autograd.js';
import { trainingBatchNorms } from '../../src/train/training-graph.js';
import { relativeError } from '../../src/util/relative-error.js';
import { randomArray, testContext } from '../helpers.js';

const C = 4;

function network(): Graph {
  const g = new GraphBuilder();
  const x = g.input('image', [2, 9, 9, 3]);
  let y = g.conv2d('atrous', x, g.param('atrous.w', [3, 3, 3, 6]), { padding: 2, dilation: 2 });
  y = g.batchNorm('bn', y, { gamma: g.param('bn.gamma', [6]), beta: g.param('bn.beta', [6]), mean: g.statistic('bn.mean', [6]), variance: g.statistic('bn.var', [6]) });
  y = g.activation('relu', y, 'relu');
  const pooled = g.conv2d('pool_proj', g.globalAvgPool('pool', y), g.param('pool_proj.w', [1, 1, 6, 6]), { bias: g.param('pool_proj.b', [6]) });
  const both = g.concat('concat', [y, g.resize('pool_up', pooled, 9, 9, 'align_corners')]);
  const small = g.conv2d('classifier', both, g.param('classifier.w', [3, 3, 12, C]), { padding: 1, stride: 2, bias: g.param('classifier.b', [C]) });
  g.output('logits', g.resize('logits_up', small, 9, 9, 'half_pixel'));
  return g.build();
}

describe('bench: the TF.js training peer against our float64 gradients', function () {
  this.timeout(120_000);

  it('loss and every parameter gradient', async () => {
    const bundle = join(ROOT, 'dist', 'bench-tfjs', 'tfjs-gradients.js');
    expect(existsSync(bundle), `${bundle} (npm run build)`).to.equal(true);
    const graph = trainingBatchNorms(network());
    const params = new Map(graph.state.map((v) => [v.name, { shape: [...v.shape], data: v.role === 'statistic' ? new Float32Array(v.shape[0]).fill(v.name.endsWith('var') ? 1 : 0) : randomArray(v.shape.reduce((a, b) => a * b, 1)) }]));
    const image = randomArray(2 * 9 * 9 * 3);
    const labels = Uint32Array.from({ length: 2 * 9 * 9 }, (_, i) => (i % 7 === 0 ? 255 : (i * 5) % C));

    // Ours in float64: the loss and the backward pass from the ops' gradient rules (autograd),
    // as the trainer's step builds them.
    const b = GraphBuilder.extend(graph);
    const [loss0, dlogits] = b.node('loss_out', { type: 'softmax_cross_entropy', logits: graph.outputs.get('logits')!, labels: b.input('labels', [2, 9, 9], 'u32'), attrs: { ignoreIndex: 255, scale: 1 } });
    b.output('loss', loss0);
    const trainable = graph.state.filter((v) => v.role === 'param');
    const d = differentiate(b.build(), new Map([[graph.outputs.get('logits')!, dlogits]]), trainable);
    const withGrads = GraphBuilder.extend(d.graph);
    for (const p of trainable) withGrads.output(`grad:${p.name}`, d.grads.get(p.id)!);
    const f64 = new Map([...params].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));
    const out = runGraphCpu(withGrads.build(), f64, { image: Float64Array.from(image), labels });
    const loss = (out.get('loss') as Float64Array)[0];
    const grads = new Map(trainable.map((p) => [p.name, out.get(`grad:${p.name}`) as Float64Array]));

    const ctx = await testContext();
    const tf = await importTfjs(ctx);
    await import(pathToFileURL(bundle).href);
    await freshTfjsBackend(tf);
    const peer = new TfjsTrainStep(tf, graph, params, new Set(trainable.map((p) => p.name)), C);
    try {
      const r = await peer.step(image, labels, { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 }, true);
      expect(Math.abs(r.loss - loss) / loss, 'loss').to.be.lessThan(1e-5);
      expect(r.grads!.size, 'every trained parameter has a gradient').to.equal(trainable.length);
      for (const p of trainable) expect(relativeError(r.grads!.get(p.name)!, grads.get(p.name)!), p.name).to.be.lessThan(1e-4);
    } finally {
      peer.dispose();
    }
  });
});
