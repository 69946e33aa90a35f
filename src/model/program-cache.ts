// A model's compiled programs, kept by size: graphs have concrete shapes, so a model compiles a
// program per batch and input size (and per post-processing shape) on demand and keeps the few
// most recent. A program handed out during the current turn (one call's GPU work) is pinned
// until the next turn begins, so releasing programs to make room never takes one a call is using.
import type { Program } from '../graph/program.js';
import type { ProgramBytes } from '../graph/program-memory.js';
import { addProgramBytes } from './memory.js';

const MAX_CACHED_PROGRAMS = 3;

/** A small LRU of programs keyed by size, disposing what falls out. */
export class ProgramCache {
  private readonly map = new Map<string, { program: Program; turn: number }>();
  private turn = 0;

  /** A new turn: programs handed out before it may be released to make room. */
  nextTurn(): void {
    this.turn++;
  }

  async get(key: string, make: () => Promise<Program>): Promise<Program> {
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, { program: hit.program, turn: this.turn });
      return hit.program;
    }
    const program = await make();
    this.map.set(key, { program, turn: this.turn });
    while (this.map.size > MAX_CACHED_PROGRAMS && this.releaseOldest());
    return program;
  }

  /** Releases the least recently used program not used in this turn; false when there is none. */
  releaseOldest(): boolean {
    for (const [key, entry] of this.map) {
      if (entry.turn === this.turn) continue;
      this.map.delete(key);
      entry.program.dispose();
      return true;
    }
    return false;
  }

  /** The GPU bytes of the programs kept. */
  get bytes(): ProgramBytes {
    return addProgramBytes([...this.map.values()].map((e) => e.program.bytes));
  }

  clear(): void {
    for (const e of this.map.values()) e.program.dispose();
    this.map.clear();
  }
}
