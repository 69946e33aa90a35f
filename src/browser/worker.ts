// The engine in a Web Worker (bundled as dist/browser/deeplab-worker.js): loading, segmenting,
// fine-tuning and drawing the overlay into a transferred OffscreenCanvas all happen off the page's
// main thread, so the page stays responsive while the GPU works and the result is read back. One
// model at a time (and, after a fine-tune, the one it was taught from, for undo); requests run in the order they arrive, but for a fine-tune's stop and abort,
// which reach it at once.
import { GpuContext } from '../gpu/context.js';
import { checkpointBytes } from '../model/checkpoint-bytes.js';
import { useCpuRuntime } from '../model/devices/cpu/cpu-runtime.js';
import { isWebgpuUnavailable } from '../model/devices/open-device.js';
import type { DeviceChoice } from '../model/loading/options.js';
import type { DeepLabModel } from '../model/model.js';
import { type FineTuneReport, fineTune } from '../train/fine-tune.js';
import { imageToRgb } from './images.js';
import { loadModel } from './load.js';
import { drawOverlay } from './overlay.js';
import type { LoadedModelInfo, TaughtModelInfo, WorkerRequest, WorkerResponse, WorkerSegmentResult } from './worker-protocol.js';

interface WorkerScope {
  postMessage(message: WorkerResponse, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerRequest>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

let ctx: GpuContext | null = null;
let model: DeepLabModel | null = null;
/** The model before the last fine-tune, kept for undo (null: none to go back to). */
let before: DeepLabModel | null = null;
let canvas: OffscreenCanvas | null = null;
/** The fine-tunes under way, by request id: their stop flag and abort. */
const runs = new Map<number, { stop: boolean; abort: AbortController }>();

const infoOf = (m: DeepLabModel): LoadedModelInfo => ({ name: m.name, device: m.deviceName, adapter: m.deviceLabel, classNames: [...m.classNames], palette: m.palette.slice(), memory: m.memory() });

/**
 * The worker's one GPU context, made on the first load bound for WebGPU (a fine-tune's model
 * shares it with the model it came from); null where the load runs on the CPU: asked for, or
 * 'auto' where this browser has no WebGPU.
 */
async function workerContext(device: DeviceChoice | undefined): Promise<GpuContext | null> {
  if (device === 'cpu') return null;
  try {
    return (ctx ??= await GpuContext.create());
  } catch (e) {
    if (device === 'webgpu' || !isWebgpuUnavailable(e)) throw e;
    return null;
  }
}

async function handle(req: WorkerRequest): Promise<{ value: unknown; transfer?: Transferable[] }> {
  switch (req.op) {
    case 'load': {
      // A worker has no import map and no handle on the page's modules: its CPU runtime comes by URL.
      const { cpuRuntime, ...options } = req.options;
      if (cpuRuntime !== undefined) useCpuRuntime(cpuRuntime);
      const onProgress = (progress: string) => scope.postMessage({ id: req.id, progress });
      const gpu = await workerContext(options.device);
      const next = await loadModel(req.source, { ...options, ...(gpu ? { ctx: gpu } : { device: 'cpu' as const }), onProgress });
      model?.dispose();
      before?.dispose();
      before = null;
      model = next;
      return { value: infoOf(next) };
    }
    case 'canvas':
      canvas = req.canvas;
      return { value: null };
    case 'segment': {
      if (!model) throw new Error('segment: no model loaded in the worker (call load first)');
      const t0 = performance.now();
      let rgb;
      try {
        rgb = imageToRgb(req.image, 'image');
      } finally {
        if (req.image instanceof ImageBitmap) req.image.close();
      }
      const result = await model.segment(rgb, req.logits ? { include: ['logits'] } : {});
      if (req.overlay) {
        if (!canvas) throw new Error('segment: overlay asked for, but no canvas was given to the worker');
        drawOverlay(canvas, rgb, result, model.palette);
      }
      const value: WorkerSegmentResult = { width: result.width, height: result.height, numClasses: result.numClasses, classes: result.classes, ms: performance.now() - t0, memory: model.memory() };
      if (result.logits) value.logits = result.logits;
      return { value, transfer: [result.classes.buffer, ...(result.logits ? [result.logits.buffer] : [])] };
    }
    case 'fineTune': {
      if (!model) throw new Error('fineTune: no model loaded in the worker (call load first)');
      const run = { stop: false, abort: new AbortController() };
      runs.set(req.id, run);
      try {
        const losses: number[] = [];
        let report: FineTuneReport | null = null;
        const taught = await fineTune(model, req.samples, {
          ...req.options,
          signal: run.abort.signal,
          shouldStop: () => run.stop,
          onStep: (step) => {
            losses.push(step.loss);
            scope.postMessage({ id: req.id, step });
          },
          onProgress: (progress) => scope.postMessage({ id: req.id, progress }),
          onReport: (r) => void (report = r),
        });
        // The model taught from is kept until the next fine-tune or load: undo goes back to it.
        before?.dispose();
        before = model;
        model = taught;
        const value: TaughtModelInfo = { ...infoOf(taught), losses, report: report! };
        return { value };
      } finally {
        runs.delete(req.id);
      }
    }
    case 'checkpoint': {
      if (!model) throw new Error('checkpointBytes: no model loaded in the worker (call load first)');
      const bytes = await checkpointBytes(model);
      return { value: bytes, transfer: [bytes.buffer] };
    }
    case 'undo': {
      if (!before || !model) throw new Error('undoFineTune: no fine-tune to undo (the worker holds the model it loaded)');
      model.dispose();
      model = before;
      before = null;
      return { value: infoOf(model) };
    }
    case 'dispose':
      model?.dispose();
      model = null;
      before?.dispose();
      before = null;
      ctx?.destroy();
      ctx = null;
      return { value: null };
    default:
      throw new Error(`unknown request ${JSON.stringify((req as { op?: unknown }).op)}`);
  }
}

/** A fine-tune's stop (after the step under way, its checkpoint kept) or abort, at once: whether it was under way. */
function control(req: Extract<WorkerRequest, { op: 'stop' | 'abort' }>): boolean {
  const run = runs.get(req.target);
  if (!run) return false;
  if (req.op === 'stop') run.stop = true;
  else run.abort.abort();
  return true;
}

// Requests run one after another, in order; a fine-tune's stop and abort at once.
let queue: Promise<void> = Promise.resolve();
scope.addEventListener('message', (e) => {
  const req = e.data;
  if (req.op === 'stop' || req.op === 'abort') {
    scope.postMessage({ id: req.id, ok: true, value: control(req) });
    return;
  }
  queue = queue.then(async () => {
    try {
      const { value, transfer } = await handle(req);
      scope.postMessage({ id: req.id, ok: true, value }, transfer ?? []);
    } catch (err) {
      scope.postMessage({ id: req.id, ok: false, error: (err as Error)?.message ?? String(err), name: (err as Error)?.name });
    }
  });
});
