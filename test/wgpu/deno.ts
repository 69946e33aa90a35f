// Deno from npm (a devDependency: nothing is downloaded at run time) runs scripts of ours on
// wgpu's WebGPU, the implementation Firefox shares, on the same adapter as Dawn in Node.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelKey, moduleSource, type KernelSpec } from '../../src/gpu/pipeline-cache.js';
import type { NagaJob, NagaResult, WgpuProfile } from './naga-protocol.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The deno executable the npm package installs (its platform package holds the binary). */
export function denoExecutable(): string {
  const pkgPath = createRequire(import.meta.url).resolve('deno/package.json');
  const pkg = createRequire(import.meta.url)('deno/package.json') as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.deno;
  return join(dirname(pkgPath), bin);
}

export interface DenoRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a built script of ours (dist/...) under Deno with read access to the file system.
 * `compileOnly`: the run creates pipelines and runs next to nothing, so llvmpipe's optimisation
 * passes are off (GALLIVM_PERF=nopt, as in the kernel tier, test/kernel-tier.cjs), which halves its
 * compiles. Not for runs that run networks: unoptimised, tuning the default model took 567 s
 * against 225 s. Mesa keys its shader cache by that setting.
 */
export function runDeno(script: string, args: string[], o: { timeoutMs?: number; onLine?: (line: string) => void; compileOnly?: boolean } = {}): Promise<DenoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(denoExecutable(), ['run', '--quiet', '--allow-read', '--allow-env', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...(o.compileOnly ? { GALLIVM_PERF: 'nopt' } : {}), NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) o.onLine?.(l);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), o.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pending) o.onLine?.(pending);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const NAGA_COMPILE = join(HERE, 'naga-compile.js');

/** wgpu's adapter as Deno sees it. */
export async function wgpuProfile(): Promise<WgpuProfile> {
  const run = await runDeno(NAGA_COMPILE, [], { timeoutMs: 60_000, compileOnly: true });
  const line = run.stdout.split('\n').find((l) => l.startsWith('{"profile"'));
  if (!line) throw new Error(`Deno found no WebGPU adapter (exit ${run.code}): ${run.stdout}${run.stderr}`);
  return (JSON.parse(line) as { profile: WgpuProfile }).profile;
}

/** A kernel spec as the job naga compiles. */
export function nagaJob(spec: KernelSpec): NagaJob {
  return { name: kernelKey(spec), code: moduleSource(spec), entryPoint: spec.entryPoint ?? 'main', constants: spec.constants ?? {}, features: spec.half ? ['shader-f16'] : [] };
}

/** The line of a Rust panic's message that says what failed (naga's assertion, say). */
function panicMessage(stderr: string): string {
  const lines = stderr.split('\n');
  const at = lines.findIndex((l) => /panicked at/.test(l));
  if (at < 0) return stderr.trim().split('\n').slice(-3).join(' ') || 'no message';
  return lines.slice(at, at + 4).filter((l) => l && !/^stack backtrace|^note:/.test(l)).join(' ').trim();
}

/**
 * Compiles every job under naga, each module and its pipeline, on a device with the adapter's
 * limits (as the engine asks for them) or WebGPU's defaults. A panic ends the Deno process:
 * the job it was compiling is recorded as panicked (with Rust's message) and a new process goes
 * on after it, so one bad module fails alone.
 */
export async function compileUnderNaga(jobs: NagaJob[], limits: 'adapter' | 'default' = 'adapter', timeoutMs = 600_000): Promise<NagaResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'deeplab-naga-'));
  const file = join(dir, 'jobs.json');
  writeFileSync(file, JSON.stringify(jobs));
  const results: (NagaResult | undefined)[] = new Array(jobs.length);
  try {
    let next = 0;
    while (next < jobs.length) {
      let started = -1;
      const run = await runDeno(NAGA_COMPILE, [file, String(next), limits], {
        timeoutMs,
        compileOnly: true,
        onLine: (line) => {
          if (!line.startsWith('{')) return;
          const msg = JSON.parse(line) as { start?: number; done?: number; error?: string | null; declined?: string };
          if (msg.start !== undefined) started = msg.start;
          if (msg.done !== undefined) {
            results[msg.done] = { job: jobs[msg.done], error: msg.error ?? null, ...(msg.declined ? { declined: msg.declined } : {}) };
            next = msg.done + 1;
          }
        },
      });
      if (next >= jobs.length) break;
      if (started < 0 || results[started]) throw new Error(`Deno stopped before compiling any module (exit ${run.code ?? run.signal}): ${run.stderr.trim()}`);
      results[started] = { job: jobs[started], error: `naga panicked: ${panicMessage(run.stderr)}`, panicked: true };
      next = started + 1;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results as NagaResult[];
}
