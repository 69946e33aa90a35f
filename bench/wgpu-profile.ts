// Per-layer GPU times of the default model's pass on wgpu (Deno, through the page bundle) and on
// Dawn (Node), same adapter: where wgpu's time goes. Run `node dist/bench/wgpu-profile.js`; it
// runs itself under Deno for wgpu's side. Timestamp queries where the device has them, else each
// layer's submission on the host's clock (src/graph/profile.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import type * as Deeplab from '../src/browser/index.js';
import type { ProgramProfile } from '../src/graph/profile.js';

interface Side {
  adapter: string;
  timing: string;
  passMs: number;
  layers: { name: string; op: string; ms: number; kernels: string[] }[];
}

/** The model's pass profiled with the given library (the page bundle under Deno, our modules in Node). */
async function profileWith(lib: Pick<typeof Deeplab, 'GpuContext' | 'loadModel'>, weights: Uint8Array | string, image: { width: number; height: number; data: Uint8Array }): Promise<Side> {
  const ctx = await lib.GpuContext.create({ tune: 'off', timestamps: true });
  const model = await lib.loadModel(weights as Uint8Array, { ctx });
  const { input, height, width } = model.preprocess(image);
  const p: ProgramProfile = await model.profile(input, height, width, 5);
  model.dispose();
  ctx.destroy();
  return { adapter: ctx.adapterInfo.name, timing: p.timing, passMs: p.passMs, layers: p.layers.map((l) => ({ name: l.name, op: l.op, ms: l.ms, kernels: l.kernels })) };
}

if ('Deno' in globalThis) {
  const [caseFile] = (globalThis as unknown as { Deno: { args: string[] } }).Deno.args;
  const c = JSON.parse(readFileSync(caseFile, 'utf8')) as { weights: string; width: number; height: number; rgb: string };
  const lib = (await import(new URL('../browser/deeplab.js', import.meta.url).href)) as typeof Deeplab;
  const side = await profileWith(lib, new Uint8Array(readFileSync(c.weights)), { width: c.width, height: c.height, data: new Uint8Array(readFileSync(c.rgb)) });
  console.log(JSON.stringify({ side }));
  process.exit(0);
} else {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { GpuContext } = await import('../src/gpu/context.js');
  const { loadModel } = await import('../src/model/model.js');
  const { decodeImageSource } = await import('../src/io/image-source.js');
  const { runDeno } = await import('../test/wgpu/deno.js');
  const { sharedPath } = await import('../test/shared.js');
  const weights = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');
  const image = await decodeImageSource(sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg'));
  // Node's loadModel takes a path (the page's takes bytes).
  const dawn = await profileWith({ GpuContext, loadModel } as never, weights, image);
  const dir = mkdtempSync(join(tmpdir(), 'deeplab-wgpu-profile-'));
  writeFileSync(join(dir, 'image.rgb'), image.data);
  writeFileSync(join(dir, 'case.json'), JSON.stringify({ weights, width: image.width, height: image.height, rgb: join(dir, 'image.rgb') }));
  const run = await runDeno(new URL(import.meta.url).pathname, [join(dir, 'case.json')], { timeoutMs: 600_000 });
  rmSync(dir, { recursive: true, force: true });
  const line = run.stdout.split('\n').find((l) => l.startsWith('{"side"'));
  if (!line) throw new Error(`Deno gave no profile: ${run.stdout}\n${run.stderr}`);
  const wgpu = (JSON.parse(line) as { side: Side }).side;
  console.log(`Dawn: ${dawn.adapter}, ${dawn.timing}, pass ${dawn.passMs.toFixed(1)} ms; wgpu: ${wgpu.adapter}, ${wgpu.timing}, pass ${wgpu.passMs.toFixed(1)} ms`);
  const byKernel = new Map<string, { dawn: number; wgpu: number; layers: number }>();
  dawn.layers.forEach((l, i) => {
    const key = l.kernels.map((k) => k.split(':')[0]).join('+');
    const e = byKernel.get(key) ?? { dawn: 0, wgpu: 0, layers: 0 };
    e.dawn += l.ms;
    e.wgpu += wgpu.layers[i]?.ms ?? NaN;
    e.layers++;
    byKernel.set(key, e);
  });
  console.log('kernel files                                     layers  Dawn ms  wgpu ms  wgpu/Dawn');
  for (const [k, e] of [...byKernel].sort((a, b) => b[1].wgpu - a[1].wgpu)) console.log(`${k.slice(0, 48).padEnd(48)} ${String(e.layers).padStart(6)} ${e.dawn.toFixed(1).padStart(8)} ${e.wgpu.toFixed(1).padStart(8)} ${(e.wgpu / e.dawn).toFixed(2).padStart(9)}`);
  writeFileSync(process.argv[2] ?? 'wgpu-profile.json', JSON.stringify({ dawn, wgpu }) + '\n');
}
