// A model's network input for frames on the GPU: the preprocessing kernels
// (src/kernels/frame/frame-preprocess.ts) prepared once for a texture and a network size, and run for
// every frame copied into that texture, into one input tensor kept from frame to frame. Another
// texture or size prepares them again (the old ones are released first); release() frees all.
import type { GpuContext } from '../../../gpu/context.js';
import { type Dispatch, disposeDispatch, encodeDispatches } from '../../../gpu/dispatch.js';
import { type GpuTensor, createTensor } from '../../../gpu/tensor.js';
import type { InputNormalizationName } from '../../../io/input-normalization.js';
import type { Resample } from '../../../io/resize-cpu.js';
import { prepareFramePreprocess } from '../../../kernels/frame/frame-preprocess.js';

export class FramePreprocessor {
  private texture: GPUTexture | null = null;
  private size = '';
  private dispatches: Dispatch[] = [];
  private input: GpuTensor | null = null;
  /** How many times the kernels were prepared (a new texture or size each time after the first). */
  prepared = 0;

  constructor(
    private readonly ctx: GpuContext,
    private readonly normalization: InputNormalizationName,
    private readonly resample: Resample,
  ) {}

  /**
   * Submits the preprocessing of the frame now in `texture` for a network input of height x
   * width, and returns the tensor it fills ([1, height, width, 3] f32, valid until the next
   * call or release()). Work submitted afterwards sees the result (the queue runs in order).
   */
  async run(texture: GPUTexture, height: number, width: number): Promise<GpuTensor> {
    const size = `${texture.width}x${texture.height} -> ${width}x${height}`;
    if (texture !== this.texture || size !== this.size || !this.input) this.prepare(texture, height, width, size);
    const dispatches = this.dispatches;
    await this.ctx.checked(`preprocessing a frame ${size}`, () => {
      const encoder = this.ctx.device.createCommandEncoder({ label: 'frame preprocessing' });
      const pass = encoder.beginComputePass({ label: 'frame preprocessing' });
      encodeDispatches(pass, dispatches);
      pass.end();
      this.ctx.device.queue.submit([encoder.finish()]);
    });
    return this.input!;
  }

  private prepare(texture: GPUTexture, height: number, width: number, size: string): void {
    this.release();
    const input = createTensor(this.ctx, [1, height, width, 3], 'f32', 'frame input');
    try {
      this.dispatches = prepareFramePreprocess(this.ctx, { frame: texture, out: input }, { outW: width, outH: height, normalization: this.normalization, resample: this.resample });
    } catch (e) {
      input.dispose();
      throw e;
    }
    this.input = input;
    this.texture = texture;
    this.size = size;
    this.prepared++;
  }

  /** GPU bytes of the network input and the kernels' uniforms. */
  get bytes(): number {
    let n = this.input?.byteLength ?? 0;
    for (const d of this.dispatches) n += d.uniformBuffer.size + (d.ownedBuffers ?? []).reduce((a, b) => a + b.size, 0);
    return n;
  }

  release(): void {
    for (const d of this.dispatches) disposeDispatch(this.ctx, d);
    this.dispatches = [];
    this.input?.dispose();
    this.input = null;
    this.texture = null;
    this.size = '';
  }
}
