// Frames on the GPU (a GPUTexture; in the browser a VideoFrame, <video>, ImageBitmap or canvas,
// copied into a texture kept from frame to frame): resized and normalised by a kernel as the CPU
// path does it (bit for bit), then the network and the same post-processing. A frame's pixels
// never reach the CPU; only its class map (and what `include` asks for) comes back, or with
// `into` the class map stays on the GPU for a renderer (src/gpu/overlay-renderer.ts).
import { FrameTexture } from '../../../gpu/frame-texture.js';
import { type GpuTensor, copyTensor, shapeString } from '../../../gpu/tensor.js';
import type { GpuContext } from '../../../gpu/context.js';
import { type FrameInput, isExternalFrame, isGpuTexture } from '../../../io/frame-source.js';
import { checkFrameTexture } from '../../../kernels/frame/frame-preprocess.js';
import type { PadParams } from '../../../kernels/layout/pad.js';
import { FramePreprocessor } from './frame-preprocessor.js';
import { buildPadInputGraph, buildPostGraph, paddingKey } from '../../post-graphs.js';
import type { SegmentHost } from '../../segment-host.js';
import type { SegmentOutput, SegmentResult } from '../../segment-options.js';
import type { DeviceProgram, DeviceTensor } from '../device.js';
import { gpuTensor } from './gpu-program.js';

/** A model's frame path: the texture page frames are copied into and the preprocessing kernels, made on first use. */
export class FrameSegmenter {
  /** Page frames are copied into this texture (made on the first one). */
  private frameTexture: FrameTexture | null = null;
  /** The frame path's network input and its kernels, kept from frame to frame. */
  private framePreprocessor: FramePreprocessor | null = null;

  constructor(
    private readonly ctx: GpuContext,
    private readonly host: SegmentHost,
  ) {}

  /**
   * A frame through the GPU path, inside a turn of the context's queue: into the model's texture
   * (page frames), preprocessed by the frame kernels, the network, then the post-processing at
   * the frame's size. Returns the result read back, or with `into` copies the class map there
   * and returns null.
   */
  async segment(frame: FrameInput, scale: number, include: Set<SegmentOutput>, into?: GpuTensor): Promise<SegmentResult | null> {
    const host = this.host;
    let texture: GPUTexture;
    if (isGpuTexture(frame)) texture = frame;
    else if (isExternalFrame(frame)) texture = (this.frameTexture ??= new FrameTexture(this.ctx, `${host.name}: frame`)).upload(frame, 'segment');
    else throw new Error('segment: not a frame');
    checkFrameTexture(texture, 'segment');
    const { width: W, height: H } = texture;
    if (into && (into.dtype !== 'u32' || into.shape.length !== 3 || into.shape[0] !== 1)) {
      throw new Error(`segmentFrameInto: classes must be a [1, height, width] u32 tensor, got ${into.dtype} ${shapeString(into.shape)}`);
    }
    if (into && (into.shape[1] !== H || into.shape[2] !== W)) {
      throw new Error(`segmentFrameInto: classes is ${shapeString(into.shape)}, the frame ${W}x${H} needs [1,${H},${W}]`);
    }
    const C = host.numClasses;
    const [h, w] = host.networkSize(W, H, scale);
    const padding = host.inputPadding(W, H, scale);
    const raw = host.postLogits(h, w);
    const postKey = `${raw.height}x${raw.width}${paddingKey(padding)}->${H}x${W}:${[...include].sort().join(',')}`;
    const post = (): Promise<DeviceProgram> => host.postProgram(postKey, () => buildPostGraph(raw.height, raw.width, C, H, W, include, host.outputResize, padding));
    // Post-processing first: a frame too large for the device's limits fails before any GPU work.
    await post();
    this.framePreprocessor ??= new FramePreprocessor(this.ctx, host.normalization, host.resample);
    const input = padding ? await this.paddedInput(texture, h, w, padding) : await this.framePreprocessor.run(texture, h, w);
    if (into) {
      const logits = await host.forward(input, h, w, 1, raw.name);
      const classes = (await (await post()).runKept({ logits })).get('classes')!;
      await copyTensor(this.ctx, gpuTensor(classes), into);
      return null;
    }
    // The network and the post-processing in one submission.
    const exec = await host.program(h, w);
    const postProgram = await post();
    let logits!: DeviceTensor;
    const out = await postProgram.runAfter(exec, { image: input }, (o) => ({ logits: (logits = o.get(raw.name)!) }));
    const result: SegmentResult = { width: W, height: H, classes: Uint8Array.from(out.get('classes') as Uint32Array), numClasses: C };
    if (include.has('probabilities')) result.probabilities = out.get('probabilities') as Float32Array;
    if (include.has('logits')) result.logits = (out.get('logits') as Float32Array | undefined) ?? (await host.tensors.read(logits));
    return result;
  }

  /** The frame resized to its size inside the network's input by the frame kernels, then padded around it on the GPU. */
  private async paddedInput(texture: GPUTexture, h: number, w: number, padding: PadParams): Promise<GpuTensor> {
    const [ih, iw] = [h - padding.top - padding.bottom, w - padding.left - padding.right];
    const resized = await this.framePreprocessor!.run(texture, ih, iw);
    const pad = await this.host.postProgram(`pad input ${ih}x${iw}${paddingKey(padding)}`, () => buildPadInputGraph(ih, iw, padding));
    return gpuTensor((await pad.runKept({ image: resized })).get('padded')!);
  }

  /** GPU bytes of the texture and the preprocessing's input and kernels. */
  get bytes(): number {
    return (this.frameTexture?.bytes ?? 0) + (this.framePreprocessor?.bytes ?? 0);
  }

  /** Frees the texture and the preprocessing kernels. */
  release(): void {
    this.framePreprocessor?.release();
    this.frameTexture?.destroy();
    // Made again on first use (after a lost device, on the new one).
    [this.framePreprocessor, this.frameTexture] = [null, null];
  }
}
