// Matmul tuning benchmark: the batched products of MobileViT x-small's attention (4 heads, 2 x 2
// patches: 16 batch items; head sizes 24 to 30), each tuned as a program tunes it
// (src/graph/tune.ts: every tile of the adapter's space timed, the fastest confirmed against the
// default), then the kernel's first tiling (its one tiling before it had choices, 4 x 4 blocks
// on 8 x 8), the adapter class's default and the chosen tile timed again, alternating, in the
// same run.
//
//   npm run bench:matmul -- [--quick] [--shapes scores-256,context-256,...] [--repeats N] [--out FILE]
//
// Timing as bench/kernels.ts (GPU timestamps where the adapter has them). Tuning choices go to a
// store in a temporary folder, not the cache's.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, median, pad, pickByName, runIfMain, writeReport } from './common.js';
import { OurTimer } from './kernels.js';
import { GpuContext } from '../src/gpu/context.js';
import { type Dispatch, disposeDispatch } from '../src/gpu/dispatch.js';
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { type GpuTensor, type Shape, createTensor, numel, uploadTensor } from '../src/gpu/tensor.js';
import { fileTuneStore } from '../src/gpu/tune-store.js';
import { KernelTuning } from '../src/gpu/tuning.js';
import { GraphBuilder } from '../src/graph/builder.js';
import { tuneGraph } from '../src/graph/tune.js';
import { type MatmulParams, matmulGeometry, matmulLayer, matmulOutputShape, matmulSpace, prepareMatmul } from '../src/kernels/matmul/matmul.js';
import { FIRST_MATMUL_TILE, matmulTileName } from '../src/kernels/matmul/tiles.js';
import { Rng } from '../src/util/random.js';

interface Product {
  name: string;
  what: string;
  a: Shape;
  b: Shape;
  p: MatmulParams;
  /** Left out with --quick. */
  large?: boolean;
}

/** Q K^T scaled by 1 / sqrt(head size). */
const scores = (d: number): MatmulParams => ({ transA: false, transB: true, alpha: 1 / Math.sqrt(d) });
const plain: MatmulParams = { transA: false, transB: false, alpha: 1 };

const PRODUCTS: Product[] = [
  { name: 'scores-256', what: 'Q K^T, 256 tokens of 30', a: [16, 256, 30], b: [16, 256, 30], p: scores(30) },
  { name: 'context-256', what: 'A V, 256 tokens of 30', a: [16, 256, 256], b: [16, 256, 30], p: plain },
  { name: 'dvalues-256', what: 'A^T dC (gradient), 256 tokens of 30', a: [16, 256, 256], b: [16, 256, 30], p: { ...plain, transA: true } },
  { name: 'scores-64', what: 'Q K^T, 64 tokens of 30', a: [16, 64, 30], b: [16, 64, 30], p: scores(30) },
  { name: 'context-64', what: 'A V, 64 tokens of 30', a: [16, 64, 64], b: [16, 64, 30], p: plain },
  { name: 'scores-1024', what: 'Q K^T, 1024 tokens of 24', a: [16, 1024, 24], b: [16, 1024, 24], p: scores(24), large: true },
  { name: 'context-1024', what: 'A V, 1024 tokens of 24', a: [16, 1024, 1024], b: [16, 1024, 24], p: plain, large: true },
];

interface Options {
  products: Product[];
  repeats: number;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const args = benchArgs('bench:matmul', argv, ['--quick'], ['--shapes', '--repeats', '--out']);
  const quick = args.has('--quick');
  const chosen = pickByName('bench:matmul', 'shape(s)', args.value('--shapes'), PRODUCTS, (p) => p.name);
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    products: quick && !args.value('--shapes') ? chosen.filter((p) => !p.large) : chosen,
    repeats: Math.max(1, args.count('--repeats', quick ? 7 : 21)),
    // dist/bench/matmul.js -> <root>/bench/results/matmul.json
    out: args.value('--out') ?? join(here, '..', '..', 'bench', 'results', 'matmul.json'),
  };
}

interface Row {
  name: string;
  what: string;
  flops: number;
  /** Milliseconds per run of each tile as the tuner timed it, by name. */
  tuned: Record<string, number>;
  defaultTile: string;
  chosenTile: string;
  /** Medians of the alternating runs after tuning: the first tiling, the default, the choice. */
  firstMs: number;
  defaultMs: number;
  chosenMs: number;
  /** The first tiling's time over the default's and over the choice's: medians of the rounds' ratios. */
  defaultSpeedup: number;
  speedup: number;
}

/** The product's tiles tuned as a program's are, then the first tiling, the default and the choice timed alternately. */
async function benchProduct(ctx: GpuContext, x: Product, repeats: number, timer: OurTimer): Promise<Row> {
  const g = new GraphBuilder();
  g.output('out', g.matmul('product', g.input('a', x.a), g.input('b', x.b), x.p));
  const report = await tuneGraph(ctx, g.build(), { retune: true, budgetMs: 600_000 });
  const [tuned] = report.tuned;
  if (!tuned) throw new Error(`bench:matmul: ${x.name} has no tiles to tune on this adapter`);
  const space = matmulSpace(matmulLayer(ctx, x.a, x.b, x.p));
  const first = FIRST_MATMUL_TILE;
  const byDefault = space.candidates[0].variant;
  const chosen = space.candidates.find((c) => c.name === tuned.entry.variant)!.variant;
  const rng = new Rng(7);
  const tensors: GpuTensor[] = [];
  const made: Dispatch[] = [];
  try {
    const a = uploadTensor(ctx, Float32Array.from({ length: numel(x.a) }, () => rng.uniform(-1, 1)), x.a, 'bench:a');
    tensors.push(a);
    const b = uploadTensor(ctx, Float32Array.from({ length: numel(x.b) }, () => rng.uniform(-1, 1)), x.b, 'bench:b');
    tensors.push(b);
    const out = createTensor(ctx, matmulOutputShape(x.a, x.b, x.p), 'f32', 'bench:out');
    tensors.push(out);
    // Each distinct tile once: the default or the choice may be the first tiling.
    const names = [first, byDefault, chosen].map(matmulTileName);
    const tiles = [first, byDefault, chosen].filter((v, i) => names.indexOf(matmulTileName(v)) === i);
    made.push(...(await ctx.checked(x.name, () => tiles.map((v) => prepareMatmul(ctx, { a, b, out }, x.p, v)))));
    const samples: number[][] = tiles.map(() => []);
    await ctx.checked(x.name, async () => {
      // A warm-up each, then rounds of each in turn.
      for (const d of made) await timer.time([d]);
      for (let r = 0; r < repeats; r++) for (const [i, d] of made.entries()) samples[i].push(await timer.time([d]));
    });
    const of = (name: string) => samples[tiles.findIndex((v) => matmulTileName(v) === name)];
    const [firstMs, defaultMs, chosenMs] = names.map((n) => median(of(n)));
    // On a shared host a round's tiles see the same load: the median of the rounds' ratios.
    const over = (name: string) => median(of(names[0]).map((t, r) => t / of(name)[r]));
    const { batch, M, N, K } = matmulGeometry(x.a, x.b, x.p);
    return {
      name: x.name,
      what: x.what,
      flops: 2 * batch * M * N * K,
      tuned: tuned.times,
      defaultTile: matmulTileName(byDefault),
      chosenTile: matmulTileName(chosen),
      firstMs,
      defaultMs,
      chosenMs,
      defaultSpeedup: over(names[1]),
      speedup: over(names[2]),
    };
  } finally {
    for (const d of made) disposeDispatch(ctx, d);
    for (const t of tensors) t.dispose();
  }
}

export async function benchMatmul(ctx: GpuContext, o: Pick<Options, 'products' | 'repeats'>): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'deeplab-bench-matmul-'));
  const own = ctx.tuning;
  const timer = new OurTimer(ctx, ctx.hasTimestamps);
  try {
    ctx.tuning = await KernelTuning.open(own.identity, 'cached', fileTuneStore(dir));
    const rows: Row[] = [];
    for (const x of o.products) rows.push(await benchProduct(ctx, x, o.repeats, timer));
    return rows;
  } finally {
    timer.dispose();
    ctx.tuning = own;
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, async () => {
  const o = parseArgs(process.argv.slice(2));
  ensureRuntimeDir();
  const ctx = await GpuContext.create({ timestamps: true });
  try {
    const host = `${cpus()[0]?.model.trim() ?? 'unknown CPU'} x${cpus().length}`;
    console.log(`adapter: ${ctx.adapterInfo.name}; host: ${host}; timing: ${ctx.hasTimestamps ? 'GPU timestamps' : 'wall time'}; medians of ${o.repeats} rounds, the tiles in turn`);
    console.log(`${pad('product', 14)}${pad('shapes', 40)}${pad(`first ${matmulTileName(FIRST_MATMUL_TILE)}`, 20)}${pad('default', 28)}chosen (speed over the first)`);
    const rows = await benchMatmul(ctx, o);
    for (const r of rows) {
      const gflops = (ms: number) => (r.flops / (ms * 1e6)).toFixed(1);
      console.log(
        `${pad(r.name, 14)}${pad(r.what, 40)}${pad(`${r.firstMs.toFixed(2)} ms`, 20)}${pad(`${r.defaultTile} ${r.defaultMs.toFixed(2)} ms (${r.defaultSpeedup.toFixed(2)}x)`, 28)}` +
          `${r.chosenTile} ${r.chosenMs.toFixed(2)} ms (${r.speedup.toFixed(2)}x; ${gflops(r.firstMs)} -> ${gflops(r.chosenMs)} GFLOP/s)`,
      );
    }
    writeReport(o.out, { adapter: ctx.adapterInfo.name, host, timing: ctx.hasTimestamps ? 'timestamps' : 'wall', repeats: o.repeats, rows });
  } finally {
    ctx.destroy();
  }
});
