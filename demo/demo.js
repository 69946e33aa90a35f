// The demo page's segment panel: pick a model (the weights the server offers, or one kept in this
// browser) and an image (file, drop or sample), and see the overlay, the classes found with their
// shares (each can be turned off), an opacity slider, and the times: download, compile at load,
// the first segment and warm ones apart. Images are segmented in a Web Worker (SegmentationWorker)
// and the page draws the overlay from the class map; the camera runs on the page's own GPU context
// (frames never leave the GPU). Where WebGPU is missing both run on the CPU device (onnxruntime-web,
// served at /ort/). What the page offers is capabilities.js's; window.deeplabDemo the tests' hook.
import { GpuContext, SegmentationWorker, keptModelBytes, loadModel, segmentStream, useCpuRuntime } from '/deeplab.js';
import { CPU_RUNTIME, pageCapabilities } from '/capabilities.js';
import { drawView, showLegend, view } from '/overlay.js';
import { dropZone } from '/drop-zone.js';

const $ = (id) => document.getElementById(id);

/** The status line under the controls; an error shows in the error colour. */
export function status(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

/** The progress bar beside the status: a fraction where known, else moving; hidden when done. */
export const progress = {
  set(value = null, max = 1) {
    const bar = $('progress');
    bar.hidden = false;
    if (value === null) bar.removeAttribute('value');
    else {
      bar.max = max;
      bar.value = Math.min(value, max);
    }
  },
  done() {
    $('progress').hidden = true;
  },
};

/** Runs an action, showing any error on the page instead of losing it. */
export function guarded(action) {
  return async (...args) => {
    try {
      return await action(...args);
    } catch (e) {
      progress.done();
      status(e.message ?? String(e), true);
      console.error(e);
      throw e;
    }
  };
}

export const capabilities = pageCapabilities();
const names = new Map(); // weights file -> the registry's name for it
let ctx = null;
const models = new Map(); // choice -> Promise<DeepLabModel> on the page's context (the camera's)

/** The chosen model: { value, name, kept } (kept: a model kept in this browser, by name). */
export function currentChoice() {
  const value = $('model').value;
  if (!value) throw new Error('no weights are available: put a .tflite, .pth or .safetensors file in the weights folder');
  if (value.startsWith('kept:')) return { value, name: value.slice(5), kept: true };
  return { value, name: names.get(value) ?? value, kept: false, file: value };
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** The chosen model's bytes: a kept model's from this browser's storage, else downloaded with the progress bar. */
async function choiceBytes(choice, what) {
  if (choice.kept) return (await keptModelBytes(choice.name)).slice().buffer;
  const url = `/weights/${encodeURIComponent(choice.file)}`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: the weights could not be fetched (HTTP ${response.status} ${response.statusText})`);
  const total = Number(response.headers.get('content-length')) || 0;
  const reader = response.body.getReader();
  const parts = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    progress.set(got, total || got);
    status(`${what}: downloading ${choice.name} (${mb(got)}${total ? ` of ${mb(total)}` : ''})`);
  }
  const bytes = new Uint8Array(got);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes.buffer;
}

/**
 * Loads the chosen model into `worker`: its bytes (download progress), then parsing and compiling
 * (or tuning, with a bar over its 10 s budget) in the worker; returns its info and the times.
 */
export async function loadChoice(worker, choice, { tune = false, what = 'loading' } = {}) {
  // On the CPU (no WebGPU here) the worker imports the runtime; nothing is tuned there.
  const onCpu = (await capabilities).segment === 'cpu';
  const device = onCpu ? { device: 'cpu', cpuRuntime: CPU_RUNTIME } : { tune: tune ? 'full' : 'cached' };
  const t0 = performance.now();
  const bytes = await choiceBytes(choice, what);
  const downloadMs = performance.now() - t0;
  // The buffer goes to the worker (transferred): its size is taken now.
  const size = bytes.byteLength;
  const t1 = performance.now();
  const ticking = tune ? setInterval(() => progress.set((performance.now() - t1) / 1000, 10), 200) : null;
  progress.set();
  status(`${what}: compiling ${choice.name}${tune ? ', tuning for this device (up to 10 s)' : ''}…`);
  try {
    const info = await worker.load(bytes, { name: choice.name, ...device, onProgress: (m) => status(`${what}: ${m}…`) });
    return { info, downloadMs: choice.kept ? null : downloadMs, bytes: size, compileMs: performance.now() - t1 };
  } finally {
    if (ticking) clearInterval(ticking);
    progress.done();
  }
}

// The engine in a worker, for images.
const worker = SegmentationWorker.start('/deeplab-worker.js');
let loaded = null; // { value, tune, promise of loadChoice's result, segmented: Set of sizes run }

/** The chosen model, loaded in the worker (again only when the choice or tuning changes). */
function workerModel() {
  const choice = currentChoice();
  const tune = $('tune').checked;
  if (loaded?.value !== choice.value || loaded?.tune !== tune) {
    const promise = loadChoice(worker, choice, { tune });
    promise.catch(() => (loaded = null));
    loaded = { value: choice.value, name: choice.name, tune, promise, sizes: new Set() };
  }
  return loaded;
}

/** The times: download and compile at load, the first segment at a size (the GPU's first-run work included) and warm ones. */
const figures = {};
function showFigures(values) {
  Object.assign(figures, values);
  const rows = [
    ['Download', figures.download],
    ['Compile (at load)', figures.compile],
    ['First segment', figures.first],
    ['Warm segment', figures.warm],
  ];
  $('figures').replaceChildren(
    ...rows.flatMap(([k, v]) => [Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v ?? '–' })]),
  );
}

/** Segments an image (a Blob) in the worker; the page draws the overlay and shows the legend and times. */
async function segmentBlob(blob, what) {
  await stopCamera();
  const load = workerModel();
  const { info, downloadMs, compileMs, bytes } = await load.promise;
  showFigures({ download: downloadMs === null ? 'kept in this browser' : `${mb(bytes)} in ${(downloadMs / 1000).toFixed(1)} s`, compile: `${(compileMs / 1000).toFixed(1)} s` });
  status(`segmenting ${what}…`);
  progress.set();
  const photo = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' }).catch((e) => {
    throw new Error(`image: not an image this browser can decode (${e.message})`);
  });
  const t0 = performance.now();
  const result = await worker.segment(blob);
  const ms = performance.now() - t0;
  progress.done();
  view.photo?.close();
  Object.assign(view, { photo, result, palette: info.palette });
  drawView();
  showLegend(info, result);
  const size = `${result.width}x${result.height}`;
  const first = !load.sizes.has(size);
  load.sizes.add(size);
  showFigures(first ? { first: `${ms.toFixed(0)} ms at ${size}`, warm: figures.warm } : { warm: `${ms.toFixed(0)} ms at ${size}` });
  const firstRun = info.device === 'cpu' ? 'it includes the runtime warming up' : 'it includes the GPU compiling its kernels';
  // Named as chosen: a kept model's checkpoint carries the name of the model it was taught from.
  $('timing').textContent = `${load.name ?? info.name}: ${ms.toFixed(0)} ms for ${size}` + (first ? ` (the first run at this size: ${firstRun}; segment again for the warm time)` : ' (warm)');
  status(`${what}: done`);
  return { result, ms };
}

/** The model list: the server's weights, then the models kept in this browser. */
export async function refreshModels(weights, kept) {
  const select = $('model');
  const chosen = select.value;
  select.replaceChildren();
  const served = document.createElement('optgroup');
  served.label = 'Served';
  for (const w of weights) served.append(new Option(`${w.name} (${mb(w.bytes)})`, w.file));
  select.append(served);
  if (kept.length) {
    const group = document.createElement('optgroup');
    group.label = 'Kept in this browser';
    for (const k of kept) group.append(new Option(`${k.name} (kept)`, `kept:${k.name}`));
    select.append(group);
  }
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

let servedWeights = [];
/** The server's weights list (fetched once). */
export const served = () => servedWeights;

/** The adapter in words ("google swiftshader", not "(google swiftshader)"; Firefox's by its name), a software one said to be one. */
function adapterWords({ description, device, vendor, architecture, name }) {
  const what = [description || device, vendor, architecture].filter(Boolean).join(' ') || name;
  return /swiftshader|llvmpipe|lavapipe|warp/i.test(what) ? `${what}, a software adapter (the GPU emulated on the CPU)` : what;
}

/** The page where WebGPU is missing: what the browser is, what still works, how to turn WebGPU on. */
function showNoWebgpu(caps) {
  const { browser } = caps;
  $('no-webgpu').hidden = false;
  $('no-webgpu-why').textContent = `This page cannot reach a GPU: ${caps.why}.`;
  $('no-webgpu-browser').textContent = `${browser.name}${browser.version ? ` ${browser.version}` : ''} on ${browser.platform}`;
  $('no-webgpu-segment').textContent =
    caps.segment === 'cpu' ? 'runs on the CPU here (WebAssembly, ONNX Runtime): the same classes as on a GPU.' : 'needs WebGPU, or the CPU runtime (onnxruntime-web), which this server does not serve.';
  $('no-webgpu-teach').textContent = caps.teach
    ? 'runs on the CPU here too (WebAssembly, in a worker): slower than on a GPU, a few seconds a step at a 65-pixel crop for the default model on a 2-core machine.'
    : 'needs WebGPU, or the CPU runtime (onnxruntime-web), which this server does not serve.';
  $('no-webgpu-advice').textContent = caps.advice;
  $('adapter').textContent = 'no GPU';
  if (caps.segment === 'none') $('segment-panel').hidden = true;
  if (!caps.teach) $('teach').hidden = true;
}

async function init() {
  const caps = await capabilities;
  const [weights, samples] = await Promise.all([fetch('/weights/').then((r) => r.json()), fetch('/samples/').then((r) => r.json())]);
  servedWeights = weights;
  for (const w of weights) names.set(w.file, w.name);
  await refreshModels(weights, []);
  for (const s of samples) $('sample').append(new Option(s, s));
  if (!caps.webgpu) {
    showNoWebgpu(caps);
    if (caps.segment === 'none') {
      status(caps.why, true);
      return;
    }
    // Segmenting on the CPU: the camera's model loads in the page, the images' in the worker.
    useCpuRuntime(CPU_RUNTIME);
    $('tune').closest('label').hidden = true;
    $('device-heading').textContent = 'in the browser';
    $('adapter').textContent = 'the CPU (WebAssembly)';
  } else {
    ctx ??= await GpuContext.create();
    $('adapter').textContent = adapterWords(ctx.adapterInfo);
  }
  showFigures({});
  status(weights.length ? `Choose or drop an image.${caps.segment === 'cpu' ? ' It is segmented on the CPU.' : ''}` : 'No weights found on the server (DEEPLAB_WEIGHTS_DIR).', !weights.length);
}

const onFile = guarded(async (file) => segmentBlob(file, file.name));
$('file').addEventListener('change', (e) => e.target.files[0] && onFile(e.target.files[0]).catch(() => {}));
$('sample').addEventListener('change', (e) => e.target.value && window.deeplabDemo.segmentUrl(`/samples/${e.target.value}`).catch(() => {}));
$('model').addEventListener('change', () => status('Model chosen: segment an image.'));
$('opacity').addEventListener('input', drawView);
dropZone($('drop'), (data) => {
  const file = data.files[0];
  if (file) onFile(file).catch(() => {});
});

/** The chosen model on the page's own GPU context: the camera's. */
async function pageModel() {
  const choice = currentChoice();
  if (!models.has(choice.value)) {
    const onCpu = (await capabilities).segment === 'cpu';
    if (!onCpu) ctx ??= await GpuContext.create();
    const source = choice.kept ? await keptModelBytes(choice.name) : `/weights/${encodeURIComponent(choice.file)}`;
    const promise = loadModel(source, { ...(onCpu ? { device: 'cpu' } : { ctx }), name: choice.name, onProgress: (m) => status(m) });
    promise.catch(() => models.delete(choice.value));
    models.set(choice.value, promise);
  }
  return models.get(choice.value);
}

/** The camera while it runs: its stream and the frame loop drawing into #live. */
let camera = null;

/** Starts the camera mode (video constraints as getUserMedia takes them); returns the loop. */
async function startCamera(video = true) {
  if (camera) return camera.loop;
  const model = await pageModel();
  const stream = await navigator.mediaDevices.getUserMedia({ video });
  const [h, w] = (() => {
    const s = stream.getVideoTracks()[0]?.getSettings() ?? {};
    return s.width && s.height ? model.networkSize(s.width, s.height) : [0, 0];
  })();
  $('output').hidden = true;
  $('placeholder').hidden = true;
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
  /** What the page offers in this browser (capabilities.js). */
  capabilities: () => capabilities,
  /** Segments the image at `url` and returns what the test compares: size and class map. */
  segmentUrl: guarded(async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    const { result, ms } = await segmentBlob(await response.blob(), url.split('/').pop());
    return { width: result.width, height: result.height, classes: Array.from(result.classes), ms };
  }),
  /** Chooses a model by its list value ('kept:<name>' for a kept one). */
  chooseModel: (value) => {
    if (![...$('model').options].some((o) => o.value === value)) throw new Error(`no model ${value} in the list`);
    $('model').value = value;
  },
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
