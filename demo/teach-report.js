// What a teach did, told on the page: the share of the painted pixels the model gets right before
// and after (over the strokes it was taught and over those fineTune held out, found as fineTune
// finds them: splitStrokes with the run's holdOut and seed), the held-out strokes' loss, how far
// the model moved from its own classes where nothing is painted, the step kept, and a warning
// where the teaching did not help: the loss rose, the held-out strokes got worse, or fewer
// painted pixels are right than before.
import { UNLABELLED, splitStrokes } from '/deeplab.js';

const $ = (id) => document.getElementById(id);

/** Percent of the pixels `labels` paints where `classes` agrees (null where it paints none). */
function agreement(classes, labels) {
  let right = 0;
  let n = 0;
  for (let p = 0; p < labels.length; p++) {
    if (labels[p] === UNLABELLED) continue;
    n++;
    if (classes[p] === labels[p]) right++;
  }
  return n ? (100 * right) / n : null;
}

const pct = (v) => (v === null ? '–' : `${v.toFixed(1)} %`);

/**
 * The figures of a teach: `taught` holds each image's { labels (as taught), width, height },
 * `before` and `after` each image's class map by the model before and after, `report` fineTune's.
 */
export function teachFigures(taught, before, after, report) {
  const { holdOut, seed } = report.settings;
  const images = taught.map((t, i) => {
    const { train, heldOut } = splitStrokes(t.labels, t.width, t.height, holdOut, seed + i, UNLABELLED);
    return {
      painted: { before: agreement(before[i], train), after: agreement(after[i], train) },
      heldOut: heldOut ? { before: agreement(before[i], heldOut), after: agreement(after[i], heldOut) } : null,
    };
  });
  const warnings = [...report.warnings];
  images.forEach((f, i) => {
    if (f.painted.after < f.painted.before) warnings.push(`image ${i + 1}: fewer painted pixels right than before (${pct(f.painted.before)} → ${pct(f.painted.after)})`);
    if (f.heldOut && f.heldOut.after < f.heldOut.before) warnings.push(`image ${i + 1}: fewer held-out pixels right than before (${pct(f.heldOut.before)} → ${pct(f.heldOut.after)})`);
  });
  // Where the run distils: how far the model moved from its own classes where nothing is painted, before and at the step kept.
  const measured = report.heldOut?.measured ?? [];
  const kept = measured.find((m) => m.step === report.keptStep);
  const drift = measured[0]?.drift !== undefined && kept ? { before: measured[0].drift, after: kept.drift } : null;
  return { images, heldOutLoss: report.heldOut && { before: report.heldOut.before, after: report.heldOut.after }, drift, keptBy: report.settings.keep, keptStep: report.keptStep, steps: report.steps, warnings };
}

/** One image's figures in words, for its caption. */
export function imageFigures(f) {
  return `painted pixels right ${pct(f.painted.before)} → ${pct(f.painted.after)}` + (f.heldOut ? `; held-out ${pct(f.heldOut.before)} → ${pct(f.heldOut.after)}` : '');
}

/** Shows the figures under the curve: the held-out strokes, the step kept, and the warnings (none: the box says so). */
export function showFigures(figures) {
  const h = figures.heldOutLoss;
  const d = figures.drift;
  const judged = d && figures.keptBy === 'least-loss' ? 'the held-out strokes and the unpainted pixels together' : 'the held-out strokes';
  $('teach-figures').textContent =
    (h ? `Held-out strokes: loss ${h.before.toFixed(3)} before teaching, ${h.after.toFixed(3)} after. ` : 'No strokes were held out. ') +
    (d ? `Unpainted pixels against the model's own classes: loss ${d.before.toFixed(3)} before, ${d.after.toFixed(3)} after. ` : '') +
    (figures.keptStep === figures.steps ? `The model of the last step (${figures.steps}) is kept.` : figures.keptStep === 0 ? 'No step did better than the model as it was: it is kept unchanged.' : `The model of step ${figures.keptStep} of ${figures.steps}, the best on ${judged}, is kept.`);
  const list = $('teach-warnings');
  list.replaceChildren(...figures.warnings.map((w) => Object.assign(document.createElement('li'), { textContent: w })));
  list.hidden = figures.warnings.length === 0;
  $('teach-report').hidden = false;
}

/** Clears the figures (a new run, or an undo). */
export function hideFigures() {
  $('teach-report').hidden = true;
  $('teach-warnings').replaceChildren();
}
