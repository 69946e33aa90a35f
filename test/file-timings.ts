// Per-file cost of a test run, for finding where the suite's time goes (docs/testing.md): with
// TEST_TIMINGS set, each test file appends one JSON line, {file, wallMs, cpuMs, childCpuMs}, to
// that file when it ends. A file's span starts where the previous file on the same worker ended
// (or the worker started), so loading the file and building what it builds at import are counted.
import { appendFileSync, readFileSync } from 'node:fs';
import { readFlag } from '../src/util/flags.js';

const TIMINGS = readFlag('TEST_TIMINGS');
const CLOCK_TICKS_PER_SECOND = 100;

let spanStart = performance.timeOrigin;
let cpuStart = process.cpuUsage();
let childStart = childCpuMs();

/** CPU time of this process's finished, waited-for children (Linux only: /proc; 0 elsewhere). */
function childCpuMs(): number {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    // After the command name: field 16 (cutime) and 17 (cstime) of proc(5) are at 13 and 14 here.
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The test file a root suite ran (its first top-level suite's or test's file). */
function fileOf(root: Mocha.Suite): string {
  return root.suites.find((s) => s.file)?.file ?? root.tests.find((t) => t.file)?.file ?? '(unknown)';
}

/** Called from the root afterAll hook: records the file that just ended and starts the next span. */
export function recordFileTiming(root: Mocha.Suite | undefined): void {
  if (!TIMINGS || !root) return;
  const now = performance.timeOrigin + performance.now();
  const cpu = process.cpuUsage(cpuStart);
  const child = childCpuMs();
  const line = {
    file: fileOf(root).replace(/^.*?dist\//, 'dist/'),
    wallMs: Math.round(now - spanStart),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    childCpuMs: Math.round(child - childStart),
    tests: countTests(root),
  };
  appendFileSync(TIMINGS, `${JSON.stringify(line)}\n`);
  spanStart = now;
  cpuStart = process.cpuUsage();
  childStart = child;
}

function countTests(suite: Mocha.Suite): number {
  return suite.tests.length + suite.suites.reduce((n, s) => n + countTests(s), 0);
}
