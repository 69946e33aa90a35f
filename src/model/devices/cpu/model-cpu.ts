// A model's device on the CPU (ModelDevice, src/model/devices/device.ts): the network through
// ONNX Runtime, a session per input size kept a few at a time (cpu-programs.ts), the
// post-processing on the CPU interpreter, tensors in host memory, and its calls taking turns
// (one session runs one image at a time). Its weights are the loaded ones, as they are; a
// fine-tune trains a run of its own (cpu-training.ts) and makes a new model of the result.
import { encodeModel } from '../../../graph/onnx/proto.js';
import { lowerToOnnx, onnxModelOf } from '../../../graph/onnx/lower.js';
import type { Graph } from '../../../graph/ir.js';
import type { HostParams } from '../../../graph/params.js';
import { SerialQueue } from '../../../gpu/serial-queue.js';
import { isGpuTexture } from '../../../io/frame-source.js';
import { externalFramePixels } from '../../../io/frame-pixels.js';
import type { LoadedWeights } from '../../loading/load-weights.js';
import type { ModelMemory } from '../../memory.js';
import type { NetworkGraphs } from '../../network-graphs.js';
import type { PostLogits } from '../../post-logits.js';
import type { DeviceProgram, FramePath, ModelDevice, SegmentStill } from '../device.js';
import { CpuGraphProgram, type CpuNetwork, CpuNetworkProgram } from './cpu-programs.js';
import { CPU_TENSORS } from './cpu-tensors.js';
import type { CpuRuntime } from './ort-module.js';
import type { ModelTraining } from '../training.js';
import { cpuTrainingDevice } from './cpu-training.js';

/**
 * How much ONNX Runtime rewrites a graph before running it. onnxruntime-node: everything ('all':
 * the default model's pass 10.2 ms against 12.6 ms with 'basic', on the 2-core EPYC host);
 * onnxruntime-web: the basic fusions, whose passes run as fast in WebAssembly and whose session
 * is made sooner (a page's first mask 593-620 ms against 657-659 ms with 'all').
 */
const OPTIMIZATION = { node: 'all', web: 'basic' } as const;

/** Network sessions kept (each holds the network's weights in the runtime's own layout). */
const MAX_SESSIONS = 3;
/** Post-processing programs kept (graphs only: nothing allocated until they run). */
const MAX_POSTS = 16;

/** An LRU of promises by key, releasing what falls out. */
class Kept<T> {
  private readonly map = new Map<string, Promise<T>>();
  constructor(
    private readonly max: number,
    private readonly release: (value: T) => void = () => undefined,
  ) {}

  get(key: string, make: () => Promise<T>): Promise<T> {
    const hit = this.map.get(key);
    this.map.delete(key);
    const value = hit ?? make();
    this.map.set(key, value);
    // A failed make is not kept.
    value.catch(() => this.map.get(key) === value && this.map.delete(key));
    while (this.map.size > this.max) {
      const [oldest, p] = this.map.entries().next().value as [string, Promise<T>];
      this.map.delete(oldest);
      p.then(this.release, () => undefined);
    }
    return value;
  }

  clear(): void {
    for (const p of this.map.values()) p.then(this.release, () => undefined);
    this.map.clear();
  }
}

export class ModelCpu implements ModelDevice {
  readonly name = 'cpu';
  readonly tensors = CPU_TENSORS;
  private readonly sessions: Kept<CpuNetwork>;
  private readonly posts = new Kept<DeviceProgram>(MAX_POSTS);
  private readonly turns = new SerialQueue();
  private disposed = false;

  constructor(
    readonly runtime: CpuRuntime,
    private readonly weights: LoadedWeights,
    private readonly graphs: NetworkGraphs,
  ) {
    this.sessions = new Kept<CpuNetwork>(MAX_SESSIONS, (net) => void net.session.release().catch(() => undefined));
  }

  get label(): string {
    return `CPU (${this.runtime.name})`;
  }

  /** The network's session at one input size, made (its graph written as ONNX and handed to the runtime) the first time. */
  private session(height: number, width: number): Promise<CpuNetwork> {
    return this.sessions.get(`${height}x${width}`, async () => {
      const graph = this.graphs.graph({ batch: 1, height, width });
      const [input] = graph.inputs;
      const onnx = encodeModel(onnxModelOf(lowerToOnnx(graph, this.weights.params, this.weights.name, 'nhwc')));
      const { ort } = this.runtime;
      let session;
      try {
        session = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: OPTIMIZATION[this.runtime.web ? 'web' : 'node'] });
      } catch (e) {
        throw new Error(`${this.weights.name}: ${this.runtime.name} could not make a session of the network at ${width}x${height}: ${(e as Error).message}`, { cause: e });
      }
      return { ort, session, input: { name: input.name, shape: input.shape }, outputs: new Map([...graph.outputs].map(([name, v]) => [name, v.shape])) };
    });
  }

  async network(height: number, width: number, batch = 1): Promise<DeviceProgram> {
    this.assertUsable();
    return new CpuNetworkProgram(await this.session(height, width), batch);
  }

  post(key: string, build: () => Graph): Promise<DeviceProgram> {
    return this.posts.get(key, async () => new CpuGraphProgram(build()));
  }

  postLogits(height: number, width: number): PostLogits {
    return this.graphs.postLogits(height, width);
  }

  ownOutput(height: number, width: number): PostLogits['name'] {
    return this.graphs.ownOutput(height, width);
  }

  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.turns.run(async () => {
      this.assertUsable();
      return work();
    });
  }

  assertUsable(): void {
    if (this.disposed) throw new Error(`model ${this.weights.name} used after dispose()`);
  }

  /** Frames as images: a page's frame is drawn into a canvas and read (a GPU texture is WebGPU's). */
  framePath(_host: unknown, still: SegmentStill): FramePath {
    return {
      segment: async (frame, scale, include) => {
        if (isGpuTexture(frame)) throw new Error(`segment: ${this.weights.name} runs on the CPU: a GPUTexture is a frame for device 'webgpu'; pass the image's pixels`);
        return still(externalFramePixels(frame, 'segment'), scale, include);
      },
      segmentInto: async () => {
        throw new Error(`segmentFrameInto: ${this.weights.name} runs on the CPU; it leaves class maps on the GPU for device 'webgpu' only: use segment()`);
      },
    };
  }

  /** The weights as loaded: the CPU device never changes them. */
  async parameters(graph: Graph): Promise<HostParams> {
    const out: HostParams = new Map();
    for (const v of graph.state) {
      const t = this.weights.params.get(v.name);
      if (t) out.set(v.name, { shape: [...t.shape], data: t.data.slice() });
    }
    return out;
  }

  /** Training on the CPU runtime (cpu-training.ts), each step a turn of the model's calls. */
  training(): ModelTraining {
    return { device: cpuTrainingDevice(this.runtime), exclusive: (work) => this.exclusive(work), sameDevice: { device: 'cpu' } };
  }

  /** GPU memory: a model on the CPU holds none. */
  memory(): ModelMemory {
    return { weights: 0, activations: 0, readback: 0, kernels: 0, frames: 0, total: 0, contextPool: 0, budget: null };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Queued behind the calls already running: a session is released once nothing runs on it.
    void this.turns.run(async () => {
      this.sessions.clear();
      this.posts.clear();
    });
  }
}
