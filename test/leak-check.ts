// What the root hooks (test/setup.ts) hold every test to: it leaves no GPU context alive that it
// created, and a test that found a context holding no buffers leaves it holding none. What a live
// context keeps on purpose is not a leak: its pipeline cache, and the buffers its pool keeps idle
// for reuse (GpuContext.heldBufferCount leaves those out). Neither is what a suite keeps across its
// tests and releases in its `after` hook (a model loaded once, whose program cache grows with each
// new input size): a test that starts with buffers held is checked for contexts only. Things a
// test made that it need not release itself go to disposeAfterTest, which the hooks release
// before they count.
import { type GpuContext, liveGpuContexts } from '../src/gpu/context.js';

interface Disposable {
  dispose(): void;
}

const toDispose: Disposable[] = [];

/** Contexts that outlive the test that made them (the shared test context): held to no buffers. */
const sharedContexts = new WeakSet<GpuContext>();

/** Marks `ctx` as one that lives across tests; returns it. */
export function sharedAcrossTests(ctx: GpuContext): GpuContext {
  sharedContexts.add(ctx);
  return ctx;
}

/** Releases `item` (a tensor, ...) when the current test ends, passed or failed; returns it. */
export function disposeAfterTest<T extends Disposable>(item: T): T {
  toDispose.push(item);
  return item;
}

/** Releases what disposeAfterTest was given, the newest first. */
export function disposeTestItems(): void {
  for (let item = toDispose.pop(); item; item = toDispose.pop()) item.dispose();
}

/** The live contexts, the buffers each holds and how many it had made. */
export type GpuSnapshot = Map<GpuContext, { held: number; serial: number }>;

export function gpuSnapshot(): GpuSnapshot {
  return new Map(liveGpuContexts().map((ctx) => [ctx, { held: ctx.heldBufferCount, serial: ctx.bufferSerial }]));
}

/** `labels` as 'a, b x3', each label once, with its count where it is more than one. */
function countedLabels(labels: string[]): string {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts].map(([l, n]) => (n > 1 ? `${l} x${n}` : l)).join(', ');
}

/** What was left alive since `before`, one line each; empty when nothing was. */
export function gpuLeaksSince(before: GpuSnapshot): string[] {
  const leaks: string[] = [];
  for (const ctx of liveGpuContexts()) {
    const held = ctx.heldBufferCount;
    const was = before.get(ctx) ?? (sharedContexts.has(ctx) ? { held: 0, serial: 0 } : undefined);
    if (was === undefined) {
      leaks.push(`a GpuContext made here was not destroyed (its device, ${ctx.liveBufferCount} buffers and ${ctx.pipelines.size} pipelines): call destroy()`);
    } else if (was.held === 0 && held > 0) {
      leaks.push(`${held} GPU buffers left held (${countedLabels(ctx.heldBufferLabels(was.serial))}): dispose the tensors and programs made here`);
    }
  }
  return leaks;
}
