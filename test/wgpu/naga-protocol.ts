// What the Node side hands naga-compile.ts (under Deno) and what it hears back.

/** One shader module and the pipeline to create from it. */
export interface NagaJob {
  /** The kernel's key (src/gpu/pipeline-cache.ts kernelKey): file, precision, consts, entry point, overrides. */
  name: string;
  code: string;
  entryPoint: string;
  constants: Record<string, number>;
  /** Device features the module needs ('shader-f16'); the device declines it without them. */
  features: string[];
}

/** The adapter as wgpu reports it. */
export interface WgpuProfile {
  features: string[];
  limits: Record<string, number>;
  /** A device's limits where none are asked for: WebGPU's defaults. */
  defaultLimits: Record<string, number>;
  info: { vendor?: string; architecture?: string; device?: string; description?: string };
  isFallbackAdapter: boolean | null;
}

/** What became of one job: compiled (error null), rejected (the message), declined, or naga panicked. */
export interface NagaResult {
  job: NagaJob;
  error: string | null;
  declined?: string;
  panicked?: boolean;
}
