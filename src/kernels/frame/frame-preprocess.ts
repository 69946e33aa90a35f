// The network's input made on the GPU from a frame in a texture (a video frame, a canvas): the
// input pipeline's resize to the network's size (PIL's bilinear, or a hub processor's resize in
// torch's fixed point) and the input normalisation, the same pipeline as resizeRgb and the input
// normalisation on the CPU (src/io/resize-cpu.ts, input-normalization.ts), to the bit. Two
// kernels: frame_resize_rows.wgsl (horizontal pass, from the texture into u8 rows) and
// frame_resize_columns.wgsl (vertical pass and normalisation, into NHWC f32 [1, outH, outW, 3]).
// The fixed-point coefficients are computed on the host by the CPU pipeline's own function and
// uploaded; the normalisation is a 256-entry table made by the CPU pipeline's own functions. No
// pixel goes through the CPU.
import type { GpuContext } from '../../gpu/context.js';
import { type Dispatch, Uniforms, linearGrid, makeDispatch } from '../../gpu/dispatch.js';
import { STORAGE_USAGE } from '../../gpu/buffer-pool.js';
import type { KernelSpec } from '../../gpu/pipeline-cache.js';
import { type GpuTensor, checkBindable } from '../../gpu/tensor.js';
import { type RgbImage, checkImageSize } from '../../io/rgb-image.js';
import { type InputNormalizationName, inputNormalization } from '../../io/input-normalization.js';
import { PIL_BILINEAR, type Resample, resampleCoeffs, resizeRgb } from '../../io/resize-cpu.js';
import { expectPositiveInt, expectShape } from '../checks.js';

const KERNEL = 'framePreprocess';
const WG = 64;

export interface FramePreprocessParams {
  /** The network's input size. */
  outW: number;
  outH: number;
  /** The network's input normalisation (src/io/input-normalization.ts), by name. */
  normalization: InputNormalizationName;
  /** The input pipeline's resize (default: PIL's bilinear). */
  resample?: Resample;
}

/** Texture formats the kernel reads: what copyExternalImageToTexture and writeTexture fill with bytes. */
export const FRAME_FORMATS: readonly GPUTextureFormat[] = ['rgba8unorm', 'bgra8unorm'];

/** Throws a clear error unless `texture` is a 2-D byte RGBA texture the kernel can bind. */
export function checkFrameTexture(texture: GPUTexture, what = 'frame'): void {
  if (texture.dimension !== '2d' || texture.depthOrArrayLayers !== 1) {
    throw new Error(`${what}: expected a 2-D texture of one layer, got ${texture.dimension} with ${texture.depthOrArrayLayers} layers`);
  }
  if (!FRAME_FORMATS.includes(texture.format)) {
    throw new Error(`${what}: texture format ${texture.format} is not read; use ${FRAME_FORMATS.join(' or ')} (what copyExternalImageToTexture fills)`);
  }
  if (texture.sampleCount !== 1) throw new Error(`${what}: a multisampled texture (${texture.sampleCount} samples) cannot be read; resolve it first`);
  if (!(texture.usage & GPUTextureUsage.TEXTURE_BINDING)) {
    throw new Error(`${what}: the texture was made without GPUTextureUsage.TEXTURE_BINDING, so no kernel can read it`);
  }
  checkImageSize(texture.width, texture.height, what);
}

/** One axis's coefficients as the shaders read them: per output, first input, count, `ksize` weights (`precision` fraction bits). */
export function packedCoefficients(inSize: number, outSize: number, resample: Resample = PIL_BILINEAR): { data: Int32Array; ksize: number; precision: number } {
  const c = resampleCoeffs(inSize, outSize, resample);
  const stride = 2 + c.ksize;
  const data = new Int32Array(outSize * stride);
  for (let o = 0; o < outSize; o++) {
    data[o * stride] = c.start[o];
    data[o * stride + 1] = c.count[o];
    data.set(c.weights.subarray(o * c.ksize, (o + 1) * c.ksize), o * stride + 2);
  }
  return { data, ksize: c.ksize, precision: c.precision };
}

/**
 * [256, 3]: the normalised value of each byte in each channel, computed by the CPU pipeline's
 * own normalisation (so the GPU's input is bit-identical to it).
 */
export function normalizationTable(normalization: InputNormalizationName): Float32Array {
  const { normalize } = inputNormalization(normalization, KERNEL);
  const grey: RgbImage = { width: 256, height: 1, data: new Uint8Array(768) };
  for (let v = 0; v < 256; v++) grey.data.fill(v, 3 * v, 3 * v + 3);
  return normalize(grey);
}

export function frameResizeRowsSpec(): KernelSpec {
  return { shader: 'frame_resize_rows.wgsl', constants: { WG } };
}

export function frameResizeColumnsSpec(): KernelSpec {
  return { shader: 'frame_resize_columns.wgsl', constants: { WG } };
}

/**
 * The two launches that fill `out` ([1, outH, outW, 3] f32) from the texture `frame` at its
 * own size. They own their coefficients, table and intermediate rows (disposeDispatch frees
 * them) and can be run again for every new frame copied into the same texture.
 */
export function prepareFramePreprocess(ctx: GpuContext, t: { frame: GPUTexture; out: GpuTensor }, p: FramePreprocessParams): Dispatch[] {
  checkFrameTexture(t.frame, KERNEL);
  expectPositiveInt(p.outW, KERNEL, 'outW');
  expectPositiveInt(p.outH, KERNEL, 'outH');
  expectShape(t.out.shape, [1, p.outH, p.outW, 3], KERNEL, 'out');
  if (t.out.dtype !== 'f32') throw new Error(`${KERNEL}: out must be f32, got ${t.out.dtype}`);
  const { width: inW, height: inH } = t.frame;
  const rowsBytes = inH * p.outW * 4;
  checkBindable(ctx, rowsBytes, `${KERNEL}: intermediate rows ${inH}x${p.outW}`);
  const table = normalizationTable(p.normalization);
  const x = packedCoefficients(inW, p.outW, p.resample);
  const y = packedCoefficients(inH, p.outH, p.resample);

  const owned: GPUBuffer[] = [];
  const made: Dispatch[] = [];
  try {
    const upload = (data: Int32Array | Float32Array, label: string): GPUBuffer => {
      const buffer = ctx.createBuffer(data.byteLength, STORAGE_USAGE, label);
      owned.push(buffer);
      ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      return buffer;
    };
    const xCoeffs = upload(x.data, `${KERNEL}:x coefficients`);
    const yCoeffs = upload(y.data, `${KERNEL}:y coefficients`);
    const tableBuffer = upload(table, `${KERNEL}:normalization`);
    const rows = ctx.createBuffer(rowsBytes, STORAGE_USAGE, `${KERNEL}:rows`);
    owned.push(rows);
    const size = `${inW}x${inH} -> ${p.outW}x${p.outH}`;
    const rowsCount = inH * p.outW;
    made.push({
      ...makeDispatch(ctx, {
        label: `${KERNEL} rows ${size}`,
        spec: frameResizeRowsSpec(),
        uniforms: new Uniforms().u32(rowsCount).u32(p.outW).u32(x.ksize).u32(x.precision),
        buffers: [t.frame.createView({ label: `${KERNEL}:frame` }), xCoeffs, rows],
        workgroups: linearGrid(ctx, rowsCount, WG),
      }),
      ownedBuffers: [xCoeffs, rows],
    });
    const outCount = p.outH * p.outW;
    made.push({
      ...makeDispatch(ctx, {
        label: `${KERNEL} columns ${size} (${p.normalization})`,
        spec: frameResizeColumnsSpec(),
        uniforms: new Uniforms().u32(outCount).u32(p.outW).u32(y.ksize).u32(y.precision),
        buffers: [rows, yCoeffs, tableBuffer, t.out],
        workgroups: linearGrid(ctx, outCount, WG),
      }),
      ownedBuffers: [yCoeffs, tableBuffer],
    });
    return made;
  } catch (e) {
    // Free what was made: the dispatches' uniforms and every buffer uploaded.
    for (const d of made) ctx.destroyBuffer(d.uniformBuffer);
    for (const b of owned) ctx.destroyBuffer(b);
    throw e;
  }
}

/**
 * CPU reference: RGBA bytes (alpha dropped, as PIL's convert('RGB')) resized and normalised as
 * the model's CPU path does.
 */
export function framePreprocessCpu(rgba: Uint8Array, width: number, height: number, p: FramePreprocessParams): Float32Array {
  if (rgba.length !== width * height * 4) throw new Error(`${KERNEL}: ${rgba.length} bytes for a ${width}x${height} RGBA image`);
  const rgb: RgbImage = { width, height, data: new Uint8Array(width * height * 3) };
  for (let i = 0; i < width * height; i++) rgb.data.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  const resized = width === p.outW && height === p.outH ? rgb : resizeRgb(rgb, p.outW, p.outH, p.resample ?? PIL_BILINEAR, KERNEL);
  return inputNormalization(p.normalization, KERNEL).normalize(resized);
}
