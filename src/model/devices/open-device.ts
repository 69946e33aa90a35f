// The one place a model's device is chosen and opened: a loaded model runs its network, its
// post-processing and the tensors between them on what this returns, and nothing after asks
// which device it has. Opening builds the network once at its own size, so a bad file fails at
// the load and not at the first image.
import type { Session } from '../../graph/session.js';
import type { LoadedWeights } from '../loading/load-weights.js';
import { GpuError } from '../../gpu/errors.js';
import { MissingPackageError } from '../../util/optional-package.js';
import { DEVICE_CHOICES, type DeviceChoice, type LoadOptions, type Precision } from '../loading/options.js';
import { checkedMemoryBudget } from '../memory.js';
import { type ContextOptions, type ModelContext, modelContext } from '../model-context.js';
import type { NetworkGraphs } from '../network-graphs.js';
import type { SegmentHost } from '../segment-host.js';
import type { FramePath, ModelDevice, SegmentStill } from './device.js';
import { cpuRuntime } from './cpu/cpu-runtime.js';
import { warmUpHostCode } from './cpu/host-code-warm-up.js';
import { ModelCpu } from './cpu/model-cpu.js';
import { ModelGpu } from './webgpu/model-gpu.js';

/** What loading asks of the device besides the context's options. */
export type DeviceOptions = ContextOptions &
  Pick<LoadOptions, 'device' | 'onProgress' | 'deviceLoss' | 'onDeviceLost' | 'signal'> & {
    session?: Session;
    /** With tuning 'full': when (performance.now()) compiling and tuning must be done (src/model/load-deadline.ts). */
    loadDeadline?: number;
    /** The weights' params were checked against their network by the loader (loadWeights and the page's load do). */
    paramsChecked?: boolean;
  };

/** A model's device, opened: the device, the precision it runs, and its frame path. */
export interface OpenedDevice {
  device: ModelDevice;
  precision: Precision;
  /** How frames go through the model whose host this is. */
  framePath(host: SegmentHost, still: SegmentStill): FramePath;
}

/** The GPU device on `context` (modelContext's): the weights uploaded (or training's session shared), the network compiled at `ownSize`. */
async function openGpu(weights: LoadedWeights, graphs: NetworkGraphs, ownSize: [number, number], opts: DeviceOptions, context: ModelContext): Promise<OpenedDevice> {
  const { ctx, owned, precision, memoryBudget } = context;
  const gpu = new ModelGpu(ctx, owned, weights, graphs, precision, memoryBudget, { policy: opts.deviceLoss, onLost: opts.onDeviceLost });
  try {
    const [h, w] = ownSize;
    const tuning = ctx.tuning.mode === 'full' ? `tuning (up to ${(ctx.tuning.budgetMs / 1000).toFixed(0)} s) and ` : '';
    opts.onProgress?.(`${tuning}compiling ${weights.name} for ${w}x${h}`);
    if (opts.session) gpu.share(opts.session);
    else gpu.uploadWeights(weights.buildGraph({ height: h, width: w }), !!opts.paramsChecked);
    await gpu.compileOwnSize(h, w, opts.loadDeadline);
    // Cancelled while compiling: give back what the load made.
    opts.signal?.throwIfAborted();
  } catch (e) {
    await gpu.disposeWhenIdle();
    throw e;
  }
  return { device: gpu, precision, framePath: (host) => gpu.framePath(host) };
}

/**
 * The options only WebGPU reads, refused for the CPU by name: a GPU context, training's session,
 * tuning (its kernels are WebGPU's; 'off' and 'cached' ask nothing and pass), half precision (the
 * CPU runs float32).
 */
function checkCpuOptions(opts: DeviceOptions): void {
  const tuning = opts.tune === 'full' ? (['tune'] as const) : [];
  const gpuOnly = [...(['ctx', 'session', 'quickTuning', 'loadDeadline'] as const).filter((k) => opts[k] !== undefined), ...tuning];
  if (gpuOnly.length) throw new Error(`device 'cpu': ${gpuOnly.map((k) => (k === 'tune' ? "tune 'full'" : k)).join(', ')} ${gpuOnly.length > 1 ? 'are' : 'is'} for a model on WebGPU`);
  if (opts.precision === 'f16') throw new Error("device 'cpu' runs float32: precision 'f16' is for a model on WebGPU (with shader-f16)");
  if (opts.precision !== undefined && opts.precision !== 'f32') throw new Error(`precision must be 'f32' or 'f16', got '${String(opts.precision)}'`);
  checkedMemoryBudget(opts.memoryBudget);
}

/**
 * The CPU device: the CPU runtime loaded, and the network's session made at `ownSize`. A model
 * whose weights are half precision (a transformers.js folder's fp16 file) runs them in float32.
 */
async function openCpu(weights: LoadedWeights, graphs: NetworkGraphs, ownSize: [number, number], opts: DeviceOptions, why?: string): Promise<OpenedDevice> {
  checkCpuOptions(opts);
  let runtime;
  try {
    runtime = await cpuRuntime();
  } catch (e) {
    throw why ? new Error(`${weights.name}: no WebGPU here (${why}), and no CPU runtime either: ${(e as Error).message}`, { cause: e }) : e;
  }
  const cpu = new ModelCpu(runtime, weights, graphs);
  try {
    // onnxruntime-web compiles its WebAssembly on other threads meanwhile (startCpuRuntime).
    if (runtime.web) await warmUpHostCode(weights, graphs, ownSize);
    const [h, w] = ownSize;
    if (why) opts.onProgress?.(`no WebGPU here (${why.split('\n')[0]}): ${weights.name} runs on the CPU (${runtime.name})`);
    opts.onProgress?.(`making ${weights.name}'s ${runtime.name} session for ${w}x${h}`);
    await cpu.network(h, w);
    opts.signal?.throwIfAborted();
  } catch (e) {
    cpu.dispose();
    throw e;
  }
  return { device: cpu, precision: 'f32', framePath: (host, still) => cpu.framePath(host, still) };
}

/** Whether `e` says this process or page has no WebGPU at all (no bindings, no navigator.gpu, no adapter). */
export function isWebgpuUnavailable(e: unknown): boolean {
  return (e instanceof GpuError && e.kind === 'unavailable') || (e instanceof MissingPackageError && e.packageName === 'webgpu');
}

/** The `device` option, checked. */
export function deviceChoice(device: unknown): DeviceChoice {
  if (device === undefined) return 'auto';
  if (!(DEVICE_CHOICES as readonly unknown[]).includes(device)) throw new Error(`device must be ${DEVICE_CHOICES.map((d) => `'${d}'`).join(', ')}, got ${typeof device === 'string' ? `'${device}'` : typeof device}`);
  return device as DeviceChoice;
}

/**
 * The device the options ask for, opened for `weights` with the network built at `ownSize`.
 * 'auto' takes WebGPU wherever a context can be made (a software adapter too: the CLI says where
 * the CPU is faster), and the CPU where WebGPU is missing altogether.
 */
export async function openDevice(weights: LoadedWeights, graphs: NetworkGraphs, ownSize: [number, number], opts: DeviceOptions): Promise<OpenedDevice> {
  const choice = deviceChoice(opts.device);
  if (choice === 'cpu') return openCpu(weights, graphs, ownSize, opts);
  let context: ModelContext;
  try {
    context = await modelContext({ ...opts, weightsPrecision: weights.precision });
  } catch (e) {
    if (choice === 'webgpu' || opts.ctx || opts.session || !isWebgpuUnavailable(e)) throw e;
    return openCpu(weights, graphs, ownSize, opts, (e as Error).message);
  }
  return openGpu(weights, graphs, ownSize, opts, context);
}
