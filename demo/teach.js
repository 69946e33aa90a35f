// The demo's teach mode: paint class strokes over a few images (unpainted pixels are ignored),
// fine-tune the chosen model on them in a worker (SegmentationWorker.fineTune: the page keeps
// painting while it trains) as the loss curve draws itself, then see the taught model's
// segmentation, download its checkpoint (.safetensors, loadable by loadModel and the CLI) or keep
// it in this browser. The run is kept in the browser's private file system every few steps (the
// library's checkpoints, and the painted images beside them: teach-session.js), so a page reloaded
// mid-run offers to resume it, with the losses of a run never stopped. A data-set folder (chosen
// or dropped, in any format `deeplab train` reads) brings its first images with their labels, as if
// painted, and its classes. window.deeplabDemo.teach* is what the browser tests drive; it goes
// through the same functions as the buttons and the brush.
import { PAGE_DATASET_FORMATS, SegmentationWorker, TRAINING_LOSSES, UNLABELLED, VOC_PALETTE, datasetFromFiles, decodeImageBytes, drawOverlay, filesFromDataTransfer, keepModel, lastCheckpoint, persistStorage } from '/deeplab.js';
import { capabilities, currentChoice, guarded, loadChoice, status } from '/demo.js';
import { refreshKept, showStorage } from '/kept.js';
import { drawLossCurve } from '/loss-curve.js';
import { RUN_STORE, clearRun, loadSession, saveSession } from '/teach-session.js';

const $ = (id) => document.getElementById(id);
/** The images being labelled: { name, rgb, labels, photo (RGBA), canvas, after, info }. */
const items = [];
/** The last taught model: its checkpoint's bytes and object URL, the model it was taught from. */
let taught = null;
/** A loaded folder's classes ({ classes, names, palette, text }) while the class field still shows them (`text`). */
let folderClasses = null;
/** The last folder's loading, for the test hooks. */
let folderLoad = null;
/**
 * How many images of a folder teach mode takes (its first, in the format's order): each is a
 * canvas on the page and fineTune cycles over them; `deeplab train` is for whole data sets.
 */
const MAX_FOLDER_IMAGES = 12;

/** The worker that trains, and what its model is: { value (the choice), taught }. */
let teachWorker = null;
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
  if (folderClasses && $('teach-classes').value === folderClasses.text) {
    return { names: folderClasses.names, palette: folderClasses.palette, custom: folderClasses.classes };
  }
  const typed = $('teach-classes').value.split(',').map((s) => s.trim()).filter(Boolean);
  if (typed.length) return { names: typed, palette: VOC_PALETTE, custom: typed };
  const info = await baseInfo();
  return { names: info.classNames, palette: info.palette, custom: null };
}

/** Fills the class picker (keeping the chosen class where it still exists); the eraser paints "unlabelled". */
async function refreshClassPicker() {
  const { names, palette } = await paintClasses();
  const picker = $('teach-class');
  const chosen = picker.value;
  picker.replaceChildren();
  names.forEach((name, i) => picker.append(new Option(`${i} ${name}`, String(i))));
  picker.append(new Option('(erase)', String(UNLABELLED)));
  picker.value = [...picker.options].some((o) => o.value === chosen) ? chosen : names.length > 1 ? '1' : '0';
  for (const item of items) redraw(item, palette);
}

/** The photo with the painted labels blended in their class colours. */
function redraw(item, palette) {
  const { width, height } = item.rgb;
  const out = new ImageData(width, height);
  out.data.set(item.photo);
  for (let p = 0; p < width * height; p++) {
    const c = item.labels[p];
    if (c === UNLABELLED) continue;
    for (let k = 0; k < 3; k++) out.data[4 * p + k] = Math.round(0.4 * item.photo[4 * p + k] + 0.6 * palette[3 * c + k]);
  }
  item.canvas.getContext('2d').putImageData(out, 0, 0);
  let painted = 0;
  for (const c of item.labels) if (c !== UNLABELLED) painted++;
  item.info.textContent = `${item.name}: ${width}x${height}, ${painted} pixels painted`;
}

/** Labels `value` in a disc of `radius` around each point of the polyline (the brush). */
function paintLabels(item, value, radius, points) {
  const { width, height } = item.rgb;
  const stamp = (cx, cy) => {
    for (let y = Math.max(0, Math.ceil(cy - radius)); y <= Math.min(height - 1, Math.floor(cy + radius)); y++) {
      for (let x = Math.max(0, Math.ceil(cx - radius)); x <= Math.min(width - 1, Math.floor(cx + radius)); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius) item.labels[y * width + x] = value;
      }
    }
  };
  points.forEach(([x, y], i) => {
    const [px, py] = i === 0 ? [x, y] : points[i - 1];
    const n = Math.max(1, Math.ceil(Math.hypot(x - px, y - py) / Math.max(0.5, radius / 2)));
    for (let k = 1; k <= n; k++) stamp(px + ((x - px) * k) / n, py + ((y - py) * k) / n);
  });
}

/** A stroke: class `value` (or UNLABELLED to erase), brush radius in image pixels, [x, y] points. */
async function paintStroke(item, value, radius, points) {
  paintLabels(item, value, radius, points);
  redraw(item, (await paintClasses()).palette);
}

/** The brush on an image's canvas: pointer positions in image pixels, a stroke per drag. */
function attachBrush(item) {
  let last = null;
  const at = (e) => {
    const r = item.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * item.canvas.width) / r.width, ((e.clientY - r.top) * item.canvas.height) / r.height];
  };
  const brush = () => {
    const scale = item.canvas.width / item.canvas.getBoundingClientRect().width;
    return { value: Number($('teach-class').value), radius: Number($('teach-brush').value) * scale };
  };
  item.canvas.addEventListener('pointerdown', (e) => {
    item.canvas.setPointerCapture(e.pointerId);
    last = at(e);
    const { value, radius } = brush();
    paintStroke(item, value, radius, [last]).catch(() => {});
  });
  item.canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const point = at(e);
    const { value, radius } = brush();
    paintStroke(item, value, radius, [last, point]).catch(() => {});
    last = point;
  });
  const end = () => (last = null);
  item.canvas.addEventListener('pointerup', end);
  item.canvas.addEventListener('pointercancel', end);
}

/** Adds an image (a Blob) to label. */
async function addImage(blob, name) {
  const item = addRgb(await decodeImageBytes(blob, name), name);
  await refreshClassPicker();
  status(`${name} added: paint class strokes over it, then Train`);
  return item;
}

/**
 * Adds an image (RGB) with its labels (default: none painted): a canvas to paint on, and one for
 * the taught model's prediction.
 */
function addRgb(rgb, name, labels = new Uint8Array(rgb.width * rgb.height).fill(UNLABELLED)) {
  const photo = new Uint8ClampedArray(4 * rgb.width * rgb.height);
  for (let p = 0; p < rgb.width * rgb.height; p++) {
    photo.set(rgb.data.subarray(3 * p, 3 * p + 3), 4 * p);
    photo[4 * p + 3] = 255;
  }
  const card = document.createElement('figure');
  card.className = 'teach-card';
  const canvas = Object.assign(document.createElement('canvas'), { width: rgb.width, height: rgb.height, title: 'paint class strokes here' });
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${name}, with the painted classes`);
  const after = Object.assign(document.createElement('canvas'), { width: 0, height: 0, hidden: true, title: "the taught model's segmentation" });
  after.setAttribute('role', 'img');
  after.setAttribute('aria-label', `${name}, segmented by the taught model`);
  const info = document.createElement('figcaption');
  const remove = Object.assign(document.createElement('button'), { type: 'button', textContent: `Remove ${name}` });
  card.append(canvas, after, info, remove);
  $('teach-images').append(card);
  const item = { name, rgb, labels, photo, canvas, after, info };
  remove.addEventListener('click', () => {
    items.splice(items.indexOf(item), 1);
    card.remove();
  });
  items.push(item);
  attachBrush(item);
  return item;
}

const clearItems = () => {
  for (const item of items.splice(0)) item.canvas.parentElement.remove();
};

/**
 * A data-set folder's files (chosen or dropped): its split opened as `deeplab train` opens it,
 * its first images replacing the ones on the page with their labels painted (editable with the
 * brush), and its classes to paint and train.
 */
async function loadFolder(files) {
  status(`reading the folder (${files.length} files)…`);
  const split = $('teach-split').value.trim() || undefined;
  const format = $('teach-format').value || undefined;
  const data = await datasetFromFiles(files, { split, format, maxImages: MAX_FOLDER_IMAGES });
  clearItems();
  const names = data.classes.names;
  folderClasses = { classes: data.classes, names, palette: Uint8Array.from(data.classes.colors.flat()), text: names.join(', ') };
  $('teach-classes').value = folderClasses.text;
  data.samples.forEach((sample, k) => addRgb(sample.image, data.ids[k], sample.labels));
  await refreshClassPicker();
  const kept =
    data.images > data.samples.length
      ? `its first ${data.samples.length} of ${data.images} images (teach mode takes at most ${MAX_FOLDER_IMAGES}; deeplab train takes them all)`
      : `its ${data.images} image${data.images === 1 ? '' : 's'}`;
  status(`${data.dir}: ${data.format}, split '${data.split}' (splits: ${data.splits.join(', ')}): ${kept}, labelled, ${names.length} classes; edit the labels or Train`);
  return data;
}

/** A whole-number setting of the form, checked. */
function setting(id, what, isValid) {
  const value = Number($(id).value);
  if (!isValid(value)) throw new Error(`teach: ${what} must be ${isValid.rule}, got '${$(id).value}'`);
  return value;
}
const positiveInt = Object.assign((v) => Number.isInteger(v) && v >= 1, { rule: 'a positive whole number' });
const positive = Object.assign((v) => Number.isFinite(v) && v > 0, { rule: 'a positive number' });

/** The form's settings, checked. */
function formSettings() {
  return {
    steps: setting('teach-steps', 'steps', positiveInt),
    crop: setting('teach-crop', 'the crop', positiveInt),
    batch: setting('teach-batch', 'the batch', positiveInt),
    lr: setting('teach-lr', 'the learning rate', positive),
    seed: Number($('teach-seed').value) || 0,
    // Any of deeplab train's losses; 'bce' and 'bce+dice' for a binary model (smp classes 1).
    loss: $('teach-loss-choice').value || 'ce',
    // Without augmentation every crop is taken at the image's scale, unflipped.
    augment: $('teach-augment').checked,
    every: setting('teach-every', 'the checkpoint interval', positiveInt),
  };
}

/** Puts settings back into the form. */
function setForm(s) {
  const fields = { 'teach-steps': s.steps, 'teach-crop': s.crop, 'teach-batch': s.batch, 'teach-lr': s.lr, 'teach-seed': s.seed, 'teach-loss-choice': s.loss ?? 'ce', 'teach-every': s.every ?? 5 };
  for (const [id, v] of Object.entries(fields)) $(id).value = String(v);
  $('teach-augment').checked = s.augment !== false;
}

/** RGB as ImageData, for the worker. */
function imageDataOf(rgb) {
  const out = new ImageData(rgb.width, rgb.height);
  for (let p = 0; p < rgb.width * rgb.height; p++) {
    out.data[4 * p] = rgb.data[3 * p];
    out.data[4 * p + 1] = rgb.data[3 * p + 1];
    out.data[4 * p + 2] = rgb.data[3 * p + 2];
    out.data[4 * p + 3] = 255;
  }
  return out;
}

/** The curve and the progress line after each step. */
function showStep(losses, steps) {
  drawLossCurve($('teach-loss'), losses, steps);
  $('teach-bar').max = steps;
  $('teach-bar').value = losses.length;
  $('teach-progress').textContent = losses.length ? `step ${losses.length}/${steps}: loss ${losses.at(-1).toFixed(4)}` : `starting: ${steps} steps`;
}

/**
 * Fine-tunes the chosen model on the painted images with the form's settings in the teach worker,
 * keeping the run every few steps; with `resume`, goes on from the kept run. Draws the loss after
 * each step; then shows the taught model's segmentation of each image and offers its checkpoint.
 */
async function train({ resume = false } = {}) {
  if (!items.length) throw new Error('teach: add an image and paint class strokes over it first');
  const s = formSettings();
  const { custom } = await paintClasses();
  const choice = currentChoice();
  await baseInWorker();
  const samples = items.map((i) => ({ image: i.rgb, labels: i.labels }));
  let losses = [];
  if (resume) {
    const kept = await lastCheckpoint(RUN_STORE);
    if (!kept) throw new Error('teach: no kept run to resume');
    losses = kept.log.map((r) => r.loss);
  } else {
    await saveSession({ model: { value: choice.value, name: choice.name }, settings: s, classes: custom, classesText: $('teach-classes').value, items: items.map((i) => ({ name: i.name, rgb: i.rgb, labels: i.labels })) });
  }
  $('resume-offer').hidden = true;
  persistStorage().then(showStorage, () => {});
  $('teach-train').disabled = true;
  $('teach-stop').disabled = false;
  showStep(losses, s.steps);
  const t0 = performance.now();
  try {
    const result = await teachWorker.fineTune(samples, {
      steps: s.steps,
      crop: s.crop,
      batch: s.batch,
      lr: s.lr,
      seed: s.seed,
      loss: s.loss,
      classes: custom ?? undefined,
      scale: s.augment ? undefined : [1, 1],
      flip: s.augment,
      checkpoint: { store: RUN_STORE, every: s.every },
      resume: resume ? RUN_STORE : undefined,
      onProgress: (m) => status(`teaching: ${m}…`),
      onStep: (r) => {
        losses.push(r.loss);
        showStep(losses, s.steps);
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
    for (const [k, item] of items.entries()) {
      status(`teaching: segmenting ${item.name} with the taught model (${k + 1} of ${items.length})…`);
      const seg = await teachWorker.segment(imageDataOf(item.rgb));
      drawOverlay(item.after, item.rgb, seg, result.palette);
      item.after.hidden = false;
    }
    const stopped = losses.length < s.steps;
    status(`${stopped ? `stopped after step ${losses.length} of ${s.steps}` : `taught in ${losses.length} steps`} (${seconds.toFixed(1)} s): loss ${losses[0].toFixed(3)} → ${losses.at(-1).toFixed(3)}`);
    if (stopped) await offerResume();
    return { losses, seconds, trainedFrom: t0, trainedAt };
  } finally {
    $('teach-train').disabled = false;
    $('teach-stop').disabled = true;
  }
}

/** Offers the kept run for resuming where it is unfinished; returns what the offer says (null: none). */
async function offerResume() {
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
async function resumeRun() {
  const session = await loadSession();
  if (!session) throw new Error('teach: no kept run to resume');
  window.deeplabDemo.chooseModel(session.model.value);
  clearItems();
  folderClasses = null;
  if (session.classes && !Array.isArray(session.classes)) {
    const names = session.classes.names;
    folderClasses = { classes: session.classes, names, palette: Uint8Array.from(session.classes.colors.flat()), text: session.classesText };
  }
  $('teach-classes').value = session.classesText ?? '';
  setForm(session.settings);
  for (const item of session.items) addRgb(item.rgb, item.name, item.labels);
  await refreshClassPicker();
  return train({ resume: true });
}

/** Keeps the last taught model in this browser under `name`. */
async function keepTaught(name = $('keep-name').value.trim()) {
  if (!taught) throw new Error('keep: teach a model first');
  const info = await keepModel(taught.bytes, { name, base: taught.base });
  persistStorage().then(showStorage, () => {});
  await refreshKept();
  status(`kept '${info.name}' in this browser (${(info.bytes / 2 ** 20).toFixed(1)} MiB): it is in the model list and below`);
  return info;
}

async function fetchBlob(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.blob();
}

function toBase64(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

async function init() {
  for (const f of PAGE_DATASET_FORMATS) $('teach-format').append(new Option(f, f));
  for (const l of TRAINING_LOSSES) $('teach-loss-choice').append(new Option(l, l));
  const samples = await fetchBlob('/samples/').then((b) => b.text()).then(JSON.parse);
  for (const s of samples) $('teach-sample').append(new Option(s, s));
  drawLossCurve($('teach-loss'), [], Number($('teach-steps').value) || 1);
  if ((await capabilities).teach) await offerResume();
}

const onFolder = (files) => {
  folderLoad = guarded(loadFolder)(files);
  folderLoad.catch(() => {}); // shown on the page; the test hooks await it themselves
};
$('teach-folder').addEventListener('change', (e) => {
  const files = [...e.target.files];
  e.target.value = '';
  onFolder(files);
});
const folderDrop = $('teach-drop');
folderDrop.addEventListener('dragover', (e) => {
  e.preventDefault();
  folderDrop.classList.add('over');
});
folderDrop.addEventListener('dragleave', () => folderDrop.classList.remove('over'));
folderDrop.addEventListener('drop', (e) => {
  e.preventDefault();
  folderDrop.classList.remove('over');
  // The dropped entries are taken now: the DataTransfer is readable only during the event.
  const files = filesFromDataTransfer(e.dataTransfer);
  folderLoad = guarded(async () => loadFolder(await files))();
  folderLoad.catch(() => {});
});
const onFiles = guarded(async (files) => {
  for (const file of files) await addImage(file, file.name);
});
$('teach-file').addEventListener('change', (e) => onFiles([...e.target.files]).catch(() => {}));
$('teach-sample').addEventListener('change', (e) => {
  const name = e.target.value;
  if (name) guarded(async () => addImage(await fetchBlob(`/samples/${name}`), name))().catch(() => {});
  e.target.value = '';
});
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

/** The result the tests read: losses and time, the pixels labelled per image, and with `probe` the taught model's logits on it. */
async function resultOf({ losses, seconds, trainedFrom, trainedAt }, probe) {
  const result = { losses, seconds, trainedFrom, trainedAt, painted: items.map((i) => i.labels.filter((c) => c !== UNLABELLED).length) };
  if (probe) {
    const rgb = { width: probe.width, height: probe.height, data: fromBase64(probe.data) };
    const { logits } = await teachWorker.segment(imageDataOf(rgb), { logits: true });
    result.logits = toBase64(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
  }
  return result;
}

/**
 * Sets the form (`loss`: one of TRAINING_LOSSES, default 'ce'; `every`: the checkpoint interval) and trains: the losses and time, the pixels labelled per image, and with `probe`
 * ({ width, height, data: base64 RGB }) the taught model's logits on it (base64 float32, [h, w, classes]).
 */
async function trainAsSet({ steps, crop, batch = 1, lr, seed = 0, augment = true, loss = 'ce', every = 5, probe }) {
  setForm({ steps, crop, batch, lr, seed, augment, loss, every });
  return resultOf(await train(), probe);
}

const ready = guarded(init)();
Object.assign(window.deeplabDemo, {
  teachReady: ready,
  /**
   * Teaches as a user would: adds each image (a URL: a served file, or a data: URL of a file's bytes; a name), paints its strokes ({ class, radius,
   * points: [[x, y], ...] }), sets the form and trains (trainAsSet).
   */
  teach: guarded(async ({ images, classes = '', ...settings }) => {
    await ready;
    clearItems();
    $('teach-classes').value = classes;
    for (const { url, name = url.split('/').pop(), strokes } of images) {
      const item = await addImage(await fetchBlob(url), name);
      for (const s of strokes) await paintStroke(item, s.class, s.radius, s.points);
    }
    return trainAsSet(settings);
  }),
  /**
   * The last folder loaded (chosen or dropped): its summary and the images' labels as the page
   * holds them (base64), or its error.
   */
  teachFolder: async () => {
    const data = await folderLoad;
    const { dir, format, split, splits, images } = data;
    return { dir, format, split, splits, images, classes: data.classes, items: items.map((i) => ({ name: i.name, width: i.rgb.width, height: i.rgb.height, labels: toBase64(i.labels) })) };
  },
  /** Trains on the images as they are on the page (a folder's, or painted), with these settings. */
  teachAsIs: guarded(async (settings) => trainAsSet(settings)),
  /** The unfinished run the page offers to resume ({ step, steps, model, images }), or null. */
  unfinishedRun: async () => {
    await ready;
    return $('resume-offer').hidden ? null : offerResume();
  },
  /** Resumes the kept run as the Resume button does; the result has every step's loss, the kept ones first. */
  resumeRun: guarded(async (probe) => resultOf(await resumeRun(), probe)),
  /** Keeps the last taught model under `name`, as the Keep button does. */
  keepTaught: guarded(keepTaught),
  /** Segments the image at `url` with the last taught model in the teach worker (its class map). */
  segmentTaught: async (url) => Array.from((await teachWorker.segment(await fetchBlob(url))).classes),
});
