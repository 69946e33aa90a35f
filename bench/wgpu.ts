// Ours on Dawn (Node) and on wgpu (Deno), same adapter, same model and image: the median time of
// one segment of the default model on 2007_000033 (tuning off, two warm-ups), with the submits
// and read-backs of one segment under Deno. Run: `npm run build && node dist/bench/wgpu.js [runs] [rounds]`;
// the engines take turns over `rounds` (default 3), so a change in the host's load falls on all;
// writes bench/results/wgpu-<adapter>.json. Absolute times only with the host named.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GpuContext } from '../src/gpu/context.js';
import { decodeImageSource } from '../src/io/image-source.js';
import { loadModel } from '../src/model/model.js';
import { runDeno } from '../test/wgpu/deno.js';
import type { EngineCase, EngineResult } from '../test/wgpu/deno-engine.js';
import { sharedPath } from '../test/shared.js';
import { median } from './common.js';

const runs = Number(process.argv[2] ?? 9);
const rounds = Number(process.argv[3] ?? 3);
const IMAGE = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
const WEIGHTS = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');

async function nodeMs(image: Awaited<ReturnType<typeof decodeImageSource>>, subgroups: boolean): Promise<{ adapter: string; ms: number[] }> {
  const ctx = await GpuContext.create({ tune: 'off', subgroups });
  const model = await loadModel(WEIGHTS, { ctx });
  try {
    for (let i = 0; i < 2; i++) await model.segment(image);
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await model.segment(image);
      ms.push(performance.now() - t0);
    }
    return { adapter: ctx.adapterInfo.name, ms };
  } finally {
    model.dispose();
    ctx.destroy();
  }
}

const image = await decodeImageSource(IMAGE);
const dir = mkdtempSync(join(tmpdir(), 'deeplab-wgpu-bench-'));
try {
  writeFileSync(join(dir, 'image.rgb'), image.data);
  writeFileSync(join(dir, 'labels.u8'), new Uint8Array(image.width * image.height));
  const c: EngineCase = { weights: WEIGHTS, image: { width: image.width, height: image.height, rgb: join(dir, 'image.rgb') }, labels: join(dir, 'labels.u8'), fineTune: { steps: 1, crop: 33, lr: 0.001, seed: 1 }, timedRuns: runs };
  writeFileSync(join(dir, 'case.json'), JSON.stringify(c));
  const dawnMs: number[] = [];
  const dawnNoSubgroupsMs: number[] = [];
  const wgpuMs: number[] = [];
  let adapter = '';
  let wgpu: EngineResult | undefined;
  for (let round = 0; round < rounds; round++) {
    const dawn = await nodeMs(image, true);
    adapter = dawn.adapter;
    dawnMs.push(...dawn.ms);
    dawnNoSubgroupsMs.push(...(await nodeMs(image, false)).ms);
    const run = await runDeno(new URL('../test/wgpu/deno-engine.js', import.meta.url).pathname, [join(dir, 'case.json')], { timeoutMs: 600_000 });
    const line = run.stdout.split('\n').find((l) => l.startsWith('{"result"'));
    if (!line) throw new Error(`Deno gave no result: ${run.stderr}`);
    wgpu = (JSON.parse(line) as { result: EngineResult }).result;
    wgpuMs.push(...wgpu.segmentMs);
  }
  const dawn = { adapter, ms: dawnMs };
  const dawnNoSubgroups = { ms: dawnNoSubgroupsMs };
  const rows = [
    { engine: 'Node (Dawn)', ms: median(dawn.ms) },
    { engine: 'Node (Dawn), subgroups off', ms: median(dawnNoSubgroups.ms) },
    { engine: 'Deno (wgpu)', ms: median(wgpuMs), submits: wgpu!.submits, readbacks: wgpu!.readbacks },
  ];
  const host = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`;
  console.log(`${dawn.adapter} on ${host}; median of ${rounds} x ${runs} segments of the default model on 2007_000033 (tune off)`);
  for (const r of rows) console.log(`  ${r.engine.padEnd(28)} ${r.ms.toFixed(1).padStart(8)} ms   Dawn / this: ${(rows[0].ms / r.ms).toFixed(2)}x`);
  mkdirSync(join('bench', 'results'), { recursive: true });
  const out = join('bench', 'results', `wgpu-${dawn.adapter.split(' ')[0].toLowerCase().replace(/[^a-z0-9]+/g, '')}.json`);
  writeFileSync(out, JSON.stringify({ host, adapter: dawn.adapter, wgpuAdapter: wgpu!.adapter, runs, rounds, rows, samples: { dawn: dawn.ms, dawnNoSubgroups: dawnNoSubgroups.ms, wgpu: wgpuMs } }, null, 2) + '\n');
  console.log(`wrote ${out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
