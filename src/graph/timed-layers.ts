// A program's pass as the profiler (profile.ts) records it: each layer that launches kernels in a
// compute pass of its own, timed by GPU timestamps or, one submission a layer, on the host.
import { encodeDispatches } from '../gpu/dispatch.js';
import type { Node } from './ir.js';
import type { Program, RunInput } from './program.js';

/** The layers that launch kernels, in the order they are timed. */
export function timedLayers(program: Program): Node[] {
  return program.kernelLayers.map((l) => l.node);
}

/** The pipeline keys of each layer of `timedLayers` (what kernels run it), in order. */
export function timedLayerKernels(program: Program): string[][] {
  return program.kernelLayers.map((l) => l.dispatches.map((d) => d.key));
}

/**
 * Records one pass (derived state must be fresh) with each layer of `timedLayers` in a compute
 * pass of its own, its start and end written to queries 2i and 2i + 1 of `querySet`. With
 * `whole`, the same pass once more as one compute pass, its ends written to the two queries
 * after the layers'.
 */
export function encodeTimedLayers(program: Program, inputs: Record<string, RunInput>, encoder: GPUCommandEncoder, querySet: GPUQuerySet, whole: boolean): void {
  program.writeInputsInto(inputs, encoder);
  const layers = program.kernelLayers;
  layers.forEach(({ node, dispatches }, i) => {
    const pass = encoder.beginComputePass({
      label: node.name,
      timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
    encodeDispatches(pass, dispatches);
    pass.end();
  });
  if (whole) {
    const at = 2 * layers.length;
    program.encodeWholePass(inputs, encoder, { querySet, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 });
  }
}

/**
 * Records layer `index` of `timedLayers` alone, in a compute pass of its own (host-timed
 * profiles, on adapters without timestamp queries). It reads what the layers before it left in
 * the program's buffers, so a caller times the layers in order after writing the inputs
 * (`program.writeInputsInto`).
 */
export function encodeTimedLayer(program: Program, index: number, encoder: GPUCommandEncoder): void {
  const layers = program.kernelLayers;
  if (!Number.isInteger(index) || index < 0 || index >= layers.length) {
    throw new Error(`encodeTimedLayer: layer ${index} out of range (the program has ${layers.length} layers with kernels)`);
  }
  const { node, dispatches } = layers[index];
  const pass = encoder.beginComputePass({ label: node.name });
  encodeDispatches(pass, dispatches);
  pass.end();
}
