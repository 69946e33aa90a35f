// A model's GPU memory, by what holds it, and the budget a caller may set at load: a page on a
// phone (iOS caps a tab near 1.5 GiB) or a server sharing one GPU between models keeps each
// model under a number of bytes. Programs are made per input size and kept a few at a time; to
// stay under the budget, the least recently used are released first, never one the call in
// progress uses; what cannot fit even then is refused with the sizes named.
import type { ProgramBytes } from '../graph/program-memory.js';

/** GPU bytes a model holds, by what holds them. */
export interface ModelMemory {
  /** Parameters, statistics and what is derived from them (BN-folded weights, f16 copies). */
  weights: number;
  /** The compiled programs' activations and inputs (the network at each size kept, the post-processing). */
  activations: number;
  /** The programs' mappable copies of their outputs. */
  readback: number;
  /** The kernels' uniforms and scratch. */
  kernels: number;
  /** The frame path's texture and network input (frames on the GPU). */
  frames: number;
  /** All of the above: what dispose() gives back. */
  total: number;
  /** Idle buffers the context's pool keeps for reuse: shared by every model on the context, in no model's total. */
  contextPool: number;
  /** The budget set at load (`memoryBudget`), or null. */
  budget: number | null;
}

const MIB = 2 ** 20;

/** Bytes as MiB for messages. */
export function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

/** The `memoryBudget` load option, checked: a positive number of bytes, or undefined. */
export function checkedMemoryBudget(bytes: unknown): number | undefined {
  if (bytes === undefined) return undefined;
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes <= 0) {
    throw new Error(`memoryBudget must be a positive number of bytes, got ${typeof bytes === 'number' ? bytes : typeof bytes}`);
  }
  return bytes;
}

/** The sum of program byte counts. */
export function addProgramBytes(list: Iterable<ProgramBytes>): ProgramBytes {
  const sum: ProgramBytes = { activations: 0, readback: 0, kernels: 0 };
  for (const b of list) {
    sum.activations += b.activations;
    sum.readback += b.readback;
    sum.kernels += b.kernels;
  }
  return sum;
}

export const programTotal = (b: ProgramBytes): number => b.activations + b.readback + b.kernels;

/** The error for a program that does not fit the budget even with every other program released. */
export function overBudgetError(model: string, what: string, needed: number, held: number, budget: number): Error {
  return new Error(
    `${model}: ${what} needs ${mib(needed)} of GPU memory beside the ${mib(held)} the model must keep (its weights and the programs in use), ` +
      `over its memoryBudget of ${mib(budget)}: use a smaller input (or tiles), or raise the budget`,
  );
}
