// The demo's teach mode: paint class strokes over a few images (unpainted pixels are ignored),
// fine-tune the chosen model on them in a worker (SegmentationWorker.fineTune: the page keeps
// painting while it trains) as the loss curve draws itself, then see the taught model's
// segmentation, download its checkpoint (.safetensors, loadable by loadModel and the CLI) or keep
// it in this browser. The run is kept in the browser's private file system every few steps (the
// library's checkpoints, and the painted images beside them: teach-session.js), so a page reloaded
// mid-run offers to resume it, with the losses of a run never stopped. A data-set folder (chosen
// or dropped, in any format `deeplab train` reads) brings its first images with their labels, as if
// painted, and its classes; a sample brings its label map, from which strokes can be painted
// (teach-paint.js). fineTune's recipe for strokes chooses what the form leaves empty; after a run
// the page tells what it did (teach-report.js: painted and held-out pixels right before and
// after, warnings), and Undo goes back to the model as it was. window.deeplabDemo.teach* is what
// the browser tests drive (teach-hooks.js); it goes through the same functions as the buttons and
// the brush.
import { STROKE_PATTERNS, SegmentationWorker, TRAINING_LOSSES, UNLABELLED, VOC_PALETTE, decodeImageBytes, drawOverlay, keepModel, lastCheckpoint, persistStorage } from '/deeplab.js';
import { capabilities, currentChoice, guarded, loadChoice, status } from '/demo.js';
import { refreshKept, showStorage } from '/kept.js';
import { drawLossCurve } from '/loss-curve.js';
import { folder } from '/teach-folder.js';
import { formSettings, imageDataOf, setForm, showStep } from '/teach-form.js';
import { addRgb, clearItems, items, paintFromLabels, paintLabels, redraw } from '/teach-paint.js';
import { hideFigures, imageFigures, showFigures, teachFigures } from '/teach-report.js';
import { RUN_STORE, clearRun, loadSession, saveSession } from '/teach-session.js';

const $ = (id) => document.getElementById(id);
/** The samples the server has label maps for (their file names). */
let labelled = new Set();
/** The last taught model: its checkpoint's bytes and object URL, the model it was taught from. */
let taught = null;

/** The worker that trains, and what its model is: { value (the choice), taught }. */
export let teachWorker = null;
let holds = null;
/** The chosen models' class names and palettes, by choice. */
const baseInfos = new Map();

/** The chosen model loaded in the teach worker as it was served or kept (again where it holds another, or a taught one). */
async function baseInWorker() {
  const choice = currentChoice();
  teachWorker ??= SegmentationWorker.start('/deeplab-worker.js');
  if (holds?.value !== choice.value || holds.taught) {
    const loading = loadChoice(teachWorker, choice, { what: 'teaching' }).then((r) => r.info);
    holds = { value: choice.value, taught: false, loading };
    loading.catch(() => (holds = null));
    baseInfos.set(choice.value, loading);
  }
  return holds.loading;
}

/** The chosen model's classes and palette (loading it in the teach worker the first time). */
function baseInfo() {
  const choice = currentChoice();
  return baseInfos.get(choice.value) ?? baseInWorker();
}

/** The classes to paint: a loaded folder's, the typed list (a new classifier), else the model's own. */
async function paintClasses() {
  const folderClasses = folder.classes;
  if (folderClasses && $('teach-classes').value === folderClasses.text) {
    return { names: folderClasses.names, palette: folderClasses.palette, custom: folderClasses.classes };
  }
  const typed = $('teach-classes').value.split(',').map((s) => s.trim()).filter(Boolean);
  if (typed.length) return { names: typed, palette: VOC_PALETTE, custom: typed };
  const info = await baseInfo();
  return { names: info.classNames, palette: info.palette, custom: null };
}

/** Fills the class picker (keeping the chosen class where it still exists); the eraser paints "unlabelled". */
export async function refreshClassPicker() {
  const { names, palette } = await paintClasses();
  const picker = $('teach-class');
  const chosen = picker.value;
  picker.replaceChildren();
  names.forEach((name, i) => picker.append(new Option(`${i} ${name}`, String(i))));
  picker.append(new Option('(erase)', String(UNLABELLED)));
  picker.value = [...picker.options].some((o) => o.value === chosen) ? chosen : names.length > 1 ? '1' : '0';
  for (const item of items) redraw(item, palette);
}

/** A stroke: class `value` (or UNLABELLED to erase), brush radius in image pixels, [x, y] points. */
export async function paintStroke(item, value, radius, points) {
  paintLabels(item, value, radius, points);
  redraw(item, (await paintClasses()).palette);
}

/** Adds an image (a Blob) to label; `truthUrl`: its label map. */
export async function addImage(blob, name, truthUrl = null) {
  const item = addRgb(await decodeImageBytes(blob, name), name, paintStroke, undefined, truthUrl);
  await refreshClassPicker();
  status(`${name} added: paint class strokes over it, then Train`);
  return item;
}

/**
 * Fine-tunes the chosen model on the painted images with the form's settings in the teach worker,
 * keeping the run every few steps; with `resume`, goes on from the kept run. Draws the loss after
 * each step; then shows the taught model's segmentation of each image and offers its checkpoint.
 */
export async function train({ resume = false } = {}) {
  if (!items.length) throw new Error('teach: add an image and paint class strokes over it first');
  const s = formSettings();
  const { custom } = await paintClasses();
  const choice = currentChoice();
  await baseInWorker();
  // The labels as taught (the brush may go on painting while it trains).
  const taughtLabels = items.map((i) => ({ labels: i.labels.slice(), width: i.rgb.width, height: i.rgb.height }));
  const samples = items.map((i, k) => ({ image: i.rgb, labels: taughtLabels[k].labels }));
  let losses = [];
  let total = s.steps;
  if (resume) {
    const kept = await lastCheckpoint(RUN_STORE);
    if (!kept) throw new Error('teach: no kept run to resume');
    losses = kept.log.map((r) => r.loss);
    total = kept.steps ?? total;
  } else {
    await saveSession({ model: { value: choice.value, name: choice.name }, settings: s, classes: custom, classesText: $('teach-classes').value, items: items.map((i) => ({ name: i.name, rgb: i.rgb, labels: i.labels })) });
  }
  $('resume-offer').hidden = true;
  hideFigures();
  persistStorage().then(showStorage, () => {});
  $('teach-train').disabled = true;
  $('teach-stop').disabled = false;
  $('teach-undo').disabled = true;
  // What the model gets right before teaching, to tell what the teaching changed.
  const before = [];
  for (const [k, item] of items.entries()) {
    status(`teaching: segmenting ${item.name} with the model as it is (${k + 1} of ${items.length})…`);
    before.push((await teachWorker.segment(imageDataOf(item.rgb))).classes);
  }
  showStep(losses, total ?? 1);
  const t0 = performance.now();
  try {
    const result = await teachWorker.fineTune(samples, {
      recipe: s.recipe,
      steps: s.steps,
      crop: s.crop,
      batch: s.batch,
      lr: s.lr,
      seed: s.seed,
      loss: s.loss,
      classes: custom ?? undefined,
      // Unticked: every crop at the image's scale, unflipped; ticked: the recipe's.
      ...(s.augment ? {} : { scale: [1, 1], flip: false }),
      checkpoint: { store: RUN_STORE, every: s.every },
      resume: resume ? RUN_STORE : undefined,
      onProgress: (m) => status(`teaching: ${m}…`),
      onStep: (r) => {
        losses.push(r.loss);
        total = r.steps;
        showStep(losses, total);
        status(`teaching: step ${r.step} of ${r.steps} (${r.ms.toFixed(0)} ms)`);
      },
    });
    holds.taught = true;
    // The training is over: what follows (the checkpoint's bytes, each image segmented) is not.
    const trainedAt = performance.now();
    const seconds = (trainedAt - t0) / 1000;
    status('teaching: preparing the checkpoint…');
    const bytes = await teachWorker.checkpointBytes();
    if (taught) URL.revokeObjectURL(taught.url);
    taught = { bytes, base: choice.name, url: URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' })), info: result };
    const link = $('teach-download');
    link.href = taught.url;
    link.download = `${choice.name.replace(/\.(tflite|pth|pt|safetensors)$/i, '')}-taught.safetensors`;
    link.textContent = `Download checkpoint (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`;
    link.hidden = false;
    $('keep-name').disabled = false;
    $('keep-name').value ||= `${choice.name}-taught`;
    $('keep-taught').disabled = false;
    const after = [];
    for (const [k, item] of items.entries()) {
      status(`teaching: segmenting ${item.name} with the taught model (${k + 1} of ${items.length})…`);
      const seg = await teachWorker.segment(imageDataOf(item.rgb));
      drawOverlay(item.after, item.rgb, seg, result.palette);
      item.after.hidden = false;
      after.push(seg.classes);
    }
    const figures = teachFigures(taughtLabels, before, after, result.report);
    showFigures(figures);
    const { palette } = await paintClasses();
    items.forEach((item, k) => {
      item.figures = imageFigures(figures.images[k]);
      redraw(item, palette);
    });
    $('teach-undo').disabled = false;
    const stopped = losses.length < total;
    status(
      `${stopped ? `stopped after step ${losses.length} of ${total}` : `taught in ${losses.length} steps`} (${seconds.toFixed(1)} s): loss ${losses[0].toFixed(3)} → ${losses.at(-1).toFixed(3)}` +
        (figures.warnings.length ? ` (${figures.warnings.length} warning${figures.warnings.length === 1 ? '' : 's'} below)` : ''),
    );
    if (stopped) await offerResume();
    return { losses, seconds, trainedFrom: t0, trainedAt, figures };
  } finally {
    $('teach-train').disabled = false;
    $('teach-stop').disabled = true;
  }
}

/** Back to the model before the last teach: the worker's model it was taught from; the taught one's views and download go. */
export async function undoTeach() {
  const info = await teachWorker.undoFineTune();
  holds.taught = false;
  if (taught) URL.revokeObjectURL(taught.url);
  taught = null;
  $('teach-download').hidden = true;
  $('keep-taught').disabled = true;
  $('teach-undo').disabled = true;
  hideFigures();
  const { palette } = await paintClasses();
  for (const item of items) {
    item.after.hidden = true;
    item.figures = null;
    redraw(item, palette);
  }
  status(`undone: back to ${info.name} as it was before teaching`);
  return info;
}

/** Offers the kept run for resuming where it is unfinished; returns what the offer says (null: none). */
export async function offerResume() {
  const [kept, session] = await Promise.all([lastCheckpoint(RUN_STORE).catch(() => null), loadSession().catch(() => null)]);
  if (!kept || !session || kept.step >= (kept.steps ?? Infinity)) {
    $('resume-offer').hidden = true;
    return null;
  }
  const last = kept.log.at(-1);
  $('resume-text').textContent =
    `An unfinished run: step ${kept.step} of ${kept.steps}, teaching ${session.model.name} ${session.items.length} image${session.items.length === 1 ? '' : 's'}` + (last ? ` (loss ${last.loss.toFixed(3)} at step ${last.step}).` : '.');
  $('resume-offer').hidden = false;
  return { step: kept.step, steps: kept.steps, model: session.model.name, images: session.items.length };
}

/** The kept run's images, classes and settings back on the page, then its training resumed. */
export async function resumeRun() {
  const session = await loadSession();
  if (!session) throw new Error('teach: no kept run to resume');
  window.deeplabDemo.chooseModel(session.model.value);
  clearItems();
  folder.classes = null;
  if (session.classes && !Array.isArray(session.classes)) {
    const names = session.classes.names;
    folder.classes = { classes: session.classes, names, palette: Uint8Array.from(session.classes.colors.flat()), text: session.classesText };
  }
  $('teach-classes').value = session.classesText ?? '';
  setForm(session.settings);
  for (const item of session.items) addRgb(item.rgb, item.name, paintStroke, item.labels);
  await refreshClassPicker();
  return train({ resume: true });
}

/** Keeps the last taught model in this browser under `name`. */
export async function keepTaught(name = $('keep-name').value.trim()) {
  if (!taught) throw new Error('keep: teach a model first');
  const info = await keepModel(taught.bytes, { name, base: taught.base });
  persistStorage().then(showStorage, () => {});
  await refreshKept();
  status(`kept '${info.name}' in this browser (${(info.bytes / 2 ** 20).toFixed(1)} MiB): it is in the model list and below`);
  return info;
}

/** Adds a served sample, with its label map where the server has one. */
export async function addSample(name) {
  const label = `${name.replace(/\.[^.]+$/, '')}.png`;
  return addImage(await fetchBlob(`/samples/${name}`), name, labelled.has(label) ? `/labels/${label}` : null);
}

/** Paints the images that have label maps with strokes of the chosen pattern made from them. */
export async function paintPattern(pattern = $('teach-pattern').value) {
  const painted = await paintFromLabels(pattern, (await paintClasses()).palette);
  status(`painted ${pattern} from the labels: ${painted.filter((n) => n > 0).length} image${painted.length === 1 ? '' : 's'}, ${painted.reduce((a, b) => a + b, 0)} pixels; Train when ready`);
  return painted;
}

export async function fetchBlob(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.blob();
}

async function init() {
  for (const l of TRAINING_LOSSES) $('teach-loss-choice').append(new Option(l, l));
  for (const pattern of STROKE_PATTERNS) $('teach-pattern').append(new Option(pattern, pattern));
  const samples = await fetchBlob('/samples/').then((b) => b.text()).then(JSON.parse);
  labelled = new Set(await fetchBlob('/labels/').then((b) => b.text()).then(JSON.parse));
  for (const s of samples) $('teach-sample').append(new Option(s, s));
  drawLossCurve($('teach-loss'), [], Number($('teach-steps').value) || 1);
  if ((await capabilities).teach) await offerResume();
}

const onFiles = guarded(async (files) => {
  for (const file of files) await addImage(file, file.name);
});
$('teach-file').addEventListener('change', (e) => onFiles([...e.target.files]).catch(() => {}));
$('teach-sample').addEventListener('change', (e) => {
  const name = e.target.value;
  if (name) guarded(async () => addSample(name))().catch(() => {});
  e.target.value = '';
});
$('teach-from-labels').addEventListener('click', () => guarded(paintPattern)().catch(() => {}));
$('teach-undo').addEventListener('click', () => guarded(undoTeach)().catch(() => {}));
$('teach-classes').addEventListener('change', () => guarded(refreshClassPicker)().catch(() => {}));
$('model').addEventListener('change', () => items.length && guarded(refreshClassPicker)().catch(() => {}));
$('teach-train').addEventListener('click', () => guarded(train)().catch(() => {}));
$('teach-stop').addEventListener('click', () => {
  teachWorker?.stopFineTune().catch(() => {});
  status('teaching: stopping after this step (the run is kept)…');
});
$('resume-run').addEventListener('click', () => guarded(resumeRun)().catch(() => {}));
$('discard-run').addEventListener('click', () =>
  guarded(async () => {
    await clearRun();
    $('resume-offer').hidden = true;
    status('the unfinished run was discarded');
  })().catch(() => {}),
);
$('keep-taught').addEventListener('click', () => guarded(keepTaught)().catch(() => {}));
$('teach-steps').addEventListener('change', () => drawLossCurve($('teach-loss'), [], Number($('teach-steps').value) || 1));

export const ready = guarded(init)();
