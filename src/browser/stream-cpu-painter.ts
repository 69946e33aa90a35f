// segmentStream's painter for a model on the CPU: each frame's pixels are read through a canvas,
// segmented as an image, and the overlay drawn into the loop's canvas with a 2d context.
import type { DeepLabModel } from '../model/model.js';
import { imageToRgb } from './images.js';
import { drawOverlay } from './overlay.js';
import type { FramePainter } from './frame-painter.js';

export function cpuPainter(model: DeepLabModel, canvas: HTMLCanvasElement | OffscreenCanvas, alpha: number): FramePainter {
  return {
    async paint(video) {
      const image = imageToRgb(video, 'segmentStream');
      const result = await model.segment(image);
      drawOverlay(canvas, image, result, model.palette, alpha);
      return { width: image.width, height: image.height };
    },
    // Nothing on the CPU is lost between frames: a failure stops the loop.
    recover: (e) => Promise.reject(e),
    drawn() {},
    release() {},
  };
}
