import { expect } from 'chai';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { Program } from '../../src/graph/program.js';
import { flipWidthCpu } from '../../src/kernels/layout/flip.js';
import { expectClose, randomArray, testContext } from '../helpers.js';

describe('autograd', () => {
  // y = flip(w) + w, seeded with dy = r: dw = flip(r) + r (two contributions summed).
  function build() {
    const b = new GraphBuilder();
    const w = b.param('w', [2, 3, 5, 4]);
    const seed = b.input('dy', [2, 3, 5, 4]);
    const y = b.addValues('y', b.flipWidth('mirror', w), w);
    b.output('y', y);
    const graph = b.build();
    const d = differentiate(graph, new Map([[y, seed]]), [w]);
    const dw = d.grads.get(w.id)!;
    const out = GraphBuilder.extend(d.graph);
    out.output('dw', dw);
    return { graph: out.build(), shape: [2, 3, 5, 4] };
  }

  it('sums the contributions of a value read twice, on the CPU and the GPU', async () => {
    const { graph, shape } = build();
    const w = randomArray(120);
    const r = randomArray(120);
    const want = flipWidthCpu(r, shape).map((v, i) => v + r[i]);
    const params = new Map([['w', { shape, data: w }]]);
    expectClose(runGraphCpu(graph, params, { dy: r }).get('dw')!, want, 'CPU');
    const program = await Program.create(await testContext(), graph, params);
    try {
      expectClose((await program.run({ dy: r })).get('dw')!, want, 'GPU');
    } finally {
      program.dispose();
    }
  });

  it('names the op when a rule is missing, and refuses a seed that depends on nothing differentiated', () => {
    const b = new GraphBuilder();
    const w = b.param('w', [1, 2, 2, 3]);
    const x = b.input('x', [1, 2, 2, 3]);
    // A gradient op has no rule of its own (no second derivatives).
    const [y] = b.node('second', { type: 'activation_grad', x: b.addValues('sum', x, w), dy: x, attrs: { activation: 'relu' } });
    b.output('y', y);
    const graph = b.build();
    expect(() => differentiate(graph, new Map([[y, x]]), [w])).to.throw(/layer second: no gradient rule for op 'activation_grad'/);
    expect(() => differentiate(graph, new Map([[x, x]]), [w])).to.throw(/seeded value x depends on nothing/);
  });
});
