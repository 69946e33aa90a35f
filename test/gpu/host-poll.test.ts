// backOffHostPolling (src/gpu/host-poll.ts): while the host waits on one long dispatch, Dawn's
// polling ticks back off to timers (far fewer ticks than polling at once throughout), the wait
// still ends with the right answer, and every other callback is scheduled as before.
import { expect } from 'chai';
import { promisify } from 'node:util';
import { setImmediate as immediatePromise } from 'node:timers/promises';
import type { GpuContext } from '../../src/gpu/context.js';
import { backOffHostPolling, restoreHostPolling } from '../../src/gpu/host-poll.js';
import { withFlags } from '../../src/util/flags.js';
import { testContext } from '../helpers.js';

/** One lane stepping a recurrence `n` times (the count from a uniform, so nothing folds): a wait of tenths of a second on lavapipe. */
const LOOP = `
@group(0) @binding(0) var<uniform> n: u32;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1) fn main() {
  var s = 0.0;
  for (var i = 0u; i < n; i++) { s = s * 0.999 + f32(i & 7u); }
  out[0] = s;
}`;

/** What the recurrence gives, in f32 as the shader computes it. */
function loopReference(n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s = Math.fround(Math.fround(s * Math.fround(0.999)) + (i & 7));
  return s;
}

/** Counts the unnamed native callbacks (dawn.node's ticks) given to setImmediate and to setTimeout. */
function countTicks(): { immediate: number; timer: number; restore(): void } {
  const counts = { immediate: 0, timer: 0 };
  const immediate = globalThis.setImmediate;
  const timeout = globalThis.setTimeout;
  const native = (fn: unknown): boolean => typeof fn === 'function' && fn.name === '' && Function.prototype.toString.call(fn).includes('[native code]');
  globalThis.setImmediate = Object.assign(function (fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (native(fn)) counts.immediate++;
    return immediate(fn, ...args);
  }, immediate) as typeof setImmediate;
  globalThis.setTimeout = Object.assign(function (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) {
    if (native(fn)) counts.timer++;
    return timeout(fn, ms, ...args);
  }, timeout) as typeof setTimeout;
  return {
    get immediate() {
      return counts.immediate;
    },
    get timer() {
      return counts.timer;
    },
    restore() {
      globalThis.setImmediate = immediate;
      globalThis.setTimeout = timeout;
    },
  };
}

/** Runs the loop `n` times on the GPU and reads the result back, counting Dawn's ticks while it waits. */
async function longWait(ctx: GpuContext, pipeline: GPUComputePipeline, n: number, backOff: boolean): Promise<{ value: number; immediate: number; timer: number }> {
  const { device } = ctx;
  const uniform = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const out = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniform, 0, new Uint32Array([n, 0, 0, 0]));
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: uniform } }, { binding: 1, resource: { buffer: out } }] });
  const ticks = countTicks();
  try {
    if (backOff) expect(backOffHostPolling(), 'installed').to.equal(true);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(out, 0, read, 0, 16);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const value = new Float32Array(read.getMappedRange())[0];
    read.unmap();
    return { value, immediate: ticks.immediate, timer: ticks.timer };
  } finally {
    restoreHostPolling();
    ticks.restore();
    for (const b of [uniform, out, read]) b.destroy();
  }
}

describe('gpu: backing off Dawn\'s polling while the host waits', function () {
  this.timeout(120_000);
  let ctx: GpuContext;
  let pipeline: GPUComputePipeline;
  // Long enough (about 0.3 s on lavapipe) that the first 2-20 ms of polling at once are a small part of it.
  const N = 100_000_000;

  before(async () => {
    ctx = await testContext();
    pipeline = await ctx.device.createComputePipelineAsync({ layout: 'auto', compute: { module: ctx.device.createShaderModule({ code: LOOP }), entryPoint: 'main' } });
    // Test setup installed it for the whole run: each case below installs its own.
    restoreHostPolling();
  });
  after(() => {
    backOffHostPolling();
  });

  it('ticks on timers once a wait is long, far fewer ticks than polling at once, with the same answer', async () => {
    const want = loopReference(N);
    // Compiled at its first dispatch on lavapipe: a first run outside the counts.
    await longWait(ctx, pipeline, 1, false);
    const spin = await longWait(ctx, pipeline, N, false);
    const backOff = await longWait(ctx, pipeline, N, true);
    console.log(`      Dawn's ticks in one wait: ${spin.immediate} polling at once; ${backOff.immediate} at once and ${backOff.timer} on timers backing off`);
    // The same kernel both times; against f32 on the host within 1e-3 (a GPU may fuse the multiply-add).
    expect(backOff.value, 'the same answer either way').to.equal(spin.value);
    expect(Math.abs(spin.value - want) / Math.abs(want)).to.be.below(1e-3);
    expect(spin.timer, 'no timers without the back-off').to.equal(0);
    expect(backOff.timer, 'timer ticks once the wait passed 2 ms').to.be.greaterThan(0);
    expect(backOff.immediate + backOff.timer, 'ticks with the back-off').to.be.lessThan(spin.immediate / 4);
  });

  it('passes every other callback straight on: functions, bound functions, promisified setImmediate', async () => {
    const own = globalThis.setImmediate;
    const passed: unknown[] = [];
    globalThis.setImmediate = Object.assign(function (fn: (...a: unknown[]) => void, ...args: unknown[]) {
      passed.push(fn);
      return own(fn, ...args);
    }, own) as typeof setImmediate;
    try {
      expect(backOffHostPolling()).to.equal(true);
      const order: string[] = [];
      const plain = () => order.push('function');
      // A bound function prints as native code too, but is named 'bound ...': not Dawn's tick.
      const bound = function (this: { tag: string }) {
        order.push(this.tag);
      }.bind({ tag: 'bound' });
      await new Promise<void>((resolve) => {
        setImmediate(plain);
        setImmediate(bound);
        setImmediate(resolve);
      });
      expect(order).to.deep.equal(['function', 'bound']);
      expect(passed.slice(0, 2)).to.deep.equal([plain, bound]);
      expect(await promisify(setImmediate)('value')).to.equal('value');
      expect(await immediatePromise('value')).to.equal('value');
    } finally {
      restoreHostPolling();
      globalThis.setImmediate = own;
    }
  });

  it('installs nothing with DEEPLAB_HOST_POLL=spin, and restoring gives the process its own setImmediate back', async () => {
    const own = globalThis.setImmediate;
    await withFlags({ DEEPLAB_HOST_POLL: 'spin' }, () => {
      expect(backOffHostPolling()).to.equal(false);
      expect(globalThis.setImmediate).to.equal(own);
    });
    expect(backOffHostPolling()).to.equal(true);
    expect(globalThis.setImmediate).to.not.equal(own);
    restoreHostPolling();
    expect(globalThis.setImmediate).to.equal(own);
  });
});
