// Half precision against f32 for one model (the runner's `precision` part): the forward pass's
// median time and activation memory in each, and, for models with real weights, the accuracy
// f16 keeps on the VOC sample: the share of pixels whose class equals the f32 run's, and both
// runs' mIoU by the devkit's protocol (src/eval/voc.ts). Each precision's program is tuned on
// this adapter first (f16 programs have layer shapes of their own, keys ending `.f16`, with the
// f16-accumulating candidates), so the ratio compares tuned against tuned; with a budget of 0
// neither is tuned and both run the adapter class's defaults. The two are then timed side by
// side, their runs alternating (bench/ours.ts).
import type { GpuContext } from '../src/gpu/context.js';
import type { TuneReport } from '../src/graph/tune.js';
import { readImage } from '../src/io/image.js';
import { type VocItem, listVocSplit } from '../src/data/formats/voc-split.js';
import { evaluateVoc } from '../src/eval/voc.js';
import type { LoadedWeights } from '../src/model/loading/load-weights.js';
import type { Precision } from '../src/model/loading/options.js';
import { DeepLabModel } from '../src/model/model.js';
import { type ModelOptions, type OursRow, benchOursSideBySide } from './ours.js';

export interface PrecisionRow {
  precision: Precision;
  speed: OursRow;
  /** VOC-sample mIoU (present classes), with real weights only. */
  mIoU: number | null;
  /** Pixels whose class equals the f32 run's (f16 rows with real weights only). */
  agreementWithF32: number | null;
  /** This precision's tuning before it was timed; null with a budget of 0 (the class defaults). */
  tuning: TuneReport | null;
}

/**
 * Tunes the model's program in one precision at the size the timed runs have (shapes already
 * measured on this adapter keep their choice; at most `budgetMs` of timing).
 */
async function tunePrecision(ctx: GpuContext, weights: LoadedWeights, precision: Precision, image: string, budgetMs: number): Promise<TuneReport> {
  const model = await DeepLabModel.fromWeights(weights, { ctx, precision });
  try {
    const { height, width } = model.preprocess(await readImage(image));
    return await model.tune({ height, width, budgetMs });
  } finally {
    model.dispose();
  }
}

/** Class maps of every item in one precision, and that precision's VOC scores. */
export async function classify(ctx: GpuContext, weights: LoadedWeights, items: readonly VocItem[], precision: Precision) {
  const model = await DeepLabModel.fromWeights(weights, { ctx, precision });
  try {
    const maps: Uint8Array[] = [];
    for (const it of items) maps.push((await model.segment(it.imagePath)).classes);
    const scores = await evaluateVoc(model, items);
    return { maps, mIoU: scores.mIoU };
  } finally {
    model.dispose();
  }
}

export async function benchPrecision(
  ctx: GpuContext,
  weights: LoadedWeights,
  o: ModelOptions & { vocDir?: string; tuneBudgetMs: number },
): Promise<PrecisionRow[]> {
  const mode = ctx.tuning.mode;
  const untuned = o.tuneBudgetMs === 0;
  // Stored choices are what the timed programs use: with tuning off they would be ignored. With
  // a budget of 0, tuning is off throughout: the class defaults, whatever the store holds.
  await ctx.tuning.setMode(untuned ? 'off' : mode === 'off' ? 'cached' : mode);
  let rows: PrecisionRow[];
  try {
    const tuning = untuned ? [null, null] : [await tunePrecision(ctx, weights, 'f32', o.image, o.tuneBudgetMs), await tunePrecision(ctx, weights, 'f16', o.image, o.tuneBudgetMs)];
    const { a, b } = await benchOursSideBySide(ctx, weights, o, async () => {}, ['f32', 'f16']);
    rows = [
      { precision: 'f32', speed: a, mIoU: null, agreementWithF32: null, tuning: tuning[0] },
      { precision: 'f16', speed: b, mIoU: null, agreementWithF32: null, tuning: tuning[1] },
    ];
    // The VOC sample through the programs just timed (the same tuning mode).
    if (o.vocDir) {
      const items = listVocSplit(o.vocDir, 'val');
      const single = await classify(ctx, weights, items, 'f32');
      const half = await classify(ctx, weights, items, 'f16');
      let same = 0;
      let total = 0;
      single.maps.forEach((m, i) => {
        for (let p = 0; p < m.length; p++) if (m[p] === half.maps[i][p]) same++;
        total += m.length;
      });
      rows[0].mIoU = single.mIoU;
      rows[1].mIoU = half.mIoU;
      rows[1].agreementWithF32 = same / total;
    }
  } finally {
    await ctx.tuning.setMode(mode);
  }
  return rows;
}
