// The tuner's bench for one layer shape on the GPU (src/graph/tune.ts decides what to time): the
// layer's operands, random-filled where they are inputs; a candidate timed as `reps` back-to-back
// dispatches in one compute pass after a warm-up that compiles it; and a candidate's error
// against the default's output, for candidates that trade accuracy for speed.
import type { GpuContext } from '../gpu/context.js';
import { type Dispatch, disposeDispatch, encodeDispatches, runOnce } from '../gpu/dispatch.js';
import { type GpuTensor, createTensor, readTensor, writeTensor } from '../gpu/tensor.js';
import { Rng } from '../util/random.js';
import { relativeError } from '../util/relative-error.js';
import { WorkTimer } from '../gpu/work-timer.js';
import type { TunableLayer } from '../kernels/tuning.js';

/** One layer shape with choices (an op's TunableLayer), the graph's layers of that shape, and their work (FLOPs). */
export type ShapeToTune = TunableLayer & { names: string[]; flops: number };

/**
 * Milliseconds per run of `dispatches`, `reps` times in one pass. The host sleeps through most
 * of the pass (`timer`, taught by the calls before) instead of polling: on a software adapter a
 * polling host takes a core from the kernels it times, which measured them up to 2x slow and
 * favoured the wrong variants.
 */
async function timePass(ctx: GpuContext, dispatches: readonly Dispatch[], reps: number, timer: WorkTimer): Promise<number> {
  const querySet = ctx.hasTimestamps ? ctx.device.createQuerySet({ type: 'timestamp', count: 2 }) : null;
  const resolve = querySet ? ctx.createBuffer(16, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, 'tune:resolve') : null;
  const staging = querySet ? ctx.createBuffer(16, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'tune:staging') : null;
  try {
    return await ctx.checked('tuning', async () => {
      const encoder = ctx.device.createCommandEncoder({ label: 'tune' });
      const pass = encoder.beginComputePass(querySet ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
      for (let r = 0; r < reps; r++) encodeDispatches(pass, dispatches);
      pass.end();
      if (querySet) {
        encoder.resolveQuerySet(querySet, 0, 2, resolve!, 0);
        encoder.copyBufferToBuffer(resolve!, 0, staging!, 0, 16);
      }
      const t0 = performance.now();
      await ctx.submitAndWait([encoder.finish()], timer);
      const hostMs = performance.now() - t0;
      if (!staging) return hostMs / reps;
      await staging.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return Number(t[1] - t[0]) / 1e6 / reps;
    });
  } finally {
    querySet?.destroy();
    if (resolve) ctx.destroyBuffer(resolve);
    if (staging) ctx.destroyBuffer(staging);
  }
}

/**
 * An operand of the tuner's layers: independent uniform values in [-0.5, 0.5), the same on every
 * run. Independent, because the accuracy check's allowance (F16_ACCUMULATION_ERROR,
 * src/kernels/precision.ts) is derived for sums of independent products: sin(j) / 2, used
 * before, made dot products that cancel (on a 1x1 layer over 24 channels, |x| |w| summed was 31
 * times the sum, against 3.7 for independent values), so an f16 sum there erred 2.6 times as much
 * relative to its result and short reductions failed a check meant to admit them.
 */
function checkOperand(size: number, index: number): Float32Array {
  const rng = Rng.derive(0x7e57, index);
  return Float32Array.from({ length: size }, () => rng.uniform(-0.5, 0.5));
}

/** What timing a layer's candidates asks of its bench (LayerBench on the GPU). */
export interface CandidateBench {
  time(c: TunableLayer['candidates'][number], trials: number): Promise<number>;
  error(c: TunableLayer['candidates'][number]): Promise<number | null>;
  /** The clock the budget is read on, ms (default performance.now(); a stand-in bench keeps its own). */
  now?(): number;
}

/** A layer's operand tensors, random-filled where they are inputs, and a timer of its candidates on them. */
export class LayerBench implements CandidateBench {
  private readonly tensors: GpuTensor[] = [];

  constructor(
    private readonly ctx: GpuContext,
    private readonly layer: ShapeToTune,
  ) {
    for (const [i, o] of layer.operands.entries()) {
      const t = createTensor(ctx, o.shape, o.dtype ?? 'f32', `tune:operand${i}`);
      this.tensors.push(t);
      if (o.fill) writeTensor(ctx, t, checkOperand(t.size, i));
    }
  }

  /** Best of `trials` passes of one candidate (after a warm-up that compiles it). */
  async time(c: ShapeToTune['candidates'][number], trials: number): Promise<number> {
    const dispatches = await this.ctx.checked(`tuning ${this.layer.names[0]}`, () => c.prepare(this.ctx, this.tensors));
    try {
      const timer = new WorkTimer();
      const first = await timePass(this.ctx, dispatches, 1, timer); // warm-up: pipeline compiled, caches filled
      // Enough repetitions (at least 1, at most 50) for ~20 ms of work on the host's clock, which
      // must dwarf a submission's own cost, or ~5 ms on the GPU's (timestamps bracket the work
      // alone; more only lengthened tuning, 56 to about 100 s for Deno's tuning test); the first
      // timed pass teaches the timer how long a pass of them takes.
      const targetMs = this.ctx.hasTimestamps ? 5 : 20;
      const reps = Math.max(1, Math.min(50, Math.round(targetMs / Math.max(first, 0.01))));
      await timePass(this.ctx, dispatches, reps, timer);
      let best = Infinity;
      for (let trial = 0; trial < trials; trial++) best = Math.min(best, await timePass(this.ctx, dispatches, reps, timer));
      return best;
    } finally {
      for (const d of dispatches) disposeDispatch(this.ctx, d);
    }
  }

  private defaultOutput?: Float32Array;

  /**
   * The candidate's relative error against the default's output on the same operands, or null
   * where the layer names no output (the accuracy check of candidates that trade it for speed).
   */
  async error(c: TunableLayer['candidates'][number]): Promise<number | null> {
    const index = this.layer.output;
    if (index === undefined) return null;
    const run = async (x: TunableLayer['candidates'][number]) => {
      await runOnce(this.ctx, `tuning ${this.layer.names[0]}: accuracy`, () => x.prepare(this.ctx, this.tensors));
      return readTensor(this.ctx, this.tensors[index]);
    };
    this.defaultOutput ??= await run(this.layer.candidates[0]);
    return relativeError(await run(c), this.defaultOutput);
  }

  dispose(): void {
    for (const t of this.tensors) t.dispose();
  }
}

