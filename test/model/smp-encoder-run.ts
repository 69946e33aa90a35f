// An smp encoder's graph run on the device against the CPU interpreter, random weights: for the
// encoders without a logits fixture, that the program computes what the graph says (its ops,
// fused and folded as compile() does) at every feature.
import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Graph } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { Program } from '../../src/graph/program.js';
import { SMP_ENCODERS } from '../../src/model/backbones/smp-encoders.js';
import { conv } from '../../src/model/networks/layers.js';
import { buildTrainingGraphs, gradName, trainingBatchNorms } from '../../src/train/training-graph.js';
import { expectClose, makeRng, testContext } from '../helpers.js';
import { randomParams } from './random-params.js';
import { everyFeature } from './smp-fixture.js';

/**
 * The fixtures' gain for MobileOne's batch norms (README "PRNG"): each BN weight times
 * 1.15 / sqrt(B), B the block's parallel branches, so that the branch sums keep their scale. Without
 * it random MobileOne activations grow to thousands, mobileone_s4's squeeze-excite gates saturate
 * and float32 rounding differences grow about fivefold per gated block (1e-2 after stage3).
 */
export function mobileOneGain(graph: Graph, params: HostParams): void {
  const bns = graph.nodes.flatMap((n) => (n.op.type === 'batchnorm' ? [{ block: n.name.replace(/\.rbr_.*$/, ''), gamma: n.op.gamma.name }] : []));
  for (const { block, gamma } of bns) {
    const gain = 1.15 / Math.sqrt(bns.filter((m) => m.block === block).length);
    params.get(gamma)!.data.forEach((v, i, a) => (a[i] = v * gain));
  }
}

/** `name`'s features at /2../32 on a 64x64 test image, device against CPU interpreter (relative error < 1e-4 each). */
export async function expectEncoderAsCpu(name: string, outputStride: number, adjust?: (graph: Graph, params: HostParams) => void): Promise<void> {
  const b = new GraphBuilder();
  const features = everyFeature(b, name, b.input('image', [1, 64, 64, 3]), { outputStride, depth: 5 });
  features.forEach((v, i) => b.output(`f${i}`, v));
  const graph = b.build();
  const params = randomParams(graph, makeRng(7));
  adjust?.(graph, params);
  const image = Float32Array.from({ length: 64 * 64 * 3 }, (_, i) => ((i * 7919) % 255) / 255 - 0.5);
  const compiled = compile(graph, { mode: 'inference' });
  const cpu = runGraphCpu(compiled, params, { image });
  const program = await Program.create(await testContext(), compiled, params);
  try {
    const gpu = await program.run({ image });
    for (let i = 0; i < features.length; i++) {
      const got = gpu.get(`f${i}`)!;
      expect(got.every(Number.isFinite), `${name} f${i} finite`).to.equal(true);
      expectClose(got, cpu.get(`f${i}`)!, `${name} OS ${outputStride} f${i}`);
    }
  } finally {
    program.dispose();
  }
}

/**
 * `name`'s encoder in a training graph (batch statistics, a 1x1 classifier on its last feature, the
 * cross-entropy step): its parameters, and those that get no gradient accumulator (none, where it
 * trains as built).
 */
export function encoderTraining(name: string): { network: Graph; encoder: string[]; withoutGradient: string[] } {
  const b = new GraphBuilder();
  // The last feature (an encoder's /2 one may be smp's empty one: null).
  const last = SMP_ENCODERS[name].build(b, b.input('image', [2, 64, 64, 3]), { outputStride: 16, depth: 5 }).at(-1)!;
  b.output('logits', conv(b, last, { name: 'classifier', kernel: 1, cout: 3, bias: true }));
  const network = trainingBatchNorms(b.build());
  const { step, trainable } = buildTrainingGraphs(network, { ignoreIndex: 255 }, () => ({}));
  const accumulators = new Set(step.state.filter((v) => v.role === 'gradient').map((v) => v.name));
  const encoder = trainable.filter((p) => p.name.startsWith('encoder.')).map((p) => p.name);
  return { network, encoder, withoutGradient: encoder.filter((p) => !accumulators.has(gradName(p))) };
}
