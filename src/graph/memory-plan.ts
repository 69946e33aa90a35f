// Memory planning: activations whose lifetimes do not overlap share one buffer.
//
// Walks the nodes in execution order; a value's buffer returns to the free list after its
// last reader runs (graph outputs are kept to the end). A node's output never shares a buffer
// with its own inputs, because WebGPU forbids binding one buffer as read-only and writable
// storage in the same dispatch. Free buffers are picked best-fit; when none is big enough, the
// largest free one grows (its final size is known only when planning ends).
import type { Graph, Value } from './ir.js';
import { nodeInputs } from './ir.js';

export interface MemoryPlan {
  /** Byte size of each shared buffer ("slot"). */
  slotBytes: number[];
  /** Activation value id -> slot index. */
  slotOf: Map<number, number>;
  /** Sum of slot sizes: the activation memory the plan needs. */
  peakBytes: number;
  /** What one buffer per activation would need, for comparison. */
  unplannedBytes: number;
}

const bytesOf = (v: Value): number => Math.max(4, v.shape.reduce((a, b) => a * b, 1) * 4);

export function planMemory(graph: Graph): MemoryPlan {
  const lastUse = new Map<number, number>();
  graph.nodes.forEach((n, i) => {
    for (const v of nodeInputs(n.op)) if (v.kind === 'activation') lastUse.set(v.id, i);
  });
  const keep = new Set([...graph.outputs.values()].map((v) => v.id));
  const slotBytes: number[] = [];
  const slotOf = new Map<number, number>();
  const free = new Set<number>();
  let unplannedBytes = 0;

  graph.nodes.forEach((node, i) => {
    const need = bytesOf(node.output);
    unplannedBytes += need;
    let best = -1;
    for (const s of free) {
      if (slotBytes[s] >= need && (best < 0 || slotBytes[s] < slotBytes[best])) best = s;
    }
    if (best < 0 && free.size > 0) {
      // Grow the largest free slot rather than adding one more buffer.
      for (const s of free) if (best < 0 || slotBytes[s] > slotBytes[best]) best = s;
      slotBytes[best] = need;
    }
    if (best < 0) {
      best = slotBytes.length;
      slotBytes.push(need);
    } else {
      free.delete(best);
    }
    slotOf.set(node.output.id, best);
    // Inputs whose last reader is this node go back to the pool after the output is placed.
    for (const v of nodeInputs(node.op)) {
      if (v.kind === 'activation' && lastUse.get(v.id) === i && !keep.has(v.id)) free.add(slotOf.get(v.id)!);
    }
    // An output nobody reads (and not a graph output) is free straight away.
    if (!lastUse.has(node.output.id) && !keep.has(node.output.id)) free.add(best);
  });
  const peakBytes = slotBytes.reduce((a, b) => a + b, 0);
  return { slotBytes, slotOf, peakBytes, unplannedBytes };
}
