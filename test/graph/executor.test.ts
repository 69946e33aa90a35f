import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { Executor } from '../../src/graph/executor.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { nodeInputs } from '../../src/graph/ir.js';
import { planMemory } from '../../src/graph/memory-plan.js';
import { type HostParams, ParamMismatchError, checkParams } from '../../src/graph/params.js';
import { foldBatchNorms, fuseEpilogues } from '../../src/graph/passes.js';
import { argmaxCpu } from '../../src/kernels/softmax.js';
import { expectClose, numel, randomArray, rng, testContext } from '../helpers.js';

/** A small network with every op the models use: atrous convs, BN, residual add, depthwise,
 *  image pooling, resize, concat, softmax and argmax. Sizes are deliberately odd. */
function buildTestGraph(h = 13, w = 11): Graph {
  const g = new GraphBuilder();
  const x = g.input('image', [1, h, w, 5]);
  const bn = (name: string, v: Value, act: 'relu' | 'none' = 'relu'): Value => {
    const c = v.shape[3];
    return g.batchNorm(
      `${name}.bn`,
      v,
      { gamma: g.param(`${name}.bn.weight`, [c]), beta: g.param(`${name}.bn.bias`, [c]), mean: g.param(`${name}.bn.mean`, [c]), variance: g.param(`${name}.bn.var`, [c]) },
      { eps: 1e-5, activation: act },
    );
  };
  let y = bn('c1', g.conv2d('c1', x, g.param('c1.w', [3, 3, 5, 7]), { padding: 2, dilation: 2 }));
  const skip = y;
  y = bn('c2', g.conv2d('c2', y, g.param('c2.w', [1, 1, 7, 7])), 'none');
  y = g.addValues('res', y, skip, 'relu');
  y = g.conv2d('dw', y, g.param('dw.w', [3, 3, 1, 7]), { groups: 7, stride: 2, padding: 'same', dilation: 1, activation: 'relu6', bias: g.param('dw.b', [7]) });
  const [, fh, fw] = y.shape;
  const pooled = g.globalAvgPool('gap', y);
  const pc = bn('pool_conv', g.conv2d('pool_conv', pooled, g.param('pool_conv.w', [1, 1, 7, 6])));
  const up = g.resize('pool_up', pc, fh, fw, 'align_corners');
  const a1 = bn('aspp1', g.conv2d('aspp1', y, g.param('aspp1.w', [3, 3, 7, 6]), { padding: 12, dilation: 12 }));
  const cat = g.concat('cat', [up, a1]);
  const logits = g.conv2d('logits', cat, g.param('logits.w', [1, 1, 12, 4]), { bias: g.param('logits.b', [4]) });
  const full = g.resize('upsample', logits, h, w, 'half_pixel');
  g.output('logits', full);
  g.output('probs', g.softmax('softmax', full));
  g.output('classes', g.argmax('argmax', full));
  return g.build();
}

function randomParams(graph: Graph): HostParams {
  const r = rng();
  const params: HostParams = new Map();
  for (const p of graph.params) {
    const n = numel(p.shape);
    // Variances must be positive; everything else centred on zero.
    const data = p.name.endsWith('.var') ? randomArray(n, 0.5, 1.5, r) : randomArray(n, -1, 1, r);
    params.set(p.name, { shape: [...p.shape], data });
  }
  return params;
}

describe('graph executor', () => {
  it('matches the CPU reference interpreter on a graph with every op', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const image = randomArray(13 * 11 * 5);
    const ref = runGraphCpu(graph, params, { image });
    const exec = await Executor.create(ctx, graph, params);
    try {
      const out = await exec.run({ image });
      expectClose(out.get('logits')!, ref.get('logits')!, 'logits');
      expectClose(out.get('probs')!, ref.get('probs')!, 'softmax');
      // argmax exactly equals the CPU argmax of the GPU's own logits (near-ties are not a bug).
      expect([...out.get('classes')!]).to.deep.equal([...argmaxCpu(out.get('logits') as Float32Array, [1, 13, 11, 4])]);
      // Running twice gives the same answer (buffers reused, nothing stale).
      const again = await exec.run({ image });
      expect([...again.get('logits')!]).to.deep.equal([...out.get('logits')!]);
    } finally {
      exec.dispose();
    }
  });

  it('BN folding and epilogue fusion keep the numbers and remove nodes', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const image = randomArray(13 * 11 * 5);
    const ref = runGraphCpu(graph, params, { image });
    const folded = foldBatchNorms(graph, params);
    const fused = fuseEpilogues(folded.graph);
    expect(fused.nodes.filter((n) => n.op.type === 'batchnorm')).to.have.length(0);
    expect(fused.nodes.filter((n) => n.op.type === 'add')).to.have.length(0);
    expect(fused.nodes.length).to.be.lessThan(graph.nodes.length);
    const cpu = runGraphCpu(fused, folded.params, { image });
    expectClose(cpu.get('logits')!, ref.get('logits')!, 'folded graph on CPU');
    const exec = await Executor.create(ctx, fused, folded.params);
    try {
      const out = await exec.run({ image });
      expectClose(out.get('logits')!, ref.get('logits')!, 'folded graph on GPU');
    } finally {
      exec.dispose();
    }
  });

  it('plans memory so live values never share a buffer, and reuses buffers', () => {
    const graph = fuseEpilogues(buildTestGraph(33, 29));
    const plan = planMemory(graph);
    const order = new Map(graph.nodes.map((n, i) => [n.output.id, i]));
    const last = new Map<number, number>();
    graph.nodes.forEach((n, i) => nodeInputs(n.op).forEach((v) => last.set(v.id, i)));
    for (const v of graph.outputs.values()) last.set(v.id, graph.nodes.length);
    const live = graph.nodes.map((n) => ({ id: n.output.id, from: order.get(n.output.id)!, to: last.get(n.output.id) ?? order.get(n.output.id)! }));
    for (const a of live) {
      for (const b of live) {
        if (a.id >= b.id || plan.slotOf.get(a.id) !== plan.slotOf.get(b.id)) continue;
        // Sharing is fine only if one ends strictly before the other is written.
        const overlap = !(a.to < b.from || b.to < a.from);
        expect(overlap, `values ${a.id} and ${b.id} share slot ${plan.slotOf.get(a.id)} while both live`).to.equal(false);
      }
    }
    expect(plan.peakBytes).to.be.lessThan(plan.unplannedBytes);
    expect(plan.peakBytes).to.be.at.least(plan.lowerBoundBytes);
  });

  it('reports missing, unexpected and mis-shaped weights in one error', () => {
    const graph = buildTestGraph();
    const params = randomParams(graph);
    params.delete('c1.w');
    params.set('not.a.layer', { shape: [3], data: new Float32Array(3) });
    params.set('logits.b', { shape: [5], data: new Float32Array(5) });
    expect(() => checkParams(graph, params, 'test.pth'))
      .to.throw(ParamMismatchError)
      .with.property('message')
      .that.matches(/missing \(1\): c1\.w/)
      .and.matches(/unexpected \(1\): not\.a\.layer/)
      .and.matches(/logits\.b expected \[4\] got \[5\]/);
  });

  it('rejects unknown and wrongly sized inputs, and releases every buffer on dispose', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const before = ctx.liveBufferCount - ctx.pool.idleCount;
    for (let i = 0; i < 3; i++) {
      const exec = await Executor.create(ctx, graph, params);
      await exec.run({ image: randomArray(13 * 11 * 5) });
      try {
        await exec.run({ image: new Float32Array(7) });
        expect.fail('a short input was accepted');
      } catch (e) {
        expect((e as Error).message).to.match(/input 'image': expected 715 values/);
      }
      try {
        await exec.run({ image: randomArray(13 * 11 * 5), mask: new Float32Array(1) });
        expect.fail('an unknown input was accepted');
      } catch (e) {
        expect((e as Error).message).to.match(/unknown input 'mask'/);
      }
      exec.dispose();
    }
    expect(ctx.liveBufferCount - ctx.pool.idleCount).to.equal(before);
  });
});
