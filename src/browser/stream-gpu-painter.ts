// segmentStream's painter for a model on WebGPU: each frame is copied into a texture on the GPU
// (copyExternalImageToTexture), segmented there (model.segmentFrameInto: the frame kernels, the
// network, the class map at the frame's size) and drawn with its class colours into the canvas's
// WebGPU context (OverlayRenderer): no pixel passes through JavaScript. The texture, the class
// map and the renderer are made once (again when the frame size changes).
//
// A lost device does not stop the loop where the model survives it (LoadOptions.deviceLoss):
// the frame the loss broke is dropped, and once the model has renewed the context's device the
// painter makes its texture, class map and renderer again on the new one.
import { GpuError } from '../gpu/errors.js';
import { FrameTexture } from '../gpu/frame-texture.js';
import { OverlayRenderer } from '../gpu/overlay-renderer.js';
import { type GpuTensor, createTensor } from '../gpu/tensor.js';
import type { DeepLabModel } from '../model/model.js';
import type { FramePainter } from './frame-painter.js';

/** Frames in a row that may fail on a renewed device before the loop gives up. */
const MAX_RENEWED_FAILURES = 3;

function webgpuContext(canvas: HTMLCanvasElement | OffscreenCanvas): GPUCanvasContext {
  const context = canvas.getContext('webgpu') as GPUCanvasContext | null;
  if (!context) throw new Error('segmentStream: the canvas has no WebGPU context (it may already have a 2d one): give the loop a canvas of its own');
  return context;
}

export function gpuPainter(model: DeepLabModel, canvas: HTMLCanvasElement | OffscreenCanvas, alpha: number): FramePainter {
  const ctx = model.ctx;
  const gpu = webgpuContext(canvas);
  let frameTexture!: FrameTexture;
  let overlay!: OverlayRenderer;
  let classes: GpuTensor | null = null;
  /** The device generation the painter's GPU resources live on. */
  let madeAt = -1;
  /** Frames in a row that failed with the device renewed under them (a loss that keeps coming stops the loop). */
  let renewedFailures = 0;

  /** The painter's GPU resources, (again) on the context's current device. */
  function makeResources(): void {
    if (madeAt >= 0) releaseResources();
    gpu.configure({ device: ctx.device, format: navigator.gpu.getPreferredCanvasFormat(), alphaMode: 'opaque' });
    frameTexture = new FrameTexture(ctx, 'stream frame');
    overlay = new OverlayRenderer(ctx, model.palette, alpha);
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

  return {
    async paint(video) {
      if (ctx.generation !== madeAt) makeResources();
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
      await overlay.draw(texture, classes, gpu.getCurrentTexture());
      return { width, height };
    },
    async recover(e) {
      // A loss broke this frame: drop it, let the model renew the device (or refuse to, with
      // deviceLoss 'fail'), and go on with new resources.
      const lost = ctx.isLost || ctx.generation !== madeAt || (e instanceof GpuError && e.kind === 'device-lost');
      if (!lost || ++renewedFailures > MAX_RENEWED_FAILURES) throw e;
      await model.ensureDevice();
    },
    drawn() {
      renewedFailures = 0;
    },
    release: releaseResources,
  };
}
