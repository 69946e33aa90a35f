// The harness of the hostile-file tests (test/import/hostile-files.test.ts,
// test/io/hostile-images.test.ts): a seeded generator of mutations, a spy on typed-array
// allocations, and a tally that runs a reader on each mutant and judges what came back.
//
// A reader passes on a mutant when, within a time limit and never allocating more than a bound
// derived from the file's size, it either
//   - returns a result that the caller's consistency check accepts, or
//   - throws a "clear" error: an Error but not one of the engine's own classes (TypeError,
//     RangeError, SyntaxError ... thrown from deep inside), whose message starts with the name
//     the file was read under followed by ': ', and contains none of the engine's own messages
//     (below).
// Where a mutation must make the file invalid (a truncation, a broken checksum), the caller says
// so and an accepted mutant fails the test too.
import { expect } from 'chai';
import { readFlag } from '../src/util/flags.js';
import { Rng } from '../src/util/random.js';

/** Messages the JS engine or Node produce on their own: they name no format, field or file. */
export const ENGINE_MESSAGES: readonly RegExp[] = [
  /Offset is outside the bounds of the DataView/,
  /Cannot read propert/,
  /Cannot set propert/,
  /Cannot define property/,
  /Cannot convert/,
  /is not a function/,
  /is not iterable/,
  /is not a constructor/,
  /is not defined/,
  /Invalid typed array length/,
  /Invalid array length/,
  /Invalid string length/,
  /Array buffer allocation failed/,
  /Maximum call stack size exceeded/,
  /should be a multiple of/,
  /out of memory/i,
  /Start offset .* is outside the bounds/,
  /\bundefined\b/,
  /\bNaN\b/,
  /\[object Object\]/,
];

/** Why an error is not a clear one, or null when it is. */
export function unclearError(e: unknown, name: string): string | null {
  if (!(e instanceof Error)) return `threw a non-Error: ${String(e)}`;
  const engine = [TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError].find((c) => e instanceof c);
  if (engine) return `threw a ${engine.name}: ${e.message}`;
  if (!e.message.startsWith(`${name}: `)) return `message does not start with '${name}: ': ${e.message}`;
  const message = ENGINE_MESSAGES.find((p) => p.test(e.message));
  if (message) return `message carries an engine message (${message}): ${e.message}`;
  if (e.message.length <= name.length + 8) return `message names no problem: ${e.message}`;
  return null;
}

// ---------------------------------------------------------------- seeded randomness

/** The tests' generator (src/util/random.ts) with helpers; the hostile tests use a fixed seed so their counts are reproducible. */
export class Rand extends Rng {
  next(): number {
    return this.uniform();
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  /** Up to `n` distinct items, in a random order. */
  sample<T>(items: readonly T[], n: number): T[] {
    return this.permutation(items.length).slice(0, n).map((i) => items[i]);
  }
}

/** The fixed seed (HOSTILE_SEED overrides it, to explore other mutants). */
export const HOSTILE_SEED = readFlag('HOSTILE_SEED');

/**
 * Truncation lengths: every length below `dense` (the header), plus `spread` lengths spread
 * evenly over the rest of the file with a random jitter, and the last few bytes.
 */
export function truncationLengths(size: number, dense: number, spread: number, r: Rand): number[] {
  const set = new Set<number>();
  for (let n = 0; n < Math.min(dense, size); n++) set.add(n);
  for (let k = 0; k < spread; k++) {
    const lo = Math.floor((size * k) / spread);
    const hi = Math.floor((size * (k + 1)) / spread);
    set.add(Math.min(size - 1, lo + r.int(Math.max(1, hi - lo))));
  }
  for (let d = 1; d <= 4 && d <= size; d++) set.add(size - d);
  return [...set].sort((a, b) => a - b);
}

/** Values to write into an integer field of `bytes` bytes that now holds `v`. */
export function hostileValues(v: number, bytes: 1 | 2 | 4 | 8, fileSize: number, r: Rand, count: number): bigint[] {
  const max = (1n << BigInt(8 * bytes)) - 1n;
  const cands: bigint[] = [0n, 1n, max, max >> 1n, (max >> 1n) + 1n, BigInt(v) + 1n, BigInt(v) - 1n, BigInt(v) ^ (1n << BigInt(r.int(8 * bytes)))];
  if (bytes >= 2) cands.push(BigInt(v) + 4n, BigInt(v) - 4n, BigInt(v) * 2n);
  if (bytes >= 4) cands.push(BigInt(fileSize), BigInt(fileSize) - BigInt(v), 1n << 40n, BigInt(r.int(fileSize)));
  cands.push(BigInt(r.int(2 ** Math.min(32, 8 * bytes))));
  const ok = [...new Set(cands.map((c) => ((c % (max + 1n)) + (max + 1n)) % (max + 1n)))].filter((c) => c !== BigInt(v));
  return r.sample(ok, count);
}

/** Writes `value` little-endian (big-endian when `be`) into `buf` at `at`. */
export function writeInt(buf: Uint8Array, at: number, bytes: number, value: bigint, be = false): void {
  for (let i = 0; i < bytes; i++) buf[be ? at + bytes - 1 - i : at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
}

export function readUint(buf: Uint8Array, at: number, bytes: number, be = false): number {
  let v = 0;
  for (let i = bytes - 1; i >= 0; i--) v = v * 256 + buf[be ? at + bytes - 1 - i : at + i];
  return v;
}

/**
 * Writes `bytes` into `buf` at `at`, runs `fn`, then puts the old bytes back: mutants of a 40 MB
 * file without copying it each time.
 */
export function withPatch<T>(buf: Uint8Array, at: number, bytes: Uint8Array, fn: () => T): T {
  const saved = Uint8Array.from(buf.subarray(at, at + bytes.length)); // a copy (a Buffer's slice is a view)
  buf.set(bytes, at);
  try {
    return fn();
  } finally {
    buf.set(saved, at);
  }
}

// ---------------------------------------------------------------- allocation spy

const SPIED = ['ArrayBuffer', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'] as const;

/**
 * Runs `fn` with the global typed-array constructors wrapped so every allocation by length is
 * recorded; returns what `fn` returned or threw, and the largest single allocation in bytes.
 * (Node's Buffer and zlib allocate through their own references and are not seen; zip inflation
 * is bounded by the entry's declared size.)
 */
export function watchAllocations<T>(fn: () => T): { result?: T; error?: unknown; threw: boolean; largest: number } {
  const g = globalThis as unknown as Record<string, unknown>;
  const originals = SPIED.map((n) => g[n]);
  let largest = 0;
  SPIED.forEach((name, i) => {
    const Orig = originals[i] as { new (...a: unknown[]): unknown; BYTES_PER_ELEMENT?: number };
    const per = Orig.BYTES_PER_ELEMENT ?? 1;
    g[name] = new Proxy(Orig, {
      construct(target, args, newTarget) {
        if (typeof args[0] === 'number') largest = Math.max(largest, args[0] * per);
        return Reflect.construct(target, args, newTarget === g[name] ? target : newTarget);
      },
    });
  });
  try {
    return { result: fn(), threw: false, largest };
  } catch (error) {
    return { error, threw: true, largest };
  } finally {
    SPIED.forEach((name, i) => (g[name] = originals[i]));
  }
}

// ---------------------------------------------------------------- the tally

export interface Judgement<T> {
  /** The name the reader was given for the file: clear errors start with it. */
  name: string;
  /** True where the mutation must make the file invalid: acceptance is a failure. */
  mustRefuse?: boolean;
  /** For an accepted mutant: null when the result is internally consistent, else why not. */
  consistent?: (result: T) => string | null;
  /** The allocation limit for this mutant when it is larger than the file (a rewritten header). */
  allocLimit?: number;
}

interface Count {
  run: number;
  refused: number;
  mustRefuse: number;
}

/** The process's CPU time (all its threads, user and system) since `start`, ms. */
function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** Runs mutants of one file through one reader and collects counts and failures. */
export class Tally {
  readonly counts = new Map<string, Count>();
  readonly failures: string[] = [];
  readonly messages = new Map<string, number>();
  slowest = 0;
  /** The largest typed-array allocation seen (undefined where none was watched). */
  largest: number | undefined;

  /**
   * @param cpuLimitMs each mutant must be read (or refused) within this much of the process's CPU
   *   time: work a reader should never do (a loop a file's counts drive), not the host's speed or
   *   load, which stretch wall time (docs/testing.md lists the limit with the slowest read seen)
   * @param allocLimit no single typed-array allocation may exceed this many bytes (check only)
   */
  constructor(
    readonly file: string,
    readonly cpuLimitMs: number,
    readonly allocLimit: number,
  ) {}

  /** Reads one mutant; `kind` groups the counts ('truncation', 'header length', ...). */
  check<T>(kind: string, label: string, read: () => T, j: Judgement<T>): 'accepted' | 'refused' {
    const t0 = process.cpuUsage();
    const outcome = watchAllocations(read);
    return this.judge(kind, label, j, { ...outcome, ms: cpuMsSince(t0) });
  }

  /**
   * Async variant for decoders that return promises (sharp: its allocations are native, so only
   * the time and the outcome are judged).
   */
  async checkAsync<T>(kind: string, label: string, read: () => Promise<T>, j: Judgement<T>): Promise<'accepted' | 'refused'> {
    const t0 = process.cpuUsage();
    let outcome: { result?: T; error?: unknown; threw: boolean };
    try {
      outcome = { result: await read(), threw: false };
    } catch (error) {
      outcome = { error, threw: true };
    }
    return this.judge(kind, label, j, { ...outcome, ms: cpuMsSince(t0) });
  }

  private judge<T>(
    kind: string,
    label: string,
    j: Judgement<T>,
    o: { result?: T; error?: unknown; threw: boolean; ms: number; largest?: number },
  ): 'accepted' | 'refused' {
    const c = this.counts.get(kind) ?? { run: 0, refused: 0, mustRefuse: 0 };
    this.counts.set(kind, c);
    c.run++;
    if (j.mustRefuse) c.mustRefuse++;
    const where = `${this.file} ${kind} ${label}`;
    this.slowest = Math.max(this.slowest, o.ms);
    if (o.ms > this.cpuLimitMs) this.failures.push(`${where}: took ${o.ms.toFixed(0)} ms of CPU (limit ${this.cpuLimitMs})`);
    if (o.largest !== undefined) {
      this.largest = Math.max(this.largest ?? 0, o.largest);
      const limit = Math.max(this.allocLimit, j.allocLimit ?? 0);
      if (o.largest > limit) this.failures.push(`${where}: allocated ${o.largest} bytes at once (limit ${limit})`);
    }
    if (o.threw) {
      c.refused++;
      const why = unclearError(o.error, j.name);
      if (why) this.failures.push(`${where}: ${why}`);
      else this.noteMessage(j.name, (o.error as Error).message);
      return 'refused';
    }
    if (j.mustRefuse) {
      this.failures.push(`${where}: accepted, but this mutation must be refused`);
    } else {
      const why = j.consistent?.(o.result as T) ?? null;
      if (why) this.failures.push(`${where}: accepted an inconsistent result: ${why}`);
    }
    return 'accepted';
  }

  /** Groups messages by their shape (numbers blanked), for the summary. */
  private noteMessage(name: string, message: string): void {
    const shape = message.slice(name.length + 2).replace(/\d+/g, '#').slice(0, 90);
    this.messages.set(shape, (this.messages.get(shape) ?? 0) + 1);
  }

  total(): Count {
    const t = { run: 0, refused: 0, mustRefuse: 0 };
    for (const c of this.counts.values()) {
      t.run += c.run;
      t.refused += c.refused;
      t.mustRefuse += c.mustRefuse;
    }
    return t;
  }

  /** One line per kind: run, refused, accepted (all consistent when the test passes). */
  summary(): string {
    const lines = [...this.counts].map(([k, c]) => `    ${k.padEnd(34)} ${String(c.run).padStart(5)} run ${String(c.refused).padStart(5)} refused${c.mustRefuse ? ` (${c.mustRefuse} must be)` : ''}`);
    const t = this.total();
    lines.push(`    ${'total'.padEnd(34)} ${String(t.run).padStart(5)} run ${String(t.refused).padStart(5)} refused; slowest ${this.slowest.toFixed(0)} ms of CPU${this.largest === undefined ? '' : `, largest allocation ${this.largest} bytes`}`);
    if (readFlag('HOSTILE_VERBOSE')) {
      for (const [m, n] of [...this.messages].sort((a, b) => b[1] - a[1])) lines.push(`      ${String(n).padStart(5)} x ${m}`);
    }
    return `  ${this.file}\n${lines.join('\n')}`;
  }

  /** Fails with the first failures listed; prints the summary either way. */
  assert(): void {
    console.log(this.summary());
    const shown = this.failures.slice(0, 25).join('\n  ');
    expect(this.failures.length, `${this.failures.length} failures:\n  ${shown}`).to.equal(0);
  }
}
