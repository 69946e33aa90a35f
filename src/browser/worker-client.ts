// The page's side of the engine in a Web Worker: the same load, segment and fineTune as a
// DeepLabModel, each a message to the worker (src/browser/worker.ts) and a promise of its answer.
// Images go over as ImageBitmaps (transferred, not copied); with attachCanvas the worker draws the
// overlay into the page's canvas itself. A fine-tune's steps and progress come back as messages,
// and its stop and abort go to the worker at once.
import type { FineTuneStep, TeachSample } from '../train/fine-tune.js';
import { type BrowserImage, imageToRgb } from './images.js';
import type { BrowserLoadOptions } from './load.js';
import type { LoadedModelInfo, TaughtModelInfo, WorkerFineTuneOptions, WorkerLoadOptions, WorkerRequest, WorkerResponse, WorkerSegmentResult } from './worker-protocol.js';

export type { LoadedModelInfo, TaughtModelInfo, WorkerFineTuneOptions, WorkerSegmentResult } from './worker-protocol.js';

/** SegmentationWorker.fineTune's options: fineTune's, with its callbacks and signal kept in the page. */
export interface WorkerFineTuneCallOptions extends WorkerFineTuneOptions {
  onStep?(step: FineTuneStep): void;
  onProgress?(message: string): void;
  /** Aborts the fine-tune in the worker: it rejects with the signal's reason, and the worker keeps its model. */
  signal?: AbortSignal;
}

/** What the worker can segment: anything createImageBitmap takes, or ImageData. */
export type WorkerImage = ImageBitmapSource | ImageData;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; onProgress?: (m: string) => void; onStep?: (s: FineTuneStep) => void };
/** Distributes the request union over its members, so each keeps its own fields. */
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, 'id'> : never) : never;

/** An ImageBitmap of the image's own pixels (no colour conversion; EXIF orientation applied, as viewers show it). */
async function bitmapOf(image: ImageBitmapSource): Promise<ImageBitmap> {
  try {
    return await createImageBitmap(image, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch (e) {
    throw new Error(`image: not an image this browser can decode (${(e as Error).message})`);
  }
}

/**
 * Why a worker script did not start: what its URL serves (a missing file often comes back as a
 * dev server's HTML page, status 200), or that it could not be fetched.
 */
async function describeFailedStart(url: string): Promise<string> {
  const start = `deeplab worker: failed to start from ${url}`;
  try {
    const response = await fetch(url);
    const type = response.headers.get('content-type') ?? 'no content type';
    const text = (await response.text()).slice(0, 80).replace(/\s+/g, ' ').trim();
    const served = `HTTP ${response.status}, ${type}: ${JSON.stringify(text)}`;
    const hint = /javascript/.test(type) && response.ok ? 'the script failed to load as a module worker' : "serve the package's dist/browser/deeplab-worker.js there ('deeplab-webgpu/worker')";
    return `${start}: it serves ${served}; ${hint}`;
  } catch (e) {
    return `${start}: it could not be fetched (${(e as Error).message})`;
  }
}

export class SegmentationWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    /** Where the worker's script was loaded from, for the error when it fails to start. */
    private readonly url: string,
  ) {
    worker.addEventListener('message', (e: MessageEvent<WorkerResponse>) => this.receive(e.data));
    // A worker that fails to start or dies fails every request, now and later. A script that
    // could not be loaded gives an error event with no message: what the URL serves says why.
    worker.addEventListener('error', (e: ErrorEvent) => {
      if (e.message) this.fail(new Error(`deeplab worker: ${e.message}`));
      else void describeFailedStart(this.url).then((why) => this.fail(new Error(why)));
    });
  }

  /**
   * Starts the worker. With no URL, the package's worker bundle beside this one
   * (dist/browser/deeplab-worker.js, the export 'deeplab-webgpu/worker'): the
   * `new Worker(new URL(..., import.meta.url))` form below is the one Vite and webpack find and
   * bundle. Give the URL where the worker is served some other way (see docs/browser.md).
   */
  static start(url?: string | URL): SegmentationWorker {
    if (url === undefined) {
      const worker = new Worker(new URL('./deeplab-worker.js', import.meta.url), { type: 'module', name: 'deeplab' });
      // The same URL for the error message, written so that bundlers do not take it for a second
      // file to bundle (they look for `new URL('...', import.meta.url)` itself).
      const here = import.meta.url;
      return new SegmentationWorker(worker, new URL('./deeplab-worker.js', here).href);
    }
    return new SegmentationWorker(new Worker(url, { type: 'module', name: 'deeplab' }), new URL(String(url), globalThis.location?.href).href);
  }

  /**
   * Loads a model in the worker from a URL (resolved against the page) or the file's bytes. For
   * the CPU (device 'cpu', or 'auto' without WebGPU) give `cpuRuntime`: the URL of
   * onnxruntime-web's ES module, which the worker imports.
   */
  async load(source: string | URL | Blob | ArrayBuffer, opts: Omit<BrowserLoadOptions, 'ctx'> & { cpuRuntime?: string | URL } = {}): Promise<LoadedModelInfo> {
    const { onProgress, cpuRuntime, ...rest } = opts;
    const options: WorkerLoadOptions = cpuRuntime === undefined ? rest : { ...rest, cpuRuntime: new URL(String(cpuRuntime), globalThis.location?.href).href };
    let sent: string | ArrayBuffer;
    if (source instanceof Blob) sent = await source.arrayBuffer();
    else if (source instanceof ArrayBuffer) sent = source;
    else sent = new URL(String(source), globalThis.location?.href).href;
    if (opts.name === undefined && source instanceof File) options.name = source.name;
    return (await this.request({ op: 'load', source: sent, options }, sent instanceof ArrayBuffer ? [sent] : [], onProgress)) as LoadedModelInfo;
  }

  /** Hands `canvas` to the worker, which draws each overlay into it from then on. */
  async attachCanvas(canvas: HTMLCanvasElement): Promise<void> {
    const offscreen = canvas.transferControlToOffscreen();
    await this.request({ op: 'canvas', canvas: offscreen }, [offscreen]);
  }

  /**
   * Segments an image in the worker; with `overlay`, the worker also draws it into the attached
   * canvas; with `logits`, the result holds the network's logits at the image's size.
   */
  async segment(image: WorkerImage, opts: { overlay?: boolean; logits?: boolean } = {}): Promise<WorkerSegmentResult> {
    const sent = image instanceof ImageData ? image : await bitmapOf(image);
    return (await this.request({ op: 'segment', image: sent, overlay: !!opts.overlay, logits: !!opts.logits }, sent instanceof ImageBitmap ? [sent] : [])) as WorkerSegmentResult;
  }

  /**
   * Fine-tunes the worker's model (fineTune, with its checkpoints and resume) on `samples`; the
   * taught model becomes the worker's model (undoFineTune goes back), and the result holds
   * fineTune's report. Images that cannot cross to a worker as they are (an
   * <img>, a canvas, a video) go as their RGB pixels. Each step is told to `onStep` in the page;
   * stopFineTune() stops after the step under way (the taught model so far is the result), and
   * `signal` aborts it (the worker keeps the model it had).
   */
  async fineTune(samples: readonly TeachSample[], opts: WorkerFineTuneCallOptions): Promise<TaughtModelInfo> {
    const { onStep, onProgress, signal, ...options } = opts;
    signal?.throwIfAborted();
    if (!Array.isArray(samples)) throw new Error('fineTune: samples must be a list of { image, labels }');
    const sent = samples.map((s) => ({ ...s, image: crossable(s?.image) }));
    const id = this.nextId;
    const abort = () => void this.request({ op: 'abort', target: id }).catch(() => undefined);
    signal?.addEventListener('abort', abort, { once: true });
    try {
      return (await this.request({ op: 'fineTune', samples: sent, options }, [], onProgress, onStep)) as TaughtModelInfo;
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /**
   * Undoes the last fine-tune: the worker's model is again the one it was taught from (the taught
   * one is released). Rejects where there is none to undo (nothing taught since the last load, or
   * undone already).
   */
  async undoFineTune(): Promise<LoadedModelInfo> {
    return (await this.request({ op: 'undo' })) as LoadedModelInfo;
  }

  /** Stops the worker's fine-tunes under way after their current step (each keeps its checkpoint and resolves with the model taught so far). */
  async stopFineTune(): Promise<void> {
    const targets = [...this.fineTunes];
    await Promise.all(targets.map((target) => this.request({ op: 'stop', target })));
  }

  /** The checkpoint bytes (our format, as checkpointBytes gives) of the worker's model: the taught one after fineTune. */
  async checkpointBytes(): Promise<Uint8Array> {
    return (await this.request({ op: 'checkpoint' })) as Uint8Array;
  }

  /**
   * Releases the model and the GPU device in the worker, then stops it. With `{ wait: false }` the
   * worker is stopped at once, whatever it is doing (as a closed tab stops it): a fine-tune's
   * checkpoint being written is left as it was before, and the browser reclaims the device.
   */
  async terminate(opts: { wait?: boolean } = {}): Promise<void> {
    try {
      if (!this.failure && opts.wait !== false) await this.request({ op: 'dispose' });
    } finally {
      this.worker.terminate();
      this.fail(new Error('deeplab worker: terminated'));
    }
  }

  /** Ids of the fine-tunes under way. */
  private readonly fineTunes = new Set<number>();

  private request(body: RequestBody, transfer: Transferable[] = [], onProgress?: (m: string) => void, onStep?: (s: FineTuneStep) => void): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    if (body.op === 'fineTune') this.fineTunes.add(id);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress, onStep });
      this.worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    }).finally(() => this.fineTunes.delete(id));
  }

  private receive(msg: WorkerResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if ('progress' in msg) {
      p.onProgress?.(msg.progress);
      return;
    }
    if ('step' in msg) {
      p.onStep?.(msg.step);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(Object.assign(new Error(msg.error), msg.name && msg.name !== 'Error' ? { name: msg.name } : {}));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}

/** A sample's image as it can cross to the worker: an element, canvas or frame as its RGB pixels; anything else (RGB, bands, bytes, a Blob, a URL, an ImageBitmap) as it is. */
function crossable(image: unknown): unknown {
  const elements = ['HTMLImageElement', 'HTMLCanvasElement', 'HTMLVideoElement', 'OffscreenCanvas', 'VideoFrame'];
  return elements.some((c) => typeof (globalThis as Record<string, unknown>)[c] === 'function' && image instanceof ((globalThis as Record<string, unknown>)[c] as new () => object)) ? imageToRgb(image as BrowserImage, 'image') : image;
}
