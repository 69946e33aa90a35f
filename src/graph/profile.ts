// Where a program's time goes, from GPU timestamp queries: each layer timed in a compute pass
// of its own, the whole pass timed as one compute pass, and a plain run (host input to host
// output) timed on the host, so the time outside kernels (writing inputs, encoding, submitting,
// waiting, reading back) is the difference.
import type { GpuContext } from '../gpu/context.js';
import { WorkTimer } from '../gpu/work-timer.js';
import { opDef } from './ops/registry.js';
import type { Program, RunInput } from './program.js';

export interface LayerProfile {
  name: string;
  op: string;
  /** Median GPU time of the layer's kernels, in a compute pass of their own. */
  ms: number;
  flops: number;
}

export interface ProgramProfile {
  layers: LayerProfile[];
  /** Sum of the layers' medians. */
  layersMs: number;
  /** Median GPU time of the whole pass as one compute pass (as a run records it). */
  passMs: number;
  /** Median host time of a plain `run()`: inputs written, pass, outputs read back. */
  runMs: number;
  repeats: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/**
 * Profiles `program` on `inputs` (`repeats` times each, after one warm-up run). The context
 * must have timestamps (`GpuContext.create({ timestamps: true })`). A program that updates
 * weights is run 2 x repeats + 1 times: profile a copy of anything that must stay as it is.
 */
export async function profileProgram(ctx: GpuContext, program: Program, inputs: Record<string, RunInput>, repeats = 5): Promise<ProgramProfile> {
  // The first timed pass only teaches the timer how long to sleep; it is not counted.
  if (!ctx.hasTimestamps) throw new Error('profileProgram: the context has no timestamp queries (create it with { timestamps: true } on an adapter that has them)');
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`profileProgram: repeats must be a positive integer, got ${repeats}`);
  const runMs: number[] = [];
  await program.run(inputs); // warm-up; derived state fresh
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await program.run(inputs);
    runMs.push(performance.now() - t0);
  }

  const layers = program.timedLayers;
  const count = 2 * layers.length + 2;
  const querySet = ctx.device.createQuerySet({ type: 'timestamp', count });
  const resolve = ctx.createBuffer(count * 8, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'profile:resolve');
  const staging = ctx.createBuffer(count * 8, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'profile:staging');
  const samples: number[][] = layers.map(() => []);
  const passMs: number[] = [];
  const timer = new WorkTimer();
  try {
    await ctx.checked('profile', async () => {
      for (let r = -1; r < repeats; r++) {
        const encoder = ctx.device.createCommandEncoder({ label: 'profile' });
        program.encodeTimedLayers(inputs, encoder, querySet, true);
        encoder.resolveQuerySet(querySet, 0, count, resolve, 0);
        encoder.copyBufferToBuffer(resolve, 0, staging, 0, count * 8);
        ctx.device.queue.submit([encoder.finish()]);
        // Not polling while the GPU works: on a software adapter polling slows the kernels timed.
        await timer.wait(performance.now(), () => ctx.device.queue.onSubmittedWorkDone());
        await staging.mapAsync(GPUMapMode.READ);
        const t = new BigUint64Array(staging.getMappedRange().slice(0));
        staging.unmap();
        if (r < 0) continue;
        const span = (i: number): number => Number(t[2 * i + 1] - t[2 * i]) / 1e6;
        layers.forEach((_, i) => samples[i].push(span(i)));
        passMs.push(span(layers.length));
      }
    });
  } finally {
    querySet.destroy();
    ctx.destroyBuffer(resolve);
    ctx.destroyBuffer(staging);
  }
  const profiled = layers.map((node, i) => ({ name: node.name, op: node.op.type, ms: median(samples[i]), flops: opDef(node.op).cost(node.op, node.outputs).flops }));
  return {
    layers: profiled,
    layersMs: profiled.reduce((a, l) => a + l.ms, 0),
    passMs: median(passMs),
    runMs: median(runMs),
    repeats,
  };
}
