// Flatness checks for long runs (test/model/long-run.test.ts, test/train/long-run.test.ts):
// GPU buffers by the context's and the pool's own counts, and the JS heap after full garbage
// collections, two ways:
//
//  - heapUsed, sampled all along. It counts the JIT's code and metadata too (optimised code,
//    deoptimisation data, feedback), which keeps growing long after the data has settled:
//    measured over 2,000 segment calls, by up to ~200 bytes per call around calls 1,000-1,500
//    (rarely taken paths tiering up; ~70-150 B per call over calls 1,000-2,000), flattening
//    out only after ~2,500 calls; and spikes of ~250 KiB come and go (in training, at up to a
//    third of the samples). So heapUsed bounds only coarse leaks: the growth of its floor
//    (spikes drop out) over the last half of the samples, under 1 KiB per call.
//  - A census of the heap (V8 heap snapshots, written to files during the run and read only
//    after it, so that no analysis sits on the heap being measured) at two points after
//    warm-up, counting objects by kind (constructor, closure name, internal array kind, strings
//    together) and their bytes, the JIT's and the engine's own nodes left out (the snapshot's
//    'code', 'hidden', 'synthetic' and 'object shape' types). Measured over 1,000 segment calls
//    it moves by under 3 KiB and no kind by more than ~40 objects (the run's own samples),
//    while one leaked `{ i }` per call adds ~45 KiB and ~1,000 objects. This is the check that
//    catches one small object per call. (A run's own growing arrays count too: preallocate.)
//
// The long runs themselves run in a child process (runLongRun): its heap holds the run alone,
// not everything the test suite loaded before (snapshots of a 50 MiB heap took ~25 s each), and
// it gets a real --expose-gc (elsewhere `gc` comes from setting the flag at run time and reading
// it from a fresh V8 context, the usual Node idiom).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { GpuContext } from '../src/gpu/context.js';
import type { PoolStats } from '../src/gpu/buffer-pool.js';

let gcFn: (() => void) | null = null;

function gc(): void {
  if (!gcFn) {
    const own = (globalThis as { gc?: () => void }).gc;
    if (own) gcFn = own;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Full garbage collections with the event loop turned in between: FinalizationRegistry
 * callbacks (webgpu's wrapper drops a WeakRef per collected GPUBuffer in one) run only then.
 */
export async function collectGarbage(): Promise<void> {
  gc();
  await nextTask();
  await nextTask();
  gc();
}

export interface MemorySample {
  /** Calls (or steps) done when the sample was taken. */
  at: number;
  /** Buffers created through the context and not destroyed. */
  liveBuffers: number;
  pool: PoolStats;
  /** V8 heap in use after full GCs (bytes). */
  heapUsed: number;
}

export async function sampleMemory(ctx: GpuContext, at: number): Promise<MemorySample> {
  await collectGarbage();
  return { at, liveBuffers: ctx.liveBufferCount, pool: ctx.pool.stats, heapUsed: process.memoryUsage().heapUsed };
}

/** Theil-Sen slope of y over x: the median of the pairwise slopes. */
export function robustSlope(points: readonly (readonly [number, number])[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++)
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j][0] - points[i][0];
      if (dx !== 0) slopes.push((points[j][1] - points[i][1]) / dx);
    }
  slopes.sort((a, b) => a - b);
  const m = slopes.length >> 1;
  return slopes.length % 2 ? slopes[m] : (slopes[m - 1] + slopes[m]) / 2;
}

/**
 * The growth of a series' floor: each sample replaced by the least of it and every later one
 * (what the heap never went below again), then the Theil-Sen slope. Transient spikes, however
 * many, drop out; a leak raises the floor at every sample.
 */
export function floorSlope(points: readonly (readonly [number, number])[]): number {
  const floor = points.map(([x, y]) => [x, y] as [number, number]);
  for (let i = floor.length - 2; i >= 0; i--) floor[i][1] = Math.min(floor[i][1], floor[i + 1][1]);
  return robustSlope(floor);
}

export interface FlatnessOptions {
  /** Samples taken at or before this many calls are warm-up: not checked. */
  warmUp: number;
  /** heapUsed's growth allowed per call (bytes): its floor's slope over the last half of the samples. */
  heapBytesPerCall: number;
  /** 'call' or 'step', for messages. */
  unit: string;
}

/**
 * After warm-up, the GPU buffers (the context's live count; the pool's handed-out and idle
 * buffers and bytes) are exactly what they were at the first sample after warm-up, and
 * heapUsed's floor grows by less than the bound over the last half of the samples. Returns that
 * growth (bytes per call) for the log.
 */
export function expectFlat(samples: readonly MemorySample[], o: FlatnessOptions): number {
  const steady = samples.filter((s) => s.at > o.warmUp);
  expect(steady.length, 'samples after warm-up').to.be.at.least(8);
  const ref = steady[0];
  for (const s of steady) {
    const what = `after ${s.at} ${o.unit}s (reference: ${ref.at})`;
    expect(s.liveBuffers, `live GPU buffers ${what}`).to.equal(ref.liveBuffers);
    expect(s.pool, `buffer pool ${what}`).to.deep.equal(ref.pool);
  }
  const tail = samples.slice(Math.floor(samples.length / 2));
  const growth = floorSlope(tail.map((s) => [s.at, s.heapUsed]));
  const heap = tail.map((s) => `${s.at}: ${(s.heapUsed / 1024).toFixed(1)}`).join(', ');
  expect(growth, `heapUsed growth per ${o.unit} over the last half (bytes); KiB at ${heap}`).to.be.lessThan(o.heapBytesPerCall);
  return growth;
}

/** Node types of a heap snapshot that are the JIT's and the engine's, not the program's data. */
const NOT_DATA = new Set(['code', 'hidden', 'synthetic', 'object shape']);
/** Node types counted together rather than by name (a string's name is its contents). */
const BY_TYPE = new Set(['string', 'concatenated string', 'sliced string', 'number', 'bigint', 'symbol']);

export interface HeapCensus {
  /** Objects and their bytes by kind ('object:Array', 'closure:run', 'string', ...). */
  kinds: Map<string, { count: number; bytes: number }>;
  /** Bytes of every counted object. */
  dataBytes: number;
}

let snapshots = 0;

/**
 * Writes a heap snapshot (after full GCs) to a temporary file and returns its path. Nothing of
 * it stays on the heap, so a later snapshot does not count the first one's analysis.
 */
export async function takeHeapSnapshot(): Promise<string> {
  await collectGarbage();
  return writeHeapSnapshot(join(tmpdir(), `deeplab-long-run-${process.pid}-${++snapshots}.heapsnapshot`));
}

/** Counts a heap snapshot's objects by kind, and deletes the file. */
export function heapCensus(path: string): HeapCensus {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } finally {
    rmSync(path, { force: true });
  }
  const snapshot = JSON.parse(text) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const kinds = new Map<string, { count: number; bytes: number }>();
  let dataBytes = 0;
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += fields.length) {
    const type = types[nodes[i + typeAt]];
    if (NOT_DATA.has(type)) continue;
    const key = BY_TYPE.has(type) ? type : `${type}:${strings[nodes[i + nameAt]]}`;
    let k = kinds.get(key);
    if (!k) kinds.set(key, (k = { count: 0, bytes: 0 }));
    k.count++;
    k.bytes += nodes[i + sizeAt];
    dataBytes += nodes[i + sizeAt];
  }
  return { kinds, dataBytes };
}

export interface CensusBounds {
  /** Calls (or steps) between the two censuses. */
  calls: number;
  /** The data's growth allowed per call (bytes). */
  bytesPerCall: number;
  /** Any one kind's growth allowed per call (objects). */
  objectsPerCall: number;
  unit: string;
}

/** Asserts the heap's data did not grow from census `a` to `b` beyond the bounds; returns the growth for the log. */
export function expectNoDataGrowth(a: HeapCensus, b: HeapCensus, o: CensusBounds): { bytes: number; topKinds: string } {
  const grown = [...b.kinds]
    .map(([kind, k]) => ({ kind, count: k.count - (a.kinds.get(kind)?.count ?? 0), bytes: k.bytes - (a.kinds.get(kind)?.bytes ?? 0) }))
    .filter((g) => g.count !== 0 || g.bytes !== 0)
    .sort((x, y) => y.count - x.count || y.bytes - x.bytes);
  const topKinds = grown.slice(0, 6).map((g) => `${g.kind} ${g.count >= 0 ? '+' : ''}${g.count} (${g.bytes} B)`).join(', ');
  const bytes = b.dataBytes - a.dataBytes;
  const per = `over ${o.calls} ${o.unit}s`;
  expect(bytes, `heap data growth ${per} (bytes; most grown: ${topKinds})`).to.be.lessThan(o.bytesPerCall * o.calls);
  if (grown.length > 0) {
    expect(grown[0].count, `objects of the most grown kind ${per} (${topKinds})`).to.be.lessThan(o.objectsPerCall * o.calls);
  }
  return { bytes, topKinds };
}

/** What a long run in a child process reports. */
export interface LongRunReport {
  samples: MemorySample[];
  /** Heap snapshot files after warm-up: the census compares the first with the last. */
  snapshots: [string, string];
  /** Calls (or steps) between the two snapshots. */
  between: number;
  /** Seconds of the whole run, and of the calls (or steps) alone. */
  seconds: number;
  workSeconds: number;
  /** Anything else the run wants to report (losses, ...). */
  extra: Record<string, unknown>;
}

const REPORT_MARK = 'LONG-RUN-REPORT ';

/** Called by the child: writes the report where runLongRun finds it, then exits. */
export async function sendReport(report: LongRunReport): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write(`${REPORT_MARK}${JSON.stringify(report)}\n`, () => resolve()));
  process.exit(0);
}

/**
 * Runs a built long-run script (dist/test/...) in `node --expose-gc` with this run's seed, and
 * returns its report; a failed run throws with the end of its output.
 */
export function runLongRun(script: string, seed: number): Promise<LongRunReport> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      ['--expose-gc', script],
      { env: { ...process.env, TEST_SEED: String(seed) }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const line = stdout.split('\n').find((l) => l.startsWith(REPORT_MARK));
        if (error || !line) {
          const tail = `${stdout}\n${stderr}`.split('\n').filter((l) => l && !l.startsWith('Warning: ')).slice(-30).join('\n');
          return fail(new Error(`${script} failed${error ? ` (${error.message.split('\n')[0]})` : ': no report'}:\n${tail}`));
        }
        done(JSON.parse(line.slice(REPORT_MARK.length)) as LongRunReport);
      },
    );
  });
}

/** Both censuses of a report (the snapshot files are deleted, whatever happens). */
export function reportCensuses(r: LongRunReport): [HeapCensus, HeapCensus] {
  try {
    return [heapCensus(r.snapshots[0]), heapCensus(r.snapshots[1])];
  } finally {
    for (const f of r.snapshots) rmSync(f, { force: true });
  }
}
