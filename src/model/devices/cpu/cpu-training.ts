// A training run on the CPU (TrainingRun, src/model/devices/training.ts): the step graph and the
// update written as ONNX with their state passed through (src/graph/onnx/lower-training.ts) and
// run by ONNX Runtime, one session each. The state (parameters, running statistics, gradient
// accumulators, momentum) lives in host buffers of the run (training-state.ts), handed to the
// runtime as tensors over them: a graph reads each state value from one buffer and writes its
// new value into another (pre-allocated outputs, written in place), so nothing of the state is
// copied or rebuilt between steps. A convolution's weight, gradient and momentum are held as
// ONNX's OIHW, the layout its rules read and write; other state as ours.
import { HWIO_TO_OIHW } from '../../../graph/onnx/emitter.js';
import { onnxModelOf } from '../../../graph/onnx/lower.js';
import { type LoweredTraining, lowerTrainingToOnnx, nextStateName } from '../../../graph/onnx/lower-training.js';
import { type ModelProto, encodeModel } from '../../../graph/onnx/proto.js';
import type { Graph, Value } from '../../../graph/ir.js';
import type { HostParams } from '../../../graph/params.js';
import type { HostValues } from '../device.js';
import type { StatePart, TrainingDevice, TrainingPlan, TrainingRun } from '../training.js';
import type { CpuRuntime, OrtModule, OrtSession, OrtTensor } from './ort-module.js';
import { gradientsName, nextStackName, sgdGroups, stackName, stackedSgdModel } from './stacked-sgd.js';
import { TrainingState } from './training-state.js';

/** A session of one graph, the state it reads and writes, and its other inputs and outputs. */
interface GraphSession {
  session: OrtSession;
  lowered: LoweredTraining;
  inputs: Value[];
  outputs: string[];
  /** State it both reads and writes (swapped after each run). */
  updated: Set<string>;
}

/**
 * The layout each state value is held in: OIHW for a weight a convolution reads (and its
 * gradient and momentum, which the optimizer reads beside it), the default one otherwise.
 */
export function trainingStateLayouts(step: Graph): (v: Value) => readonly number[] | undefined {
  const convWeights = new Set<string>();
  for (const n of step.nodes) {
    if ((n.op.type === 'conv2d' || n.op.type === 'conv2d_grad_input') && n.op.weight.kind === 'state') convWeights.add(n.op.weight.name);
  }
  const base = (name: string): string => name.replace(/#(grad|momentum)$/, '');
  return (v) => (v.shape.length === 4 && convWeights.has(base(v.name)) ? HWIO_TO_OIHW : undefined);
}

export class CpuTrainingRun implements TrainingRun {
  readonly device = 'cpu';
  readonly activationBytes = 0;
  private disposed = false;

  private constructor(
    private readonly ort: OrtModule,
    private readonly state: TrainingState,
    private readonly stepSession: GraphSession,
    private readonly updateSession: OrtSession,
    private readonly groups: number,
    private readonly accumulated: boolean,
    /**
     * Whether the runtime writes a pre-allocated output where it is (onnxruntime-node); one that
     * does not (onnxruntime-web's WebAssembly build copies its tensors in and out of its heap)
     * has its outputs copied into the run's buffers.
     */
    private readonly inPlace: boolean,
  ) {}

  static async open(runtime: CpuRuntime, plan: TrainingPlan, sessionOptions: Record<string, unknown> = {}): Promise<CpuTrainingRun> {
    const layoutOf = trainingStateLayouts(plan.step);
    const state = new TrainingState(runtime.ort, layoutOf, plan.params);
    const accumulated = plan.step.nodes.some((n) => n.op.type === 'accumulate');
    const groups = sgdGroups(plan.update);
    state.stack(groups, accumulated);
    // Without ONNX Runtime's arena in Node: it grows by powers of two and keeps what it took (a
    // step of DeepLabv3-ResNet-50 at batch 2, crop 129 peaked 340 MiB higher with it, no faster).
    const options = { graphOptimizationLevel: runtime.web ? 'basic' : 'all', ...(runtime.web ? {} : { enableCpuMemArena: false }), ...sessionOptions };
    const session = async (model: ModelProto, what: string): Promise<OrtSession> => {
      try {
        return await runtime.ort.InferenceSession.create(encodeModel(model), options);
      } catch (e) {
        throw new Error(`${plan.label}: ${runtime.name} could not make a session of the training ${what}: ${(e as Error).message}`, { cause: e });
      }
    };
    const lowered = lowerTrainingToOnnx(plan.step, `${plan.label} step`, layoutOf, 'nhwc');
    const read = new Set(lowered.reads.map((v) => v.name));
    const updated = new Set(lowered.writes.filter((v) => read.has(v.name)).map((v) => v.name));
    for (const v of [...lowered.reads, ...lowered.writes]) state.ensure(v, updated.has(v.name));
    const written = new Set(lowered.writes.map((v) => nextStateName(v.name)));
    const step: GraphSession = { session: await session(onnxModelOf(lowered.graph), 'step'), lowered, inputs: [...plan.step.inputs], outputs: lowered.graph.output.map((o) => o.name).filter((n) => !written.has(n)), updated };
    let update: OrtSession;
    try {
      update = await session(stackedSgdModel(groups, accumulated), 'update');
    } catch (e) {
      await step.session.release().catch(() => undefined);
      throw e;
    }
    return new CpuTrainingRun(runtime.ort, state, step, update, groups.length, accumulated, !runtime.web);
  }

  private async run(s: GraphSession, inputs: Record<string, HostValues>): Promise<Map<string, HostValues>> {
    if (this.disposed) throw new Error('a training run used after dispose()');
    const feeds: Record<string, OrtTensor> = {};
    for (const v of s.inputs) {
      const data = inputs[v.name];
      if (data === undefined) throw new Error(`the training graph takes '${v.name}', not given`);
      feeds[v.name] = data instanceof Uint32Array ? new this.ort.Tensor('uint32', data, v.shape) : new this.ort.Tensor('float32', data, v.shape);
    }
    for (const v of s.lowered.reads) feeds[v.name] = this.state.get(v.name)!.current;
    const fetches: Record<string, OrtTensor | null> = Object.fromEntries(s.outputs.map((n) => [n, null]));
    const into = new Map(s.lowered.writes.map((v) => [nextStateName(v.name), s.updated.has(v.name) ? this.state.get(v.name)!.spare! : this.state.get(v.name)!.current]));
    const results = await this.runSession(s.session, feeds, fetches, into);
    this.state.swapped(s.updated);
    const out = new Map<string, HostValues>();
    for (const n of s.outputs) out.set(n, results[n].data as HostValues);
    return out;
  }

  /** One run, the outputs named in `into` written into those tensors (in place, or copied there). */
  private async runSession(session: OrtSession, feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>, into: ReadonlyMap<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    for (const [name, t] of into) fetches[name] = this.inPlace ? t : null;
    const results = await session.run(feeds, fetches);
    if (!this.inPlace) {
      for (const [name, t] of into) {
        (t.data as Float32Array).set(results[name].data as Float32Array);
        results[name].dispose?.();
      }
    }
    return results;
  }

  step(inputs: Record<string, HostValues>): Promise<Map<string, HostValues>> {
    return this.run(this.stepSession, inputs);
  }

  /** SGD on every group (stacked-sgd.ts): each group's stack read, its new [p'; m'] written into the other buffer. */
  async update(inputs: Record<string, HostValues>): Promise<void> {
    if (this.disposed) throw new Error('a training run used after dispose()');
    const hyper = inputs.sgd;
    if (!(hyper instanceof Float32Array) || hyper.length !== 4) throw new Error("the update takes 'sgd': [lr, momentum, weight decay, first]");
    const feeds: Record<string, OrtTensor> = { sgd: new this.ort.Tensor('float32', hyper, [4]) };
    const into = new Map<string, OrtTensor>();
    for (let k = 0; k < this.groups; k++) {
      feeds[stackName(k)] = this.state.get(stackName(k))!.current;
      if (this.accumulated) feeds[gradientsName(k)] = this.state.get(gradientsName(k))!.current;
      into.set(nextStackName(k), this.state.get(nextStackName(k))!.spare!);
    }
    await this.runSession(this.updateSession, feeds, {}, into);
    this.state.swapped(Array.from({ length: this.groups }, (_, k) => stackName(k)));
  }

  async readState(parts: readonly StatePart[]): Promise<HostParams> {
    const out: HostParams = new Map();
    for (const { graph, roles } of parts) {
      for (const v of graph.state) if (v.role && roles.includes(v.role) && !out.has(v.name)) out.set(v.name, { shape: [...v.shape], data: this.state.read(v) });
    }
    return out;
  }

  writeState(state: HostParams): void {
    for (const [name, t] of state) this.state.write(name, t.data);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.stepSession.session.release().catch(() => undefined);
    void this.updateSession.release().catch(() => undefined);
  }
}

/** The CPU as a device training runs on; `sessionOptions` go to the runtime's sessions (threads). */
export function cpuTrainingDevice(runtime: CpuRuntime, sessionOptions: Record<string, unknown> = {}): TrainingDevice {
  return { name: 'cpu', label: `CPU (${runtime.name})`, open: (plan) => CpuTrainingRun.open(runtime, plan, sessionOptions) };
}
