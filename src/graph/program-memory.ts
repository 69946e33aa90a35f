// What a Program holds on the GPU, by kind, and what it will hold before it is made: the model's
// memory budget (src/model/memory.ts) adds these up.
import { tensorBytes } from '../gpu/tensor.js';
import type { Graph, Value } from './ir.js';
import { planMemory } from './memory-plan.js';

/** GPU bytes a program holds: its activations and inputs, its read-back copies, its kernels' uniforms and scratch. */
export interface ProgramBytes {
  activations: number;
  readback: number;
  kernels: number;
}

/** What a program of `graph` will allocate for activations, inputs and read-backs, before it is made (scratch aside). */
export function plannedProgramBytes(graph: Graph): ProgramBytes {
  const bytes = (v: Value): number => tensorBytes(v.shape, v.dtype);
  return {
    activations: planMemory(graph).peakBytes + graph.inputs.reduce((a, v) => a + bytes(v), 0),
    readback: [...graph.outputs.values()].reduce((a, v) => a + bytes(v), 0),
    kernels: 0,
  };
}

/** The summed sizes of some buffers. */
export function bufferBytes(buffers: Iterable<GPUBuffer>): number {
  let n = 0;
  for (const b of buffers) n += b.size;
  return n;
}
