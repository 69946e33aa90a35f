// Where a program's time goes: each layer timed in a compute pass of its own, the whole pass
// timed as one compute pass, and a plain run (host input to host output) timed on the host, so
// the time outside kernels (writing inputs, encoding, submitting, waiting, reading back) is the
// difference.
//
// Two ways to time the passes: GPU timestamp queries (profileProgram), or, on adapters without
// them, the host's clock around one submission per layer (profileProgramOnHost), less what an
// empty submission takes to come back.
import type { GpuContext } from '../gpu/context.js';
import { WorkTimer } from '../gpu/work-timer.js';
import { nodeInputs, opDef } from './ops/registry.js';
import type { Program, RunInput } from './program.js';
import { encodeTimedLayer, encodeTimedLayers, timedLayerKernels, timedLayers } from './timed-layers.js';

export interface LayerProfile {
  name: string;
  op: string;
  /** Median GPU time of the layer's kernels, in a compute pass of their own. */
  ms: number;
  flops: number;
  /** The pipeline key of each kernel the layer launches (shader, entry point, specialisation). */
  kernels: string[];
  /** The shapes of the layer's operands (activations and weights, in the op's order) and of its output. */
  inputShapes: number[][];
  outShape: number[];
  /** The op's attributes (a convolution's stride, dilation, groups, ...), where it has any. */
  attrs?: Record<string, unknown>;
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
  /**
   * How the layers and the pass were timed: 'timestamps' (GPU timestamp queries), or 'host'
   * (each layer's submission on the host's clock, less `hostOverheadMs`).
   */
  timing: 'timestamps' | 'host';
  /** 'host' timing: median time an empty submission takes to come back, taken off every layer and the pass. */
  hostOverheadMs?: number;
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
  const runMs = await timePlainRuns(program, inputs, repeats);

  const layers = timedLayers(program);
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
        encodeTimedLayers(program, inputs, encoder, querySet, true);
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
  return summary(program, samples, passMs, runMs, repeats, 'timestamps');
}

function summary(program: Program, samples: number[][], passMs: number[], runMs: number[], repeats: number, timing: ProgramProfile['timing'], hostOverheadMs?: number): ProgramProfile {
  const kernels = timedLayerKernels(program);
  const profiled = timedLayers(program).map((node, i) => ({
    name: node.name,
    op: node.op.type,
    ms: median(samples[i]),
    flops: opDef(node.op).cost(node.op, node.outputs).flops,
    kernels: kernels[i],
    inputShapes: nodeInputs(node).map((v) => [...v.shape]),
    outShape: [...node.outputs[0].shape],
    ...('attrs' in node.op ? { attrs: { ...(node.op.attrs as object) } as Record<string, unknown> } : {}),
  }));
  return {
    layers: profiled,
    layersMs: profiled.reduce((a, l) => a + l.ms, 0),
    passMs: median(passMs),
    runMs: median(runMs),
    repeats,
    timing,
    ...(hostOverheadMs === undefined ? {} : { hostOverheadMs }),
  };
}

/** Plain runs, host input to host output: the warm-up (derived state made fresh) and `repeats` timed. */
async function timePlainRuns(program: Program, inputs: Record<string, RunInput>, repeats: number): Promise<number[]> {
  const runMs: number[] = [];
  await program.run(inputs);
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await program.run(inputs);
    runMs.push(performance.now() - t0);
  }
  return runMs;
}

/**
 * As profileProgram, for a context without timestamp queries: each layer's kernels are
 * submitted alone, in order after the inputs are written (so every layer reads what the layers
 * before it wrote), and timed on the host from submission to the queue saying the work is done;
 * the median of an empty submission (`hostOverheadMs`: the round trip to the GPU process, in a
 * browser) is taken off each layer, never below zero. The whole pass is one submission timed
 * the same way (as a run records it). A round of layers, then the pass, `repeats` times after
 * one warm-up round.
 */
export async function profileProgramOnHost(ctx: GpuContext, program: Program, inputs: Record<string, RunInput>, repeats = 5): Promise<ProgramProfile> {
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`profileProgramOnHost: repeats must be a positive integer, got ${repeats}`);
  const runMs = await timePlainRuns(program, inputs, repeats);
  const layers = timedLayers(program);
  // One timer for each submission that recurs, so each sleeps through its own expected time.
  const timers = layers.map(() => new WorkTimer());
  const passTimer = new WorkTimer();
  const emptyTimer = new WorkTimer();
  const submit = async (timer: WorkTimer, record: (encoder: GPUCommandEncoder) => void): Promise<number> => {
    const encoder = ctx.device.createCommandEncoder({ label: 'profile' });
    record(encoder);
    const commands = encoder.finish();
    const t0 = performance.now();
    ctx.device.queue.submit([commands]);
    await timer.wait(t0, () => ctx.device.queue.onSubmittedWorkDone());
    return performance.now() - t0;
  };
  const samples: number[][] = layers.map(() => []);
  const passMs: number[] = [];
  const emptyMs: number[] = [];
  await ctx.checked('profile (host-timed)', async () => {
    for (let r = -1; r < repeats; r++) {
      const empty = await submit(emptyTimer, () => {});
      await submit(emptyTimer, (encoder) => program.writeInputsInto(inputs, encoder));
      const layerMs: number[] = [];
      for (let i = 0; i < layers.length; i++) layerMs.push(await submit(timers[i], (encoder) => encodeTimedLayer(program, i, encoder)));
      const pass = await submit(passTimer, (encoder) => program.encodeWholePass(inputs, encoder));
      if (r < 0) continue;
      emptyMs.push(empty);
      layerMs.forEach((ms, i) => samples[i].push(ms));
      passMs.push(pass);
    }
  });
  const overhead = median(emptyMs);
  const less = (xs: number[]): number[] => xs.map((x) => Math.max(0, x - overhead));
  return summary(program, samples.map(less), less(passMs), runMs, repeats, 'host', overhead);
}
