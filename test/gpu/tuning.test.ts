// Per-adapter kernel tuning: the store of choices (keyed by adapter identity, layer shape and
// a checksum of the candidates), the tuner, and programs picking the choices up. Every
// candidate's correctness is in test/kernels/conv2d.test.ts; here, that tuning changes which
// one runs and nothing else.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import type { Graph } from '../../src/graph/ir.js';
import type { HostParams } from '../../src/graph/params.js';
import { Program } from '../../src/graph/program.js';
import { candidateError, tuneGraph } from '../../src/graph/tune.js';
import { opDef } from '../../src/graph/ops/registry.js';
import type { TunableLayer } from '../../src/kernels/tuning.js';
import type { GpuContext } from '../../src/gpu/context.js';
import { fileTuneStore } from '../../src/gpu/tune-store.js';
import { type AdapterIdentity, KernelTuning, type TuneKey, candidateChecksum, tuneModeFrom } from '../../src/gpu/tuning.js';
import { CONV2D, conv2dChoice, conv2dSpace } from '../../src/kernels/conv2d/conv2d.js';
import { chooseConv, convLayer, convSpace, familyVersion } from '../../src/kernels/conv2d/family.js';
import { sourcesVersion } from '../../src/kernels/tuning.js';
import { convChoiceName } from '../../src/kernels/conv2d/algorithm.js';
import { convParams } from '../../src/kernels/conv2d/params.js';
import { F16_ACCUMULATION_ERROR, precisionOf } from '../../src/kernels/precision.js';
import { CONV2D_INPUT_GRAD } from '../../src/kernels/conv2d-backward/input-grad/input-grad.js';
import { CONV2D_WEIGHT_GRAD } from '../../src/kernels/conv2d-backward/weight-grad/weight-grad.js';

import { differentiate } from '../../src/graph/autograd.js';
import { resizeBilinearCpu, resizeLayout } from '../../src/kernels/resize/resize.js';
import { matmulLayer, matmulLowering, matmulSpace } from '../../src/kernels/matmul/matmul.js';
import { matmulTileName } from '../../src/kernels/matmul/tiles.js';
import { expectAbortError, expectClose, expectRejects, numel, randomArray, testContext, withTuneStore } from '../helpers.js';

const IDENTITY: AdapterIdentity = { vendor: 'v', architecture: 'a', device: 'd', description: 'test adapter', host: 'cpu x2' };

/**
 * Two GEMM convolutions of different shapes (sizes off every tile), a depthwise one, and a
 * grouped one (the direct kernel: no choices).
 */

/** The tunable layer of the node `name` of `graph` on `ctx` (what the tuner timed). */
function tunableOf(graph: Graph, name: string, ctx: GpuContext): TunableLayer {
  const n = graph.nodes.find((x) => x.name === name)!;
  const layer = opDef(n.op).tunable?.(n.op, ctx);
  if (!layer) throw new Error(`${name} has no kernel choices`);
  return layer;
}

function twoConvGraph(): Graph {
  const g = new GraphBuilder();
  const x = g.input('image', [1, 9, 11, 13]);
  let y = g.conv2d('a', x, g.param('a.w', [3, 3, 13, 24]), { padding: 1, activation: 'relu', bias: g.param('a.b', [24]) });
  y = g.conv2d('dw', y, g.param('dw.w', [3, 3, 1, 24]), { groups: 24, padding: 1 });
  y = g.conv2d('grouped', y, g.param('grouped.w', [1, 1, 12, 24]), { groups: 2 });
  y = g.conv2d('b', y, g.param('b.w', [1, 1, 24, 70]), {});
  g.output('out', y);
  return g.build();
}

function params(graph: Graph): HostParams {
  return new Map(graph.state.map((v) => [v.name, { shape: [...v.shape], data: randomArray(numel(v.shape)) }]));
}

/** A tuning key of the family 'conv2d_gemm' in the precision of `storage` tensors. */
const keyOf = (shape: string, storage: 'f32' | 'f16' = 'f32'): TuneKey => ({ kernel: 'conv2d_gemm', shape, precision: precisionOf(storage) });

describe('kernel tuning: stored choices per adapter', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'deeplab-tune-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const entry = { variant: 'r8c4l8k1', ms: 1, defaultMs: 2, timed: 5, checksum: 'c1' };

  it('keeps a choice across processes, per layer shape and precision, only while the candidates are the same', async () => {
    const a = await KernelTuning.open(IDENTITY, 'cached', fileTuneStore(dir));
    a.record(keyOf('m64.ci3'), entry);
    await a.save();
    const b = await KernelTuning.open(IDENTITY, 'cached', fileTuneStore(dir));
    expect(b.choice(keyOf('m64.ci3'), 'c1')).to.equal('r8c4l8k1');
    expect(b.choice(keyOf('m128.ci3'), 'c1'), 'another shape').to.equal(undefined);
    expect(b.choice(keyOf('m64.ci3', 'f16'), 'c1'), 'the same shape in half precision').to.equal(undefined);
    expect(b.choice({ ...keyOf('m64.ci3', 'f16'), precision: { storage: 'f16', accumulate: 'f32' } }, 'c1'), 'f16 storage summed in f32 only').to.equal(undefined);
    expect(b.choice(keyOf('m64.ci3'), 'c2'), 'the candidate space changed').to.equal(undefined);
    const off = await KernelTuning.open(IDENTITY, 'off', fileTuneStore(dir));
    expect(off.choice(keyOf('m64.ci3'), 'c1'), "mode 'off'").to.equal(undefined);
    await off.setMode('cached');
    expect(off.choice(keyOf('m64.ci3'), 'c1'), "'off' -> 'cached' reads the store").to.equal('r8c4l8k1');
  });

  it('keeps adapters apart: another device, or the same software adapter on another host CPU', async () => {
    const a = await KernelTuning.open(IDENTITY, 'cached', fileTuneStore(dir));
    a.record(keyOf('k'), entry);
    await a.save();
    for (const other of [{ ...IDENTITY, device: 'other' }, { ...IDENTITY, host: 'AMD EPYC x2' }]) {
      const b = await KernelTuning.open(other, 'cached', fileTuneStore(dir));
      expect(b.id).to.not.equal(a.id);
      expect(b.choice(keyOf('k'), 'c1')).to.equal(undefined);
    }
  });

  it('treats a damaged or foreign file, or one of the version before precisions, as empty and rewrites it on the next save', async () => {
    const a = await KernelTuning.open(IDENTITY, 'cached', fileTuneStore(dir));
    const path = join(dir, `${a.id}.json`);
    writeFileSync(path, '{"version": 2, "adapter": {"vend');
    const b = await KernelTuning.open(IDENTITY, 'cached', fileTuneStore(dir));
    expect(b.size).to.equal(0);
    writeFileSync(path, JSON.stringify({ version: 2, adapter: { ...IDENTITY, device: 'x' }, entries: { 'conv2d_gemm/k/f32.acc32': entry } }));
    expect((await KernelTuning.open(IDENTITY, 'cached', fileTuneStore(dir))).size, 'a record of another adapter').to.equal(0);
    // Version 1 kept keys without a precision: its choices are ignored, not applied to either.
    writeFileSync(path, JSON.stringify({ version: 1, adapter: IDENTITY, entries: { 'conv2d_gemm/k': entry, 'conv2d_gemm/k.f16': entry } }));
    const old = await KernelTuning.open(IDENTITY, 'cached', fileTuneStore(dir));
    expect([old.size, old.choice(keyOf('k'), 'c1'), old.choice(keyOf('k', 'f16'), 'c1')], 'a version 1 record').to.deep.equal([0, undefined, undefined]);
    b.record(keyOf('k'), entry);
    await b.save();
    const saved = JSON.parse(readFileSync(path, 'utf8'));
    expect([saved.version, Object.keys(saved.entries)]).to.deep.equal([2, ['conv2d_gemm/k/f32.acc32']]);
    expect(saved.entries['conv2d_gemm/k/f32.acc32'].variant).to.equal('r8c4l8k1');
  });

  it("versions a candidate space by its WGSL: an edited kernel, or an edited file it includes, makes its old choices unused", async () => {
    const ctx = await testContext();
    // Expanded sources as a loader gives them (an include already inlined).
    const sources: Record<string, string> = { 'a.wgsl': 'fn f() {}\n// from b.wgsl\nfn g() {}', 'c.wgsl': 'fn h() {}' };
    const load = (name: string) => sources[name];
    const before = sourcesVersion(['a.wgsl', 'c.wgsl'], load);
    expect(sourcesVersion(['a.wgsl', 'c.wgsl'], load), 'the same sources').to.equal(before);
    sources['a.wgsl'] = sources['a.wgsl'].replace('fn g() {}', 'fn g() { let x = 1; }');
    expect(sourcesVersion(['a.wgsl', 'c.wgsl'], load), 'an edited include').to.not.equal(before);
    // The real kernels: conv2d's version is its algorithms' WGSL, and it enters the checksum.
    const layer = convLayer(ctx, [1, 9, 9, 16], [3, 3, 16, 16], convParams({ padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }));
    const space = conv2dSpace(layer);
    expect(familyVersion(CONV2D)).to.equal(sourcesVersion(CONV2D.algorithms.flatMap((a) => a.shaders)));
    expect(familyVersion(CONV2D)).to.not.equal(sourcesVersion(['conv2d_gemm.wgsl']));
    expect(space.checksum).to.equal(candidateChecksum(familyVersion(CONV2D), space.candidates.map((c) => c.name)));
    expect(space.checksum, 'another version, the same names').to.not.equal(candidateChecksum(sourcesVersion(['conv2d_gemm.wgsl']), space.candidates.map((c) => c.name)));
  });

  it('refuses an unknown mode, naming it', async () => {
    await expectRejects(() => tuneModeFrom('fast', 'DEEPLAB_TUNE'), /DEEPLAB_TUNE must be 'off', 'cached' or 'full', got 'fast'/);
    expect(tuneModeFrom(undefined, 'x')).to.equal('cached');
  });
});

/**
 * The tuner's budget is read on the host's clock: a test that needs every candidate timed gives
 * it none, so that a slow or busy host cannot cut the timing short (one did, at 5 of 8 tiles).
 */
const NO_BUDGET = Infinity;

describe('kernel tuning: the tuner and programs', function () {
  this.timeout(300_000);

  it('times every candidate of each GEMM and depthwise shape, keeps one no slower than the default, and programs use it', async () => {
    await withTuneStore('cached', async (ctx) => {
      const graph = twoConvGraph();
      const report = await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET });
      expect(report.tuned.map((t) => `${t.kernel} ${t.layers.join()}`).sort(), 'the GEMM and depthwise convolutions, not the grouped one').to.deep.equal(['conv2d a', 'conv2d b', 'conv2d dw']);
      for (const t of report.tuned) {
        const op = graph.nodes.find((n) => n.name === t.layers[0])!.op;
        if (op.type !== 'conv2d') throw new Error(`${t.layers[0]} is not a convolution`);
        const layer = convLayer(ctx, op.input.shape, op.weight.shape, op.attrs);
        const space = conv2dSpace(layer);
        const names = space.candidates.map((c) => c.name);
        expect(t.entry.timed, `${t.shape}: every candidate timed`).to.equal(names.length);
        expect(names).to.include(t.entry.variant);
        expect(t.entry.ms).to.be.at.most(t.entry.defaultMs);
        expect(t.entry.checksum).to.equal(candidateChecksum(familyVersion(CONV2D), names));
        expect(t.precision, 'an f32 program').to.deep.equal(precisionOf('f32'));
        // What a program now runs for this layer is the stored choice, not the class default.
        expect(convChoiceName(conv2dChoice(ctx, layer))).to.equal(t.entry.variant);
      }
      const again = await tuneGraph(ctx, graph);
      expect([again.tuned.length, again.cached], 'a second tuning finds the three shapes stored').to.deep.equal([0, 3]);
    });
  });

  it('a signal cancels tuning: an AbortError, the shapes finished before it stored and saved, the rest tuned by the next call', async () => {
    await withTuneStore('cached', async (ctx, storeDir) => {
      const graph = twoConvGraph();
      const controller = new AbortController();
      const done: string[] = [];
      await expectAbortError(
        tuneGraph(ctx, graph, {
          budgetMs: NO_BUDGET,
          signal: controller.signal,
          onLayer: (t) => {
            done.push(t.shape);
            controller.abort();
          },
        }),
        'a cancelled tuning',
      );
      expect(done, 'one shape finished before the abort').to.have.length(1);
      // Saved: a fresh store over the same folder finds the finished shape and tunes the other two.
      ctx.tuning = await KernelTuning.open(ctx.tuning.identity, 'cached', fileTuneStore(storeDir));
      const rest = await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET });
      expect([rest.cached, rest.tuned.length], 'the finished shape kept, the others tuned').to.deep.equal([1, 2]);
      expect(rest.tuned.map((t) => t.shape)).to.not.include(done[0]);
    });
  });

  it("times a training graph's backward GEMMs too (input and weight gradients), and the step runs the choices", async () => {
    await withTuneStore('cached', async (ctx) => {
      // Two convolutions differentiated: dX of the second, dW of both (the first's input is not differentiated).
      const b = new GraphBuilder();
      const x = b.input('image', [1, 9, 11, 13]);
      const w1 = b.param('a.w', [3, 3, 13, 24]);
      const w2 = b.param('b.w', [1, 1, 24, 70]);
      const y = b.conv2d('b', b.conv2d('a', x, w1, { padding: 1 }), w2, {});
      const seed = b.input('dy', [1, 9, 11, 70]);
      b.output('y', y);
      const d = differentiate(b.build(), new Map([[y, seed]]), [w1, w2]);
      const out = GraphBuilder.extend(d.graph);
      out.output('dw1', d.grads.get(w1.id)!);
      out.output('dw2', d.grads.get(w2.id)!);
      const graph = out.build();
      const report = await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET });
      const backward = report.tuned.filter((t) => t.kernel !== 'conv2d');
      /** A backward convolution's family and layer, or nulls for another node. */
      const backwardOf = (node: Graph['nodes'][number]) =>
        node.op.type === 'conv2d_grad_input'
          ? ([CONV2D_INPUT_GRAD, convLayer(ctx, node.op.attrs.inputShape, node.op.weight.shape, node.op.attrs)] as const)
          : node.op.type === 'conv2d_grad_weight'
            ? ([CONV2D_WEIGHT_GRAD, convLayer(ctx, node.op.x.shape, node.op.attrs.weightShape, node.op.attrs)] as const)
            : ([null, null] as const);
      // Every backward convolution with a choice: on lavapipe all three (dX of the second, dW of
      // both); wider subgroups leave some of these small layers a single candidate.
      const withChoices = graph.nodes.flatMap((n) => {
        const [family, layer] = backwardOf(n);
        return family && convSpace<unknown, null>(family, layer).candidates.length > 1 ? [family.kernel] : [];
      });
      if (ctx.isSoftware) expect(withChoices.sort(), 'on lavapipe').to.deep.equal(['conv2d_input_grad', 'conv2d_weight_grad', 'conv2d_weight_grad']);
      expect(backward.map((t) => t.kernel).sort()).to.deep.equal(withChoices.sort());
      for (const t of backward) {
        const node = graph.nodes.find((n) => n.name === t.layers[0])!;
        const [family, layer] = backwardOf(node);
        if (!family) throw new Error(`${node.name} is not a backward convolution`);
        const space = convSpace<unknown, null>(family, layer);
        expect(t.entry.timed, `${t.kernel} ${t.shape}: every candidate timed`).to.equal(space.candidates.length);
        expect(t.entry.ms).to.be.at.most(t.entry.defaultMs);
        expect(convChoiceName(chooseConv<unknown, null>(ctx, family, layer)), `${t.kernel} ${t.shape}: the step runs the choice`).to.equal(t.entry.variant);
      }
      // Whatever was chosen, the step's gradients are the CPU reference's.
      const p = params(graph);
      const inputs = { image: randomArray(9 * 11 * 13), dy: randomArray(9 * 11 * 70) };
      const program = await Program.create(ctx, compile(graph, { mode: 'training' }), p, 'tuned step');
      try {
        const got = await program.run(inputs);
        const want = runGraphCpu(graph, p, inputs);
        for (const name of ['dw1', 'dw2']) expectClose(got.get(name)!, want.get(name)!, `tuned ${name}`);
      } finally {
        program.dispose();
      }
    });
  });

  it("times both layouts of a bilinear resize, keeps one no slower than the default, and programs use it", async () => {
    await withTuneStore('cached', async (ctx) => {
      const b = new GraphBuilder();
      const x = b.input('logits', [1, 9, 7, 21]);
      b.output('up', b.resize('up', x, 65, 49, 'align_corners'));
      const graph = b.build();
      const report = await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET });
      expect(report.tuned.map((t) => t.kernel)).to.deep.equal(['resize_bilinear']);
      const [t] = report.tuned;
      expect(t.entry.timed, 'both layouts timed').to.equal(2);
      expect(t.entry.ms).to.be.at.most(t.entry.defaultMs);
      const p = { outH: 65, outW: 49, mode: 'align_corners' as const };
      expect(resizeLayout(ctx, [1, 9, 7, 21], p)).to.equal(t.entry.variant);
      // Whatever was chosen, the program's output is the CPU reference's.
      const logits = randomArray(9 * 7 * 21);
      const program = await Program.create(ctx, compile(graph, { mode: 'inference' }), new Map(), 'tuned resize');
      try {
        expectClose((await program.run({ logits })).get('up')!, resizeBilinearCpu(logits, [1, 9, 7, 21], p), 'tuned resize');
      } finally {
        program.dispose();
      }
    });
  });

  it("times every tile of attention's batched products, keeps one no slower than the default, and programs use it", async () => {
    await withTuneStore('cached', async (ctx) => {
      const b = new GraphBuilder();
      const [q, k, v] = ['q', 'k', 'v'].map((n) => b.input(n, [4, 21, 6]));
      const scores = b.matmul('scores', q, k, { transB: true, alpha: 0.5 });
      b.output('context', b.matmul('context', scores, v));
      const graph = b.build();
      const report = await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET });
      expect(report.tuned.map((t) => `${t.kernel} ${t.layers.join()}`).sort()).to.deep.equal(['matmul context', 'matmul scores']);
      for (const t of report.tuned) {
        const op = graph.nodes.find((n) => n.name === t.layers[0])!.op;
        if (op.type !== 'matmul') throw new Error(`${t.layers[0]} is not a matmul`);
        const space = matmulSpace(matmulLayer(ctx, op.a.shape, op.b.shape, op.attrs));
        expect([t.shape, t.precision]).to.deep.equal([space.shape, precisionOf('f32')]);
        expect(t.entry.timed, `${t.shape}: every tile timed`).to.equal(space.candidates.length);
        expect(t.entry.ms).to.be.at.most(t.entry.defaultMs);
        expect(matmulTileName(matmulLowering(ctx, op.a.shape, op.b.shape, op.attrs).tile), `${t.shape}: what a program runs`).to.equal(t.entry.variant);
      }
      // Whatever was chosen, the program's output is the CPU reference's.
      const inputs = { q: randomArray(4 * 21 * 6), k: randomArray(4 * 21 * 6), v: randomArray(4 * 21 * 6) };
      const program = await Program.create(ctx, compile(graph, { mode: 'inference' }), new Map(), 'tuned attention');
      try {
        expectClose((await program.run(inputs)).get('context')!, runGraphCpu(graph, new Map(), inputs).get('context')!, 'tuned attention');
      } finally {
        program.dispose();
      }
    });
  });

  it('leaves layers untuned when the budget is spent, and times them on a later call', async () => {
    await withTuneStore('cached', async (ctx) => {
      const graph = twoConvGraph();
      const none = await tuneGraph(ctx, graph, { budgetMs: 0 });
      expect([none.tuned.length, none.skipped]).to.deep.equal([0, 3]);
      const later = await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET });
      expect(later.tuned).to.have.length(3);
    });
  });

  it('tunes the layer shapes with the most work first', async () => {
    await withTuneStore('cached', async (ctx) => {
      const graph = twoConvGraph();
      const order: string[] = [];
      await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET, patience: 0, onLayer: (t) => void order.push(t.layers[0]) });
      // a: 3x3 13 -> 24 on 9x11 (278k MACs); b: 1x1 24 -> 70 (166k); dw: 3x3 depthwise on 24 channels (21k).
      expect(order).to.deep.equal(['a', 'b', 'dw']);
    });
  });

  it('stops a layer after `patience` candidates no faster than its best, and a stopped layer is settled', async () => {
    await withTuneStore('cached', async (ctx) => {
      const graph = twoConvGraph();
      const first = await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET, patience: 0 });
      // Patience 0: the default alone is timed, and that settles the layer.
      expect(first.tuned.map((t) => t.entry.timed)).to.deep.equal([1, 1, 1]);
      expect(first.tuned.every((t) => t.entry.settled && t.entry.variant === Object.keys(t.times)[0])).to.equal(true);
      const again = await tuneGraph(ctx, graph);
      expect([again.tuned.length, again.cached], 'settled layers are not timed again').to.deep.equal([0, 3]);
      // Patience 1: at most one candidate after each improvement.
      const some = await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET, patience: 1, retune: true });
      for (const t of some.tuned) expect(t.entry.timed, t.shape).to.be.within(2, t.candidates);
    });
  });

  it('tuning once: shapes the budget does not reach keep their default for good, so a later call times nothing', async () => {
    await withTuneStore('cached', async (ctx) => {
      const graph = twoConvGraph();
      const none = await tuneGraph(ctx, graph, { budgetMs: 0, once: true });
      expect([none.tuned.length, none.skipped]).to.deep.equal([0, 3]);
      const later = await tuneGraph(ctx, graph);
      expect([later.tuned.length, later.cached]).to.deep.equal([0, 3]);
      for (const n of graph.nodes.filter((x) => x.op.type === 'conv2d' && x.name !== 'grouped')) {
        if (n.op.type !== 'conv2d') continue;
        const layer = convLayer(ctx, n.op.input.shape, n.op.weight.shape, n.op.attrs);
        expect(convChoiceName(conv2dChoice(ctx, layer)), n.name).to.equal(conv2dSpace(layer).candidates[0].name);
      }
    });
  });

  it('in a half-precision program, times f16-accumulating GEMMs only where they pass their accuracy check, and the program runs the f16 choice', async function () {
    // Cold, beside a busy loop on both cores of a 2-core host, 183 s (stress runs, docs/testing.md): twice that and more.
    this.timeout(600_000);
    const ctx = await testContext();
    if (!ctx.hasHalf) this.skip();
    await withTuneStore('cached', async (ctx) => {
      // A short reduction (1x1 over 24 channels) and a long one (3x3 over 128). On the tuner's
      // independent uniform operands (src/graph/tune-bench.ts), summing 24 products in f16 errs
      // about 1.7 u against the f32 sum (u = 2^-11; 1.6 u with fused multiply-adds), and over
      // K = 1152 about 11 u for one running sum and 2.7 u for blocks of 32 (numpy, rounding
      // every step), against the 8 u allowed; over 63 x 128 outputs the norm-wise error moves
      // by about 1 %, so an f16 sum over K = 24 that fails the check sums wrongly. (With the
      // sin(j) / 2 operands used before, whose dot products cancel, the same sums erred 4.3 u
      // and the H100's tiled GEMM crossed 8 u.)
      const b = new GraphBuilder();
      const x = b.input('image', [1, 7, 9, 24]);
      let y = b.conv2d('short', x, b.param('short.w', [1, 1, 24, 128]), {});
      y = b.conv2d('long', y, b.param('long.w', [3, 3, 128, 20]), { padding: 1 });
      // (The last layer, whose output only leaves the graph, stays f32.)
      y = b.conv2d('head', y, b.param('head.w', [1, 1, 20, 3]), {});
      b.output('out', y);
      const graph = compile(b.build(), { mode: 'inference', precision: 'f16' }).graph;
      const report = await tuneGraph(ctx, graph, { budgetMs: NO_BUDGET });
      const byLayer = new Map(report.tuned.map((t) => [t.layers[0], t]));
      for (const name of ['short', 'long']) {
        const t = byLayer.get(name)!;
        expect(t, `${name} tuned`).to.not.equal(undefined);
        const op = graph.nodes.find((n) => n.name === name)!.op;
        if (op.type !== 'conv2d') throw new Error(`${name} is not a convolution`);
        expect(op.input.dtype).to.equal('f16');
        const layer = convLayer(ctx, op.input.shape, op.weight.shape, op.attrs, 'f16');
        const space = conv2dSpace(layer);
        expect([t.shape, t.precision]).to.deep.equal([space.shape, precisionOf('f16')]);
        const halfSums = space.candidates.filter((c) => c.name.endsWith('h')).map((c) => c.name);
        expect(halfSums.length, `${name}: f16-accumulating candidates`).to.be.at.least(1);
        const rejected = t.rejected ?? {};
        // Each one was either timed within its accuracy, or set aside with its error.
        for (const c of halfSums) expect(c in t.times !== c in rejected, `${name} ${c}: timed or set aside`).to.equal(true);
        for (const error of Object.values(rejected)) expect(error).to.be.at.least(F16_ACCUMULATION_ERROR);
        expect(rejected, `${name}: the choice passed its check`).to.not.have.property(t.entry.variant);
        expect(convChoiceName(conv2dChoice(ctx, layer)), `${name}: the program runs the f16 choice`).to.equal(t.entry.variant);
        // The same shape in an f32 program finds no choice: it runs its default.
        const single = conv2dSpace({ ...layer, dtype: 'f32' });
        expect(convChoiceName(conv2dChoice(ctx, { ...layer, dtype: 'f32' })), `${name}: an f32 program`).to.equal(single.candidates[0].name);
        // Those timed passed the same check on the same operands (the set-aside path on stand-ins:
        // test/graph/tune-timing.test.ts). Over K = 1152 (Winograd: 128 channels in its
        // transformed domain) the kernels' f16 sums, split across lanes, erred 2.6-3.5 u on
        // lavapipe: whether one passes is the check's to say, not this test's.
        for (const c of halfSums.filter((c) => c in t.times)) expect(await candidateError(ctx, tunableOf(graph, name, ctx), c), `${name} ${c}: timed within its check`).to.be.below(F16_ACCUMULATION_ERROR);
        if (name === 'short') expect(Object.keys(rejected), 'f16 sums over K = 24 pass').to.deep.equal([]);
      }
    });
  });

  it("mode 'full' tunes a program's layers as it is compiled; with any choice the results are the CPU reference's", async () => {
    await withTuneStore('full', async (ctx) => {
      const graph = twoConvGraph();
      const p = params(graph);
      const program = await Program.create(ctx, compile(graph, { mode: 'inference' }), p, 'tuned');
      try {
        expect(ctx.tuning.size, 'the three shapes measured during compilation').to.equal(3);
        const image = randomArray(9 * 11 * 13);
        const out = await program.run({ image });
        expectClose(out.get('out')!, runGraphCpu(graph, p, { image }).get('out')!, 'tuned program');
      } finally {
        program.dispose();
      }
    });
  });

  it("mode 'off' runs the adapter class's defaults even where a choice is stored", async () => {
    await withTuneStore('cached', async (ctx) => {
      const layer = convLayer(ctx, [1, 9, 11, 13], [3, 3, 13, 24], convParams({ padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }));
      const space = conv2dSpace(layer);
      const other = space.candidates[1].name;
      ctx.tuning.record(space, { variant: other, ms: 1, defaultMs: 2, timed: space.candidates.length, checksum: space.checksum });
      expect(convChoiceName(conv2dChoice(ctx, layer))).to.equal(other);
      // A choice stored for f32 is not applied to the same layer in a half-precision program.
      if (ctx.hasHalf) expect(convChoiceName(conv2dChoice(ctx, { ...layer, dtype: 'f16' }))).to.equal(conv2dSpace({ ...layer, dtype: 'f16' }).candidates[0].name);
      await ctx.tuning.setMode('off');
      expect(convChoiceName(conv2dChoice(ctx, layer))).to.equal(space.candidates[0].name);
    });
  });
});
