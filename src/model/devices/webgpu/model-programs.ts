// A model's programs within its memory budget: the network compiled per batch and input size,
// the post-processing programs by their key, each kept in a small LRU (program-cache.ts), and the
// budget (LoadOptions.memoryBudget) enforced as they are made: the least recently used programs
// are released first, never one the current call holds, and what cannot fit is refused, naming
// the sizes, before it is allocated.
import type { GpuContext } from '../../../gpu/context.js';
import { type CompiledGraph, compile } from '../../../graph/compile.js';
import type { Graph } from '../../../graph/ir.js';
import { Program } from '../../../graph/program.js';
import { plannedProgramBytes } from '../../../graph/program-memory.js';
import type { Session } from '../../../graph/session.js';
import type { LoadedWeights } from '../../loading/load-weights.js';
import type { Precision } from '../../loading/options.js';
import { type ModelMemory, addProgramBytes, overBudgetError, programTotal } from '../../memory.js';
import type { NetworkSize } from '../../networks/deeplab.js';
import type { NetworkGraphs } from '../../network-graphs.js';
import { ProgramCache } from '../../program-cache.js';

export class ModelPrograms {
  private readonly networks = new ProgramCache();
  private readonly posts = new ProgramCache();

  constructor(
    private readonly ctx: GpuContext,
    private readonly weights: LoadedWeights,
    /** The network's graphs by size. */
    private readonly graphs: NetworkGraphs,
    private readonly precision: Precision,
    /** The most GPU bytes the model may hold, or null. */
    readonly budget: number | null,
    /** The GPU bytes the model holds beside its programs (weights, frames). */
    private readonly otherBytes: () => { weights: number; frames: number },
  ) {}

  /** The network compiled for inference at one batch and input size. */
  compiledGraph(size: NetworkSize): CompiledGraph {
    return compile(this.graphs.graph(size), { mode: 'inference', precision: this.precision });
  }

  /** The network's program at one size, on `session`'s weights. */
  network(session: Session, height: number, width: number, batch = 1): Promise<Program> {
    const what = `the network at ${width}x${height}${batch > 1 ? ` (batch ${batch})` : ''}`;
    return this.networks.get(`${batch}x${height}x${width}`, async () => {
      const compiled = this.compiledGraph({ batch, height, width });
      this.makeRoom(programTotal(plannedProgramBytes(compiled.graph)), what);
      return this.fitted(await Program.create(this.ctx, compiled, session, this.weights.name), what);
    });
  }

  /** A post-processing program (logits resized, argmax, probabilities) by its key. */
  post(key: string, build: () => Graph): Promise<Program> {
    // Keys read 'HxW->HxW:outputs'; a message names the sizes and the outputs.
    const [sizes, outputs] = key.split(':');
    const what = `the post-processing ${sizes}${outputs ? ` (${outputs})` : ''}`;
    return this.posts.get(key, async () => {
      const graph = build();
      this.makeRoom(programTotal(plannedProgramBytes(graph)), what);
      return this.fitted(await Program.create(this.ctx, graph, new Map(), 'postprocess'), what);
    });
  }

  /** The model's GPU bytes, by what holds them (ModelMemory). */
  memory(): ModelMemory {
    const programs = addProgramBytes([this.networks.bytes, this.posts.bytes]);
    const { weights, frames } = this.otherBytes();
    return {
      weights,
      ...programs,
      frames,
      total: weights + programTotal(programs) + frames,
      contextPool: this.ctx.pool.stats.idleBytes,
      budget: this.budget,
    };
  }

  /** Refuses weights that alone would pass the budget, before they are uploaded. */
  checkWeightsFit(graph: Graph): void {
    if (this.budget === null) return;
    const bytes = graph.state.reduce((a, v) => a + v.shape.reduce((x, y) => x * y, 1) * 4, 0);
    if (bytes > this.budget) throw overBudgetError(this.weights.name, 'its weights', bytes, 0, this.budget);
  }

  /** A new call's turn: programs handed out before it may be released to make room. */
  nextTurn(): void {
    this.networks.nextTurn();
    this.posts.nextTurn();
  }

  /** Releases every program. */
  clear(): void {
    this.networks.clear();
    this.posts.clear();
  }

  /** Releases the least recently used programs until `bytes` more fit the budget; refuses what cannot fit. */
  private makeRoom(bytes: number, what: string): void {
    const budget = this.budget;
    if (budget === null) return;
    while (this.memory().total + bytes > budget) {
      if (!this.networks.releaseOldest() && !this.posts.releaseOldest()) throw overBudgetError(this.weights.name, what, bytes, this.memory().total, budget);
    }
  }

  /** `program` once made, if the model fits its budget with it (older programs released as needed); else disposed and refused. */
  private fitted(program: Program, what: string): Program {
    try {
      this.makeRoom(programTotal(program.bytes), what);
    } catch (e) {
      program.dispose();
      throw e;
    }
    return program;
  }
}
