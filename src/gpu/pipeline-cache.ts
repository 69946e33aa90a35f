// Compute pipelines cached by their specialisation: shader file, entry point and override
// constants. Tensor sizes never enter the key; they travel in uniform buffers, so one pipeline
// serves every layer of the same kind.
import { GpuError } from './errors.js';
import { loadShader } from './shader-source.js';

export interface KernelSpec {
  /** File name under shaders/, e.g. 'conv2d.wgsl'. */
  shader: string;
  /** Entry point; 'main' when omitted. */
  entryPoint?: string;
  /** WGSL `override` constants that specialise the shader (activation, fused add, ...). */
  constants?: Record<string, number>;
}

export function kernelKey(spec: KernelSpec): string {
  const constants = spec.constants ?? {};
  const parts = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`);
  return `${spec.shader}:${spec.entryPoint ?? 'main'}{${parts.join(',')}}`;
}

/** What the cache needs of its owner (the GpuContext): the device, and a check that it is alive. */
export interface PipelineHost {
  readonly device: GPUDevice;
  assertAlive(): void;
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pending = new Map<string, Promise<GPUComputePipeline>>();

  constructor(private readonly ctx: PipelineHost) {}

  get size(): number {
    return this.pipelines.size;
  }

  has(spec: KernelSpec): boolean {
    return this.pipelines.has(kernelKey(spec));
  }

  private module(shader: string): GPUShaderModule {
    let mod = this.modules.get(shader);
    if (!mod) {
      mod = this.ctx.device.createShaderModule({ code: loadShader(shader), label: shader });
      this.modules.set(shader, mod);
    }
    return mod;
  }

  private descriptor(spec: KernelSpec): GPUComputePipelineDescriptor {
    return {
      label: kernelKey(spec),
      layout: 'auto',
      compute: { module: this.module(spec.shader), entryPoint: spec.entryPoint ?? 'main', constants: spec.constants },
    };
  }

  /** Returns the cached pipeline, creating it synchronously if nobody compiled it ahead. */
  get(spec: KernelSpec): GPUComputePipeline {
    this.ctx.assertAlive();
    const key = kernelKey(spec);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = this.ctx.device.createComputePipeline(this.descriptor(spec));
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** Compiles every spec not yet cached, all in parallel; errors name the kernel. */
  async compile(specs: KernelSpec[]): Promise<void> {
    this.ctx.assertAlive();
    const jobs: Promise<unknown>[] = [];
    for (const spec of specs) {
      const key = kernelKey(spec);
      if (this.pipelines.has(key)) continue;
      let job = this.pending.get(key);
      if (!job) {
        job = this.ctx.device
          .createComputePipelineAsync(this.descriptor(spec))
          .then((p) => {
            this.pipelines.set(key, p);
            this.pending.delete(key);
            return p;
          })
          .catch((err: unknown) => {
            this.pending.delete(key);
            throw new GpuError(`compiling kernel ${key}: ${(err as Error).message ?? String(err)}`, 'validation');
          });
        this.pending.set(key, job);
      }
      jobs.push(job);
    }
    await Promise.all(jobs);
  }

  clear(): void {
    // Pipelines and modules have no destroy(); dropping the references lets Dawn free them.
    this.pipelines.clear();
    this.modules.clear();
    this.pending.clear();
  }
}
