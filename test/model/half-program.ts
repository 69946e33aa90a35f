// The program checks of a transformer network (MobileViT, MobileViTV2) on a fixed test image: its
// f32 program's raw logits as the CPU interpreter's; and in half precision its ops store f16, not
// around casts, and the raw logits differ from the f32 CPU run by f16 rounding only (rounding
// happened, and stayed at f16's scale, as the executor's f16 test asks).
import { expect } from 'chai';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { expectClose, relativeError, testContext } from '../helpers.js';

/** The test image for `graph`'s input [1, height, width, 3]. */
function testImage(graph: Graph): Float32Array {
  const [, height, width] = graph.inputs[0].shape;
  return Float32Array.from({ length: height * width * 3 }, (_, i) => ((i * 7919) % 255) / 255);
}

/** `graph` (built with extraOutputs: 'logits_raw'): the GPU's raw logits equal the CPU interpreter's. */
export async function expectRawLogitsAsCpu(graph: Graph, params: HostParams, what: string): Promise<void> {
  const image = testImage(graph);
  const compiled = compile(graph, { mode: 'inference' });
  const cpu = runGraphCpu(compiled, params, { image }).get('logits_raw')!;
  const program = await Program.create(await testContext(), compiled, params);
  try {
    expectClose((await program.run({ image })).get('logits_raw')!, cpu, what);
  } finally {
    program.dispose();
  }
}

/** `graph` (built with extraOutputs: 'logits_raw'), its input [1, height, width, 3]. */
export async function expectHalfProgramClose(graph: Graph, params: HostParams, opTypes: readonly string[]): Promise<void> {
  const ctx = await testContext();
  const image = testImage(graph);
  const single = runGraphCpu(compile(graph, { mode: 'inference' }), params, { image }).get('logits_raw')!;
  const compiled = compile(graph, { mode: 'inference', precision: 'f16' });
  for (const type of opTypes) {
    const nodes = compiled.graph.nodes.filter((n) => n.op.type === type);
    expect(nodes.length, type).to.be.greaterThan(0);
    expect(nodes.every((n) => n.outputs[0].dtype === 'f16'), `${type} stores f16`).to.equal(true);
  }
  const program = await Program.create(ctx, compiled, params);
  try {
    const got = (await program.run({ image })).get('logits_raw')!;
    expect(got.every(Number.isFinite), 'finite logits').to.equal(true);
    expect(relativeError(got, single), 'f16 vs f32 logits').to.be.greaterThan(1e-5).and.lessThan(5e-3);
  } finally {
    program.dispose();
  }
}
