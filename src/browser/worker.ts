// The engine in a Web Worker (bundled as dist/browser/deeplab-worker.js): loading, segmenting and
// drawing the overlay into a transferred OffscreenCanvas all happen off the page's main thread,
// so the page stays responsive while the GPU works and the result is read back. One model at a
// time; requests run in the order they arrive.
import { useCpuRuntime } from '../model/devices/cpu/cpu-runtime.js';
import type { DeepLabModel } from '../model/model.js';
import { imageToRgb } from './images.js';
import { loadModel } from './load.js';
import { drawOverlay } from './overlay.js';
import type { LoadedModelInfo, WorkerRequest, WorkerResponse, WorkerSegmentResult } from './worker-protocol.js';

interface WorkerScope {
  postMessage(message: WorkerResponse, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerRequest>) => void): void;
}
const scope = globalThis as unknown as WorkerScope;

let model: DeepLabModel | null = null;
let canvas: OffscreenCanvas | null = null;

async function handle(req: WorkerRequest): Promise<{ value: unknown; transfer?: Transferable[] }> {
  switch (req.op) {
    case 'load': {
      // A worker has no import map and no handle on the page's modules: its CPU runtime comes by URL.
      const { cpuRuntime, ...options } = req.options;
      if (cpuRuntime !== undefined) useCpuRuntime(cpuRuntime);
      const next = await loadModel(req.source, { ...options, onProgress: (progress) => scope.postMessage({ id: req.id, progress }) });
      model?.dispose();
      model = next;
      const info: LoadedModelInfo = { name: next.name, device: next.deviceName, adapter: next.deviceLabel, classNames: [...next.classNames], palette: next.palette.slice(), memory: next.memory() };
      return { value: info };
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
      const result = await model.segment(rgb);
      if (req.overlay) {
        if (!canvas) throw new Error('segment: overlay asked for, but no canvas was given to the worker');
        drawOverlay(canvas, rgb, result, model.palette);
      }
      const value: WorkerSegmentResult = { width: result.width, height: result.height, numClasses: result.numClasses, classes: result.classes, ms: performance.now() - t0, memory: model.memory() };
      return { value, transfer: [result.classes.buffer] };
    }
    case 'dispose':
      // The model's own context (on WebGPU) goes with it.
      model?.dispose();
      model = null;
      return { value: null };
    default:
      throw new Error(`unknown request ${JSON.stringify((req as { op?: unknown }).op)}`);
  }
}

// Requests run one after another, in order.
let queue: Promise<void> = Promise.resolve();
scope.addEventListener('message', (e) => {
  const req = e.data;
  queue = queue.then(async () => {
    try {
      const { value, transfer } = await handle(req);
      scope.postMessage({ id: req.id, ok: true, value }, transfer ?? []);
    } catch (err) {
      scope.postMessage({ id: req.id, ok: false, error: (err as Error)?.message ?? String(err) });
    }
  });
});
