// The demo's teach mode: paint class strokes over a few images (unpainted pixels are ignored),
// fine-tune the chosen model on them on the page's GPU context (fineTune) while the loss curve
// draws itself, then see the taught model's segmentation and download its checkpoint
// (.safetensors, loadable by loadModel and the CLI). A data-set folder (chosen or dropped, in any
// format `deeplab train` reads) brings its first images with their labels, as if painted, and
// its classes. window.deeplabDemo.teach* is what the browser tests drive; it goes through the
// same functions as the buttons and the brush.
import { PAGE_DATASET_FORMATS, TRAINING_LOSSES, UNLABELLED, VOC_PALETTE, checkpointBytes, datasetFromFiles, decodeImageBytes, drawOverlay, filesFromDataTransfer, fineTune } from '/deeplab.js';
import { currentModel, guarded, status } from '/demo.js';

const $ = (id) => document.getElementById(id);
/** The images being labelled: { name, rgb, labels, photo (RGBA), canvas, after, info }. */
const items = [];
/** The last taught model and its checkpoint's object URL. */
let taught = null;
let stopAsked = false;
/** A loaded folder's classes ({ classes, names, palette, text }) while the class field still shows them (`text`). */
let folderClasses = null;
/** The last folder's loading, for the test hooks. */
let folderLoad = null;
/**
 * How many images of a folder teach mode takes (its first, in the format's order): each is a
 * canvas on the page and fineTune cycles over them; `deeplab train` is for whole data sets.
 */
const MAX_FOLDER_IMAGES = 12;

/** The classes to paint: a loaded folder's, the typed list (a new classifier), else the model's own. */
async function paintClasses() {
  if (folderClasses && $('teach-classes').value === folderClasses.text) {
    return { names: folderClasses.names, palette: folderClasses.palette, custom: folderClasses.classes };
  }
  const typed = $('teach-classes').value.split(',').map((s) => s.trim()).filter(Boolean);
  if (typed.length) return { names: typed, palette: VOC_PALETTE, custom: typed };
  const model = await currentModel();
  return { names: model.classNames, palette: model.palette, custom: null };
}

/** Fills the class picker (keeping the chosen class where it still exists); the eraser paints "unlabelled". */
async function refreshClassPicker() {
  const { names, palette } = await paintClasses();
  const picker = $('teach-class');
  const chosen = picker.value;
  picker.replaceChildren();
  names.forEach((name, i) => {
    const option = new Option(`${i} ${name}`, String(i));
    option.style.background = `rgb(${palette[3 * i]}, ${palette[3 * i + 1]}, ${palette[3 * i + 2]})`;
    picker.append(option);
  });
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
  const after = Object.assign(document.createElement('canvas'), { width: 0, height: 0, hidden: true, title: "the taught model's segmentation" });
  const info = document.createElement('figcaption');
  const remove = Object.assign(document.createElement('button'), { textContent: 'Remove' });
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
  for (const item of items.splice(0)) item.canvas.parentElement.remove();
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

/** The loss per step, scaled to the largest so far, over the run's steps. */
function drawCurve(losses, steps) {
  const canvas = $('teach-loss');
  const g = canvas.getContext('2d');
  const { width: W, height: H } = canvas;
  const pad = { left: 44, right: 10, top: 10, bottom: 22 };
  g.clearRect(0, 0, W, H);
  g.strokeStyle = '#888';
  g.fillStyle = '#555';
  g.font = '11px system-ui, sans-serif';
  g.strokeRect(pad.left, pad.top, W - pad.left - pad.right, H - pad.top - pad.bottom);
  const top = Math.max(...losses, 1e-6);
  g.fillText(top.toPrecision(3), 2, pad.top + 9);
  g.fillText('0', 2, H - pad.bottom);
  g.fillText(`step (of ${steps})`, W / 2 - 30, H - 5);
  if (!losses.length) return;
  const x = (i) => pad.left + ((W - pad.left - pad.right) * (i + 1)) / steps;
  const y = (v) => H - pad.bottom - ((H - pad.top - pad.bottom) * v) / top;
  g.strokeStyle = '#1f77b4';
  g.lineWidth = 2;
  g.beginPath();
  losses.forEach((v, i) => (i ? g.lineTo(x(i), y(v)) : g.moveTo(x(i), y(v))));
  g.stroke();
  g.fillStyle = '#1f77b4';
  for (const [i, v] of losses.entries()) g.fillRect(x(i) - 1.5, y(v) - 1.5, 3, 3);
}

/** A whole-number setting of the form, checked. */
function setting(id, what, isValid) {
  const value = Number($(id).value);
  if (!isValid(value)) throw new Error(`teach: ${what} must be ${isValid.rule}, got '${$(id).value}'`);
  return value;
}
const positiveInt = Object.assign((v) => Number.isInteger(v) && v >= 1, { rule: 'a positive whole number' });
const positive = Object.assign((v) => Number.isFinite(v) && v > 0, { rule: 'a positive number' });

/**
 * Fine-tunes the chosen model on the painted images with the form's settings, drawing the loss
 * after each step; then shows the taught model's segmentation of each image and offers its
 * checkpoint as a download.
 */
async function train() {
  if (!items.length) throw new Error('teach: add an image and paint class strokes over it first');
  const steps = setting('teach-steps', 'steps', positiveInt);
  const crop = setting('teach-crop', 'the crop', positiveInt);
  const batch = setting('teach-batch', 'the batch', positiveInt);
  const lr = setting('teach-lr', 'the learning rate', positive);
  const seed = Number($('teach-seed').value) || 0;
  // Any of deeplab train's losses; 'bce' and 'bce+dice' for a binary model (smp classes 1).
  const loss = $('teach-loss-choice').value || undefined;
  // Without augmentation every crop is taken at the image's scale, unflipped (an image of the crop's size: the same crop every step).
  const augment = $('teach-augment').checked;
  const model = await currentModel();
  const { custom } = await paintClasses();
  const losses = [];
  stopAsked = false;
  $('teach-train').disabled = true;
  $('teach-stop').disabled = false;
  drawCurve(losses, steps);
  const t0 = performance.now();
  try {
    const next = await fineTune(
      model,
      items.map((i) => ({ image: i.rgb, labels: i.labels })),
      {
        steps,
        crop,
        batch,
        lr,
        seed,
        loss,
        classes: custom ?? undefined,
        scale: augment ? undefined : [1, 1],
        flip: augment,
        onProgress: (m) => status(`teaching: ${m}…`),
        shouldStop: () => stopAsked,
        onStep: async (r) => {
          losses.push(r.loss);
          drawCurve(losses, steps);
          $('teach-progress').textContent = `step ${r.step}/${r.steps}: loss ${r.loss.toFixed(4)} (${r.ms.toFixed(0)} ms)`;
          status(`teaching: step ${r.step} of ${r.steps}`);
          // Lets the page draw the curve and handle input before the next step.
          await new Promise((resolve) => setTimeout(resolve, 0));
        },
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    status('teaching: preparing the checkpoint…');
    const bytes = await checkpointBytes(next);
    if (taught) {
      taught.model.dispose();
      URL.revokeObjectURL(taught.url);
    }
    taught = { model: next, url: URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' })) };
    const link = $('teach-download');
    link.href = taught.url;
    link.download = `${model.name.replace(/\.(tflite|pth|pt|safetensors)$/i, '')}-taught.safetensors`;
    link.textContent = `Download checkpoint (${(bytes.length / 2 ** 20).toFixed(1)} MiB)`;
    link.hidden = false;
    for (const [k, item] of items.entries()) {
      status(`teaching: segmenting ${item.name} with the taught model (${k + 1} of ${items.length})…`);
      drawOverlay(item.after, item.rgb, await next.segment(item.rgb), next.palette);
      item.after.hidden = false;
    }
    status(`taught in ${losses.length} steps (${seconds.toFixed(1)} s): loss ${losses[0].toFixed(3)} → ${losses.at(-1).toFixed(3)}`);
    return { losses, seconds };
  } finally {
    $('teach-train').disabled = false;
    $('teach-stop').disabled = true;
  }
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
  drawCurve([], Number($('teach-steps').value) || 1);
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
  stopAsked = true;
  status('teaching: stopping after this step…');
});

/**
 * Sets the form (`loss`: one of TRAINING_LOSSES, default 'ce') and trains: the losses and time, the pixels labelled per image, and with `probe`
 * ({ width, height, data: base64 RGB }) the taught model's logits on it (base64 float32, [h, w, classes]).
 */
async function trainAsSet({ steps, crop, batch = 1, lr, seed = 0, augment = true, loss = 'ce', probe }) {
  Object.entries({ 'teach-steps': steps, 'teach-crop': crop, 'teach-batch': batch, 'teach-lr': lr, 'teach-seed': seed, 'teach-loss-choice': loss }).forEach(([id, v]) => ($(id).value = String(v)));
  $('teach-augment').checked = augment;
  const { losses, seconds } = await train();
  const result = { losses, seconds, painted: items.map((i) => i.labels.filter((c) => c !== UNLABELLED).length) };
  if (probe) {
    const rgb = { width: probe.width, height: probe.height, data: fromBase64(probe.data) };
    const { logits } = await taught.model.segment(rgb, { include: ['logits'] });
    result.logits = toBase64(new Uint8Array(logits.buffer, logits.byteOffset, logits.byteLength));
  }
  return result;
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
    for (const item of items.splice(0)) item.canvas.parentElement.remove();
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
});

