// The GPU runtime: WebGPU errors come back as exceptions naming the kernel, a lost device is
// reported, pipelines are cached by specialisation only, and pooled buffers are reused.
import { expect } from 'chai';
import { GpuContext, GpuError } from '../../src/gpu/context.js';
import { type Dispatch, Uniforms, makeDispatch, runDispatches, disposeDispatch } from '../../src/gpu/dispatch.js';
import { constDeclarations, kernelKey, withPrelude } from '../../src/gpu/pipeline-cache.js';
import { batchItem, createTensor, fillTensor, readTensor, uploadTensor } from '../../src/gpu/tensor.js';
import { elementwiseSpec } from '../../src/kernels/elementwise/elementwise.js';
import { randomArray, testContext, expectRejects, expectThrows } from '../helpers.js';

describe('gpu runtime', () => {
  it('turns a WebGPU validation error into an exception that names the kernel', async () => {
    const ctx = await testContext();
    const a = uploadTensor(ctx, randomArray(8), [8]);
    // Made inside the error scope, which then throws: freed after.
    let d: Dispatch | undefined;
    try {
      // Binding the same buffer as read-only input and writable output is invalid WebGPU.
      const error = await expectRejects(async () => {
        await ctx.checked('elementwise(add) aliasing test', () => {
          d = makeDispatch(ctx, {
            label: 'aliasing',
            spec: elementwiseSpec({ op: 'add' }, 0),
            uniforms: new Uniforms().u32(8).u32(1).u32(1),
            buffers: [a, a, a],
            workgroups: [1, 1, 1],
          });
        });
        await runDispatches(ctx, [d!], 'elementwise(add) aliasing test');
      }, /^elementwise\(add\) aliasing test: WebGPU validation error/);
      expect(error).to.be.instanceOf(GpuError);
      // The context is still usable afterwards.
      const data = randomArray(8);
      const t = uploadTensor(ctx, data, [8]);
      expect([...(await readTensor(ctx, t))]).to.deep.equal([...data]);
      t.dispose();
    } finally {
      if (d) disposeDispatch(ctx, d);
      a.dispose();
    }
  });

  it('reports a lost device on the next use', async () => {
    const ctx = await GpuContext.create();
    ctx.device.destroy(); // as a driver reset would
    await ctx.device.lost;
    expect(ctx.isLost).to.equal(true);
    expect(expectThrows(() => createTensor(ctx, [4]), /GPU device lost/)).to.be.instanceOf(GpuError);
    ctx.destroy();
  });

  it('keys pipelines by specialisation, never by sizes, and compiles them in parallel once', async () => {
    const ctx = await testContext();
    const relu = elementwiseSpec({ op: 'unary', activation: 'relu' }, 0);
    const relu6 = elementwiseSpec({ op: 'unary', activation: 'relu6' }, 0);
    expect(kernelKey(relu)).to.not.equal(kernelKey(relu6));
    expect(kernelKey({ shader: 'x.wgsl', constants: { B: 1, A: 2 } })).to.equal(kernelKey({ shader: 'x.wgsl', constants: { A: 2, B: 1 } }));
    await ctx.pipelines.compile([relu, relu6, relu]);
    expect(ctx.pipelines.has(relu) && ctx.pipelines.has(relu6)).to.equal(true);
    expect(ctx.pipelines.get(relu)).to.equal(ctx.pipelines.get(relu));
  });

  it('puts module constants (consts) in the shader source and the key, after the directives', () => {
    const a = { shader: 'x.wgsl', consts: { SM_M: 8, SM_N: 16 } };
    expect(kernelKey(a)).to.equal(kernelKey({ shader: 'x.wgsl', consts: { SM_N: 16, SM_M: 8 } }));
    expect(kernelKey(a)).to.not.equal(kernelKey({ ...a, consts: { SM_M: 16, SM_N: 16 } }));
    expect(kernelKey(a)).to.not.equal(kernelKey({ shader: 'x.wgsl' }));
    const source = withPrelude('enable subgroups;\ndiagnostic(off, derivative_uniformity);\nfn f() {}\n', true, a.consts);
    const lines = source.split('\n');
    expect(lines.slice(0, 5)).to.deep.equal(['enable subgroups;', 'diagnostic(off, derivative_uniformity);', 'enable f16;', 'alias elem_t = f16;', 'alias elem4_t = vec4<f16>;']);
    // The module constants follow the type aliases, before the shader's own declarations.
    const firstConst = lines.indexOf('const SM_M: u32 = 8u;');
    expect(firstConst).to.be.greaterThan(lines.lastIndexOf('alias acc4_t = vec4<f32>;'));
    expect(lines.indexOf('fn f() {}')).to.be.greaterThan(firstConst);
    expectThrows(() => constDeclarations({ sm: 1 }), /UPPER_CASE name/);
    expectThrows(() => constDeclarations({ K: -1 }), /non-negative integer/);
  });

  it('types the arithmetic as the spec asks: f32, or f16 in a half variant accumulating in f16', async () => {
    const aliases = (source: string) => source.split('\n').filter((l) => l.startsWith('alias acc'));
    expect(aliases(withPrelude('fn f() {}\n', false))).to.deep.equal(['alias acc_t = f32;', 'alias acc4_t = vec4<f32>;']);
    expect(aliases(withPrelude('fn f() {}\n', false, undefined, 'x.wgsl', 'f16')), 'f32 programs').to.deep.equal(['alias acc_t = f32;', 'alias acc4_t = vec4<f32>;']);
    expect(aliases(withPrelude('fn f() {}\n', true))).to.deep.equal(['alias acc_t = f32;', 'alias acc4_t = vec4<f32>;']);
    expect(aliases(withPrelude('fn f() {}\n', true, undefined, 'x.wgsl', 'f16'))).to.deep.equal(['alias acc_t = f16;', 'alias acc4_t = vec4<f16>;']);
    // The accumulation type is part of the module's key only where it changes the module.
    const gemm = { shader: 'conv2d_gemm.wgsl', half: true };
    expect(kernelKey({ ...gemm, accumulate: 'f16' })).to.not.equal(kernelKey(gemm));
    expect(kernelKey({ ...gemm, accumulate: 'f32' })).to.equal(kernelKey(gemm));
    expect(kernelKey({ shader: 'conv2d_gemm.wgsl', accumulate: 'f16' })).to.equal(kernelKey({ shader: 'conv2d_gemm.wgsl' }));
    // A shader that accumulates in f32 whatever it is told refuses to be called f16-accumulating.
    const ctx = await testContext();
    if (!ctx.hasHalf) return;
    expectThrows(() => ctx.pipelines.get({ shader: 'cast.wgsl', entryPoint: 'to_half', half: true, accumulate: 'f16' }), /cast\.wgsl has no f16-accumulating variant/, 'an f32-accumulating shader compiled as f16-accumulating');
  });

  it('reports a shader that fails to compile, naming the kernel', async () => {
    const ctx = await testContext();
    await expectRejects(() => ctx.pipelines.compile([{ shader: 'elementwise.wgsl', constants: { NO_SUCH_CONSTANT: 1 } }]), /elementwise\.wgsl/, 'a bad specialisation compiled');
  });

  it('reuses pooled buffers of the same size and counts live buffers', async () => {
    const ctx = await testContext();
    const t1 = createTensor(ctx, [1000]);
    const buffer = t1.buffer;
    const live = ctx.liveBufferCount;
    t1.dispose();
    const t2 = createTensor(ctx, [1000]);
    expect(t2.buffer).to.equal(buffer);
    expect(ctx.liveBufferCount).to.equal(live);
    t2.dispose();
    expectThrows(() => t2.buffer, /used after dispose/);
  });

  it('fills a view of one batch item where it lies in its buffer, in f32 and f16', async () => {
    const ctx = await testContext();
    for (const dtype of ctx.hasHalf ? (['f32', 'f16'] as const) : (['f32'] as const)) {
      const t = createTensor(ctx, [3, 6], dtype);
      try {
        fillTensor(ctx, t, 1);
        fillTensor(ctx, batchItem(t, 1), -2.5);
        expect(Array.from(await readTensor(ctx, t)), dtype).to.deep.equal([...Array(6).fill(1), ...Array(6).fill(-2.5), ...Array(6).fill(1)]);
        // Zeros are cleared on the GPU: only the item's range, after the writes queued before.
        fillTensor(ctx, batchItem(t, 2), 0);
        expect(Array.from(await readTensor(ctx, t)), `${dtype}, an item zeroed`).to.deep.equal([...Array(6).fill(1), ...Array(6).fill(-2.5), ...Array(6).fill(0)]);
      } finally {
        t.dispose();
      }
    }
    if (ctx.hasHalf) {
      // Items of 5 halves would start mid-word: refused rather than written over a neighbour.
      const odd = createTensor(ctx, [3, 5], 'f16');
      try {
        expectThrows(() => batchItem(odd, 1), /items of an f16 tensor \[3,5\] must hold an even number of values/);
        // 15 halves are not whole words, which a GPU clear needs: zeros come from the host then.
        fillTensor(ctx, odd, 3);
        fillTensor(ctx, odd, 0);
        expect(Array.from(await readTensor(ctx, odd))).to.deep.equal(Array(15).fill(0));
      } finally {
        odd.dispose();
      }
    }
  });

  it('refuses a tensor over the storage-binding limit before allocating it', async () => {
    const ctx = await testContext();
    const live = ctx.liveBufferCount;
    const elements = Math.floor(ctx.maxBindingBytes / 4) + 1;
    expect(expectThrows(() => createTensor(ctx, [elements], 'f32', 'huge'), /huge \[\d+\]: \d+ bytes exceeds the device's storage-binding limit/)).to.be.instanceOf(GpuError);
    expect(ctx.liveBufferCount).to.equal(live);
  });
});
