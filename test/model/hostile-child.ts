// One case of the hostile-folder fuzz test (test/model/hostile-folders.test.ts), in a process of
// its own: `node --max-old-space-size=N hostile-child.js` with a CaseJob as JSON on its stdin. It
// loads the case as a user would (loadModel by path, with the case's options), then the valid
// folder in the same process, and prints one line of JSON (a CaseReport) for the parent to judge.
// It imports the loading path only, to start fast; the parent kills it past its time or memory.
import { crc32 } from '../../src/util/crc32.js';
import { backOffHostPolling } from '../../src/gpu/host-poll.js';
import { ensureRuntimeDir } from '../../src/gpu/runtime-dir.js';
import { GpuContext } from '../../src/gpu/context.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import type { LoadOptions } from '../../src/model/loading/options.js';
import { loadModel } from '../../src/model/model.js';
import type { CaseJob, CaseReport, Outcome } from './hostile-cases.js';

/** A small image of every kind of pixel (the same in every process). */
function testImage(width: number, height: number): { data: Uint8Array; width: number; height: number } {
  const data = new Uint8Array(width * height * 3);
  let s = 0x9e3779b9;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + i) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height };
}

/** What identifies loaded weights (the name aside, which is the path's): config, architecture, policy, classes and every tensor. */
function digest(w: LoadedWeights): string {
  const parts = [JSON.stringify([w.config, w.architecture, w.inputPolicy, w.classes, w.slide ?? null])];
  for (const [name, t] of [...w.params].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const data = t.data as ArrayLike<number> & { buffer: ArrayBuffer; byteOffset: number; byteLength: number };
    parts.push(`${name}[${t.shape}]${crc32(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))}`);
  }
  return crc32(new TextEncoder().encode(parts.join(';'))).toString(16);
}

/** Loads `path`: through loadModel and segment() on `ctx` (labels), or loadWeights alone (the weights' digest). */
async function load(path: string, opts: LoadOptions, job: CaseJob, ctx: GpuContext | undefined): Promise<Outcome> {
  try {
    if (!ctx) {
      const w = await loadWeights(path, opts);
      return { loaded: { digest: digest(w) } };
    }
    const model = await loadModel(path, { ...opts, ctx });
    try {
      const r = await model.segment(testImage(job.image[0], job.image[1]));
      return { loaded: { digest: digest(await loadWeights(path, opts)), labels: Array.from(r.classes) } };
    } finally {
      model.dispose();
    }
  } catch (e) {
    const err = e as Error;
    return { refused: { kind: err?.constructor?.name ?? typeof e, message: String(err?.message ?? e) } };
  }
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CaseJob;
  ensureRuntimeDir();
  backOffHostPolling();
  const t0 = performance.now();
  const ctx = job.gpu ? await GpuContext.create() : undefined;
  const opts: LoadOptions = job.smpConfig === undefined ? {} : { smpConfig: JSON.parse(job.smpConfig) as Record<string, unknown> };
  const outcome = await load(job.path, opts, job, ctx);
  const after = await load(job.valid, {}, job, ctx);
  ctx?.destroy();
  const report: CaseReport = { outcome, after, ms: performance.now() - t0 };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`hostile-child: ${(e as Error)?.stack ?? e}\n`);
    process.exit(2);
  },
);
