// Frames in textures for the tests of the GPU frame path (preprocessing, segment(texture), the
// overlay): random RGBA bytes, uploaded with writeTexture as a page's copyExternalImageToTexture
// would fill them, and read back.
import type { GpuContext } from '../src/gpu/context.js';
import type { RgbImage } from '../src/io/rgb-image.js';
import { makeRng, RUN_SEED } from './helpers.js';

/** Random RGBA bytes, alpha included (the kernels must ignore it). */
export function randomRgba(width: number, height: number, seed: number): Uint8Array<ArrayBuffer> {
  const r = makeRng(RUN_SEED ^ (seed * 0x2545f491));
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 256);
  return data;
}

/** RGB to RGBA with opaque alpha. */
export function rgbToRgba(img: RgbImage): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(img.width * img.height * 4).fill(255);
  for (let i = 0; i < img.width * img.height; i++) out.set(img.data.subarray(3 * i, 3 * i + 3), 4 * i);
  return out;
}

/** RGBA to RGB, alpha dropped. */
export function rgbaToRgb(rgba: Uint8Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  return { width, height, data };
}

/** A texture holding `rgba` (the caller destroys it). */
export function rgbaTexture(
  ctx: GpuContext,
  width: number,
  height: number,
  rgba: Uint8Array<ArrayBuffer>,
  format: GPUTextureFormat = 'rgba8unorm',
  usage: GPUTextureUsageFlags = GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
): GPUTexture {
  const texture = ctx.device.createTexture({ size: [width, height], format, usage, label: 'test frame' });
  if (usage & GPUTextureUsage.COPY_DST) ctx.device.queue.writeTexture({ texture }, rgba, { bytesPerRow: width * 4, rowsPerImage: height }, [width, height]);
  return texture;
}

/** The bytes of an 8-bit RGBA texture, read back through a buffer (rows padded to 256 bytes). */
export async function readRgbaTexture(ctx: GpuContext, texture: GPUTexture): Promise<Uint8Array> {
  const { width, height } = texture;
  const stride = Math.ceil((width * 4) / 256) * 256;
  const staging = ctx.createBuffer(stride * height, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'texture readback');
  try {
    const encoder = ctx.device.createCommandEncoder();
    encoder.copyTextureToBuffer({ texture }, { buffer: staging, bytesPerRow: stride, rowsPerImage: height }, [width, height]);
    ctx.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const padded = new Uint8Array(staging.getMappedRange());
    const out = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) out.set(padded.subarray(y * stride, y * stride + width * 4), y * width * 4);
    staging.unmap();
    return out;
  } finally {
    ctx.destroyBuffer(staging);
  }
}
