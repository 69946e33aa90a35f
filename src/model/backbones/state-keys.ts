// Reading a state dict's structure from its keys, for the records' recognisers and the
// mappings' messages.
import type { StateKeys } from './backbone.js';

/** 1 + the largest N among keys `<prefix>N.` (0 when there are none). */
export function countIndexed(state: StateKeys, prefix: string): number {
  const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}(\\d+)\\.`);
  let n = 0;
  for (const k of state.keys()) {
    const m = pattern.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}
