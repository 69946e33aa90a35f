// The runner's forward-pass parts (bench/run.ts): kernels, model, profile, precision, quantize.
import { LAYERS } from './kernel-layers.js';
import { OurTimer, benchKernels } from './kernels.js';
import { benchMemoryKernels } from './memory.js';
import { MAX_RELATIVE_ERROR, benchModel, importTfjs } from './model.js';
import { benchOursOnly } from './ours.js';
import { benchPrecision } from './precision.js';
import { benchQuantize } from './quantize.js';
import { bestGemmRate, printProfile, profileModel, rateLayer } from './profile.js';
import { describeWarmup } from './settle.js';
import { printTrainProfile, profileTrainStep } from './train.js';
import type { GpuContext } from '../src/gpu/context.js';
import { readImage } from '../src/io/image.js';
import { loadWeights } from '../src/model/loading/load-weights.js';
import { sharedPath } from '../test/shared.js';
import type { Options, Result } from './run-options.js';
import { MODEL_CASES, TRAIN_CASES, caseWeights, randomResnet50 } from './cases.js';

export async function kernelsPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const r = await benchKernels(ctx, { quick: o.quick, repeats: o.repeats, settle: o.settle, layers: LAYERS, tfjs: true, peakTflops: o.peakTflops });
  const conv = r.rows.flatMap((row) =>
    (['ours', 'tfjs'] as const).flatMap((engine) => {
      const m = row[engine];
      const base = { part: 'kernels' as const, model: row.layer, engine, batch: 1, firstRunMs: null, peakBytes: null };
      return m ? [{ ...base, ...m, description: row.description, timing: r.method }] : [];
    }),
  );
  // Memory-bound kernels in GB/s, timed as the convolutions were.
  const timer = new OurTimer(ctx, ctx.hasTimestamps);
  try {
    const m = await benchMemoryKernels(ctx, (d) => timer.time(d), { repeats: o.repeats, settle: o.settle });
    const memory = m.rows.map(({ kernel, ...row }) => ({
      part: 'kernels' as const, model: kernel, engine: 'ours' as const, batch: 1, firstRunMs: null, peakBytes: null, ...row, copyGbps: m.copyGbps, timing: r.method,
    }));
    return [...conv, ...memory];
  } finally {
    timer.dispose();
  }
}

export async function modelPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results: Result[] = [];
  const withTfjs = MODEL_CASES.filter((c) => c.tfjs && o.models.includes(c.name));
  const tf = withTfjs.length ? await importTfjs(ctx) : null;
  for (const c of MODEL_CASES.filter((m) => o.models.includes(m.name))) {
    const base = { part: 'model' as const, model: c.name, batch: 1 };
    if (c.tfjs && tf) {
      const r = c.mobilenet
        ? await benchModel(ctx, tf, c.mobilenet, { quick: o.quick, repeats: o.repeats, settle: o.settle, image: o.image })
        : await benchModel(ctx, tf, { key: c.name, registryName: c.name }, { quick: o.quick, repeats: o.heavyRepeats, settle: o.settle, image: o.image }, randomResnet50(c.outputStride, 513));
      if (!(r.relativeErrorVsTfjs < MAX_RELATIVE_ERROR)) process.exitCode = 1;
      const common = { input: r.input, gflop: r.gflop, relativeErrorVsTfjs: r.relativeErrorVsTfjs, ...(c.mobilenet ? {} : { weights: 'random' }) };
      results.push(
        { ...base, engine: 'ours', ...r.ours, peakBytes: r.memory.oursActivationBytes, ...common },
        { ...base, engine: 'tfjs', ...r.tfjs, peakBytes: r.memory.tfjsActivationPeakBytes, ...common },
      );
    } else {
      const r = await benchOursOnly(ctx, randomResnet50(c.outputStride, 513), { quick: o.quick, repeats: o.heavyRepeats, settle: o.settle, image: o.image });
      results.push({ ...base, engine: 'ours', ...r.ours, peakBytes: r.activationBytes, input: r.input, gflop: r.gflop, weights: 'random' });
    }
  }
  return results;
}

/** Profile part: per-layer GPU times of each model's forward pass (bench/profile.ts), printed as it goes. */
export async function profilePart(ctx: GpuContext, o: Options): Promise<Result[]> {
  if (!ctx.hasTimestamps) {
    console.log('profile: skipped, the adapter has no timestamp queries');
    return [];
  }
  const best = await bestGemmRate(ctx, o.repeats, o.settle);
  console.log(`best GEMM rate: ${best.gflops.toFixed(0)} GFLOP/s (our conv on ${best.layer})`);
  const img = await readImage(o.image);
  const results: Result[] = [];
  for (const c of MODEL_CASES.filter((m) => o.models.includes(m.name))) {
    const weights = c.mobilenet ? await loadWeights(c.mobilenet.registryName, { download: false }) : randomResnet50(c.outputStride, 513);
    const p = await profileModel(ctx, weights, img, { repeats: c.mobilenet ? o.repeats : o.heavyRepeats, settle: o.settle, bestGflops: best.gflops, peakTflops: o.peakTflops });
    printProfile(p, best.gflops);
    results.push({
      part: 'profile', model: c.name, engine: 'ours', batch: 1, ...p.run, firstRunMs: null, peakBytes: null,
      passMs: p.passMs, layersMs: p.layersMs, gflop: p.gflop, bestGemmGflops: best.gflops, fractionOfBest: p.fractionOfBest, peakTflopsF32: o.peakTflops,
      byOp: p.byOp, layers: p.layers, image: p.image, segmentMs: p.segmentMs, segmentP25Ms: p.segment.p25Ms, segmentP75Ms: p.segment.p75Ms, preprocessMs: p.preprocessMs, bareRunMs: p.bareRun.medianMs, bareRunSamplesMs: p.bareRun.samplesMs, hostMs: p.hostMs,
    });
  }
  // Training steps, layer by layer: forward, loss, backward and accumulation (bench/train.ts).
  for (const c of TRAIN_CASES.filter((t) => o.models.includes(t.name))) {
    const p = await profileTrainStep(ctx, await c.weights(), { batch: o.batch, crop: o.crop, repeats: o.heavyRepeats, settle: o.settle });
    printTrainProfile(c.name, p);
    results.push({
      part: 'profile', model: `train-${c.name}`, engine: 'ours', batch: o.batch, crop: o.crop, medianMs: null, firstRunMs: null, peakBytes: null,
      passMs: p.passMs, layersMs: p.layersMs, byPhase: p.byPhase, backwardByOp: p.backwardByOp, slowestBackward: p.slowestBackward, layers: p.layers.map((l) => rateLayer(l, o.peakTflops)),
    });
  }
  return results;
}

/**
 * Precision part: each model in f16 and f32 storage (adapters with shader-f16), each tuned before
 * it is timed (part tune tunes f32 programs only); the MobileNetV2
 * models (real weights) also on the VOC sample: agreement with f32 and mIoU.
 */
export async function precisionPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  if (!ctx.hasHalf) {
    console.log('precision: skipped, the adapter has no shader-f16');
    return [];
  }
  const vocDir = sharedPath('data', 'voc-sample');
  const results: Result[] = [];
  for (const c of MODEL_CASES.filter((m) => o.models.includes(m.name))) {
    const weights = c.mobilenet ? await loadWeights(c.mobilenet.registryName, { download: false }) : randomResnet50(c.outputStride, 513);
    const repeats = c.mobilenet ? o.repeats : o.heavyRepeats;
    const rows = await benchPrecision(ctx, weights, { quick: o.quick, repeats, settle: o.settle, image: o.image, vocDir: c.mobilenet ? vocDir : undefined, tuneBudgetMs: o.tuneBudgetMs });
    const [single, half] = rows;
    const pct = (x: number | null) => (x === null ? '-' : (100 * x).toFixed(3) + ' %');
    console.log(
      `${c.name}: f16 ${half.speed.ours.medianMs.toFixed(1)} ms vs f32 ${single.speed.ours.medianMs.toFixed(1)} ms ` +
        `(${(single.speed.ours.medianMs / half.speed.ours.medianMs).toFixed(2)}x); activations ${(half.speed.activationBytes / 2 ** 20).toFixed(1)} vs ` +
        `${(single.speed.activationBytes / 2 ** 20).toFixed(1)} MiB` +
        (half.mIoU === null ? '' : `; VOC sample: ${pct(half.agreementWithF32)} of pixels as f32, mIoU ${half.mIoU.toFixed(2)} vs ${single.mIoU!.toFixed(2)}`) +
        `; warm-up ${describeWarmup(half.speed.ours)} rounds; ` +
        (o.tuneBudgetMs === 0 ? 'both untuned (the class defaults)' : `both tuned first (${rows.map((r) => `${r.precision}: ${r.tuning!.tuned.length} shapes timed, ${r.tuning!.cached} stored${r.tuning!.skipped ? `, ${r.tuning!.skipped} left by the budget` : ''}`).join('; ')})`),
    );
    for (const r of rows) {
      results.push({
        part: 'precision', model: c.name, engine: 'ours', batch: 1, ...r.speed.ours, peakBytes: r.speed.activationBytes,
        precision: r.precision, mIoU: r.mIoU, agreementWithF32: r.agreementWithF32, tuningMs: r.tuning?.ms ?? null, shapesTuned: r.tuning?.tuned.length ?? 0, shapesCached: r.tuning?.cached ?? 0, shapesLeft: r.tuning?.skipped ?? null, weights: c.mobilenet ? c.mobilenet.registryName : 'random',
      });
    }
  }
  return results;
}

/**
 * Quantize part: the MobileNetV2 models (real weights) saved as f32, int8 and f16 checkpoints and
 * loaded back: file sizes, and on the VOC sample agreement with f32 and mIoU. Nothing is timed.
 */
export async function quantizePart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const vocDir = sharedPath('data', 'voc-sample');
  const results: Result[] = [];
  for (const c of MODEL_CASES.filter((m) => m.mobilenet && o.models.includes(m.name))) {
    const rows = await benchQuantize(ctx, await caseWeights(c), vocDir);
    for (const r of rows) {
      const pct = r.agreementWithF32 === null ? '' : `, ${(100 * r.agreementWithF32).toFixed(3)} % of pixels as f32`;
      console.log(`${c.name} ${r.quantization}: ${(r.fileBytes / 2 ** 20).toFixed(2)} MiB, VOC-sample mIoU ${r.mIoU.toFixed(2)}${pct}`);
      results.push({ part: 'quantize', model: c.name, engine: 'ours', batch: 1, medianMs: null, firstRunMs: null, peakBytes: null, ...r });
    }
  }
  return results;
}
