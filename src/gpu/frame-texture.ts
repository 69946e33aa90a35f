// One texture that page frames are copied into, frame after frame (a video's, a canvas's), by
// device.queue.copyExternalImageToTexture: the browser converts the frame to RGBA bytes on the
// GPU (a camera's YUV included), so its pixels never reach JavaScript. The texture is made
// again only when the frame size changes; destroy() releases it.
import { type ExternalFrame, externalFrameSize } from '../io/frame-source.js';
import { checkImageSize } from '../io/rgb-image.js';
import type { GpuContext } from './context.js';

/** What a frame texture is used for: filled by copies, read by kernels, drawn from. */
export const FRAME_TEXTURE_USAGE = 0x04 /* TEXTURE_BINDING */ | 0x02 /* COPY_DST */ | 0x10; /* RENDER_ATTACHMENT (copyExternalImageToTexture needs it) */

export class FrameTexture {
  private current: GPUTexture | null = null;
  /** How many times the texture was made (a new size each time after the first). */
  created = 0;

  constructor(
    private readonly ctx: GpuContext,
    private readonly label = 'frame',
  ) {}

  /** The texture, if a frame was copied in. */
  get texture(): GPUTexture | null {
    return this.current;
  }

  /** Copies `frame` into the texture (made or re-made at the frame's size) and returns it. */
  upload(frame: ExternalFrame, what = 'frame'): GPUTexture {
    this.ctx.assertAlive(what);
    const [width, height] = externalFrameSize(frame, what);
    checkImageSize(width, height, what);
    const max = this.ctx.device.limits.maxTextureDimension2D;
    if (width > max || height > max) throw new Error(`${what}: ${width}x${height} exceeds the device's largest texture side (${max})`);
    let texture = this.current;
    if (!texture || texture.width !== width || texture.height !== height) {
      texture?.destroy();
      this.current = null;
      texture = this.ctx.device.createTexture({ size: [width, height], format: 'rgba8unorm', usage: FRAME_TEXTURE_USAGE, label: this.label });
      this.current = texture;
      this.created++;
    }
    this.ctx.device.queue.copyExternalImageToTexture({ source: frame }, { texture, colorSpace: 'srgb', premultipliedAlpha: false }, [width, height]);
    return texture;
  }

  /** GPU bytes of the texture (4 a pixel), 0 before the first frame. */
  get bytes(): number {
    return this.current ? this.current.width * this.current.height * 4 : 0;
  }

  destroy(): void {
    this.current?.destroy();
    this.current = null;
  }
}
