// The host's speed at the start and end of a measured test run: with TEST_TIMINGS set, mocha's
// global fixtures (run once per mocha invocation, in its main process) append a probe line to the
// timings file beside the files' lines. The 2-core CI host is a virtual machine whose speed moves
// from hour to hour (the same files took a fifth more CPU an hour later, docs/testing.md), and it
// reports no steal time, so a run's times are only comparable with another's next to these
// figures: a fixed integer loop (the CPU), the first write to fresh 4 KiB pages (the page faults
// that loading weights and filling new GPU buffers pay on lavapipe) and a copy between warm
// buffers (memory bandwidth). The probe runs in a child process with glibc's allocator as it
// comes (test/worker-env.cjs' huge pages would hide the fault cost), about a second each time.
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { readFlag } from '../src/util/flags.js';
import { outsideFileSpan } from './file-timings.js';

/** One probe of the host: milliseconds and rates of fixed work, the best of three each. */
export interface HostSpeed {
  /** Milliseconds for 5e7 rounds of a 32-bit integer mix (one core). */
  loopMs: number;
  /** Microseconds per fresh 4 KiB page written for the first time (64 MiB). */
  faultUs: number;
  /** GB/s copying 64 MiB between buffers already written. */
  copyGBs: number;
}

/** The probe, as a script for `node -e`: no imports, so the child starts in milliseconds. */
const PROBE = `
const mix = (n) => { let s = 0x9e3779b9; for (let i = 0; i < n; i++) s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + i) | 0; return s; };
const best = (f) => { let b = Infinity; for (let k = 0; k < 3; k++) { const t = performance.now(); f(); b = Math.min(b, performance.now() - t); } return b; };
const MiB = 1 << 20, pages = (64 * MiB) / 4096;
mix(1e6);
const loopMs = best(() => mix(5e7));
const faultMs = best(() => { const a = new Uint8Array(64 * MiB); for (let i = 0; i < a.length; i += 4096) a[i] = 1; });
const src = new Uint8Array(64 * MiB).fill(1), dst = new Uint8Array(64 * MiB).fill(2);
const copyMs = best(() => dst.set(src));
console.log(JSON.stringify({ loopMs, faultUs: (faultMs * 1000) / pages, copyGBs: 64 / 1024 / (copyMs / 1000) }));
`;

/** Probes the host in a child process (glibc's allocator settings removed from its environment). */
export function probeHostSpeed(): HostSpeed {
  const env = { ...process.env };
  delete env.GLIBC_TUNABLES;
  const r = spawnSync(process.execPath, ['-e', PROBE], { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`the host-speed probe failed (exit ${r.status ?? r.signal}): ${r.stderr}`);
  const s = JSON.parse(r.stdout) as HostSpeed;
  return { loopMs: round(s.loopMs), faultUs: round(s.faultUs), copyGBs: round(s.copyGBs) };
}

const round = (x: number): number => Math.round(x * 100) / 100;

/** Appends a probe line ({probe: 'start' | 'end', at, ...HostSpeed}) to the timings file, if one is set. */
function recordProbe(probe: 'start' | 'end'): void {
  const timings = readFlag('TEST_TIMINGS');
  if (!timings) return;
  const speed = outsideFileSpan(probeHostSpeed);
  appendFileSync(timings, `${JSON.stringify({ probe, at: new Date().toISOString(), ...speed })}\n`);
}

/** Mocha's global fixtures (test/setup.ts exports them): once before the run's first file and once after its last. */
export const mochaGlobalSetup = (): void => recordProbe('start');
export const mochaGlobalTeardown = (): void => recordProbe('end');
