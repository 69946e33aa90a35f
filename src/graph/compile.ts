// The compile pipeline: from the canonical graph a builder emits to what the runtime executes.
//
//   inference: fold batch norms into convolutions (the folded weights become derived state,
//              computed on the GPU by a `derive` graph whenever parameters change), then fuse
//              residual adds and activations into their producers' epilogues.
//              With precision 'f16', activations and weights are then stored in half
//              precision (src/graph/half.ts).
//   training:  the graph was differentiated first (src/graph/autograd.ts, src/train); fuse only
//              where no gradient needs the intermediate value; memory is then planned over
//              forward and backward together.
// Memory is planned by the runtime (src/graph/program.ts) on the compiled graph.
import type { CompiledGraph, Graph } from './ir.js';
import { toHalfPrecision } from './half.js';
import { deriveGraph, foldBatchNorms, fuseEpilogues } from './passes.js';

export type { CompiledGraph } from './ir.js';

export interface CompileOptions {
  /**
   * 'inference': fold BN, fuse epilogues. 'training': for a graph already differentiated
   * (src/graph/autograd.ts): no folding (batch norms train), and an epilogue is fused only where
   * no gradient reads the value it would hide (fusion needs the value to have one reader).
   */
  mode: 'inference' | 'training';
  /** Skip the fusion passes (tests compare both). */
  fuse?: boolean;
  /**
   * 'f16': store activations and weights in half precision (inference only; src/graph/half.ts).
   * Default 'f32'.
   */
  precision?: 'f32' | 'f16';
}


export function compile(source: Graph, opts: CompileOptions): CompiledGraph {
  if (opts.mode !== 'inference' && opts.mode !== 'training') throw new Error(`compile: unknown mode '${String(opts.mode)}'`);
  const precision = opts.precision ?? 'f32';
  if (precision !== 'f32' && precision !== 'f16') throw new Error(`compile: precision must be 'f32' or 'f16', got '${String(precision)}'`);
  if (precision === 'f16') {
    if (opts.mode !== 'inference') throw new Error('compile: half precision is for inference; training runs in f32');
    return toHalfPrecision(compile(source, { ...opts, precision: 'f32' }));
  }
  if (opts.fuse === false) return { source, graph: source, derive: deriveGraph(source.ids, []) };
  if (opts.mode === 'training') return { source, graph: fuseEpilogues(source), derive: deriveGraph(source.ids, []) };
  const folded = foldBatchNorms(source);
  return { source, graph: fuseEpilogues(folded.graph), derive: deriveGraph(source.ids, folded.derive) };
}
