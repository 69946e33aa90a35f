// A GPU Program as a DeviceProgram: the graph layer's Program, its inputs and outputs GpuTensors.
import { GpuTensor } from '../../../gpu/tensor.js';
import type { Program, RunInput } from '../../../graph/program.js';
import type { DeviceInput, DeviceProgram, DeviceTensor } from '../device.js';

/** `t` as the GPU tensor it must be on this device. */
export function gpuTensor(t: DeviceTensor): GpuTensor {
  if (!(t instanceof GpuTensor)) throw new Error('a tensor of another device was given to a GPU program');
  return t;
}

function gpuInputs(inputs: Record<string, DeviceInput>): Record<string, RunInput> {
  const out: Record<string, RunInput> = {};
  for (const [name, v] of Object.entries(inputs)) out[name] = v instanceof Float32Array || v instanceof Uint32Array ? v : gpuTensor(v);
  return out;
}

/** `p` as the GPU program it must be on this device. */
function programOf(p: DeviceProgram): Program {
  if (!(p instanceof GpuProgram)) throw new Error('a program of another device was given to a GPU program');
  return p.program;
}

export class GpuProgram implements DeviceProgram {
  constructor(readonly program: Program) {}

  run(inputs: Record<string, DeviceInput>): Promise<Map<string, Float32Array | Uint32Array>> {
    return this.program.run(gpuInputs(inputs));
  }

  runKept(inputs: Record<string, DeviceInput>): Promise<Map<string, DeviceTensor>> {
    return this.program.runOnGpu(gpuInputs(inputs));
  }

  runAfter(first: DeviceProgram, firstInputs: Record<string, DeviceInput>, link: (o: Map<string, DeviceTensor>) => Record<string, DeviceInput>): Promise<Map<string, Float32Array | Uint32Array>> {
    return this.program.runAfter(programOf(first), gpuInputs(firstInputs), (o) => gpuInputs(link(o)));
  }

  runKeptAfter(first: DeviceProgram, firstInputs: Record<string, DeviceInput>, link: (o: Map<string, DeviceTensor>) => Record<string, DeviceInput>): Promise<Map<string, DeviceTensor>> {
    return this.program.runOnGpuAfter(programOf(first), gpuInputs(firstInputs), (o) => gpuInputs(link(o)));
  }
}
