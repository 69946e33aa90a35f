// Runs the hostile-folder cases' child processes (test/model/hostile-child.ts), a few at a time,
// each a fresh `node` with a heap cap and a watch on its resident memory and its CPU time: a case
// that works far longer than a load should, hangs, or allocates what a file claims, is killed and
// reported as such. The limit on work is CPU time, which other processes on the host do not
// stretch; wall time only catches a child that waits for good (HANG_FACTOR times the CPU limit).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { CaseJob, CaseReport } from './hostile-cases.js';

export interface Caps {
  /** V8's heap (--max-old-space-size), MiB. */
  heapMiB: number;
  /** Resident memory, MiB: typed arrays live outside the heap, so this is the cap that holds them. */
  rssMiB: number;
  /** CPU seconds (all the child's threads: lavapipe's compiling and running included). */
  cpuSeconds: number;
}

/** A child still running after this many times its CPU limit in wall time waits on something that never comes. */
const HANG_FACTOR = 10;
const CLOCK_TICKS_PER_SECOND = 100;

/** How a child ended: its report, or why there is none (killed past a cap, crashed). */
export type ChildResult = { report: CaseReport } | { failed: string };

/** The resident memory of process `pid` in MiB (Linux' /proc), or 0 where it cannot be read. */
function residentMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The CPU seconds process `pid` has used, all its threads (Linux' /proc), or 0 where it cannot be read. */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // After the command name: utime and stime, fields 14 and 15 of proc(5), are at 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** One child: the script `child`, the job on its stdin (a config nested 200,000 deep is no command-line argument), its one line of JSON read back. */
export function runChild(child: string, job: CaseJob, caps: Caps): Promise<ChildResult> {
  return new Promise((done) => {
    const proc = spawn(process.execPath, [`--max-old-space-size=${caps.heapMiB}`, child], { stdio: ['pipe', 'pipe', 'pipe'] });
    proc.stdin.on('error', () => undefined); // a child that dies early closes its stdin: its exit says why
    proc.stdin.end(JSON.stringify(job));
    let stdout = '';
    let stderr = '';
    let killed = '';
    let peak = 0;
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = (why: string) => {
      if (killed) return;
      killed = why;
      proc.kill('SIGKILL');
    };
    const hangSeconds = HANG_FACTOR * caps.cpuSeconds;
    const timer = setTimeout(() => kill(`still running after ${hangSeconds} s (its CPU limit ${caps.cpuSeconds} s not reached: waiting for something)`), hangSeconds * 1000);
    const watch = setInterval(() => {
      peak = Math.max(peak, residentMiB(proc.pid!));
      if (peak > caps.rssMiB) kill(`resident memory ${peak.toFixed(0)} MiB, over ${caps.rssMiB} MiB`);
      const cpu = cpuSeconds(proc.pid!);
      if (cpu > caps.cpuSeconds) kill(`${cpu.toFixed(1)} s of CPU, over ${caps.cpuSeconds} s`);
    }, 50);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(watch);
      const line = stdout.trim().split('\n').pop() ?? '';
      const messages = stderr
        .split('\n')
        .filter((l) => l && !l.startsWith('Warning: '))
        .slice(-6)
        .join(' | ');
      if (killed) return done({ failed: `killed: ${killed}` });
      if (code !== 0 || !line.startsWith('{')) return done({ failed: `exit ${code ?? signal}: ${messages || '(nothing on stderr)'}` });
      done({ report: JSON.parse(line) as CaseReport });
    });
  });
}

/** Runs `jobs` through the script `child`, `parallel` at a time; the results in the jobs' order. */
export async function runPool(child: string, jobs: readonly CaseJob[], caps: (job: CaseJob) => Caps, parallel: number): Promise<ChildResult[]> {
  const results: ChildResult[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await runChild(child, jobs[i], caps(jobs[i]));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, jobs.length) }, worker));
  return results;
}
