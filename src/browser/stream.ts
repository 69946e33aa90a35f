// Live segmentation in the page: a camera (MediaStream) or a <video>, frame after frame, drawn
// into a canvas on the GPU.
//
//   const loop = segmentStream(model, await navigator.mediaDevices.getUserMedia({ video: true }), canvas,
//     { onFrame: ({ fps }) => (label.textContent = `${fps.toFixed(1)} fps`) });
//   ...
//   await loop.stop();
//
// Each frame is copied into a texture on the GPU (copyExternalImageToTexture), segmented there
// (model.segmentFrameInto: the frame kernels, the network, the class map at the frame's size)
// and drawn with its class colours into the canvas's WebGPU context (OverlayRenderer): no
// pixel passes through JavaScript. One frame at a time: the next is asked for
// (requestVideoFrameCallback where the browser has it, else requestAnimationFrame) only when
// this one is drawn, so frames that arrive meanwhile are skipped, never queued. The texture, the
// class map and the renderer are made once (again when the frame size changes) and released
// by stop().
//
// A lost device does not stop the loop where the model survives it (LoadOptions.deviceLoss):
// the frame the loss broke is dropped, and once the model has renewed the context's device the
// loop makes its texture, class map and renderer again on the new one and goes on.
import { GpuError } from '../gpu/errors.js';
import { checkSignal } from '../util/option-keys.js';
import { FrameTexture } from '../gpu/frame-texture.js';
import { OverlayRenderer } from '../gpu/overlay-renderer.js';
import { type GpuTensor, createTensor } from '../gpu/tensor.js';
import type { DeepLabModel } from '../model/model.js';

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

/** Frames in a row that may fail on a renewed device before the loop gives up. */
const MAX_RENEWED_FAILURES = 3;

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

function webgpuContext(canvas: HTMLCanvasElement | OffscreenCanvas): GPUCanvasContext {
  const context = canvas.getContext('webgpu') as GPUCanvasContext | null;
  if (!context) throw new Error('segmentStream: the canvas has no WebGPU context (it may already have a 2d one): give the loop a canvas of its own');
  return context;
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
  const ctx = model.ctx;
  const gpu = webgpuContext(canvas);
  const video = isStream ? videoOf(source as MediaStream) : (source as HTMLVideoElement);
  let frameTexture!: FrameTexture;
  let overlay!: OverlayRenderer;
  let classes: GpuTensor | null = null;
  /** The device generation the loop's GPU resources live on. */
  let madeAt = -1;
  /** Frames in a row that failed with the device renewed under them (a loss that keeps coming stops the loop). */
  let renewedFailures = 0;

  /** The loop's GPU resources, (again) on the context's current device. */
  function makeResources(): void {
    if (madeAt >= 0) releaseResources();
    gpu.configure({ device: ctx.device, format: navigator.gpu.getPreferredCanvasFormat(), alphaMode: 'opaque' });
    frameTexture = new FrameTexture(ctx, 'stream frame');
    overlay = new OverlayRenderer(ctx, model.palette, opts.alpha ?? 0.5);
    madeAt = ctx.generation;
  }

  function releaseResources(): void {
    classes?.dispose();
    classes = null;
    frameTexture.destroy();
    overlay.destroy();
    gpu.unconfigure();
  }
  makeResources();

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
    releaseResources();
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
      .catch(async (e: unknown) => {
        // A loss broke this frame: drop it, let the model renew the device (or refuse to, with
        // deviceLoss 'fail'), and go on with new resources.
        const lost = ctx.isLost || ctx.generation !== madeAt || (e instanceof GpuError && e.kind === 'device-lost');
        if (!lost || ++renewedFailures > MAX_RENEWED_FAILURES) throw e;
        await model.ensureDevice();
      })
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
    if (ctx.generation !== madeAt) makeResources();
    const t0 = performance.now();
    const texture = frameTexture.upload(video, 'segmentStream');
    const { width, height } = texture;
    if (!classes || classes.shape[1] !== height || classes.shape[2] !== width) {
      classes?.dispose();
      classes = null;
      classes = createTensor(ctx, [1, height, width], 'u32', 'stream class map');
    }
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    await model.segmentFrameInto(texture, classes);
    if (stopped) return;
    await overlay.draw(texture, classes, gpu.getCurrentTexture());
    const t1 = performance.now();
    ends[frames % FPS_WINDOW] = t1;
    frames++;
    const span = Math.min(frames, FPS_WINDOW);
    const oldest = ends[(frames - span) % FPS_WINDOW];
    fps = span > 1 && t1 > oldest ? ((span - 1) * 1000) / (t1 - oldest) : 0;
    renewedFailures = 0;
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
