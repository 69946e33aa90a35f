// Per-file cost of a test run, for finding where the suite's time goes (docs/testing.md): with
// TEST_TIMINGS set, each test file appends one JSON line, {file, wallMs, cpuMs, childCpuMs}, to
// that file when it ends. A file's span starts where the previous file on the same worker ended
// (or the worker started), so loading the file and building what it builds at import are counted.
// It also counts the compute pipelines the file's process created and the time spent creating
// them: on a software adapter that is the shader compiler's time, which Mesa's disk cache saves
// for the files after the first that compile the same shader. And it names the test or hook of
// the file that came closest to its mocha timeout (`tightest`: its time and its timeout), the one
// limit on a test's wall time: scripts/test-repeat.sh reports the closest over its runs.
import Mocha from 'mocha';
import { appendFileSync, readFileSync } from 'node:fs';
import { globals } from 'webgpu';
import { readFlag } from '../src/util/flags.js';

const TIMINGS = readFlag('TEST_TIMINGS');
const CLOCK_TICKS_PER_SECOND = 100;

let spanStart = performance.timeOrigin;
const pipelines = { count: 0, ms: 0 };
/** The file's runnable that used the largest share of its timeout so far. */
let tightest: { title: string; ms: number; timeoutMs: number } | undefined;
if (TIMINGS) {
  countPipelines();
  watchTimeouts();
}
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
    pipelines: pipelines.count,
    pipelineMs: Math.round(pipelines.ms),
    ...(tightest ? { tightest } : {}),
  };
  appendFileSync(TIMINGS, `${JSON.stringify(line)}\n`);
  spanStart = now;
  pipelines.count = 0;
  pipelines.ms = 0;
  tightest = undefined;
  cpuStart = process.cpuUsage();
  childStart = child;
}

/**
 * Runs `work` outside the current file's span: its wall time, CPU and children's CPU are not
 * counted to the file that ends next. (The host-speed probe, test/host-speed.ts, runs in the main
 * process before the first file and after the last: in a serial run that is the files' process.)
 */
export function outsideFileSpan<T>(work: () => T): T {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  const child = childCpuMs();
  try {
    return work();
  } finally {
    const used = process.cpuUsage(cpu);
    spanStart += performance.now() - wall;
    cpuStart = { user: cpuStart.user + used.user, system: cpuStart.system + used.system };
    childStart += childCpuMs() - child;
  }
}

/** Wraps mocha's runnables (tests and hooks) to keep the one whose time came closest to its timeout. */
function watchTimeouts(): void {
  const runnable = Mocha.Runnable.prototype as { run(this: Mocha.Runnable, fn: (err?: unknown) => void): void };
  const run = runnable.run;
  runnable.run = function (this: Mocha.Runnable, fn: (err?: unknown) => void) {
    return run.call(this, (err?: unknown) => {
      const timeoutMs = this.timeout();
      const ms = this.duration ?? 0;
      if (timeoutMs > 0 && (!tightest || ms / timeoutMs > tightest.ms / tightest.timeoutMs)) tightest = { title: this.fullTitle(), ms, timeoutMs };
      fn(err);
    });
  };
}

function countTests(suite: Mocha.Suite): number {
  return suite.tests.length + suite.suites.reduce((n, s) => n + countTests(s), 0);
}

/** Wraps Dawn's pipeline creation (both forms) to count pipelines and the time creating them. */
function countPipelines(): void {
  // The package types `globals` as a plain object; it holds the WebGPU classes.
  const device = (globals as { GPUDevice: { prototype: GPUDevice } }).GPUDevice.prototype;
  const create = device.createComputePipeline;
  const createAsync = device.createComputePipelineAsync;
  device.createComputePipeline = function (this: GPUDevice, d: GPUComputePipelineDescriptor) {
    const start = performance.now();
    try {
      return create.call(this, d);
    } finally {
      pipelines.count++;
      pipelines.ms += performance.now() - start;
    }
  };
  device.createComputePipelineAsync = async function (this: GPUDevice, d: GPUComputePipelineDescriptor) {
    const start = performance.now();
    try {
      return await createAsync.call(this, d);
    } finally {
      pipelines.count++;
      pipelines.ms += performance.now() - start;
    }
  };
}
