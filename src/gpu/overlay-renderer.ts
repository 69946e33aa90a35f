// The class colours blended over a frame, drawn on the GPU: a render pipeline whose one
// triangle covers the target (a canvas's current texture in the page, any colour texture in
// Node), reading the frame texture and the class map where segmentFrameInto left them, with
// the palette in a storage buffer. No pixel is read back to the CPU. The blend is the CPU's
// overlayPalette (src/io/overlay.ts) to the byte (overlay_render.wgsl).
import type { GpuContext } from './context.js';
import { GpuTensor, shapeString } from './tensor.js';
import { loadShader } from './shader-source.js';
import { Uniforms } from './dispatch.js';

const SHADER = 'overlay_render.wgsl';

export class OverlayRenderer {
  private readonly module: GPUShaderModule;
  private readonly pipelines = new Map<GPUTextureFormat, GPURenderPipeline>();
  private readonly paletteBuffer: GPUBuffer;
  private readonly uniformBuffer: GPUBuffer;
  private readonly entries: number;
  /** The bind group of the last frame texture, class map and pipeline drawn with. */
  private bound: { frame: GPUTexture; classes: GPUBuffer; pipeline: GPURenderPipeline; group: GPUBindGroup } | null = null;
  private uniforms = '';
  private destroyed = false;

  /**
   * `palette`: RGB triples, one per class (a model's `palette`); `alpha`: the colours' weight,
   * in [0, 1].
   */
  constructor(
    private readonly ctx: GpuContext,
    palette: Uint8Array,
    private alphaValue = 0.5,
  ) {
    if (palette.length === 0 || palette.length % 3 !== 0) throw new Error(`OverlayRenderer: palette must be RGB triples, got ${palette.length} bytes`);
    OverlayRenderer.checkAlpha(alphaValue);
    this.entries = palette.length / 3;
    const packed = new Uint32Array(this.entries);
    for (let c = 0; c < this.entries; c++) packed[c] = palette[3 * c] | (palette[3 * c + 1] << 8) | (palette[3 * c + 2] << 16);
    this.module = ctx.device.createShaderModule({ code: loadShader(SHADER), label: SHADER });
    this.paletteBuffer = ctx.createBuffer(packed.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'overlay palette');
    ctx.device.queue.writeBuffer(this.paletteBuffer, 0, packed);
    this.uniformBuffer = ctx.createBuffer(32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'overlay params');
  }

  private static checkAlpha(alpha: number): void {
    if (!(alpha >= 0 && alpha <= 1)) throw new Error(`OverlayRenderer: alpha must be in [0, 1], got ${alpha}`);
  }

  get alpha(): number {
    return this.alphaValue;
  }

  set alpha(value: number) {
    OverlayRenderer.checkAlpha(value);
    this.alphaValue = value;
  }

  private pipeline(format: GPUTextureFormat): GPURenderPipeline {
    let pipeline = this.pipelines.get(format);
    if (!pipeline) {
      pipeline = this.ctx.device.createRenderPipeline({
        label: `overlay -> ${format}`,
        layout: 'auto',
        vertex: { module: this.module, entryPoint: 'vs' },
        fragment: { module: this.module, entryPoint: 'fs', targets: [{ format }] },
        primitive: { topology: 'triangle-list' },
      });
      this.pipelines.set(format, pipeline);
    }
    return pipeline;
  }

  /**
   * Draws `frame` with the class map `classes` ([1, height, width] u32 at the frame's size)
   * blended in, over the whole of `target` (scaled, nearest, if its size differs). The work is
   * submitted, not waited for: work submitted later sees the target drawn.
   */
  async draw(frame: GPUTexture, classes: GpuTensor, target: GPUTexture): Promise<void> {
    if (this.destroyed) throw new Error('OverlayRenderer used after destroy()');
    const { width: W, height: H } = frame;
    if (!(classes instanceof GpuTensor) || classes.dtype !== 'u32' || classes.shape.length !== 3 || classes.shape[1] !== H || classes.shape[2] !== W) {
      const got = classes instanceof GpuTensor ? `${classes.dtype} ${shapeString(classes.shape)}` : 'not a tensor';
      throw new Error(`OverlayRenderer: the class map must be a u32 tensor [1,${H},${W}] (the frame's size), got ${got}`);
    }
    const pipeline = this.pipeline(target.format);
    await this.ctx.checked(`drawing the overlay (${W}x${H} frame -> ${target.width}x${target.height} ${target.format})`, () => {
      const key = [W, H, target.width, target.height, this.alphaValue].join();
      if (key !== this.uniforms) {
        const u = new Uniforms().u32(W).u32(H).u32(target.width).u32(target.height).u32(this.entries).f32(this.alphaValue);
        this.ctx.device.queue.writeBuffer(this.uniformBuffer, 0, u.bytes());
        this.uniforms = key;
      }
      const b = this.bound;
      if (!b || b.frame !== frame || b.classes !== classes.buffer || b.pipeline !== pipeline) {
        const group = this.ctx.device.createBindGroup({
          label: 'overlay',
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: this.uniformBuffer } },
            { binding: 1, resource: frame.createView() },
            { binding: 2, resource: { buffer: classes.buffer, offset: classes.byteOffset, size: classes.byteLength } },
            { binding: 3, resource: { buffer: this.paletteBuffer } },
          ],
        });
        this.bound = { frame, classes: classes.buffer, pipeline, group };
      }
      const encoder = this.ctx.device.createCommandEncoder({ label: 'overlay' });
      const pass = encoder.beginRenderPass({
        label: 'overlay',
        colorAttachments: [{ view: target.createView(), loadOp: 'clear', clearValue: [0, 0, 0, 1], storeOp: 'store' }],
      });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, this.bound!.group);
      pass.draw(3);
      pass.end();
      this.ctx.device.queue.submit([encoder.finish()]);
    });
  }

  /** Releases the palette and uniform buffers. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.bound = null;
    this.pipelines.clear();
    this.ctx.destroyBuffer(this.paletteBuffer);
    this.ctx.destroyBuffer(this.uniformBuffer);
  }
}
