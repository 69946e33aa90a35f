// Training on a model's device: the seam a trainer (src/train/trainer.ts) runs its step and
// update through, whichever device holds the run. A run is opened from its graphs (the step:
// forward, loss, backward, gradients into accumulators; the update: the optimizer) and the
// weights it starts from; it keeps the parameters, statistics, gradients and momentum on its
// device between steps, and only the batch goes in and the loss comes out of each step. WebGPU's
// run (webgpu/gpu-training.ts) compiles the graphs into programs on one session; the CPU's
// (cpu/cpu-training.ts) writes them as ONNX and runs them on ONNX Runtime.
import type { GpuContext } from '../../gpu/context.js';
import type { Graph, StateRole } from '../../graph/ir.js';
import type { HostParams } from '../../graph/params.js';
import type { DeviceName, HostValues } from './device-names.js';

/** What a run is made of. */
export interface TrainingPlan {
  /** Names the run in messages ("<model> training step"). */
  label: string;
  /** The canonical network: its stored state (params, statistics) is what `params` gives. */
  network: Graph;
  /** The step graph (canonical: each device compiles or writes it as it needs). */
  step: Graph;
  /** The update graph. */
  update: Graph;
  /** The weights the run starts from (our layouts, by name). */
  params: HostParams;
}

/** A part of a run's state: the state of `graph` of the roles named. */
export interface StatePart {
  graph: Graph;
  roles: readonly StateRole[];
}

/** A training run's programs and state on its device. */
export interface TrainingRun {
  readonly device: DeviceName;
  /** The step on one micro-batch: its outputs (the loss, the invalid-label count) read back. */
  step(inputs: Record<string, HostValues>): Promise<Map<string, HostValues>>;
  /** The update (the optimizer), nothing read back. */
  update(inputs: Record<string, HostValues>): Promise<void>;
  /** State as the run holds it now, in our layouts, by name. */
  readState(parts: readonly StatePart[]): Promise<HostParams>;
  /** Sets state values (a resumed run's momentum, the parameters a measuring run is given). */
  writeState(state: HostParams): void;
  /** Bytes the step plans for activations and scratch (0 where the device does not plan them). */
  readonly activationBytes: number;
  dispose(): void;
}

/** A device a training run can be opened on. */
export interface TrainingDevice {
  readonly name: DeviceName;
  /** The device in words ('WebGPU on <adapter>', 'CPU (onnxruntime-node 1.30.0)'). */
  readonly label: string;
  open(plan: TrainingPlan): Promise<TrainingRun>;
}

/** How a loaded model trains: on its device, its steps taking turns with its other calls. */
export interface ModelTraining {
  device: TrainingDevice;
  /** Runs work as one turn of the model's device (other calls run between turns, never inside one). */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** The load options that put a model of new weights on the same device (the same GPU context). */
  sameDevice: { ctx?: GpuContext; device?: DeviceName };
}
