// Memory planning: activations whose lifetimes do not overlap share one buffer. State values
// (parameters, statistics, derived tensors) are never planned: the session owns them.
//
// Each activation lives from the node that writes it to the last node that reads it (graph
// outputs to the end). Values are placed largest first ("greedy by size", as TF Lite's planner
// does for shared buffers): each goes into the smallest existing buffer that is big enough and
// holds nothing alive at the same time, or into a new buffer of its own size. Placing the big
// values first means buffers never have to grow for a later, larger value. A node's output never
// shares a buffer with its own inputs, because their lifetimes meet at that node (and WebGPU
// forbids binding one buffer as read-only and writable storage in the same dispatch).
// Why whole buffers and not offsets in one arena: WebGPU validates usage per buffer, not per
// range, so a kernel could not read one part of an arena while writing another. The plan can
// therefore exceed `lowerBoundBytes` (the most bytes alive at once) when live sizes differ.
import type { Graph, Value } from './ir.js';
import { tensorBytes } from '../gpu/tensor.js';
import { nodeInputs } from './ops/registry.js';

export interface MemoryPlan {
  /** Byte size of each shared buffer ("slot"). */
  slotBytes: number[];
  /** Activation value id -> slot index. */
  slotOf: Map<number, number>;
  /** Sum of slot sizes: the activation memory the plan needs. */
  peakBytes: number;
  /** What one buffer per activation would need, for comparison. */
  unplannedBytes: number;
  /** The most activation bytes alive at once: no plan can need less. */
  lowerBoundBytes: number;
}

const bytesOf = (v: Value): number => Math.max(4, tensorBytes(v.shape, v.dtype));

interface Lifetime {
  id: number;
  bytes: number;
  first: number;
  last: number;
}

export function planMemory(graph: Graph): MemoryPlan {
  const end = graph.nodes.length;
  const lastUse = new Map<number, number>();
  graph.nodes.forEach((n, i) => {
    for (const v of nodeInputs(n)) if (v.kind === 'activation') lastUse.set(v.id, i);
  });
  for (const v of graph.outputs.values()) lastUse.set(v.id, end);
  const lifetimes: Lifetime[] = graph.nodes.flatMap((n, i) =>
    n.outputs
      .filter((v) => v.kind === 'activation')
      .map((v) => ({
        id: v.id,
        bytes: bytesOf(v),
        first: i,
        // An output nobody reads is still written by its node.
        last: lastUse.get(v.id) ?? i,
      })),
  );

  // Largest first; ties in execution order, so the plan is deterministic.
  const order = [...lifetimes].sort((a, b) => b.bytes - a.bytes || a.first - b.first);
  const slotBytes: number[] = [];
  const slotUsers: Lifetime[][] = [];
  const slotOf = new Map<number, number>();
  const overlaps = (a: Lifetime, b: Lifetime): boolean => a.first <= b.last && b.first <= a.last;
  for (const value of order) {
    let best = -1;
    for (let s = 0; s < slotBytes.length; s++) {
      if (slotBytes[s] < value.bytes) continue;
      if (slotUsers[s].some((u) => overlaps(u, value))) continue;
      if (best < 0 || slotBytes[s] < slotBytes[best]) best = s;
    }
    if (best < 0) {
      best = slotBytes.length;
      slotBytes.push(value.bytes);
      slotUsers.push([]);
    }
    slotUsers[best].push(value);
    slotOf.set(value.id, best);
  }

  let lowerBoundBytes = 0;
  for (let i = 0; i <= end; i++) {
    let alive = 0;
    for (const l of lifetimes) if (l.first <= i && i <= l.last) alive += l.bytes;
    lowerBoundBytes = Math.max(lowerBoundBytes, alive);
  }
  return {
    slotBytes,
    slotOf,
    peakBytes: slotBytes.reduce((a, b) => a + b, 0),
    unplannedBytes: lifetimes.reduce((a, l) => a + l.bytes, 0),
    lowerBoundBytes,
  };
}
