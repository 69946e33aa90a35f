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
  /**
   * The half-precision variant: the shader's float tensors (`elem_t`, `elem4_t`) are f16 in
   * storage; arithmetic stays f32. Set by makeDispatch when a kernel binds f16 tensors.
   */
  half?: boolean;
}

/**
 * What every shader is compiled after: the storage type of float tensors. Shaders that support
 * half precision declare those tensors `array<elem_t>` (or `array<elem4_t>`), widen what they
 * read to f32 and narrow what they write with `elem_t(...)`; in the f32 variant both are no-ops.
 * (A type cannot be an override constant, so this one choice is made in the source text.)
 */
export function storagePrelude(half: boolean): string {
  return half
    ? 'enable f16;\nalias elem_t = f16;\nalias elem4_t = vec4<f16>;\n'
    : 'alias elem_t = f32;\nalias elem4_t = vec4<f32>;\n';
}

/** WGSL wants every `enable` directive before any declaration: the shader's own go first. */
const ENABLE_DIRECTIVE = /^enable [^;]+;[ \t]*$/gm;

/** A shader's source with the storage prelude after its own `enable` directives. */
export function withPrelude(source: string, half: boolean): string {
  const directives = source.match(ENABLE_DIRECTIVE) ?? [];
  return directives.map((d) => d + '\n').join('') + storagePrelude(half) + source.replace(ENABLE_DIRECTIVE, '');
}

export function kernelKey(spec: KernelSpec): string {
  const constants = spec.constants ?? {};
  const parts = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`);
  return `${spec.shader}${spec.half ? '/f16' : ''}:${spec.entryPoint ?? 'main'}{${parts.join(',')}}`;
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

  private module(shader: string, half: boolean): GPUShaderModule {
    const key = `${shader}${half ? '/f16' : ''}`;
    let mod = this.modules.get(key);
    if (!mod) {
      const source = loadShader(shader);
      // A shader with plain f32 arrays would read f16 data as garbage: refuse, do not guess.
      if (half && !/\belem4?_t\b/.test(source)) throw new Error(`${shader} has no half-precision (f16) variant`);
      mod = this.ctx.device.createShaderModule({ code: withPrelude(source, half), label: key });
      this.modules.set(key, mod);
    }
    return mod;
  }

  private descriptor(spec: KernelSpec): GPUComputePipelineDescriptor {
    return {
      label: kernelKey(spec),
      layout: 'auto',
      compute: { module: this.module(spec.shader, spec.half ?? false), entryPoint: spec.entryPoint ?? 'main', constants: spec.constants },
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
