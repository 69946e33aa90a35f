// Part teach: what teaching from strokes (fineTune, the demo's teach mode) does to a model's
// segmentation. The VOC MobileNetV2 (mobilenetv2-pascal-257, the demo's model) is taught strokes
// made from the ground truth (src/train/stroke-patterns.ts: bands, scribbles, clicks; and
// 'corrections', clicks where the untaught model is wrong, as interactive segmentation's
// benchmarks simulate a user) with fineTune's defaults (or --teach-options), then scored against
// the ground truth:
//  - 'single': each image taught alone; its mIoU before and after, over all its pixels, the
//    painted ones and the unpainted ones, and the mean mIoU of the other images (forgetting);
//  - 'group': the images taught three at a time, scored as above;
//  - 'new-class': VOC's classes and Road taught on three CamVid training images; Road's IoU on
//    the CamVid validation images (pooled), and the VOC classes' mIoU there before and after;
//  - 'aeroplane': the demo's aeroplane photo taught scribbles over the aeroplane and the
//    background (12 steps at crop 65, and the defaults): the share of the photo marked aeroplane.
// mIoU is over the classes present in the ground truth or the prediction of an image, as
// `deeplab eval` scores one image. The ground truth of CamVid is mapped onto VOC's classes
// (bench/teach-images.ts).
import { ConfusionMatrix } from '../src/eval/metrics.js';
import type { GpuContext } from '../src/gpu/context.js';
import { type DeepLabModel, loadModel } from '../src/model/model.js';
import { type FineTuneOptions, type FineTuneReport, fineTune } from '../src/train/fine-tune.js';
import { type StrokePattern, correctionsFromLabels, strokesFromLabels } from '../src/train/stroke-patterns.js';
import { UNLABELLED } from '../src/train/teach-samples.js';
import { IGNORE, NEW_CLASS, type TruthImage, WITH_NEW_CLASS, camvidImages, vocImages } from './teach-images.js';

export const TEACH_MODEL = 'mobilenetv2-pascal-257';
export type TeachMode = 'single' | 'group' | 'new-class' | 'aeroplane';

/** How a case's strokes are made: a pattern of the ground truth, or clicks where the untaught model is wrong. */
export type TeachPattern = StrokePattern | 'corrections';

export interface TeachCase {
  name: string;
  dataset: 'voc' | 'camvid';
  mode: TeachMode;
  pattern: TeachPattern;
}

const PATTERNS: StrokePattern[] = ['bands', 'scribbles', 'clicks'];
const IMAGE_PATTERNS: TeachPattern[] = [...PATTERNS, 'corrections'];
export const TEACH_CASES: TeachCase[] = [
  ...(['voc', 'camvid'] as const).flatMap((dataset) => (['single', 'group'] as const).flatMap((mode) => IMAGE_PATTERNS.map((pattern) => ({ name: `${dataset}-${mode}-${pattern}`, dataset, mode, pattern })))),
  ...PATTERNS.map((pattern) => ({ name: `camvid-new-class-${pattern}`, dataset: 'camvid' as const, mode: 'new-class' as const, pattern })),
  { name: 'voc-aeroplane-demo', dataset: 'voc', mode: 'aeroplane', pattern: 'scribbles' },
];

/** The demo's aeroplane photo, and the settings it is taught with there: the issue's 12 steps at crop 65, and the defaults. */
const AEROPLANE_ID = '2007_000033';
const AEROPLANE_RUNS: { name: string; options: Partial<FineTuneOptions> }[] = [
  { name: '12 steps at crop 65', options: { steps: 12, crop: 65 } },
  { name: 'the defaults', options: {} },
];

/** Images taught together in mode 'group'. */
const GROUP = 3;
/** CamVid images: those taught one at a time or in groups, the new class's taught ones (train) and scored ones (val). */
const CAMVID_TAUGHT = 6;
const NEW_CLASS_TAUGHT = 3;

export interface TeachBenchOptions {
  /** fineTune options over the defaults (the recipe), as JSON gives them. */
  overrides: Partial<FineTuneOptions>;
  /** At most this many images a case (the quick run's). */
  images: number;
  /** The VOC sample's images taught and scored, by id, in name order (null: the first `images`). */
  ids: readonly string[] | null;
  /** CamVid validation images the new class is scored on (null: all 101). */
  camvidVal: number | null;
  /** Brush radius of scribbles and clicks in the images' pixels (null: the patterns' own, 3). */
  radius: number | null;
}

/** mIoU (%) of `pred` against `truth` over the pixels `where` allows (all scored pixels by default). */
export function miou(pred: Uint8Array, truth: Uint8Array, classes: number, where?: (p: number) => boolean): number {
  const m = new ConfusionMatrix(classes, IGNORE);
  const gt = where ? truth.map((v, p) => (where(p) ? v : IGNORE)) : truth;
  m.add(pred, gt);
  return 100 * m.meanIouPresent();
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

async function segmentAll(model: DeepLabModel, images: readonly TruthImage[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const im of images) out.push((await model.segment(im.image)).classes);
  return out;
}

/** Each image's strokes: the case's pattern of its ground truth, or clicks where `before` (the untaught model's classes) is wrong. */
function strokesOf(pattern: TeachPattern, images: readonly TruthImage[], radius: number | null, before?: readonly Uint8Array[]): Uint8Array[] {
  const brush = radius === null ? {} : { radius };
  return images.map((im, i) => {
    const { width, height } = im.image;
    if (pattern !== 'corrections') return strokesFromLabels(im.truth, width, height, pattern, { seed: i, ignore: IGNORE, ...brush });
    if (!before) throw new Error(`teach: 'corrections' needs the untaught model's classes`);
    return correctionsFromLabels(im.truth, before[i], width, height, { ignore: IGNORE, ...brush });
  });
}

/** One teach: the model taught the images at `taught` (indices into `images`), then every image segmented. */
async function teachOnce(base: DeepLabModel, images: readonly TruthImage[], taught: number[], strokes: Uint8Array[], o: TeachBenchOptions, classes?: readonly string[]) {
  let report: FineTuneReport | null = null;
  const losses: number[] = [];
  const t0 = performance.now();
  const model = await fineTune(
    base,
    taught.map((i) => ({ image: images[i].image, labels: strokes[i] })),
    { ...o.overrides, ...(classes ? { classes } : {}), onReport: (r) => void (report = r), onStep: (r) => void losses.push(r.loss) },
  );
  const seconds = (performance.now() - t0) / 1000;
  try {
    return { preds: await segmentAll(model, images), report: report! as FineTuneReport, losses, seconds };
  } finally {
    model.dispose();
  }
}

/** The held-out strokes' loss and mIoU (%), and where the run distils the drift: before the first step, at the step kept, at the last. */
function heldOutRow(r: FineTuneReport) {
  if (!r.heldOut) return null;
  const { measured } = r.heldOut;
  const kept = measured.find((m) => m.step === r.keptStep) ?? measured.at(-1)!;
  const row = { before: r.heldOut.before, after: r.heldOut.after, last: measured.at(-1)!.loss, miou: { before: measured[0].miou, after: kept.miou, last: measured.at(-1)!.miou } };
  // Where the run distils: the unpainted pixels' loss against the starting model's classes.
  return measured[0].drift === undefined ? row : { ...row, drift: { before: measured[0].drift, after: kept.drift!, last: measured.at(-1)!.drift!, weight: r.heldOut.driftWeight } };
}

/** A row's scores of image i: over all its pixels, the painted ones, the unpainted ones. */
function scoresOf(pred: Uint8Array, im: TruthImage, strokes: Uint8Array, classes: number) {
  return {
    image: miou(pred, im.truth, classes),
    painted: miou(pred, im.truth, classes, (p) => strokes[p] !== UNLABELLED),
    unpainted: miou(pred, im.truth, classes, (p) => strokes[p] === UNLABELLED),
  };
}

/** Rows of mode 'single' or 'group': one per teach. */
async function teachImages(base: DeepLabModel, c: TeachCase, images: TruthImage[], o: TeachBenchOptions, say: (line: string) => void) {
  const C = base.numClasses;
  const before = await segmentAll(base, images);
  const strokes = strokesOf(c.pattern, images, o.radius, before);
  const groups = c.mode === 'single' ? images.map((_, i) => [i]) : Array.from({ length: Math.floor(images.length / GROUP) }, (_, g) => Array.from({ length: GROUP }, (_, k) => g * GROUP + k));
  const rows = [];
  for (const group of groups) {
    // Nothing to teach (corrections where the model is right on every region large enough): the model stays as it was.
    const nothing = group.every((i) => strokes[i].every((v) => v === UNLABELLED));
    const run = nothing ? { preds: before, report: null, losses: [], seconds: 0 } : await teachOnce(base, images, group, strokes, o);
    const others = images.map((_, i) => i).filter((i) => !group.includes(i));
    const row = {
      taught: group.map((i) => ({
        id: images[i].id,
        painted: strokes[i].filter((v) => v !== UNLABELLED).length,
        pixels: strokes[i].length,
        before: scoresOf(before[i], images[i], strokes[i], C),
        after: scoresOf(run.preds[i], images[i], strokes[i], C),
      })),
      others: { images: others.length, before: mean(others.map((i) => miou(before[i], images[i].truth, C))), after: mean(others.map((i) => miou(run.preds[i], images[i].truth, C))) },
      heldOut: run.report ? heldOutRow(run.report) : null,
      keptStep: run.report?.keptStep ?? 0,
      warnings: run.report?.warnings ?? ['nothing painted: not taught'],
      settings: run.report?.settings ?? null,
      losses: run.losses,
      seconds: run.seconds,
    };
    const t = row.taught;
    say(
      `${c.name} ${t.map((x) => x.id).join('+')}: taught ${mean(t.map((x) => x.before.image)).toFixed(1)} -> ${mean(t.map((x) => x.after.image)).toFixed(1)} ` +
        `(painted ${mean(t.map((x) => x.before.painted)).toFixed(1)} -> ${mean(t.map((x) => x.after.painted)).toFixed(1)}, unpainted ${mean(t.map((x) => x.before.unpainted)).toFixed(1)} -> ${mean(t.map((x) => x.after.unpainted)).toFixed(1)}); ` +
        `others ${row.others.before.toFixed(1)} -> ${row.others.after.toFixed(1)}; held-out ${row.heldOut ? `${row.heldOut.before.toFixed(3)} -> ${row.heldOut.last.toFixed(3)} (kept step ${row.keptStep}: ${row.heldOut.after.toFixed(3)}; mIoU ${row.heldOut.miou.before.toFixed(1)} -> ${row.heldOut.miou.after.toFixed(1)})` : '-'}; ${row.seconds.toFixed(0)} s`,
    );
    rows.push(row);
  }
  return rows;
}

/** Road's IoU (%) over all of `images` pooled, and the other classes' mIoU (present) pooled. */
function newClassScores(preds: Uint8Array[], images: readonly TruthImage[], classes: number) {
  const m = new ConfusionMatrix(classes, IGNORE);
  for (const [i, im] of images.entries()) m.add(preds[i], im.truth);
  const iou = m.iou();
  const road = classes - 1;
  const others = iou.slice(0, road).filter((v) => !Number.isNaN(v));
  return { road: 100 * (Number.isNaN(iou[road]) ? 0 : iou[road]), vocClasses: 100 * mean(others), pixelAccuracy: 100 * m.pixelAccuracy() };
}

/** The row of mode 'new-class'. */
async function teachNewClass(base: DeepLabModel, c: TeachCase, o: TeachBenchOptions, say: (line: string) => void) {
  const taughtImages = await camvidImages('train', NEW_CLASS_TAUGHT, true);
  const val = await camvidImages('val', o.camvidVal, true);
  if (c.pattern === 'corrections') throw new Error(`teach: ${c.name}: a new class is taught from a pattern of the ground truth`);
  const strokes = strokesOf(c.pattern, taughtImages, o.radius);
  // The untaught model has no Road: its predictions scored in the 22 classes (Road never predicted).
  const before = newClassScores(await segmentAll(base, val), val, WITH_NEW_CLASS.length);
  const all = [...taughtImages, ...val];
  const run = await teachOnce(base, all, taughtImages.map((_, i) => i), [...strokes, ...val.map(() => new Uint8Array(0))], o, WITH_NEW_CLASS);
  const after = newClassScores(run.preds.slice(taughtImages.length), val, WITH_NEW_CLASS.length);
  const taughtRoad = newClassScores(run.preds.slice(0, taughtImages.length), taughtImages, WITH_NEW_CLASS.length).road;
  say(`${c.name}: ${NEW_CLASS} IoU on ${val.length} CamVid val images ${after.road.toFixed(1)} (on the taught images ${taughtRoad.toFixed(1)}); VOC classes' mIoU there ${before.vocClasses.toFixed(1)} -> ${after.vocClasses.toFixed(1)}; ${run.seconds.toFixed(0)} s`);
  return [{
    taught: taughtImages.map((im, i) => ({ id: im.id, painted: strokes[i].filter((v) => v !== UNLABELLED).length, pixels: strokes[i].length })),
    scoredOn: val.length, before, after, taughtRoad,
    heldOut: heldOutRow(run.report),
    keptStep: run.report.keptStep, warnings: run.report.warnings, settings: run.report.settings, losses: run.losses, seconds: run.seconds,
  }];
}

/** Rows of mode 'aeroplane': the share of the photo marked aeroplane, untaught and after each run. */
async function teachAeroplane(base: DeepLabModel, c: TeachCase, o: TeachBenchOptions, say: (line: string) => void) {
  const images = (await vocImages()).filter((im) => im.id === AEROPLANE_ID);
  const strokes = strokesOf(c.pattern, images, o.radius, await segmentAll(base, images));
  const share = (classes: Uint8Array): number => (100 * classes.filter((v) => v === 1).length) / classes.length;
  const untaught = share((await segmentAll(base, images))[0]);
  const truth = share(images[0].truth);
  const rows = [];
  for (const run of AEROPLANE_RUNS) {
    const r = await teachOnce(base, images, [0], strokes, { ...o, overrides: { ...o.overrides, ...run.options } });
    const row = { run: run.name, aeroplane: share(r.preds[0]), untaught, truth, keptStep: r.report.keptStep, warnings: r.report.warnings, settings: r.report.settings, losses: r.losses, seconds: r.seconds };
    say(`${c.name} (${run.name}): ${row.aeroplane.toFixed(1)} % of the photo marked aeroplane (untaught ${untaught.toFixed(1)} %, ground truth ${truth.toFixed(1)} %); kept step ${row.keptStep}; ${row.seconds.toFixed(0)} s`);
    rows.push(row);
  }
  return rows;
}

/** Every case asked for: its rows and a summary line each. */
export async function benchTeach(ctx: GpuContext, cases: readonly TeachCase[], o: TeachBenchOptions, say: (line: string) => void = console.log) {
  const base = await loadModel(TEACH_MODEL, { ctx });
  try {
    const results = [];
    for (const c of cases) {
      let rows;
      if (c.mode === 'new-class') rows = await teachNewClass(base, c, o, say);
      else if (c.mode === 'aeroplane') rows = await teachAeroplane(base, c, o, say);
      else rows = await teachImages(base, c, c.dataset === 'voc' ? await vocImages(o.images, o.ids) : await camvidImages('val', Math.min(o.images, CAMVID_TAUGHT), false), o, say);
      results.push({ case: c, rows });
    }
    return results;
  } finally {
    base.dispose();
  }
}
