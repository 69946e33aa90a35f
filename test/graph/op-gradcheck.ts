// Checks an op's gradient rule as autograd uses it: a small graph of the op on parameters,
// differentiated under the probe loss sum(y * r) (r fed as the seed dy), run by the float64 CPU
// interpreter against central differences of the forward graph, and the backward graph run on
// the GPU against the float32 interpreter (so the gradient ops' lowerings are checked too).
import { expect } from 'chai';
import { differentiate } from '../../src/graph/autograd.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Value } from '../../src/graph/ir.js';
import { Program } from '../../src/graph/program.js';
import { GRADCHECK_TOLERANCE, dot, numericGradient } from '../gradcheck.js';
import { expectClose, numel, randomArray, relativeError, rng, testContext } from '../helpers.js';

/** The graph of `build`'s op on parameters, its gradient graph under the seed 'dy', and random values for both. */
function opGradientGraphs(what: string, build: (b: GraphBuilder) => Value, init: (name: string, n: number) => Float32Array) {
  const b = new GraphBuilder();
  const y = build(b);
  const seed = b.input('dy', y.shape);
  b.output('y', y);
  const forward = b.build();
  const wrt = forward.state.filter((v) => v.role === 'param');
  expect(wrt.length, `${what}: parameters to differentiate`).to.be.greaterThan(0);
  const d = differentiate(forward, new Map([[y, seed]]), wrt);
  const ext = GraphBuilder.extend(d.graph);
  for (const p of wrt) {
    const grad = d.grads.get(p.id);
    expect(grad, `${what}: a gradient for ${p.name}`).to.not.equal(undefined);
    ext.output(`d:${p.name}`, grad!);
  }
  const r = rng();
  const params32 = new Map(wrt.map((p) => [p.name, { shape: [...p.shape], data: init(p.name, numel(p.shape)) }]));
  const dy32 = randomArray(numel(y.shape), -1, 1, r);
  return { forward, backward: ext.build(), wrt, params32, dy32 };
}

/**
 * `build` declares the parameters (b.param) and returns the output; every parameter is
 * differentiated. `init` gives a parameter's values (uniform in [-1, 1) by default).
 */
export async function expectOpGradients(
  what: string,
  build: (b: GraphBuilder) => Value,
  init: (name: string, n: number) => Float32Array = (_name, n) => randomArray(n),
  tol = GRADCHECK_TOLERANCE,
): Promise<void> {
  const { forward, backward, wrt, params32, dy32 } = opGradientGraphs(what, build, init);
  const params64 = new Map([...params32].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));
  const dy64 = Float64Array.from(dy32);

  const analytic = runGraphCpu(backward, params64, { dy: dy64 });
  for (const p of wrt) {
    const x = params64.get(p.name)!.data;
    const probe = (v: Float64Array): number => {
      const params = new Map(params64);
      params.set(p.name, { shape: [...p.shape], data: new Float64Array(v) });
      return dot(runGraphCpu(forward, params, { dy: dy64 }).get('y')!, dy64);
    };
    const numeric = numericGradient(probe, new Float64Array(x));
    const err = relativeError(analytic.get(`d:${p.name}`)!, numeric);
    expect(err, `${what}: d${p.name} against central differences, relative error ${err}`).to.be.lessThan(tol);
  }

  const ref = runGraphCpu(backward, params32, { dy: dy32 });
  const program = await Program.create(await testContext(), backward, params32);
  try {
    const got = await program.run({ dy: dy32 });
    for (const [name, v] of ref) expectClose(got.get(name)!, v, `${what}: GPU ${name}`);
  } finally {
    program.dispose();
  }
}

/**
 * The gradient graph of `build`'s op at sizes too large for central differences (sizes off
 * every tile and block of its kernels): the GPU's float32 run against the CPU interpreter's
 * float64 run, every output (the op's value and each parameter's gradient).
 */
export async function expectOpGradientsOnGpu(what: string, build: (b: GraphBuilder) => Value, init: (name: string, n: number) => Float32Array = (_name, n) => randomArray(n)): Promise<void> {
  const { backward, params32, dy32 } = opGradientGraphs(what, build, init);
  const params64 = new Map([...params32].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));
  const ref = runGraphCpu(backward, params64, { dy: Float64Array.from(dy32) });
  const program = await Program.create(await testContext(), backward, params32);
  try {
    const got = await program.run({ dy: dy32 });
    for (const [name, v] of ref) expectClose(got.get(name)!, v, `${what}: GPU ${name} against float64`);
  } finally {
    program.dispose();
  }
}
