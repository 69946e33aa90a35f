// The one place a model's device is chosen and opened: a loaded model runs its network, its
// post-processing and the tensors between them on what this returns, and nothing after asks
// which device it has. Opening builds the network once at its own size, so a bad file fails at
// the load and not at the first image.
import type { Session } from '../../graph/session.js';
import type { LoadedWeights } from '../loading/load-weights.js';
import type { LoadOptions, Precision } from '../loading/options.js';
import { type ContextOptions, modelContext } from '../model-context.js';
import type { NetworkGraphs } from '../network-graphs.js';
import type { SegmentHost } from '../segment-host.js';
import type { FramePath, ModelDevice, SegmentStill } from './device.js';
import { ModelGpu } from './webgpu/model-gpu.js';

/** What loading asks of the device besides the context's options. */
export type DeviceOptions = ContextOptions &
  Pick<LoadOptions, 'onProgress' | 'deviceLoss' | 'onDeviceLost' | 'signal'> & {
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

/** The GPU device: a context (the caller's or its own), the weights uploaded (or training's session shared), the network compiled at `ownSize`. */
async function openGpu(weights: LoadedWeights, graphs: NetworkGraphs, ownSize: [number, number], opts: DeviceOptions): Promise<OpenedDevice> {
  const { ctx, owned, precision, memoryBudget } = await modelContext({ ...opts, weightsPrecision: weights.precision });
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

/** The device the options ask for, opened for `weights` with the network built at `ownSize`. */
export function openDevice(weights: LoadedWeights, graphs: NetworkGraphs, ownSize: [number, number], opts: DeviceOptions): Promise<OpenedDevice> {
  return openGpu(weights, graphs, ownSize, opts);
}
