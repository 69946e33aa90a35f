// backOffHostPolling (src/gpu/host-poll.ts): while the host waits on one long dispatch, Dawn's
// polling ticks back off to timers (at most one a millisecond once a wait is past its first moments), the wait
// still ends with the right answer, and every other callback is scheduled as before.
import { expect } from 'chai';
import { promisify } from 'node:util';
import { setImmediate as immediatePromise } from 'node:timers/promises';
import type { GpuContext } from '../../src/gpu/context.js';
import { backOffHostPolling, hostPollSpinMs, isDawnTick, restoreHostPolling } from '../../src/gpu/host-poll.js';
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

/** A Dawn tick as handed on: when (performance.now()) and whether to setImmediate or to a timer. */
interface Tick {
  at: number;
  timer: boolean;
}

/** Records dawn.node's ticks (as host-poll.ts tells them) given to setImmediate and to setTimeout. */
function recordTicks(): { ticks: Tick[]; restore(): void } {
  const ticks: Tick[] = [];
  const immediate = globalThis.setImmediate;
  const timeout = globalThis.setTimeout;
  globalThis.setImmediate = Object.assign(function (fn: (...a: unknown[]) => void, ...args: unknown[]) {
    if (isDawnTick(fn)) ticks.push({ at: performance.now(), timer: false });
    return immediate(fn, ...args);
  }, immediate) as typeof setImmediate;
  globalThis.setTimeout = Object.assign(function (fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) {
    if (isDawnTick(fn)) ticks.push({ at: performance.now(), timer: true });
    return timeout(fn, ms, ...args);
  }, timeout) as typeof setTimeout;
  return {
    ticks,
    restore() {
      globalThis.setImmediate = immediate;
      globalThis.setTimeout = timeout;
    },
  };
}

/** Runs the loop `n` times on the GPU and reads the result back, recording Dawn's ticks while it waits. */
async function longWait(ctx: GpuContext, pipeline: GPUComputePipeline, n: number, backOff: boolean): Promise<{ value: number; ticks: Tick[]; ms: number }> {
  const { device } = ctx;
  const uniform = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const out = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(uniform, 0, new Uint32Array([n, 0, 0, 0]));
  const group = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: uniform } }, { binding: 1, resource: { buffer: out } }] });
  const recorder = recordTicks();
  try {
    if (backOff) expect(backOffHostPolling(), 'installed').to.equal(true);
    const start = performance.now();
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
    const ms = performance.now() - start;
    read.unmap();
    return { value, ticks: recorder.ticks, ms };
  } finally {
    restoreHostPolling();
    recorder.restore();
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

  it('ticks on timers once a wait is long, at most one a millisecond, with the same answer', async () => {
    const want = loopReference(N);
    // Compiled at its first dispatch on lavapipe: a first run outside the counts.
    await longWait(ctx, pipeline, 1, false);
    const spin = await longWait(ctx, pipeline, N, false);
    const backOff = await longWait(ctx, pipeline, N, true);
    const count = (ticks: Tick[], timer: boolean) => ticks.filter((t) => t.timer === timer).length;
    console.log(
      `      Dawn's ticks in one wait: ${count(spin.ticks, false)} polling at once (${spin.ms.toFixed(0)} ms); ` +
        `${count(backOff.ticks, false)} at once and ${count(backOff.ticks, true)} on timers backing off (${backOff.ms.toFixed(0)} ms)`,
    );
    // The same kernel both times; against f32 on the host within 1e-3 (a GPU may fuse the multiply-add).
    expect(backOff.value, 'the same answer either way').to.equal(spin.value);
    expect(Math.abs(spin.value - want) / Math.abs(want)).to.be.below(1e-3);
    expect(count(spin.ticks, true), 'no timers without the back-off').to.equal(0);
    // What holds whatever else the host runs (a loaded host makes the wait longer and its ticks
    // fewer, polling or not, so counts against the spinning run do not): the long wait ticked on
    // timers, and those at most one a millisecond (each timer is set when the last one fired).
    // The rule that decides each tick is checked on a clock of the test's own, below.
    expect(count(backOff.ticks, true), 'timer ticks once the wait passed its first milliseconds').to.be.greaterThan(0);
    expect(count(backOff.ticks, true), 'timer ticks: at most one a millisecond of the wait').to.be.at.most(Math.ceil(backOff.ms) + 2);
  });

  it('polls at once for the first milliseconds of a wait, then on timers; a pause starts a new wait (a clock of its own)', () => {
    const now = performance.now;
    const immediate = globalThis.setImmediate;
    const timeout = globalThis.setTimeout;
    const handed: string[] = [];
    let clock = 1000;
    // Function.prototype is what host-poll.ts takes for Dawn's tick: native, unnamed. Nothing is scheduled for real.
    const tick = Function.prototype as () => void;
    expect(isDawnTick(tick)).to.equal(true);
    globalThis.setImmediate = Object.assign(() => void handed.push('at once'), immediate) as unknown as typeof setImmediate;
    globalThis.setTimeout = Object.assign((_fn: unknown, ms?: number) => void handed.push(`timer ${ms} ms`), timeout) as unknown as typeof setTimeout;
    performance.now = () => clock;
    try {
      expect(backOffHostPolling()).to.equal(true);
      const spin = hostPollSpinMs();
      const at = (ms: number): string => {
        clock = ms;
        handed.length = 0;
        setImmediate(tick);
        return handed[0];
      };
      // A wait: ticks closer together than 4 ms (a longer gap would start a new wait), at once
      // until the spin (2 ms after a software adapter, 20 ms with GPUs only) has passed.
      const step = Math.min(1, spin / 4);
      const wait = (start: number, what: string): void => {
        for (let t = start; t < start + spin; t += step) expect(at(t), `${what}: ${(t - start).toFixed(2)} ms in`).to.equal('at once');
        expect(at(start + spin), `${what}: ${spin} ms in`).to.equal('timer 1 ms');
      };
      wait(1000, 'a wait');
      expect(at(1000 + spin + 3), 'later in the wait').to.equal('timer 1 ms');
      // A pause of over 4 ms: the next tick belongs to a new wait, with a clock of its own.
      wait(1000 + spin + 3 + 4.5, 'the next wait');
      // Other callbacks are never held.
      handed.length = 0;
      setImmediate(() => {});
      expect(handed).to.deep.equal(['at once']);
    } finally {
      restoreHostPolling();
      performance.now = now;
      globalThis.setImmediate = immediate;
      globalThis.setTimeout = timeout;
    }
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
