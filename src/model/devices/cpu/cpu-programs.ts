// The CPU's programs. The network at one input size is its canonical graph written as ONNX
// (lowerToOnnx, NHWC in and out) and run by the CPU runtime's session, one image at a time (the
// CPU gains nothing from batching, and one session serves every batch size). A post-processing
// graph runs on the CPU interpreter (src/graph/cpu-reference.ts): each op's CPU reference, the
// same definition the GPU kernels are tested against.
import { runGraphCpu } from '../../../graph/cpu-reference.js';
import type { Graph } from '../../../graph/ir.js';
import type { DeviceInput, DeviceProgram, DeviceTensor, HostValues } from '../device.js';
import { HostTensor, hostTensor } from './cpu-tensors.js';
import type { OrtModule, OrtSession } from './ort-module.js';

function hostValues(v: DeviceInput): HostValues {
  return v instanceof Float32Array || v instanceof Uint32Array ? v : hostTensor(v).data;
}

function hostInputs(inputs: Record<string, DeviceInput>): Record<string, HostValues> {
  return Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, hostValues(v)]));
}

/** What every CPU program shares: its outputs are host tensors, so "kept" and "read back" differ only in their wrapping. */
abstract class CpuProgram implements DeviceProgram {
  /** One run on host inputs: every output as a host tensor. */
  protected abstract execute(inputs: Record<string, HostValues>): Promise<Map<string, HostTensor>>;

  runKept(inputs: Record<string, DeviceInput>): Promise<Map<string, DeviceTensor>> {
    return this.execute(hostInputs(inputs));
  }

  async run(inputs: Record<string, DeviceInput>): Promise<Map<string, HostValues>> {
    const given = new Set(Object.values(inputs).map(hostValues));
    const out = new Map<string, HostValues>();
    // An output that is an input's own array is copied: what run() returns is the caller's.
    for (const [name, t] of await this.runKept(inputs)) out.set(name, given.has(hostTensor(t).data) ? hostTensor(t).data.slice() : hostTensor(t).data);
    return out;
  }

  async runAfter(first: DeviceProgram, firstInputs: Record<string, DeviceInput>, link: (o: Map<string, DeviceTensor>) => Record<string, DeviceInput>): Promise<Map<string, HostValues>> {
    return this.run(link(await first.runKept(firstInputs)));
  }

  async runKeptAfter(first: DeviceProgram, firstInputs: Record<string, DeviceInput>, link: (o: Map<string, DeviceTensor>) => Record<string, DeviceInput>): Promise<Map<string, DeviceTensor>> {
    return this.runKept(link(await first.runKept(firstInputs)));
  }
}

/** A post-processing graph (no state) on the CPU interpreter. */
export class CpuGraphProgram extends CpuProgram {
  constructor(private readonly graph: Graph) {
    super();
  }

  protected async execute(inputs: Record<string, HostValues>): Promise<Map<string, HostTensor>> {
    const values = runGraphCpu(this.graph, new Map(), inputs);
    const out = new Map<string, HostTensor>();
    for (const [name, v] of this.graph.outputs) {
      const data = values.get(name)!;
      out.set(name, new HostTensor(data instanceof Float64Array ? Float32Array.from(data) : data, v.shape));
    }
    return out;
  }
}

/** The network at one input size: an ONNX Runtime session of its graph at batch 1, and the graph's input and output shapes. */
export interface CpuNetwork {
  ort: OrtModule;
  session: OrtSession;
  /** The input's name and shape at batch 1 ([1, h, w, channels]). */
  input: { name: string; shape: readonly number[] };
  /** Each output's shape at batch 1, by name. */
  outputs: ReadonlyMap<string, readonly number[]>;
}

/** The network at one size run over a batch of `batch` images, one at a time. */
export class CpuNetworkProgram extends CpuProgram {
  constructor(
    private readonly net: CpuNetwork,
    private readonly batch: number,
  ) {
    super();
  }

  protected async execute(inputs: Record<string, HostValues>): Promise<Map<string, HostTensor>> {
    const { ort, session, input, outputs } = this.net;
    const image = inputs[input.name];
    const per = input.shape.reduce((a, b) => a * b, 1);
    if (!(image instanceof Float32Array) || image.length !== per * this.batch) {
      throw new Error(`the network takes '${input.name}' as ${this.batch} x [${input.shape.join(',')}] float values, got ${image?.length ?? 'none'}`);
    }
    // Each image's outputs as the runtime gives them (its own arrays: nothing else holds them).
    const items: Map<string, Float32Array>[] = [];
    for (let k = 0; k < this.batch; k++) {
      const feed = new ort.Tensor('float32', image.subarray(k * per, (k + 1) * per), input.shape);
      const results = await session.run({ [input.name]: feed });
      const item = new Map<string, Float32Array>();
      for (const [name, shape] of outputs) {
        const values = results[name]?.data;
        const n = shape.reduce((a, b) => a * b, 1);
        if (!(values instanceof Float32Array) || values.length !== n) throw new Error(`the CPU runtime gave no float output '${name}' of ${n} values`);
        item.set(name, values);
      }
      items.push(item);
    }
    const result = new Map<string, HostTensor>();
    for (const [name, shape] of outputs) {
      const data = this.batch === 1 ? items[0].get(name)! : new Float32Array(items[0].get(name)!.length * this.batch);
      if (this.batch > 1) items.forEach((item, k) => data.set(item.get(name)!, k * item.get(name)!.length));
      result.set(name, new HostTensor(data, [this.batch, ...shape.slice(1)]));
    }
    return result;
  }
}
