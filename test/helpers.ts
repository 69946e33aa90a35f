// Shared test utilities: the GPU context, seeded random inputs, poisoned outputs and the
// relative-error metric every kernel test uses.
import { AssertionError, expect } from 'chai';
import { relativeError } from '../src/util/relative-error.js';
import { GpuContext } from '../src/gpu/context.js';
import { type GpuTensor, type Shape, createTensor, fillTensor, numel } from '../src/gpu/tensor.js';
import type { RgbImage } from '../src/io/rgb-image.js';
import type { CompiledGraph } from '../src/graph/ir.js';
import { readFlag } from '../src/util/flags.js';
import { Rng, hashSeed } from '../src/util/random.js';
import { hashString, nextStream } from './random-scope.js';
import { sharedAcrossTests } from './leak-check.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelTuning, type TuneMode } from '../src/gpu/tuning.js';
import { fileTuneStore } from '../src/gpu/tune-store.js';

export { disposeAfterTest } from './leak-check.js';

let ctxPromise: Promise<GpuContext> | null = null;
let ctxValue: GpuContext | null = null;

/** One context shared by all tests (creating a device per test is slow on lavapipe). */
export async function testContext(): Promise<GpuContext> {
  if (!ctxPromise) {
    ctxPromise = GpuContext.create().then((c) => (ctxValue = sharedAcrossTests(c)));
  }
  return ctxPromise;
}

/** Runs `fn` with one of the shared test context's kernel options changed, then restores it. */
export async function withKernelOption<K extends keyof GpuContext['kernelOptions']>(
  key: K,
  value: GpuContext['kernelOptions'][K],
  fn: () => Promise<void>,
): Promise<void> {
  const ctx = await testContext();
  const before = ctx.kernelOptions[key];
  ctx.kernelOptions[key] = value;
  try {
    await fn();
  } finally {
    ctx.kernelOptions[key] = before;
  }
}

export function closeTestContext(): void {
  ctxValue?.destroy();
  ctxValue = null;
  ctxPromise = null;
}

/**
 * Seed for this run: fresh each run (so inputs are new every time) unless TEST_SEED is set;
 * printed so a failure can be replayed. Set in the environment, so that mocha's parallel workers
 * (started after the main process loads this) and child processes use the same one.
 */
export const RUN_SEED = readFlag('TEST_SEED') ?? (Date.now() ^ (process.pid << 8)) >>> 0;
process.env.TEST_SEED = String(RUN_SEED);
console.log(`test seed: ${RUN_SEED} (replay with TEST_SEED=${RUN_SEED})`);

/** A generator of uniform numbers in [0, 1) from `seed` (src/util/random.ts's). */
export function makeRng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.uniform();
}

/**
 * A new generator for each call, derived from the run seed, the test (or the file loading) that
 * draws it, and how many it drew before (test/random-scope.ts): the same in a whole run and in
 * its file run alone.
 */
export function rng(): () => number {
  const { scope, index } = nextStream();
  return makeRng(hashSeed(RUN_SEED, hashString(scope), index));
}

/** Uniform values in [lo, hi); never all zeros. */
export function randomArray(n: number, lo = -1, hi = 1, r: () => number = rng()): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/** A seeded RGB image: a smooth gradient under noise, so a network's classes form regions. */
export function randomRgbImage(width: number, height: number, seed: number): RgbImage {
  const r = makeRng(RUN_SEED ^ seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = Math.min(255, Math.floor((((x + y * c) * 255) / (width + height * 2)) * 0.7 + r() * 80));
  return { width, height, data };
}

export { relativeError };

/** The share of pixels whose class is the same in both maps (as long as `want`). */
export function classAgreement(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < want.length; i++) if (got[i] === want[i]) same++;
  return same / want.length;
}

export const FP32_TOLERANCE = 1e-4;

export function expectClose(out: ArrayLike<number>, ref: ArrayLike<number>, what: string, tol = FP32_TOLERANCE): void {
  const err = relativeError(out, ref);
  expect(err, `${what}: relative error ${err} (tolerance ${tol})`).to.be.lessThan(tol);
}

/**
 * Half-precision kernels against their CPU reference on the same f16-rounded inputs, the
 * reference's output rounded to f16 too: the results differ only where f32 arithmetic lands an
 * output on the other side of a rounding boundary (one f16 ulp, 2^-10 relative). 5e-4 fails
 * unless most elements round identically.
 */
export const FP16_TOLERANCE = 5e-4;

/** f16's unit roundoff: the largest relative error of one rounding to f16. */
export const FP16_UNIT_ROUNDOFF = 2 ** -11;

/**
 * A half-precision program (several layers) against the f32 result of the same graph: each layer
 * that writes f16 rounds its output (u = 2^-11 relative) and reads f16-rounded weights, and
 * independent roundings add in quadrature, about u * sqrt(2 * layers) (2.2e-3 over 10 layers); one
 * u per layer bounds that with room (4.9e-3, no looser than the 5e-3 this file's check held).
 * FP16_TOLERANCE against the CPU's f16 run holds for one kernel, not for a program: where a GPU's
 * f32 sums differ from the CPU's in the last bit (a fused multiply-add, another order), a value
 * rounds to its other f16 neighbour, and the layers after it carry the difference. Two correct f16
 * runs of a network then differ by about as much as each differs from f32: on
 * test/graph/executor.test.ts' network, 0-1.5e-4 on lavapipe (which sums in the CPU's order) and
 * 5.7e-4-1.3e-3 on an H200.
 */
export function halfProgramTolerance(compiled: CompiledGraph): number {
  const roundings = compiled.graph.nodes.filter((n) => n.outputs.some((v) => v.dtype === 'f16')).length;
  return roundings * FP16_UNIT_ROUNDOFF;
}

/**
 * f16-accumulating kernels against the CPU reference that sums the same products in the same
 * order in f16: the two may still round one step differently (a fused multiply-add, a partial
 * sum computed wider), and from there each later step rounds its partial sum independently,
 * about u * sqrt(K / 2) relative over K zero-mean random products (u = 2^-11). Allowed: twice
 * u * sqrt(K), plus the output's own rounding (FP16_TOLERANCE).
 */
export function f16AccumulationTolerance(K: number): number {
  return 2 * FP16_UNIT_ROUNDOFF * Math.sqrt(K) + FP16_TOLERANCE;
}

/** An output tensor filled with NaN, so any element the kernel fails to write shows up. */
export function poisonedTensor(ctx: GpuContext, shape: Shape, label = 'out', dtype: 'f32' | 'f16' = 'f32'): GpuTensor {
  const t = createTensor(ctx, shape, dtype, label);
  fillTensor(ctx, t, NaN);
  return t;
}

/** A u32 output filled with 0xFFFFFFFF. */
export function poisonedU32Tensor(ctx: GpuContext, shape: Shape, label = 'out'): GpuTensor {
  const t = createTensor(ctx, shape, 'u32', label);
  fillTensor(ctx, t, 0xffffffff);
  return t;
}

export { numel };

/**
 * Asserts that `action` (a promise, or a function, sync or async) throws an Error whose message
 * matches `pattern`, and returns it. Fails when nothing is thrown, and never mistakes an
 * assertion failing inside the action for the expected error.
 */
export async function expectRejects(action: Promise<unknown> | (() => unknown), pattern: RegExp | string, what = 'the call'): Promise<Error> {
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (e) {
    return expectedError(e, pattern, what);
  }
  throw new AssertionError(`${what}: no error was thrown (expected one matching ${String(pattern)})`);
}

/** expectRejects for a cancelled call: the rejection an aborted AbortSignal (abort() with no reason) gives, a DOMException named 'AbortError'. */
export async function expectAbortError(action: Promise<unknown> | (() => unknown), what = 'the cancelled call'): Promise<Error> {
  const e = await expectRejects(action, /^This operation was aborted$/, what);
  expect(e.name, `${what}: the error's name`).to.equal('AbortError');
  return e;
}

/** expectRejects for a synchronous call, in a test that does not await. */
export function expectThrows(action: () => unknown, pattern: RegExp | string, what = 'the call'): Error {
  try {
    action();
  } catch (e) {
    return expectedError(e, pattern, what);
  }
  throw new AssertionError(`${what}: no error was thrown (expected one matching ${String(pattern)})`);
}

/** `caught` as the expected Error, or the assertion that says why it is not. */
function expectedError(caught: unknown, pattern: RegExp | string, what: string): Error {
  if (caught instanceof AssertionError) throw caught;
  expect(caught, `${what}: threw something that is not an Error`).to.be.instanceOf(Error);
  const message = (caught as Error).message;
  if (typeof pattern === 'string') expect(message, `${what}: error message`).to.include(pattern);
  else expect(message, `${what}: error message`).to.match(pattern);
  return caught as Error;
}

/** Runs `fn` with the shared context tuned from a store in a fresh folder, then puts its own back. */
export async function withTuneStore(mode: TuneMode, fn: (ctx: GpuContext, dir: string) => Promise<void>): Promise<void> {
  const ctx = await testContext();
  const dir = mkdtempSync(join(tmpdir(), 'deeplab-tune-'));
  const before = ctx.tuning;
  try {
    ctx.tuning = await KernelTuning.open(before.identity, mode, fileTuneStore(dir));
    await fn(ctx, dir);
  } finally {
    ctx.tuning = before;
    rmSync(dir, { recursive: true, force: true });
  }
}
