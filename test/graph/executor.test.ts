import { expect } from 'chai';
import { GraphBuilder } from '../../src/graph/builder.js';
import { runGraphCpu } from '../../src/graph/cpu-reference.js';
import { compile } from '../../src/graph/compile.js';
import type { Graph, Value } from '../../src/graph/ir.js';
import { IdAllocator } from '../../src/graph/ir.js';
import { roundToHalf } from '../../src/gpu/half.js';
import { nodeOutput } from '../../src/graph/ir.js';
import { planMemory } from '../../src/graph/memory-plan.js';
import { nodeInputs } from '../../src/graph/ops/registry.js';
import { type HostParams, ParamMismatchError, checkParams } from '../../src/graph/params.js';
import { fuseEpilogues } from '../../src/graph/passes.js';
import { Program } from '../../src/graph/program.js';
import { profileProgram, profileProgramOnHost } from '../../src/graph/profile.js';
import { encodeTimedLayer, timedLayerKernels, timedLayers } from '../../src/graph/timed-layers.js';
import { GpuContext } from '../../src/gpu/context.js';
import { Session } from '../../src/graph/session.js';
import { readTensor } from '../../src/gpu/tensor.js';
import { argmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { expectClose, halfProgramTolerance, expectRejects, numel, randomArray, relativeError, rng, testContext, withKernelOption, withTuneStore, expectThrows } from '../helpers.js';
import { opDef } from '../../src/graph/ops/registry.js';

/** A small network with every op the models use: atrous convs, BN, residual add, depthwise,
 *  image pooling, resize, concat, softmax and argmax. Sizes are deliberately odd. */
function buildTestGraph(h = 13, w = 11, batch = 1): Graph {
  const g = new GraphBuilder();
  const x = g.input('image', [batch, h, w, 5]);
  const bn = (name: string, v: Value, act: 'relu' | 'none' = 'relu'): Value => {
    const c = v.shape[3];
    return g.batchNorm(
      `${name}.bn`,
      v,
      { gamma: g.param(`${name}.bn.weight`, [c]), beta: g.param(`${name}.bn.bias`, [c]), mean: g.statistic(`${name}.bn.mean`, [c]), variance: g.statistic(`${name}.bn.var`, [c]) },
      { eps: 1e-5, activation: act },
    );
  };
  let y = bn('c1', g.conv2d('c1', x, g.param('c1.w', [3, 3, 5, 7]), { padding: 2, dilation: 2 }));
  const skip = y;
  y = bn('c2', g.conv2d('c2', y, g.param('c2.w', [1, 1, 7, 7])), 'none');
  y = g.addValues('res', y, skip, 'relu');
  y = g.conv2d('dw', y, g.param('dw.w', [3, 3, 1, 7]), { groups: 7, stride: 2, padding: 'same', dilation: 1, activation: 'relu6', bias: g.param('dw.b', [7]) });
  const [, fh, fw] = y.shape;
  const pooled = g.globalAvgPool('gap', y);
  const pc = bn('pool_conv', g.conv2d('pool_conv', pooled, g.param('pool_conv.w', [1, 1, 7, 6])));
  const up = g.resize('pool_up', pc, fh, fw, 'align_corners');
  const a1 = bn('aspp1', g.conv2d('aspp1', y, g.param('aspp1.w', [3, 3, 7, 6]), { padding: 12, dilation: 12 }));
  const cat = g.concat('cat', [up, a1]);
  const logits = g.conv2d('logits', cat, g.param('logits.w', [1, 1, 12, 4]), { bias: g.param('logits.b', [4]) });
  const full = g.resize('upsample', logits, h, w, 'half_pixel');
  g.output('logits', full);
  g.output('probs', g.softmax('softmax', full));
  g.output('classes', g.argmax('argmax', full));
  return g.build();
}

function randomParams(graph: Graph): HostParams {
  const r = rng();
  const params: HostParams = new Map();
  for (const p of graph.state) {
    const n = numel(p.shape);
    // Variances must be positive; everything else centred on zero.
    const data = p.name.endsWith('.var') ? randomArray(n, 0.5, 1.5, r) : randomArray(n, -1, 1, r);
    params.set(p.name, { shape: [...p.shape], data });
  }
  return params;
}


/** Runs `fn` with `ctx` taken for a GPU (the GPU class's candidate spaces and defaults) on this software adapter, as it was after. */
async function asGpuClass<T>(ctx: GpuContext, fn: () => Promise<T>): Promise<T> {
  const own = ctx.isSoftware;
  (ctx as { isSoftware: boolean }).isSoftware = false;
  try {
    return await fn();
  } finally {
    (ctx as { isSoftware: boolean }).isSoftware = own;
  }
}

describe('graph executor', () => {
  it('matches the CPU reference interpreter on a graph with every op', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const image = randomArray(13 * 11 * 5);
    const ref = runGraphCpu(graph, params, { image });
    const exec = await Program.create(ctx, graph, params);
    try {
      const out = await exec.run({ image });
      expectClose(out.get('logits')!, ref.get('logits')!, 'logits');
      expectClose(out.get('probs')!, ref.get('probs')!, 'softmax');
      // argmax exactly equals the CPU argmax of the GPU's own logits (near-ties are not a bug).
      expect([...out.get('classes')!]).to.deep.equal([...argmaxCpu(out.get('logits') as Float32Array, [1, 13, 11, 4])]);
      // Running twice gives the same answer (buffers reused, nothing stale).
      const again = await exec.run({ image });
      expect([...again.get('logits')!]).to.deep.equal([...out.get('logits')!]);
    } finally {
      exec.dispose();
    }
  });

  it('BN folding and epilogue fusion keep the numbers and remove nodes', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const image = randomArray(13 * 11 * 5);
    const ref = runGraphCpu(graph, params, { image });
    const compiled = compile(graph, { mode: 'inference' });
    const fused = compiled.graph;
    expect(fused.nodes.filter((n) => n.op.type === 'batchnorm')).to.have.length(0);
    expect(fused.nodes.filter((n) => n.op.type === 'add')).to.have.length(0);
    expect(fused.nodes.filter((n) => n.op.type === 'activation')).to.have.length(0);
    expect(fused.nodes.length).to.be.lessThan(graph.nodes.length);
    // Folding moved into the derive graph: one two-output fold_bn node per folded BN.
    expect(compiled.derive.nodes.map((n) => [n.op.type, n.outputs.length])).to.deep.equal(Array(4).fill(['fold_bn', 2]));
    const cpu = runGraphCpu(compiled, params, { image });
    expectClose(cpu.get('logits')!, ref.get('logits')!, 'folded graph on CPU');
    const exec = await Program.create(ctx, compiled, params);
    try {
      const out = await exec.run({ image });
      expectClose(out.get('logits')!, ref.get('logits')!, 'folded graph on GPU');
    } finally {
      exec.dispose();
    }
  });

  it('plans memory so live values never share a buffer, and reuses buffers', () => {
    const graph = fuseEpilogues(buildTestGraph(33, 29));
    const plan = planMemory(graph);
    const order = new Map(graph.nodes.map((n, i) => [nodeOutput(n).id, i]));
    const last = new Map<number, number>();
    graph.nodes.forEach((n, i) => nodeInputs(n).forEach((v) => last.set(v.id, i)));
    for (const v of graph.outputs.values()) last.set(v.id, graph.nodes.length);
    const live = graph.nodes.map((n) => {
      const id = nodeOutput(n).id;
      return { id, from: order.get(id)!, to: last.get(id) ?? order.get(id)! };
    });
    for (const a of live) {
      for (const b of live) {
        if (a.id >= b.id || plan.slotOf.get(a.id) !== plan.slotOf.get(b.id)) continue;
        // Sharing is fine only if one ends strictly before the other is written.
        const overlap = !(a.to < b.from || b.to < a.from);
        expect(overlap, `values ${a.id} and ${b.id} share slot ${plan.slotOf.get(a.id)} while both live`).to.equal(false);
      }
    }
    expect(plan.peakBytes).to.be.lessThan(plan.unplannedBytes);
    expect(plan.peakBytes).to.be.at.least(plan.lowerBoundBytes);
  });

  it('reports missing, unexpected and mis-shaped weights in one error', () => {
    const graph = buildTestGraph();
    const params = randomParams(graph);
    params.delete('c1.w');
    params.set('not.a.layer', { shape: [3], data: new Float32Array(3) });
    params.set('logits.b', { shape: [5], data: new Float32Array(5) });
    expect(expectThrows(() => checkParams(graph, params, 'test.pth'), /missing \(1\): c1\.w/)).to.be.instanceOf(ParamMismatchError)
      .with.property('message')
      .that.matches(/unexpected \(1\): not\.a\.layer/)
      .and.matches(/logits\.b expected \[4\] got \[5\]/);
  });

  it('rejects unknown and wrongly sized inputs, and releases every buffer on dispose', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const before = ctx.liveBufferCount - ctx.pool.idleCount;
    for (let i = 0; i < 3; i++) {
      const exec = await Program.create(ctx, graph, params);
      await exec.run({ image: randomArray(13 * 11 * 5) });
      await expectRejects(() => exec.run({ image: new Float32Array(7) }), /input 'image': expected 715 values/, 'a short input was accepted');
      await expectRejects(() => exec.run({ image: randomArray(13 * 11 * 5), mask: new Float32Array(1) }), /unknown input 'mask'/, 'an unknown input was accepted');
      exec.dispose();
    }
    expect(ctx.liveBufferCount - ctx.pool.idleCount).to.equal(before);
  });

  it('a batch of 2 gives the same outputs as two runs of batch 1', async () => {
    const ctx = await testContext();
    const one = compile(buildTestGraph(13, 11, 1), { mode: 'inference' });
    const two = compile(buildTestGraph(13, 11, 2), { mode: 'inference' });
    const params = randomParams(one.source);
    const session = Session.create(ctx, one.source, params, 'batch test');
    const images = [randomArray(13 * 11 * 5), randomArray(13 * 11 * 5)];
    const single = await Program.create(ctx, one, session);
    const pair = await Program.create(ctx, two, session);
    try {
      const a = (await single.run({ image: images[0] })).get('logits') as Float32Array;
      const b = (await single.run({ image: images[1] })).get('logits') as Float32Array;
      const both = new Float32Array(2 * images[0].length);
      both.set(images[0]);
      both.set(images[1], images[0].length);
      const ab = (await pair.run({ image: both })).get('logits') as Float32Array;
      expectClose(ab.subarray(0, a.length), a, 'first image of the batch');
      expectClose(ab.subarray(a.length), b, 'second image of the batch');
    } finally {
      single.dispose();
      pair.dispose();
      session.dispose();
    }
  });

  it('a session serves several programs, and folded weights are derived again after an upload', async () => {
    const ctx = await testContext();
    const compiled = compile(buildTestGraph(), { mode: 'inference' });
    const params = randomParams(compiled.source);
    const session = Session.create(ctx, compiled.source, params, 'session test');
    const image = randomArray(13 * 11 * 5);
    const program = await Program.create(ctx, compiled, session);
    try {
      const first = (await program.run({ image })).get('logits')!;
      expectClose(first, runGraphCpu(compiled, params, { image }).get('logits')!, 'before the upload');
      // Change a conv weight and a BN statistic that both feed folded weights.
      const changed: HostParams = new Map(params);
      for (const name of ['c1.w', 'c2.bn.var']) {
        const old = params.get(name)!;
        const data = name.endsWith('.var') ? randomArray(old.data.length, 0.5, 1.5) : randomArray(old.data.length);
        changed.set(name, { shape: old.shape, data });
        session.upload(name, data, old.shape);
      }
      const second = (await program.run({ image })).get('logits')!;
      expectClose(second, runGraphCpu(compiled, changed, { image }).get('logits')!, 'after the upload');
      // What the session holds is what was uploaded (the checkpoint path reads it this way).
      const back = await session.downloadAll(compiled.source);
      expect([...back.keys()].sort()).to.deep.equal([...params.keys()].sort());
      expect([...back.get('c1.w')!.data]).to.deep.equal([...changed.get('c1.w')!.data]);
      expectThrows(() => session.upload('c1.w', new Float32Array(3), [3]), /c1\.w is \[3,3,5,7\], cannot upload \[3\]/);
    } finally {
      program.dispose();
      session.dispose();
    }
  });

  it('refuses an input of the wrong element type', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const exec = await Program.create(ctx, graph, randomParams(graph));
    try {
      await expectRejects(exec.run({ image: new Uint32Array(13 * 11 * 5) }), /input 'image': expected f32 values, got Uint32Array/, 'a u32 array for an f32 input');
    } finally {
      exec.dispose();
    }
  });

  it("runAfter: a second program on the first program's outputs in one submission equals the two run apart; folded weights derived again after an upload", async () => {
    const ctx = await testContext();
    const compiled = compile(buildTestGraph(), { mode: 'inference' });
    const params = randomParams(compiled.source);
    const session = Session.create(ctx, compiled.source, params, 'runAfter test');
    const network = await Program.create(ctx, compiled, session);
    // Post-processing as segment() does it: probabilities and classes of the network's logits.
    const g = new GraphBuilder();
    const logitsIn = g.input('logits', [1, 13, 11, 4]);
    g.output('probabilities', g.softmax('softmax', logitsIn));
    g.output('classes', g.argmax('argmax', logitsIn));
    const post = await Program.create(ctx, g.build());
    const queue = ctx.device.queue;
    const submit = queue.submit;
    let submissions = 0;
    const countSubmissions = () => {
      queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
        submissions++;
        return submit.call(queue, buffers);
      };
    };
    try {
      for (const upload of [false, true]) {
        const used = new Map(params);
        if (upload) {
          // A weight feeding a folded one: the network's derived state is stale in the chained run.
          const data = randomArray(params.get('c1.w')!.data.length);
          used.set('c1.w', { shape: params.get('c1.w')!.shape, data });
          session.upload('c1.w', data, params.get('c1.w')!.shape);
        }
        const image = randomArray(13 * 11 * 5);
        let given: Map<string, unknown> | undefined;
        countSubmissions();
        submissions = 0;
        const chained = await post.runAfter(network, { image }, (o) => {
          given = o;
          return { logits: o.get('logits')! };
        });
        queue.submit = submit;
        expect(submissions, 'submissions of one runAfter').to.equal(1);
        expect([...given!.keys()].sort()).to.deep.equal(['classes', 'logits', 'probs']);
        // The same two passes run apart, and the CPU reference.
        const logits = (await network.run({ image })).get('logits') as Float32Array;
        expectClose(logits, runGraphCpu(compiled, used, { image }).get('logits')!, `logits${upload ? ' after the upload' : ''}`);
        const apart = await post.run({ logits });
        expect([...chained.keys()].sort()).to.deep.equal(['classes', 'probabilities']);
        expect([...chained.get('probabilities')!]).to.deep.equal([...apart.get('probabilities')!]);
        expect([...chained.get('classes')!]).to.deep.equal([...apart.get('classes')!]);
        expect([...chained.get('classes')!]).to.deep.equal([...argmaxCpu(logits, [1, 13, 11, 4])]);
        // The same on the GPU: one submission, the outputs left there.
        countSubmissions();
        submissions = 0;
        const onGpu = await post.runOnGpuAfter(network, { image }, (o) => ({ logits: o.get('logits')! }));
        queue.submit = submit;
        expect(submissions, 'submissions of one runOnGpuAfter').to.equal(1);
        expect([...(await readTensor(ctx, onGpu.get('probabilities')!))]).to.deep.equal([...apart.get('probabilities')!]);
      }
      expectThrows(() => post.runAfter(post, {}, () => ({})), /cannot run after itself/);
      await expectRejects(() => post.runAfter(network, { image: new Float32Array(3) }, (o) => ({ logits: o.get('logits')! })), /input 'image': expected 715 values/, 'a short input was accepted');
      await expectRejects(() => post.runAfter(network, { image: randomArray(13 * 11 * 5) }, () => ({ scores: new Float32Array(1) })), /unknown input 'scores'/, 'an unknown input was accepted');
      const gone = await Program.create(ctx, compiled, session);
      gone.dispose();
      await expectRejects(() => post.runAfter(gone, { image: randomArray(13 * 11 * 5) }, (o) => ({ logits: o.get('logits')! })), /used after dispose/, 'a disposed program ran');
    } finally {
      queue.submit = submit;
      network.dispose();
      post.dispose();
      session.dispose();
    }
  });

  it('per-run values (a scale here, a learning rate in training) change between runs without recompiling', async () => {
    const ctx = await testContext();
    const g = new GraphBuilder();
    const x = g.input('x', [2, 3, 5, 4]);
    const scale = g.input('scale', [2, 1, 1, 4]);
    g.output('y', g.mulValues('scaled', x, scale));
    const program = await Program.create(ctx, g.build());
    try {
      const data = randomArray(2 * 3 * 5 * 4);
      const compiled = ctx.pipelines.size;
      for (const k of [0.5, -3]) {
        const s = new Float32Array(8).fill(k);
        const y = (await program.run({ x: data, scale: s })).get('y')!;
        expectClose(y, data.map((v) => v * k), `scaled by ${k}`);
      }
      expect(ctx.pipelines.size, 'no pipeline compiled between runs').to.equal(compiled);
    } finally {
      program.dispose();
    }
  });
});

describe('graph profiler (timestamp queries)', () => {
  it('times every layer that launches kernels, the whole pass and a plain run, and leaves the outputs right; refuses a bad repeat count', async () => {
    const ctx = await GpuContext.create({ timestamps: true });
    try {
      expect(ctx.hasTimestamps, 'the test adapter offers timestamp-query').to.equal(true);
      const graph = buildTestGraph();
      const params = randomParams(graph);
      const image = randomArray(13 * 11 * 5);
      const ref = runGraphCpu(graph, params, { image });
      const compiled = compile(graph, { mode: 'inference' });
      const exec = await Program.create(ctx, compiled, params);
      try {
        await exec.run({ image }); // its readback buffers are the program's own
        const before = ctx.liveBufferCount;
        await expectRejects(profileProgram(ctx, exec, { image }, 0), /repeats must be a positive integer/);
        const started = performance.now();
        const p = await profileProgram(ctx, exec, { image }, 2);
        const wallMs = performance.now() - started;
        expect(ctx.liveBufferCount, 'profiling releases its query buffers').to.equal(before);
        expect(p.layers.map((l) => l.name)).to.deep.equal(timedLayers(exec).map((n) => n.name));
        expect(p.layers.length).to.be.greaterThan(5);
        for (const l of p.layers) expect(l.ms, l.name).to.be.greaterThan(0);
        const conv = p.layers.find((l) => l.name === 'aspp1')!;
        expect(conv.flops).to.equal(2 * 7 * 6 * 6 * 3 * 3 * 7);
        expect(p.passMs).to.be.greaterThan(0);
        expect(p.layersMs).to.be.closeTo(p.layers.reduce((a, l) => a + l.ms, 0), 1e-9);
        // The median of two plain runs, each inside the call: at most half its wall time.
        expect(p.runMs).to.be.greaterThan(0).and.at.most(wallMs / 2);
        expect(p.timing).to.equal('timestamps');
        expect(p.layers.map((l) => l.kernels), 'each layer names its kernels').to.deep.equal(timedLayerKernels(exec));
        for (const l of p.layers) expect(l.kernels, l.name).to.not.be.empty;
        const out = await exec.run({ image });
        expectClose(out.get('logits')!, ref.get('logits')!, 'logits after profiling');
      } finally {
        exec.dispose();
      }
    } finally {
      ctx.destroy();
    }
  });

  it('times every layer on the host where there are no timestamps, less an empty submission, and leaves the outputs right', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const image = randomArray(13 * 11 * 5);
    const ref = runGraphCpu(graph, params, { image });
    const exec = await Program.create(ctx, compile(graph, { mode: 'inference' }), params);
    try {
      await expectRejects(profileProgramOnHost(ctx, exec, { image }, 1.5), /repeats must be a positive integer/);
      await exec.run({ image }); // its readback buffers are the program's own
      const before = ctx.liveBufferCount;
      const p = await profileProgramOnHost(ctx, exec, { image }, 2);
      expect(ctx.liveBufferCount, 'nothing left allocated').to.equal(before);
      expect(p.timing).to.equal('host');
      expect(p.hostOverheadMs).to.be.a('number').greaterThan(0);
      expect(p.layers.map((l) => l.name)).to.deep.equal(timedLayers(exec).map((n) => n.name));
      expect(p.layers.map((l) => l.kernels)).to.deep.equal(timedLayerKernels(exec));
      // A tiny layer may take no longer than an empty submission on a loaded host: zero is a
      // measurement here, a negative time is not.
      for (const l of p.layers) expect(l.ms, l.name).to.be.at.least(0);
      expect(p.layersMs).to.be.closeTo(p.layers.reduce((a, l) => a + l.ms, 0), 1e-9);
      expect(p.passMs).to.be.at.least(0);
      expect(p.runMs).to.be.greaterThan(0);
      expect(p.layers.find((l) => l.name === 'aspp1')!.flops).to.equal(2 * 7 * 6 * 6 * 3 * 3 * 7);
      const encoder = ctx.device.createCommandEncoder();
      expectThrows(() => encodeTimedLayer(exec, timedLayers(exec).length, encoder), /out of range/);
      encoder.finish();
      const out = await exec.run({ image });
      expectClose(out.get('logits')!, ref.get('logits')!, 'logits after profiling');
    } finally {
      exec.dispose();
    }
  });

  it('refuses a context without timestamps', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const exec = await Program.create(ctx, graph, randomParams(graph));
    try {
      await expectRejects(profileProgram(ctx, exec, { image: randomArray(13 * 11 * 5) }), /no timestamp queries/);
    } finally {
      exec.dispose();
    }
  });
});

describe('graph executor with split-K convolutions', () => {
  it('a network with every op gives the CPU reference with split-K forced on every GEMM conv', async () => {
    const ctx = await testContext();
    const before = ctx.kernelOptions.splitK;
    ctx.kernelOptions.splitK = 'always';
    try {
      const graph = buildTestGraph();
      const params = randomParams(graph);
      const image = randomArray(13 * 11 * 5);
      const ref = runGraphCpu(graph, params, { image });
      const exec = await Program.create(ctx, compile(graph, { mode: 'inference' }), params);
      try {
        expect(exec.dispatchCount, 'split convs launch two kernels each').to.be.greaterThan(timedLayers(exec).length);
        const out = await exec.run({ image });
        expectClose(out.get('logits')!, ref.get('logits')!, 'logits with split-K');
      } finally {
        exec.dispose();
      }
    } finally {
      ctx.kernelOptions.splitK = before;
    }
  });
});

describe('graph executor in half precision (compile precision f16)', () => {
  before(async function () {
    if (!(await testContext()).hasHalf) this.skip();
  });

  it('stores activations and weights in f16, casts at the edges and around ops without an f16 variant', () => {
    const compiled = compile(buildTestGraph(), { mode: 'inference', precision: 'f16' });
    const { graph, derive } = compiled;
    for (const n of graph.nodes) {
      const values = [...nodeInputs(n), ...n.outputs].filter((v) => v.dtype !== 'u32');
      if (n.op.type === 'cast') continue;
      // Half ops see only f16 values; softmax (writing only an output) and argmax only f32.
      const want = ['softmax', 'argmax'].includes(n.op.type) ? 'f32' : 'f16';
      expect(values.map((v) => `${v.name}:${v.dtype}`), n.name).to.deep.equal(values.map((v) => `${v.name}:${want}`));
    }
    // One cast in (the image), one out for the logits the softmax, argmax and host all read.
    expect(graph.nodes.filter((n) => n.op.type === 'cast').map((n) => n.name)).to.deep.equal(['image#to_f16', 'upsample#to_f32']);
    expect(graph.inputs.map((v) => v.dtype)).to.deep.equal(['f32']);
    expect([...graph.outputs].map(([k, v]) => `${k}:${v.dtype}`)).to.deep.equal(['logits:f32', 'probs:f32', 'classes:u32']);
    // Weights: f16 copies made by the derive graph after folding, never in the pass itself.
    const casts = derive.nodes.filter((n) => n.op.type === 'cast');
    expect(derive.nodes.filter((n) => n.op.type === 'fold_bn')).to.have.length(4);
    expect(casts.length).to.equal(graph.state.length);
    expect(graph.state.every((v) => v.dtype === 'f16' && v.role === 'derived' && v.name.endsWith('#f16'))).to.equal(true);
  });

  it('differs from the f32 result of the same graph by f16 rounding only', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const image = randomArray(13 * 11 * 5);
    const single = runGraphCpu(compile(graph, { mode: 'inference' }), params, { image });
    const compiled = compile(graph, { mode: 'inference', precision: 'f16' });
    const exec = await Program.create(ctx, compiled, params);
    try {
      const out = await exec.run({ image });
      // Within f16's budget for the layers, not the CPU's f16 run at one rounding (see halfProgramTolerance).
      expectClose(out.get('logits')!, single.get('logits')!, 'f16 program vs the f32 result', halfProgramTolerance(compiled));
      expectClose(out.get('probs')!, single.get('probs')!, 'f16 softmax vs the f32 result', halfProgramTolerance(compiled));
      // Rounding happened: an f32 pass agrees to ~1e-7.
      expect(relativeError(out.get('logits')!, single.get('logits')!), 'f16 vs f32 logits').to.be.greaterThan(1e-5);
      expect(planMemory(compiled.graph).slotBytes.reduce((a, b) => a + b, 0)).to.be.lessThan(
        planMemory(compile(graph, { mode: 'inference' }).graph).slotBytes.reduce((a, b) => a + b, 0),
      );
    } finally {
      exec.dispose();
    }
  });

  it('multiplies GEMM convolutions on f16 subgroup matrices where tuning chose them (emulated here) and stays within f16 rounding of the f32 result; untuned, neither precision does', async () => {
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const image = randomArray(13 * 11 * 5);
    const compiled = compile(graph, { mode: 'inference', precision: 'f16' });
    const ref = runGraphCpu(compile(graph, { mode: 'inference' }), params, { image });
    const matrixKernels = (exec: Program) => exec.kernelKeys.filter((k) => k.startsWith('conv2d_gemm_matrix_emulated.wgsl/f16['));
    await withKernelOption('emulateMatrix', true, () =>
      withTuneStore('cached', (ctx) => asGpuClass(ctx, async () => {
        // Subgroup matrices are the GPU class's candidates, its tiled GEMM the default in both precisions: matrices only where measured faster.
        for (const program of [compiled, compile(graph, { mode: 'inference' })]) {
          const exec = await Program.create(ctx, program, params);
          try {
            expect(exec.kernelKeys.some((k) => k.includes('matrix')), exec.kernelKeys.join('\n')).to.equal(false);
          } finally {
            exec.dispose();
          }
        }
        // Each GEMM layer's first matrix candidate stored as its choice, as tuning stores one.
        const gemms = compiled.graph.nodes.filter((n) => n.op.type === 'conv2d' && (n.op.attrs as { groups: number }).groups === 1);
        expect(gemms.length).to.be.at.least(5);
        for (const n of gemms) {
          const layer = opDef(n.op).tunable!(n.op, ctx)!;
          const matrix = layer.candidates.find((c) => c.name.startsWith('gemm/x'))!;
          expect(matrix, `${n.name}: a matrix candidate`).to.not.equal(undefined);
          ctx.tuning.record(layer, { variant: matrix.name, ms: 0, defaultMs: 0, timed: 0, checksum: layer.checksum, settled: true });
        }
        const exec = await Program.create(ctx, compiled, params);
        try {
          // One launch each, or two where the split-K sum follows (only the GEMM is a matrix kernel).
          expect(matrixKernels(exec).length, exec.kernelKeys.join('\n')).to.equal(gemms.length);
          const out = await exec.run({ image });
          expectClose(out.get('logits')!, ref.get('logits')!, 'f16 program on subgroup matrices vs the f32 result', halfProgramTolerance(compiled));
        } finally {
          exec.dispose();
        }
      })),
    );
  });

  it('shares a session with an f32 program and re-derives its f16 weights when parameters change', async () => {
    const ctx = await testContext();
    const graph = buildTestGraph();
    const params = randomParams(graph);
    const image = randomArray(13 * 11 * 5);
    const session = Session.create(ctx, graph, params, 'half session test');
    const half = compile(graph, { mode: 'inference', precision: 'f16' });
    const p16 = await Program.create(ctx, half, session);
    const p32 = await Program.create(ctx, compile(graph, { mode: 'inference' }), session);
    try {
      const before = Float32Array.from((await p16.run({ image })).get('logits')!);
      await p32.run({ image });
      const changed: HostParams = new Map(params);
      const w = params.get('logits.w')!;
      changed.set('logits.w', { shape: w.shape, data: randomArray(w.data.length) });
      session.upload('logits.w', changed.get('logits.w')!.data, w.shape);
      const out = await p16.run({ image });
      // The same program made from the new parameters: the same kernels on the same adapter, so the same bits.
      const fresh = await Program.create(ctx, half, changed);
      try {
        expect(Array.from(out.get('logits')!), 'after an upload, as a program made from the new parameters').to.deep.equal(Array.from((await fresh.run({ image })).get('logits')!));
      } finally {
        fresh.dispose();
      }
      expect(relativeError(out.get('logits')!, before), 'the new weights changed the logits').to.be.greaterThan(0.1);
    } finally {
      p16.dispose();
      p32.dispose();
      session.dispose();
    }
  });

  it('keeps a layer that writes only graph outputs in f32, casting its smaller input', () => {
    const g = new GraphBuilder();
    const x = g.input('image', [1, 9, 9, 3]);
    const logits = g.conv2d('logits', x, g.param('logits.w', [3, 3, 3, 4]), { stride: 2, padding: 1 });
    g.output('logits', g.resize('upsample', logits, 9, 9, 'half_pixel'));
    const { graph } = compile(g.build(), { mode: 'inference', precision: 'f16' });
    expect(graph.nodes.map((n) => `${n.name}:${n.outputs[0].dtype}`)).to.deep.equal(['image#to_f16:f16', 'logits:f16', 'logits#to_f32:f32', 'upsample:f32']);
  });

  it('reads an f16 output back as its values, not its bytes', async () => {
    const ctx = await testContext();
    const ids = new IdAllocator();
    const x: Value = { id: ids.take(), shape: [3, 7], dtype: 'f32', kind: 'input', name: 'x' };
    const h: Value = { id: ids.take(), shape: [3, 7], dtype: 'f16', kind: 'activation', name: 'h' };
    const graph: Graph = {
      inputs: [x],
      state: [],
      nodes: [{ id: 0, name: 'h', op: { type: 'cast', input: x, attrs: { to: 'f16' } }, outputs: [h] }],
      outputs: new Map([['h', h]]),
      ids,
    };
    const data = randomArray(21, -100, 100);
    const exec = await Program.create(ctx, graph);
    try {
      const out = (await exec.run({ x: data })).get('h')!;
      expect(out).to.be.instanceOf(Float32Array);
      expect(Array.from(out)).to.deep.equal(Array.from(roundToHalf(data)));
    } finally {
      exec.dispose();
    }
  });

  it('refuses half precision for training and unknown precisions', () => {
    expectThrows(() => compile(buildTestGraph(), { mode: 'training', precision: 'f16' }), /half precision is for inference/);
    expectThrows(() => compile(buildTestGraph(), { mode: 'inference', precision: 'bf16' as 'f16' }), /precision must be 'f32' or 'f16', got 'bf16'/);
  });
});
