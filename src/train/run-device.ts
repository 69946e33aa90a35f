// The device a `deeplab train` run (runTraining) trains on: WebGPU (a GPU context, the caller's
// or one of the run's own) or the CPU (ONNX Runtime), by the run's `device` option: 'auto' takes
// WebGPU wherever a context can be made, a software adapter included, and the CPU where WebGPU
// is missing altogether (no bindings, no adapter), saying so.
import { GpuContext } from '../gpu/context.js';
import type { DeviceChoice } from '../model/loading/options.js';
import { cpuRuntime } from '../model/devices/cpu/cpu-runtime.js';
import { cpuTrainingDevice } from '../model/devices/cpu/cpu-training.js';
import { deviceChoice, isWebgpuUnavailable } from '../model/devices/open-device.js';
import type { TrainingDevice } from '../model/devices/training.js';

export interface RunDevice {
  /** What the trainer is made on (a GPU context is WebGPU). */
  device: GpuContext | TrainingDevice;
  /** The GPU context, on WebGPU. */
  ctx: GpuContext | null;
  /** Whether the run made the context (and destroys it at its end). */
  ownsContext: boolean;
}

/** The device `choice` names (default 'auto'); `ctx`, the caller's context, is WebGPU. */
export async function openRunDevice(choice: DeviceChoice | undefined, ctx: GpuContext | undefined, say: (message: string) => void): Promise<RunDevice> {
  const asked = deviceChoice(choice);
  if (ctx) {
    if (asked === 'cpu') throw new Error("runTraining: device 'cpu' trains on ONNX Runtime: a GPU context (hooks.ctx) is for WebGPU");
    return { device: ctx, ctx, ownsContext: false };
  }
  const onCpu = async (): Promise<RunDevice> => {
    const runtime = await cpuRuntime();
    return { device: cpuTrainingDevice(runtime), ctx: null, ownsContext: false };
  };
  if (asked === 'cpu') return onCpu();
  try {
    const made = await GpuContext.create();
    return { device: made, ctx: made, ownsContext: true };
  } catch (e) {
    if (asked === 'webgpu' || !isWebgpuUnavailable(e)) throw e;
    const run = await onCpu();
    say(`no WebGPU here (${(e as Error).message.split('\n')[0]}): training runs on the ${run.device instanceof GpuContext ? 'GPU' : run.device.label}`);
    return run;
  }
}
