// Live segmentation in the page: a camera (MediaStream) or a <video>, frame after frame, drawn
// into a canvas: on the GPU for a model on WebGPU, through a 2d canvas for one on the CPU.
//
//   const loop = segmentStream(model, await navigator.mediaDevices.getUserMedia({ video: true }), canvas,
//     { onFrame: ({ fps }) => (label.textContent = `${fps.toFixed(1)} fps`) });
//   ...
//   await loop.stop();
//
// One frame at a time: the next is asked for (requestVideoFrameCallback where the browser has
// it, else requestAnimationFrame) only when this one is drawn, so frames that arrive meanwhile
// are skipped, never queued. How a frame is segmented and drawn is the painter's, made for the
// model's device once: on WebGPU the frame is copied into a texture, segmented there and drawn
// into the canvas's WebGPU context with no pixel through JavaScript (stream-gpu-painter.ts); on
// the CPU its pixels are read and the overlay is drawn into a 2d canvas (stream-cpu-painter.ts).
// The painter's resources are released by stop().
import { checkSignal } from '../util/option-keys.js';
import type { DeepLabModel } from '../model/model.js';
import { cpuPainter } from './stream-cpu-painter.js';
import { gpuPainter } from './stream-gpu-painter.js';

export interface StreamFrameInfo {
  /** Frames segmented and drawn so far. */
  frames: number;
  /** Frames drawn per second, over the last FPS_WINDOW frames (0 until there are two). */
  fps: number;
  /** This frame's time from its copy to its overlay submitted (ms). */
  ms: number;
  width: number;
  height: number;
}

export interface StreamOptions {
  /** Called after each frame is drawn. */
  onFrame?: (info: StreamFrameInfo) => void;
  /** Called with the error that stopped the loop (also `done`'s rejection). */
  onError?: (error: Error) => void;
  /** The class colours' weight over the frame, in [0, 1] (default 0.5). */
  alpha?: number;
  /**
   * Stops the loop as stop() does, after the frame in flight; `done` then rejects with the
   * signal's reason (a DOMException named 'AbortError' unless abort() was given one).
   */
  signal?: AbortSignal;
}

export interface StreamLoop {
  /**
   * Stops asking for frames, waits for the one in flight, releases the loop's GPU resources. A
   * MediaStream's tracks stay the caller's to stop (the camera light goes off then).
   */
  stop(): Promise<void>;
  readonly frames: number;
  readonly fps: number;
  /** Settles when the loop ends: resolved after stop(), rejected with the error that stopped it. */
  readonly done: Promise<void>;
}

/** Frames the frames-per-second figure is measured over. */
const FPS_WINDOW = 30;

/** A <video> playing `stream`, muted and inline, made by the loop (and let go by stop()). */
function videoOf(stream: MediaStream): HTMLVideoElement {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  return video;
}

export function segmentStream(
  model: DeepLabModel,
  source: MediaStream | HTMLVideoElement,
  canvas: HTMLCanvasElement | OffscreenCanvas,
  opts: StreamOptions = {},
): StreamLoop {
  const isStream = typeof MediaStream !== 'undefined' && source instanceof MediaStream;
  if (!isStream && !(typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement)) {
    throw new Error('segmentStream: the source must be a MediaStream (a camera) or a <video> element');
  }
  const signal = checkSignal('segmentStream', opts.signal);
  signal?.throwIfAborted();
  const alpha = opts.alpha ?? 0.5;
  const painter = model.deviceName === 'webgpu' ? gpuPainter(model, canvas, alpha) : cpuPainter(model, canvas, alpha);
  const video = isStream ? videoOf(source as MediaStream) : (source as HTMLVideoElement);

  let frames = 0;
  let fps = 0;
  const ends = new Float64Array(FPS_WINDOW); // the last frames' end times, a ring
  let stopped = false;
  let pending: { id: number; video: boolean } | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  let settle!: { resolve: () => void; reject: (e: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined); // a caller that never looks at `done` gets onError, not an unhandled rejection

  function release(): void {
    if (pending) (pending.video ? video.cancelVideoFrameCallback(pending.id) : cancelAnimationFrame(pending.id));
    pending = null;
    painter.release();
    if (isStream) {
      video.pause();
      video.srcObject = null;
    }
  }

  function schedule(): void {
    if (stopped) return;
    // With requestVideoFrameCallback the loop runs once per new video frame; without it, once
    // per display frame, skipping frames whose time has not moved.
    if (typeof video.requestVideoFrameCallback === 'function') pending = { id: video.requestVideoFrameCallback(() => run()), video: true };
    else pending = { id: requestAnimationFrame(() => run()), video: false };
  }

  let lastTime = -1;
  function run(): void {
    pending = null;
    if (stopped) return;
    inFlight = step()
      .catch((e: unknown) => painter.recover(e))
      .then(schedule, (e: unknown) => {
        const error = e instanceof Error ? e : new Error(String(e));
        stopped = true;
        release();
        opts.onError?.(error);
        settle.reject(error);
      });
  }

  async function step(): Promise<void> {
    if (video.readyState < video.HAVE_CURRENT_DATA || video.currentTime === lastTime) return;
    lastTime = video.currentTime;
    const t0 = performance.now();
    const { width, height } = await painter.paint(video);
    if (stopped) return;
    const t1 = performance.now();
    ends[frames % FPS_WINDOW] = t1;
    frames++;
    const span = Math.min(frames, FPS_WINDOW);
    const oldest = ends[(frames - span) % FPS_WINDOW];
    fps = span > 1 && t1 > oldest ? ((span - 1) * 1000) / (t1 - oldest) : 0;
    painter.drawn();
    opts.onFrame?.({ frames, fps, ms: t1 - t0, width, height });
  }

  if (isStream) {
    video.play().catch((e: unknown) => {
      if (stopped) return;
      const error = new Error(`segmentStream: the camera stream does not play (${(e as Error).message})`);
      stopped = true;
      release();
      opts.onError?.(error);
      settle.reject(error);
    });
  }
  schedule();
  signal?.addEventListener(
    'abort',
    () => {
      if (stopped) return;
      stopped = true;
      void inFlight.then(() => {
        release();
        settle.reject(signal.reason as Error);
      });
    },
    { once: true },
  );

  return {
    async stop() {
      if (stopped) return done.catch(() => undefined);
      stopped = true;
      await inFlight;
      release();
      settle.resolve();
    },
    get frames() {
      return frames;
    },
    get fps() {
      return fps;
    },

    done,
  };
}
