// What a page's main thread does while its worker works, told structurally rather than by the
// clock (a timer's gaps and the Long Tasks API measure wall time, which a busy host stretches):
// every WebGPU call the main thread makes (asking for an adapter, compiling a pipeline, submitting
// work) and every message it exchanges with a worker, with its size and when it was sent or read.
// A page whose work runs in its worker makes no GPU calls and passes only small messages while
// the worker computes: the main thread holds nothing that could take it long.

/** One call or message: when (performance.now() in the page), what, and its bytes (messages). */
export interface WatchedEvent {
  at: number;
  kind: 'gpu' | 'to-worker' | 'from-worker';
  what: string;
  bytes: number;
}

/** What the watch saw between two moments of the page's clock. */
export interface MainThreadReport {
  gpuCalls: string[];
  /** The largest message each way, bytes, and how many there were. */
  toWorker: { count: number; largest: number; total: number };
  fromWorker: { count: number; largest: number; total: number };
}

/** The page's watch, as installMainThreadWatch leaves it on `window`. */
export interface WatchWindow {
  mainThreadWatch: { events: WatchedEvent[]; report(from: number, to: number): MainThreadReport };
}

/**
 * Installs the watch in the page (run with page.evaluate; its source is sent, so it uses nothing
 * from the test's scope). Calls already made are not seen; a second install is a no-op.
 */
export function installMainThreadWatch(): void {
  const w = window as unknown as WatchWindow & Record<string, unknown>;
  if (w.mainThreadWatch) return;
  const events: WatchedEvent[] = [];
  // The bytes a structured clone carries, roughly: buffers and strings in full, objects walked.
  const sizeOf = (v: unknown, depth = 0): number => {
    if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return 8;
    if (typeof v === 'string') return 2 * v.length;
    if (v instanceof ArrayBuffer) return v.byteLength;
    if (ArrayBuffer.isView(v)) return v.byteLength;
    if (typeof Blob !== 'undefined' && v instanceof Blob) return v.size;
    if (typeof ImageData !== 'undefined' && v instanceof ImageData) return v.data.byteLength;
    if (depth > 8 || typeof v !== 'object') return 8;
    let n = 0;
    for (const x of Object.values(v as object)) n += sizeOf(x, depth + 1);
    return n;
  };
  const gpuCall = (target: unknown, name: string): void => {
    const proto = (target as { prototype?: Record<string, unknown> } | undefined)?.prototype;
    const fn = proto?.[name];
    if (!proto || typeof fn !== 'function') return;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      events.push({ at: performance.now(), kind: 'gpu', what: name, bytes: 0 });
      return (fn as (...a: unknown[]) => unknown).apply(this, args);
    };
  };
  gpuCall(w.GPU, 'requestAdapter');
  gpuCall(w.GPUAdapter, 'requestDevice');
  gpuCall(w.GPUDevice, 'createComputePipeline');
  gpuCall(w.GPUDevice, 'createComputePipelineAsync');
  gpuCall(w.GPUDevice, 'createBuffer');
  gpuCall(w.GPUQueue, 'submit');
  gpuCall(w.GPUQueue, 'writeBuffer');
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, message: unknown, ...rest: unknown[]) {
    events.push({ at: performance.now(), kind: 'to-worker', what: 'postMessage', bytes: sizeOf(message) });
    return (post as (...a: unknown[]) => void).call(this, message, ...rest);
  };
  // Every read of a worker's message, whoever listens and since when: the event's data getter.
  const data = Object.getOwnPropertyDescriptor(MessageEvent.prototype, 'data')!;
  const seen = new WeakSet<MessageEvent>();
  Object.defineProperty(MessageEvent.prototype, 'data', {
    ...data,
    get(this: MessageEvent) {
      const value = data.get!.call(this);
      if (this.target instanceof Worker && !seen.has(this)) {
        seen.add(this);
        events.push({ at: performance.now(), kind: 'from-worker', what: 'message', bytes: sizeOf(value) });
      }
      return value;
    },
  });
  const tally = (list: WatchedEvent[]) => ({ count: list.length, largest: Math.max(0, ...list.map((e) => e.bytes)), total: list.reduce((s, e) => s + e.bytes, 0) });
  w.mainThreadWatch = {
    events,
    report(from: number, to: number): MainThreadReport {
      const within = events.filter((e) => e.at >= from && e.at <= to);
      return {
        gpuCalls: within.filter((e) => e.kind === 'gpu').map((e) => e.what),
        toWorker: tally(within.filter((e) => e.kind === 'to-worker')),
        fromWorker: tally(within.filter((e) => e.kind === 'from-worker')),
      };
    },
  };
}
