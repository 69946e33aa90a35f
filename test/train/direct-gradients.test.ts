// With one micro-batch a step, the backward nodes write each parameter's gradient straight into
// its accumulator; over micro-batches an accumulate node adds it in place. The direct step must
// give exactly what the accumulating step gives (the same kernels, without the copy), and so
// must the SGD update that reads the accumulators. Over micro-batches, the in-place sum must
// match one pass over the whole batch.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import type { Graph, Node, Value } from '../../src/graph/ir.js';
import { mapOperands } from '../../src/graph/ops/registry.js';
import type { HostParams } from '../../src/graph/params.js';
import { withNodes } from '../../src/graph/passes.js';
import { Program } from '../../src/graph/program.js';
import { Session } from '../../src/graph/session.js';
import { sgdHyperData } from '../../src/kernels/optimizer/sgd.js';
import { FIRST_MICRO_BATCH, buildTrainingGraphs, gradName, trainingBatchNorms } from '../../src/train/training-graph.js';
import { expectClose, randomArray, rng, testContext } from '../helpers.js';

// Sizes off every tile: odd spatial sizes, channel counts that are not multiples of 4.
const [N, H, W, CIN, MID, C] = [2, 9, 11, 3, 5, 3];

/** The test network; `frozenBn`: batch norms in inference mode, so images' gradients add up across micro-batches. */
function network(batch = N, frozenBn = false): Graph {
  const g = new GraphBuilder();
  const x = g.input('image', [batch, H, W, CIN]);
  let y = g.conv2d('conv', x, g.param('conv.w', [3, 3, CIN, MID]), { padding: 1 });
  y = g.batchNorm('bn', y, { gamma: g.param('bn.gamma', [MID]), beta: g.param('bn.beta', [MID]), mean: g.statistic('bn.mean', [MID]), variance: g.statistic('bn.var', [MID]) });
  y = g.activation('relu', y, 'relu');
  g.output('logits', g.conv2d('classifier', y, g.param('classifier.w', [1, 1, MID, C]), { bias: g.param('classifier.b', [C]) }));
  return frozenBn ? g.build() : trainingBatchNorms(g.build());
}

/** Random parameters of the test network (positive variances). */
function randomParams(net: Graph, r: () => number): HostParams {
  const params: HostParams = new Map();
  for (const v of net.state) {
    const n = v.shape.reduce((a, b) => a * b, 1);
    params.set(v.name, { shape: [...v.shape], data: v.name === 'bn.var' ? randomArray(n, 0.5, 2, r) : randomArray(n, -1, 1, r) });
  }
  return params;
}

/** The step as it was before gradients were written in place: each into an activation, then copied by an accumulate node. */
function accumulatingForm(step: Graph): Graph {
  const first: Value = { id: step.ids.take(), shape: [1], dtype: 'u32', kind: 'input', name: FIRST_MICRO_BATCH };
  const fresh = new Map<number, Value>(); // accumulator id -> the activation now written instead
  const copies: Node[] = [];
  const nodes = step.nodes.map((n): Node => {
    const outputs = n.outputs.map((v) => {
      if (v.role !== 'gradient') return v;
      const g: Value = { id: step.ids.take(), shape: v.shape, dtype: v.dtype, kind: 'activation', name: n.name };
      fresh.set(v.id, g);
      copies.push({ id: 0, name: `${v.name}:accumulate`, op: { type: 'accumulate', g, first, acc: v }, outputs: [v] });
      return g;
    });
    return { ...n, op: mapOperands(n.op, (v) => fresh.get(v.id) ?? v), outputs };
  });
  return { ...withNodes(step, [...nodes, ...copies]), inputs: [...step.inputs, first] };
}

describe('training: gradients written straight into their accumulators', () => {
  it('one micro-batch: no accumulate nodes and no flag; over micro-batches: one accumulate per parameter', () => {
    const direct = buildTrainingGraphs(network(), { ignoreIndex: 255 }, () => ({}));
    expect(direct.step.nodes.filter((n) => n.op.type === 'accumulate')).to.have.length(0);
    expect(direct.step.inputs.map((v) => v.name)).to.not.include(FIRST_MICRO_BATCH);
    for (const p of direct.trainable) {
      const writers = direct.step.nodes.filter((n) => n.outputs.some((v) => v.name === gradName(p.name)));
      expect(writers.map((n) => n.name), p.name).to.have.length(1);
      expect(writers[0].name, p.name).to.include(':grad');
    }
    const micro = buildTrainingGraphs(network(), { ignoreIndex: 255, microBatches: 2 }, () => ({}));
    expect(micro.step.nodes.filter((n) => n.op.type === 'accumulate').map((n) => n.name)).to.deep.equal(micro.trainable.map((p) => `${p.name}:accumulate`));
    expect(micro.step.inputs.map((v) => v.name)).to.include(FIRST_MICRO_BATCH);
  });

  it('gives the accumulating step\'s gradients and SGD update bit for bit, whatever the accumulators held', async () => {
    const ctx = await testContext();
    const net = network();
    const { step, update, trainable } = buildTrainingGraphs(net, { ignoreIndex: 255 }, () => ({}));
    const r = rng();
    const params = randomParams(net, r);
    const image = randomArray(N * H * W * CIN, -1, 1, r);
    // Every class and some ignored pixels.
    const labels = Uint32Array.from({ length: N * H * W }, () => (r() < 0.1 ? 255 : Math.floor(r() * C)));
    const forms: [string, Graph, Record<string, Float32Array | Uint32Array>][] = [
      ['direct', step, { image, labels }],
      ['accumulating', accumulatingForm(step), { image, labels, [FIRST_MICRO_BATCH]: Uint32Array.of(1) }],
    ];
    const results: { grads: Float32Array[]; params: Float32Array[] }[] = [];
    for (const [, graph, inputs] of forms) {
      const session = Session.create(ctx, net, params);
      const programs: Program[] = [];
      try {
        programs.push(await Program.create(ctx, compile(graph, { mode: 'training' }), session));
        programs.push(await Program.create(ctx, update, session));
        // Poisoned accumulators: the step must overwrite them.
        for (const p of trainable) session.upload(gradName(p.name), new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(NaN), p.shape);
        const loss = (await programs[0].run(inputs)).get('loss') as Float32Array;
        expect(Number.isFinite(loss[0])).to.equal(true);
        const grads = await Promise.all(trainable.map((p) => session.download(gradName(p.name))));
        await programs[1].runOnGpu({ sgd: sgdHyperData({ lr: 0.1, momentum: 0.9, weightDecay: 1e-4, first: true }) });
        results.push({ grads, params: await Promise.all(trainable.map((p) => session.download(p.name))) });
      } finally {
        for (const p of programs) p.dispose();
        session.dispose();
      }
    }
    const [direct, accumulating] = results;
    trainable.forEach((p, i) => {
      expect(direct.grads[i].some((x) => x !== 0), `${p.name}: a gradient`).to.equal(true);
      expect(Array.from(direct.grads[i]), `${p.name} gradient`).to.deep.equal(Array.from(accumulating.grads[i]));
      expect(Array.from(direct.params[i]), `${p.name} after SGD`).to.deep.equal(Array.from(accumulating.params[i]));
      expect(Array.from(direct.params[i]), `${p.name} moved`).to.not.deep.equal(Array.from(params.get(p.name)!.data));
    });
  });

  it('over two micro-batches, adds in place to what one pass over the whole batch gives', async () => {
    const ctx = await testContext();
    const r = rng();
    const whole = network(N, true);
    const params = randomParams(whole, r);
    const image = randomArray(N * H * W * CIN, -1, 1, r);
    // Every pixel valid: each micro-batch's mean loss, scaled by 1 / 2, is then its share of the whole batch's mean.
    const labels = Uint32Array.from({ length: N * H * W }, () => Math.floor(r() * C));
    const grads: Float32Array[][] = [];
    for (const K of [1, 2]) {
      const net = network(N / K, true);
      const { step, trainable } = buildTrainingGraphs(net, { ignoreIndex: 255, microBatches: K }, () => ({}));
      const session = Session.create(ctx, net, params);
      const program = await Program.create(ctx, compile(step, { mode: 'training' }), session);
      try {
        for (const p of trainable) session.upload(gradName(p.name), new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(NaN), p.shape);
        const [pixels, px] = [(N / K) * H * W, (N / K) * H * W * CIN];
        for (let k = 0; k < K; k++) {
          const inputs: Record<string, Float32Array | Uint32Array> = { image: image.slice(k * px, (k + 1) * px), labels: labels.slice(k * pixels, (k + 1) * pixels) };
          if (K > 1) inputs[FIRST_MICRO_BATCH] = Uint32Array.of(k === 0 ? 1 : 0);
          await program.run(inputs);
        }
        grads.push(await Promise.all(trainable.map((p) => session.download(gradName(p.name)))));
      } finally {
        program.dispose();
        session.dispose();
      }
    }
    grads[0].forEach((g, i) => {
      expect(g.some((x) => x !== 0), `parameter ${i}: a gradient`).to.equal(true);
      expectClose(grads[1][i], g, `parameter ${i}: two micro-batches against one pass`);
    });
  });
});
