// Compute pipelines cached by their specialisation: shader file, entry point and override
// constants. Tensor sizes never enter the key; they travel in uniform buffers, so one pipeline
// serves every layer of the same kind.
import { GpuError } from './errors.js';
import { expandRepeats } from './shader-include.js';
import { loadShader } from './shader-source.js';

export interface KernelSpec {
  /** A WGSL file's name (unique across the tree, scripts/shaders.mjs), e.g. 'conv2d_gemm.wgsl'. */
  shader: string;
  /** Entry point; 'main' when omitted. */
  entryPoint?: string;
  /** WGSL `override` constants that specialise the shader (activation, fused add, ...). */
  constants?: Record<string, number>;
  /**
   * The half-precision variant: the shader's float tensors (`elem_t`, `elem4_t`) are f16 in
   * storage (and its arithmetic, where it computes in `acc_t` and `accumulate` is 'f16'). Set
   * by makeDispatch when a kernel binds f16 tensors.
   */
  half?: boolean;
  /**
   * The accumulation type of a half-precision variant (`acc_t`): f32 unless 'f16'. A kernel
   * specialisation like any other: an f16-accumulating variant is its own candidate. Ignored
   * without `half` (an f32 program accumulates in f32).
   */
  accumulate?: 'f32' | 'f16';
  /**
   * Module-scope `const NAME: u32` declarations put before the source, for what an override
   * cannot set: the shape parameters of a type (subgroup matrices). Each distinct set is its own
   * shader module; prefer `constants` wherever an override will do.
   */
  consts?: Record<string, number>;
}

/**
 * What every shader is compiled after: the storage type of float tensors and the arithmetic
 * type. Shaders that support half precision declare those tensors `array<elem_t>` (or
 * `array<elem4_t>`) and narrow what they write with `elem_t(...)`. They compute in f32 (what
 * they read widened), or in `acc_t` / `acc4_t`: f32 too, unless the spec of a half variant asks
 * for f16 accumulation, and then the kernel computes in f16 throughout. In the f32 variant every
 * alias is f32. (A type cannot be an override constant, so this choice is made in the source
 * text.)
 */
export function storagePrelude(half: boolean, accumulate: 'f32' | 'f16' = 'f32'): string {
  if (!half) return 'alias elem_t = f32;\nalias elem4_t = vec4<f32>;\nalias acc_t = f32;\nalias acc4_t = vec4<f32>;\n';
  const acc = accumulate === 'f16' ? 'f16' : 'f32';
  return `enable f16;\nalias elem_t = f16;\nalias elem4_t = vec4<f16>;\nalias acc_t = ${acc};\nalias acc4_t = vec4<${acc}>;\n`;
}

/** The accumulation type a spec compiles with: f16 only in a half variant that asks for it. */
function accumulation(spec: KernelSpec): 'f32' | 'f16' {
  return spec.half && spec.accumulate === 'f16' ? 'f16' : 'f32';
}

/** WGSL wants every `enable` directive before any declaration: the shader's own go first. */
const ENABLE_DIRECTIVE = /^enable [^;]+;[ \t]*$/gm;

/** WGSL wants `diagnostic` directives with the `enable`s, before any declaration. */
const DIAGNOSTIC_DIRECTIVE = /^diagnostic\([^)]*\);[ \t]*$/gm;

/**
 * A shader's source with the storage prelude (and any `consts`) after its own directives, its
 * `//#repeat` blocks expanded with those consts.
 */
export function withPrelude(source: string, half: boolean, consts?: Record<string, number>, name?: string, accumulate: 'f32' | 'f16' = 'f32'): string {
  source = expandRepeats(source, consts, name);
  const directives = [...(source.match(ENABLE_DIRECTIVE) ?? []), ...(source.match(DIAGNOSTIC_DIRECTIVE) ?? [])];
  const body = source.replace(ENABLE_DIRECTIVE, '').replace(DIAGNOSTIC_DIRECTIVE, '');
  return directives.map((d) => d + '\n').join('') + storagePrelude(half, accumulate) + constDeclarations(consts) + body;
}

/** `name=value` pairs in name order, comma-separated. */
function sortedPairs(values: Record<string, number> = {}): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${k}=${values[k]}`)
    .join(',');
}

/** The shader module a spec compiles: the file, its storage and accumulation types and its `consts`. */
function moduleKey(spec: KernelSpec): string {
  const consts = sortedPairs(spec.consts);
  return `${spec.shader}${spec.half ? '/f16' : ''}${accumulation(spec) === 'f16' ? '+acc16' : ''}${consts ? `[${consts}]` : ''}`;
}

/** The `const` declarations of `consts`, one per line (u32, as every shape parameter is). */
export function constDeclarations(consts: Record<string, number> = {}): string {
  return Object.keys(consts)
    .sort()
    .map((name) => {
      const v = consts[name];
      if (!/^[A-Z][A-Z0-9_]*$/.test(name) || !Number.isInteger(v) || v < 0) throw new Error(`shader const ${name} = ${v}: expected an UPPER_CASE name and a non-negative integer`);
      return `const ${name}: u32 = ${v}u;\n`;
    })
    .join('');
}

/**
 * The WGSL of the shader module a spec compiles: its file with the storage prelude, its consts
 * and its repeats expanded. Refuses a variant the file does not have.
 */
export function moduleSource(spec: KernelSpec): string {
  const { shader } = spec;
  const half = spec.half ?? false;
  const source = loadShader(shader);
  // A shader with plain f32 arrays would read f16 data as garbage: refuse, do not guess.
  if (half && !/\belem4?_t\b/.test(source)) throw new Error(`${shader} has no half-precision (f16) variant`);
  // An f16 accumulator asked of a shader that accumulates in f32 regardless would be a lie.
  if (accumulation(spec) === 'f16' && !/\bacc4?_t\b/.test(source)) throw new Error(`${shader} has no f16-accumulating variant`);
  return withPrelude(source, half, spec.consts, shader, accumulation(spec));
}

export function kernelKey(spec: KernelSpec): string {
  return `${moduleKey(spec)}:${spec.entryPoint ?? 'main'}{${sortedPairs(spec.constants)}}`;
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

  private module(spec: KernelSpec): GPUShaderModule {
    const key = moduleKey(spec);
    let mod = this.modules.get(key);
    if (!mod) {
      mod = this.ctx.device.createShaderModule({ code: moduleSource(spec), label: key });
      this.modules.set(key, mod);
    }
    return mod;
  }

  private descriptor(spec: KernelSpec): GPUComputePipelineDescriptor {
    return {
      label: kernelKey(spec),
      layout: 'auto',
      compute: { module: this.module(spec), entryPoint: spec.entryPoint ?? 'main', constants: spec.constants },
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
