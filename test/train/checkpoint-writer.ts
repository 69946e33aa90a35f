// A child process for faults.test.ts: writes checkpoints over one path through the real
// saveCheckpoint, generation after generation, so that the parent can kill it part-way.
//
//   node checkpoint-writer.js TARGET FIRST_GENERATION [COUNT]
//
// Generation g holds the model's tensors filled with g, a '#momentum' tensor for each filled
// with -g, and one ballast tensor filled with g (about 40 MB in all), with metadata generation
// = g. It prints 'ready' once the weights are loaded and 'wrote g' after each write (once its
// rename is done); COUNT (default: no end) bounds the generations. A failed write prints the
// error on stderr and exits with status 1.
import { writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HostParams } from '../../src/graph/params.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from '../../src/model/loading/load-weights.js';

export const BALLAST = 'ballast#test';
const BALLAST_VALUES = 6 << 20; // 24 MB

/** The tensors of generation `g` (buffers reused across calls). */
export class Generations {
  readonly params: HostParams = new Map();
  readonly extra: HostParams = new Map();

  constructor(readonly weights: LoadedWeights) {
    for (const [name, t] of weights.params) {
      this.params.set(name, { shape: [...t.shape], data: new Float32Array(t.data.length) });
      this.extra.set(`${name}#momentum`, { shape: [...t.shape], data: new Float32Array(t.data.length) });
    }
    this.extra.set(BALLAST, { shape: [BALLAST_VALUES], data: new Float32Array(BALLAST_VALUES) });
  }

  fill(g: number): void {
    for (const t of this.params.values()) t.data.fill(g);
    for (const [name, t] of this.extra) t.data.fill(name === BALLAST ? g : -g);
  }

  /** The value every element of tensor `name` holds in generation `g`. */
  static value(name: string, g: number): number {
    return name.endsWith('#momentum') ? -g : g;
  }

  write(path: string, g: number): void {
    this.fill(g);
    saveCheckpoint(path, this.weights, this.params, { tensors: this.extra, metadata: { generation: String(g) } });
  }
}

async function main(): Promise<void> {
  const [target, first, count] = process.argv.slice(2);
  const gens = new Generations(await loadWeights('mobilenetv2-pascal-257'));
  // fs.writeSync: lines reach the pipe before the next write starts (no buffering to lose).
  writeSync(1, 'ready\n');
  const end = count === undefined ? Infinity : Number(first) + Number(count);
  for (let g = Number(first); g < end; g++) {
    try {
      gens.write(target, g);
    } catch (e) {
      writeSync(2, `${(e as Error).message}\n`);
      process.exit(1);
    }
    writeSync(1, `wrote ${g}\n`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
