// Part teach of the runner (bench/run.ts): bench/teach.ts's cases, one row per teach, and each
// case summed up in the figures the recipe is judged by (docs/training.md#teaching-from-strokes).
import type { GpuContext } from '../src/gpu/context.js';
import { TEACH_MODEL, benchTeach } from './teach.js';
import type { Options, Result } from './run-options.js';

type CaseResult = Awaited<ReturnType<typeof benchTeach>>[number];

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A case's figures: the taught images' mIoU change (mean and worst), the others', the held-out strokes'. */
export function summarize(r: CaseResult) {
  if (r.case.mode === 'aeroplane') {
    const rows = r.rows as { run: string; aeroplane: number; untaught: number; truth: number; keptStep: number }[];
    return { case: r.case.name, untaught: rows[0].untaught, truth: rows[0].truth, runs: rows.map(({ run, aeroplane, keptStep }) => ({ run, aeroplane, keptStep })) };
  }
  if (r.case.mode === 'new-class') {
    const row = r.rows[0] as { before: { vocClasses: number }; after: { road: number; vocClasses: number }; taughtRoad: number; seconds: number };
    return { case: r.case.name, newClassIoU: row.after.road, newClassIoUTaught: row.taughtRoad, vocClassesBefore: row.before.vocClasses, vocClassesAfter: row.after.vocClasses, seconds: row.seconds };
  }
  type Row = { taught: { before: { image: number; painted: number; unpainted: number }; after: { image: number; painted: number; unpainted: number } }[]; others: { before: number; after: number }; heldOut: { before: number; after: number; last: number } | null; seconds: number };
  const rows = r.rows as Row[];
  const taught = rows.flatMap((row) => row.taught);
  const deltas = taught.map((t) => t.after.image - t.before.image);
  const held = rows.filter((row) => row.heldOut);
  return {
    case: r.case.name,
    teaches: rows.length,
    taughtBefore: mean(taught.map((t) => t.before.image)),
    taughtAfter: mean(taught.map((t) => t.after.image)),
    taughtGain: mean(deltas),
    worstTaughtChange: Math.min(...deltas),
    paintedBefore: mean(taught.map((t) => t.before.painted)),
    paintedAfter: mean(taught.map((t) => t.after.painted)),
    unpaintedBefore: mean(taught.map((t) => t.before.unpainted)),
    unpaintedAfter: mean(taught.map((t) => t.after.unpainted)),
    othersBefore: mean(rows.map((row) => row.others.before)),
    othersAfter: mean(rows.map((row) => row.others.after)),
    othersChange: mean(rows.map((row) => row.others.after - row.others.before)),
    /** Teaches whose model returned (the step kept) has a held-out loss below the one it began at; and whose last step had. */
    heldOutFell: held.filter((row) => row.heldOut!.after < row.heldOut!.before).length,
    heldOutFellByLastStep: held.filter((row) => row.heldOut!.last < row.heldOut!.before).length,
    heldOutMeasured: held.length,
    seconds: mean(rows.map((row) => row.seconds)),
  };
}

export async function teachPart(ctx: GpuContext, o: Options): Promise<Result[]> {
  const results = await benchTeach(ctx, o.teachCases, { overrides: o.teachOverrides, images: o.teachImages, ids: o.teachIds, camvidVal: o.teachVal, radius: o.teachRadius });
  const summaries = results.map(summarize);
  console.log('\nteach: mIoU (%) before -> after; held-out strokes: teaches whose held-out loss ended below its start');
  for (const s of summaries) console.log(`  ${JSON.stringify(s, (_, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(2)) : v))}`);
  return results.map((r, k) => ({ part: 'teach', model: TEACH_MODEL, engine: 'ours', batch: 1, medianMs: null, firstRunMs: null, peakBytes: null, case: r.case, overrides: o.teachOverrides, strokeRadius: o.teachRadius, summary: summaries[k], rows: r.rows }));
}
