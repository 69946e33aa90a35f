// The runner's training parts and tuning (bench/run.ts): train, recovery, and tune (the forward
// pass and the training step untuned against tuned).
import { importTfjs } from './model.js';
import { benchOursSideBySide } from './ours.js';
import { describeWarmup } from './settle.js';
import { benchTrainPeers, benchTrainTuned } from './train.js';
import { benchTrainRecovery } from './train-recovery.js';
import { torchTrainStep } from './torch-train.js';
import { type CpuTrainRow, benchCpuTrain } from './cpu-train.js';
import { spawnSync } from 'node:child_process';
import { compile } from '../src/graph/compile.js';
import { type TuneReport, tuneGraph } from '../src/graph/tune.js';
import type { GpuContext } from '../src/gpu/context.js';
import type { Options, Result } from './run-options.js';
import { MODEL_CASES, TRAIN_CASES, caseWeights } from './cases.js';

/**
 * Train part: each training case's step, ours beside TF.js' WebGPU backend (their loss and
 * gradients compared first; a peer that disagrees is not timed); ours on the CPU device beside
 * PyTorch on the CPU, the same threads, in turns (bench/cpu-train.ts); and PyTorch on CUDA where
 * torch has it (bench/torch_peer.py).
 */
export async function trainPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results: Result[] = [];
  const tf = o.cpuOnly ? null : await importTfjs(ctx);
  for (const c of TRAIN_CASES.filter((t) => o.models.includes(t.name))) {
    if (!tf) {
      const weights = await c.weights();
      const common = { part: 'train' as const, model: c.name, batch: o.batch, crop: o.crop, outputStride: weights.config.outputStride, weights: weights.name, dropout: false };
      results.push(...cpuRows(c.name, common, await benchCpuTrain(c.name, weights, { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle, threads: o.threads }), null));
      continue;
    }
    const r = await benchTrainPeers(ctx, tf, await c.weights(), { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle });
    const a = r.agreement;
    const agreed = a ? `TF.js vs ours: loss ${a.lossRelativeError.toExponential(1)}, gradients ${a.gradRelativeError.toExponential(1)} (worst ${a.worstGrad.name} ${a.worstGrad.relativeError.toExponential(1)})` : '';
    console.log(`train ${c.name}: ours ${r.ours.medianMs.toFixed(0)} ms` + (r.tfjs ? `, TF.js ${r.tfjs.medianMs.toFixed(0)} ms (${(r.tfjs.medianMs / r.ours.medianMs).toFixed(2)}x ours)` : `, TF.js not timed: ${r.tfjsError}`) + (agreed ? `; ${agreed}` : ''));
    const { activationBytes, model, ...rest } = r.ours;
    const common = { part: 'train' as const, model: c.name, batch: o.batch, crop: o.crop, outputStride: r.ours.outputStride, weights: model, dropout: false };
    results.push({ ...common, engine: 'ours', ...rest, peakBytes: activationBytes });
    results.push({
      ...common, engine: 'tfjs', medianMs: null, firstRunMs: null, samplesMs: [], ...r.tfjs, peakBytes: null,
      agreement: r.agreement, ...(r.tfjsError ? { error: r.tfjsError } : {}), ...(r.tfjs ? { overOurs: r.tfjs.medianMs / r.ours.medianMs } : {}),
    });
    // On the CPU: ours on the CPU device and PyTorch on the CPU, the same threads, in turns.
    if (!o.gpuOnly) {
      const cpu = await benchCpuTrain(c.name, await c.weights(), { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle, threads: o.threads });
      results.push(...cpuRows(c.name, common, cpu, r.ours.medianMs));
    }
    // PyTorch on a GPU, where there is one.
    if (torchHasCuda()) {
      const torch = torchTrainStep(c.name, { batch: o.batch, crop: o.crop, heavyRepeats: o.heavyRepeats, settle: o.settle });
      if ('error' in torch) console.log(`train ${c.name}: PyTorch not timed: ${torch.error}`);
      else console.log(`train ${c.name}: PyTorch (${torch.version}, ${torch.device}) ${torch.medianMs.toFixed(0)} ms`);
      results.push({ ...common, engine: 'pytorch', firstRunMs: null, peakBytes: null, medianMs: null, ...torch });
    }
  }
  return results;
}

/** The CPU engines' rows (ours on the CPU; PyTorch on the CPU, or why not), said as they come. */
function cpuRows(name: string, common: Pick<Result, 'part' | 'model' | 'batch'> & Record<string, unknown>, cpu: CpuTrainRow, oursWebgpuMs: number | null): Result[] {
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const { ours, torch } = cpu;
  const vsTorch = 'error' in torch ? null : { wall: ours.medianMs / torch.medianMs, cpu: ours.cpuMedianMs / torch.cpuMedianMs };
  console.log(
    `train ${name}: ours on the CPU ${ours.medianMs.toFixed(0)} ms (${ours.cpuMedianMs.toFixed(0)} ms of CPU time, peak ${mib(ours.peakBytes)}${oursWebgpuMs === null ? '' : `; ${(oursWebgpuMs / ours.medianMs).toFixed(2)}x faster than ours on WebGPU here`})` +
      ('error' in torch ? `; PyTorch not timed: ${torch.error}` : `, ${torch.engine} ${torch.medianMs.toFixed(0)} ms (${torch.cpuMedianMs.toFixed(0)} ms of CPU time, peak ${mib(torch.peakBytes)}): ours ${vsTorch!.wall.toFixed(2)}x its time (${vsTorch!.cpu.toFixed(2)}x its CPU time), steps alternating`),
  );
  const { firstLoss: _a, ...oursRow } = ours;
  const rows: Result[] = [{ ...common, ...oursRow, engine: 'ours-cpu', threads: cpu.threads, ...(oursWebgpuMs === null ? {} : { overOursWebgpu: ours.medianMs / oursWebgpuMs }), ...(vsTorch ? { overPytorch: vsTorch.wall, cpuOverPytorch: vsTorch.cpu } : {}) }];
  if ('error' in torch) rows.push({ ...common, engine: 'pytorch', device: 'cpu', medianMs: null, firstRunMs: null, peakBytes: null, error: torch.error });
  else {
    const { firstLoss: _b, ...torchRow } = torch;
    rows.push({ ...common, ...torchRow, engine: 'pytorch', device: 'cpu', threads: cpu.threads, pairedWith: 'ours-cpu' });
  }
  return rows;
}

/** Whether python3's torch has CUDA here (its GPU step is then timed too). */
function torchHasCuda(): boolean {
  const r = spawnSync('python3', ['-c', 'import torch; print(torch.cuda.is_available())'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'True';
}

/**
 * Recovery part: what surviving a lost device costs each training case's step (Trainer's
 * surviveDeviceLoss, on by default in fineTune and `deeplab train`): the step without and with
 * the state's read-back, steps alternating, and the bytes read back per step.
 */
export async function recoveryPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results: Result[] = [];
  for (const c of TRAIN_CASES.filter((t) => o.models.includes(t.name))) {
    const r = await benchTrainRecovery(ctx, await c.weights(), { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle });
    const ratio = r.on.medianMs / r.off.medianMs;
    console.log(
      `recovery ${c.name}: step ${r.off.medianMs.toFixed(0)} ms without, ${r.on.medianMs.toFixed(0)} ms with the read-back ` +
        `(${ratio.toFixed(3)}x; per round ${r.pairedRatio.toFixed(3)}x; steps alternating); ${(r.readBackBytes / 2 ** 20).toFixed(1)} MiB read back per step in ${r.readBackMs.toFixed(0)} ms`,
    );
    const common = { part: 'recovery' as const, model: c.name, engine: 'ours' as const, batch: o.batch, crop: o.crop, firstRunMs: null, peakBytes: r.activationBytes, dropout: false };
    results.push(
      { ...common, ...r.off, deviceLoss: 'fail', readBackBytes: 0 },
      { ...common, ...r.on, deviceLoss: 'recover', readBackBytes: r.readBackBytes, readBackMs: r.readBackMs, readBackSamplesMs: r.readBackSamplesMs, overOff: ratio, pairedRatio: r.pairedRatio },
    );
  }
  return results;
}

/**
 * Tune part: each model compiled with the adapter class's defaults (tuning off), then every
 * layer shape timed again on this adapter (what `deeplab tune` does, within --tune-budget
 * seconds), then compiled with the choices just made; the two programs' runs alternate. The
 * choices stay stored for the rest of the run.
 */
export async function tunePart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results: Result[] = [];
  const mode = ctx.tuning.mode;
  try {
    for (const c of MODEL_CASES.filter((m) => o.models.includes(m.name))) {
      const weights = await caseWeights(c);
      const bench = { quick: o.quick, repeats: c.mobilenet ? o.repeats : o.heavyRepeats, settle: o.settle, image: o.image };
      await ctx.tuning.setMode('off');
      let report: TuneReport | null = null;
      const r = await benchOursSideBySide(ctx, weights, bench, async ({ height, width }) => {
        await ctx.tuning.setMode('cached');
        report = await tuneGraph(ctx, compile(weights.buildGraph({ batch: 1, height, width }), { mode: 'inference' }).graph, { budgetMs: o.tuneBudgetMs, retune: true });
      });
      const t = report as TuneReport | null;
      if (!t) throw new Error(`${c.name}: tuning did not run`);
      const [a, b] = [r.a.ours, r.b.ours];
      console.log(
        `${c.name}: untuned ${a.medianMs.toFixed(1)} ms, tuned ${b.medianMs.toFixed(1)} ms ` +
          `(${(a.medianMs / b.medianMs).toFixed(2)}x, runs alternating, warm-up ${describeWarmup(a)}); tuning ${(t.ms / 1000).toFixed(1)} s for ${t.tuned.length} layer shapes` +
          (t.skipped ? `, ${t.skipped} left untuned by the budget` : ''),
      );
      results.push(
        { part: 'tune', model: c.name, engine: 'ours', batch: 1, ...a, peakBytes: null, tuning: 'off' },
        { part: 'tune', model: c.name, engine: 'ours', batch: 1, ...b, peakBytes: null, tuning: 'tuned', tuningMs: t.ms, shapesTuned: t.tuned.length, shapesLeft: t.skipped },
      );
    }
    // Training steps: the same on the step's graph (forward, loss, backward kernels).
    for (const c of TRAIN_CASES.filter((t) => o.models.includes(t.name))) {
      const r = await benchTrainTuned(ctx, await c.weights(), { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle }, (graph) =>
        tuneGraph(ctx, graph, { budgetMs: o.tuneBudgetMs, retune: true }),
      );
      const t = r.report;
      const backward = t.tuned.filter((l) => l.kernel === 'conv2d_input_grad' || l.kernel === 'conv2d_weight_grad').length;
      console.log(
        `train ${c.name}: step untuned ${r.untuned.medianMs.toFixed(0)} ms, tuned ${r.tuned.medianMs.toFixed(0)} ms (${(r.untuned.medianMs / r.tuned.medianMs).toFixed(2)}x, steps alternating); ` +
          `tuning ${(t.ms / 1000).toFixed(1)} s for ${t.tuned.length} layer shapes (${backward} backward)` + (t.skipped ? `, ${t.skipped} left untuned by the budget` : ''),
      );
      const common = { part: 'tune' as const, model: `train-${c.name}`, engine: 'ours' as const, batch: o.batch, crop: o.crop, firstRunMs: null, peakBytes: null };
      results.push(
        { ...common, ...r.untuned, tuning: 'off' },
        { ...common, ...r.tuned, tuning: 'tuned', tuningMs: t.ms, shapesTuned: t.tuned.length, backwardShapesTuned: backward, shapesLeft: t.skipped },
      );
    }
  } finally {
    await ctx.tuning.setMode(mode);
  }
  return results;
}
