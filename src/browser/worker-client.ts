// The page's side of the engine in a Web Worker: the same load and segment as a DeepLabModel,
// each a message to the worker (src/browser/worker.ts) and a promise of its answer. Images go
// over as ImageBitmaps (transferred, not copied); with attachCanvas the worker draws the overlay
// into the page's canvas itself.
import type { BrowserLoadOptions } from './load.js';
import type { LoadedModelInfo, WorkerRequest, WorkerResponse, WorkerSegmentResult } from './worker-protocol.js';

export type { LoadedModelInfo, WorkerSegmentResult } from './worker-protocol.js';

/** What the worker can segment: anything createImageBitmap takes, or ImageData. */
export type WorkerImage = ImageBitmapSource | ImageData;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; onProgress?: (m: string) => void };
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

export class SegmentationWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (e: MessageEvent<WorkerResponse>) => this.receive(e.data));
    // A worker that fails to start or dies fails every request, now and later.
    worker.addEventListener('error', (e: ErrorEvent) => this.fail(new Error(`deeplab worker: ${e.message || 'failed to start'}`)));
  }

  /** Starts the worker from `url` (the bundle's dist/browser/deeplab-worker.js, served beside deeplab.js). */
  static start(url: string | URL): SegmentationWorker {
    return new SegmentationWorker(new Worker(url, { type: 'module', name: 'deeplab' }));
  }

  /** Loads a model in the worker from a URL (resolved against the page) or the file's bytes. */
  async load(source: string | URL | Blob | ArrayBuffer, opts: Omit<BrowserLoadOptions, 'ctx'> = {}): Promise<LoadedModelInfo> {
    const { onProgress, ...options } = opts;
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

  /** Segments an image in the worker; with `overlay`, the worker also draws it into the attached canvas. */
  async segment(image: WorkerImage, opts: { overlay?: boolean } = {}): Promise<WorkerSegmentResult> {
    const sent = image instanceof ImageData ? image : await bitmapOf(image);
    return (await this.request({ op: 'segment', image: sent, overlay: !!opts.overlay }, sent instanceof ImageBitmap ? [sent] : [])) as WorkerSegmentResult;
  }

  /** Releases the model and the GPU device in the worker, then stops it. */
  async terminate(): Promise<void> {
    try {
      if (!this.failure) await this.request({ op: 'dispose' });
    } finally {
      this.worker.terminate();
      this.fail(new Error('deeplab worker: terminated'));
    }
  }

  private request(body: RequestBody, transfer: Transferable[] = [], onProgress?: (m: string) => void): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ ...body, id } as WorkerRequest, transfer);
    });
  }

  private receive(msg: WorkerResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if ('progress' in msg) {
      p.onProgress?.(msg.progress);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(new Error(msg.error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
