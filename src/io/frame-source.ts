// Frames that reach the GPU without passing through the CPU: a GPUTexture the caller filled, or
// (in the browser) a frame the page holds (a VideoFrame, a <video>'s current frame, an
// ImageBitmap, a canvas), which device.queue.copyExternalImageToTexture copies into a texture
// (src/gpu/frame-texture.ts). The checks name each type only where the platform has it, so they
// are safe in Node (where only textures exist).

/** What copyExternalImageToTexture takes and segment() accepts as a video frame in the page. */
export type ExternalFrame = VideoFrame | HTMLVideoElement | ImageBitmap | HTMLCanvasElement | OffscreenCanvas;

/** A frame for segment(): a texture already on the GPU, or one the page holds. */
export type FrameInput = GPUTexture | ExternalFrame;

const defined = (name: string): unknown => (globalThis as Record<string, unknown>)[name];

function isA(x: unknown, name: string): boolean {
  const type = defined(name);
  return typeof type === 'function' && x instanceof (type as new () => unknown);
}

export function isGpuTexture(x: unknown): x is GPUTexture {
  return isA(x, 'GPUTexture');
}

export function isExternalFrame(x: unknown): x is ExternalFrame {
  return ['VideoFrame', 'HTMLVideoElement', 'ImageBitmap', 'HTMLCanvasElement', 'OffscreenCanvas'].some((name) => isA(x, name));
}

export function isFrameInput(x: unknown): x is FrameInput {
  return isGpuTexture(x) || isExternalFrame(x);
}

/**
 * The size [width, height] a frame is copied at: a video's intrinsic size, a VideoFrame's display
 * size, a bitmap's or canvas's own. A video with no frame yet is an error saying so.
 */
export function externalFrameSize(frame: ExternalFrame, what = 'frame'): [number, number] {
  if (isA(frame, 'HTMLVideoElement')) {
    const video = frame as HTMLVideoElement;
    if (video.videoWidth === 0 || video.videoHeight === 0) {
      throw new Error(`${what}: the video has no frame yet (readyState ${video.readyState}); wait for its 'loadeddata' event`);
    }
    return [video.videoWidth, video.videoHeight];
  }
  if (isA(frame, 'VideoFrame')) {
    const vf = frame as VideoFrame;
    return [vf.displayWidth, vf.displayHeight];
  }
  const sized = frame as { width: number; height: number };
  return [sized.width, sized.height];
}
