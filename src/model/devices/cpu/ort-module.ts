// An onnxruntime module (onnxruntime-node's or onnxruntime-web's) as the CPU device uses it: the
// few parts of its API we call, typed here so that neither package is needed to build or to use
// the library on WebGPU.

/** The part of an onnxruntime module (onnxruntime-node's or onnxruntime-web's) the CPU device uses. */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: OrtTensorConstructor;
  env: { versions?: Record<string, string | undefined>; wasm?: { numThreads?: number } };
}

export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
  dispose?(): void;
}

/** Tensors over host arrays (the runtime reads them, and writes a pre-allocated output, in place). */
export interface OrtTensorConstructor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor;
  new (type: 'uint32', data: Uint32Array, dims: readonly number[]): OrtTensor;
}

export interface OrtSession {
  /** Runs once; `fetches` names outputs to write into tensors given (pre-allocated), the others the runtime allocates. */
  run(feeds: Record<string, OrtTensor>, fetches?: Record<string, OrtTensor | null>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/** A CPU runtime: its module, its name in messages ('onnxruntime-node 1.30.0'), and whether it is onnxruntime-web's WebAssembly build. */
export interface CpuRuntime {
  ort: OrtModule;
  name: string;
  web: boolean;
}

/** Whether `m` looks like an onnxruntime module. */
function isOrtModule(m: unknown): m is OrtModule {
  const o = m as Partial<OrtModule> | null;
  return typeof o === 'object' && o !== null && typeof o.InferenceSession?.create === 'function' && typeof o.Tensor === 'function' && typeof o.env === 'object';
}

/** The runtime of an onnxruntime module, named by its package and version. */
export function cpuRuntimeOf(m: unknown, packageName: string): CpuRuntime {
  const ort = (m as { default?: unknown })?.default && !isOrtModule(m) ? (m as { default: unknown }).default : m;
  if (!isOrtModule(ort)) throw new Error(`${packageName} is not an onnxruntime module (no InferenceSession, Tensor and env)`);
  // Named by the build it is where it says (a module imported from a URL is onnxruntime-web's).
  const { node, web, common } = ort.env.versions ?? {};
  const name = node ? `onnxruntime-node ${node}` : web ? `onnxruntime-web ${web}` : common ? `${packageName} ${common}` : packageName;
  return { ort, name, web: web !== undefined };
}
