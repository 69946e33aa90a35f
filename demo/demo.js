// The demo page: pick a model from the weights the server offers, an image (file, drop or
// sample), and see the overlay, the classes found and the time taken; or the camera, live, with
// the overlay drawn on the GPU and the frames per second. Images are segmented in a Web Worker
// (SegmentationWorker), which draws the overlay into the page's canvas itself, so the page stays
// responsive; the camera runs on the page's own GPU context (frames never leave the GPU).
// window.deeplabDemo is what the browser tests drive.
import { GpuContext, SegmentationWorker, classesFound, loadModel, segmentStream } from '/deeplab.js';

const $ = (id) => document.getElementById(id);
const status = (text, error = false) => {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
};

let ctx = null;
const models = new Map(); // file -> Promise<DeepLabModel>
const names = new Map(); // file -> the registry's name for it

async function context() {
  ctx ??= await GpuContext.create();
  $('adapter').textContent = ctx.adapterInfo.name;
  return ctx;
}

function currentModel() {
  const file = $('model').value;
  if (!file) throw new Error('no weights are available: put a .tflite, .pth or .safetensors file in the weights folder');
  if (!models.has(file)) {
    const promise = context().then((c) => loadModel(`/weights/${encodeURIComponent(file)}`, { ctx: c, name: names.get(file), onProgress: (m) => status(m) }));
    promise.catch(() => models.delete(file));
    models.set(file, promise);
  }
  return models.get(file);
}

function showLegend(model, result) {
  const legend = $('legend');
  legend.replaceChildren();
  const palette = model.palette;
  for (const c of classesFound(result, model.classNames)) {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = `rgb(${palette[3 * c.index]}, ${palette[3 * c.index + 1]}, ${palette[3 * c.index + 2]})`;
    li.append(swatch, `${c.name} ${(100 * c.share).toFixed(1)} %`);
    legend.append(li);
  }
}

// The engine in a worker, for images: it owns the output canvas from the start.
const worker = SegmentationWorker.start('/deeplab-worker.js');
const canvasGiven = worker.attachCanvas($('output'));
let workerLoad = null; // { file, tune, promise of the loaded model's info }

/** The chosen model, loaded in the worker (again only when the choice changes). */
function workerModel() {
  const file = $('model').value;
  if (!file) throw new Error('no weights are available: put a .tflite, .pth or .safetensors file in the weights folder');
  // Tuning (up to 10 s, kept in this browser's IndexedDB): the model is loaded again when it is asked for.
  const tune = $('tune').checked;
  if (workerLoad?.file !== file || workerLoad?.tune !== tune) {
    const promise = worker.load(`/weights/${encodeURIComponent(file)}`, { name: names.get(file), tune: tune ? 'full' : 'cached', onProgress: (m) => status(m) });
    promise.catch(() => (workerLoad = null));
    workerLoad = { file, tune, promise };
  }
  return workerLoad.promise;
}

/** Segments an image (a Blob) in the worker, which draws the overlay; shows the legend and time. */
async function segmentBlob(blob, what) {
  await stopCamera();
  const [info] = await Promise.all([workerModel(), canvasGiven]);
  status(`segmenting ${what}…`);
  const t0 = performance.now();
  const result = await worker.segment(blob, { overlay: true });
  const ms = performance.now() - t0;
  showLegend(info, result);
  $('timing').textContent = `${info.name}: ${ms.toFixed(0)} ms for ${result.width}x${result.height} (in a worker; ${result.ms.toFixed(0)} ms there)`;
  status(`${what}: done`);
  return { result, ms };
}

/** Runs an action, showing any error on the page instead of losing it. */
function guarded(action) {
  return async (...args) => {
    try {
      return await action(...args);
    } catch (e) {
      status(e.message ?? String(e), true);
      console.error(e);
      throw e;
    }
  };
}

async function init() {
  if (!navigator.gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  const [weights, samples] = await Promise.all([fetch('/weights/').then((r) => r.json()), fetch('/samples/').then((r) => r.json())]);
  for (const w of weights) names.set(w.file, w.name);
  for (const w of weights) $('model').append(new Option(`${w.name} (${(w.bytes / 2 ** 20).toFixed(1)} MiB)`, w.file));
  for (const s of samples) $('sample').append(new Option(s, s));
  await context();
  status(weights.length ? 'Choose or drop an image.' : 'No weights found on the server (DEEPLAB_WEIGHTS_DIR).', !weights.length);
}

const onFile = guarded(async (file) => segmentBlob(file, file.name));
$('file').addEventListener('change', (e) => e.target.files[0] && onFile(e.target.files[0]).catch(() => {}));
$('sample').addEventListener('change', (e) => e.target.value && window.deeplabDemo.segmentUrl(`/samples/${e.target.value}`).catch(() => {}));
$('model').addEventListener('change', () => status('Model chosen: segment an image.'));
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer.files[0];
  if (file) onFile(file).catch(() => {});
});
/** The camera while it runs: its stream and the frame loop drawing into #live. */
let camera = null;

/** Starts the camera mode (video constraints as getUserMedia takes them); returns the loop. */
async function startCamera(video = true) {
  if (camera) return camera.loop;
  const model = await currentModel();
  const stream = await navigator.mediaDevices.getUserMedia({ video });
  const [h, w] = (() => {
    const s = stream.getVideoTracks()[0]?.getSettings() ?? {};
    return s.width && s.height ? model.networkSize(s.width, s.height) : [0, 0];
  })();
  $('output').hidden = true;
  $('live').hidden = false;
  $('legend').replaceChildren();
  const loop = segmentStream(model, stream, $('live'), {
    onFrame: ({ fps, ms, width, height }) => {
      $('timing').textContent = `${model.name}: ${fps.toFixed(1)} frames per second (${ms.toFixed(0)} ms a frame at ${width}x${height}` + (h ? `, network input ${h}x${w})` : ')');
    },
    onError: (e) => {
      console.error(e);
      stopCamera().finally(() => status(`camera: ${e.message}`, true));
    },
  });
  camera = { loop, stream };
  $('camera').textContent = 'Stop camera';
  status('camera: live');
  return loop;
}

async function stopCamera() {
  const running = camera;
  if (!running) return;
  camera = null;
  await running.loop.stop();
  for (const track of running.stream.getTracks()) track.stop();
  $('camera').textContent = 'Use camera';
  $('live').hidden = true;
  $('output').hidden = false;
  status('camera stopped');
}

if (navigator.mediaDevices?.getUserMedia) {
  $('camera').hidden = false;
  $('camera').addEventListener('click', () => (camera ? guarded(stopCamera)() : guarded(startCamera)()).catch(() => {}));
}

window.deeplabDemo = {
  ready: guarded(init)(),
  /** Segments the image at `url` and returns what the test compares: size and class map. */
  segmentUrl: guarded(async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const { result, ms } = await segmentBlob(await response.blob(), url.split('/').pop());
    return { width: result.width, height: result.height, classes: Array.from(result.classes), ms };
  }),
  startCamera: guarded(async (video) => {
    await startCamera(video);
  }),
  stopCamera: guarded(stopCamera),
  /** The camera loop's progress and the GPU memory the page holds (the long-run test reads these). */
  stats: () => ({
    frames: camera?.loop.frames ?? 0,
    fps: camera?.loop.fps ?? 0,
    liveBuffers: ctx?.liveBufferCount ?? 0,
    pool: ctx?.pool.stats ?? null,
  }),
};

// Shared with the teach mode (teach.js).
export { currentModel, guarded, status };
