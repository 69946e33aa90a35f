// A model's compiled programs, kept by size: graphs have concrete shapes, so a model compiles a
// program per batch and input size (and per post-processing shape) on demand and keeps the few
// most recent.
import type { Program } from '../graph/program.js';

const MAX_CACHED_PROGRAMS = 3;

/** A small LRU of programs keyed by size, disposing what falls out. */
export class ProgramCache {
  private readonly map = new Map<string, Program>();
  async get(key: string, make: () => Promise<Program>): Promise<Program> {
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const exec = await make();
    this.map.set(key, exec);
    while (this.map.size > MAX_CACHED_PROGRAMS) {
      const [oldKey, old] = this.map.entries().next().value as [string, Program];
      this.map.delete(oldKey);
      old.dispose();
    }
    return exec;
  }
  clear(): void {
    for (const e of this.map.values()) e.dispose();
    this.map.clear();
  }
}
