// Images per second of one `deeplab segment` process over a collection, as one pod of an Indexed
// Job runs it (docs/scale.md): the built CLI over a manifest of the VOC sample images (each under
// several names, so the run is long enough to measure), and over the 10 images alone. The
// difference of the two runs' wall times is the steady rate, start-up (Node, the model's load
// and compile) cancelling out; the start-up is the short run's time less its images at that rate.
//
//   node dist/bench/segment-throughput.js [--copies 4] [--model NAME] [--device auto|webgpu|cpu] [--out bench/results/segment-throughput.json]
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { benchArgs, runIfMain, writeReport } from './common.js';

const ROOT = resolve('.');
const SHARED = resolve(ROOT, '..', 'shared');
const IMAGES = join(SHARED, 'data', 'voc-sample', 'JPEGImages');

/** Wall seconds of one CLI run over `manifest`; fails with the CLI's message. */
function timeRun(manifest: string, out: string, model: string, device: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'segment', '--manifest', manifest, '--out', out, '--summary', join(out, 'summary.jsonl'), '--model', model, '--device', device], {
    encoding: 'utf8',
    env: { ...process.env, DEEPLAB_WEIGHTS_DIR: join(SHARED, 'weights') },
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`segment-throughput: the run failed (exit ${r.status}): ${r.stderr}`);
  return seconds;
}

async function main(): Promise<void> {
  const args = benchArgs('segment-throughput', process.argv.slice(2), [], ['--copies', '--model', '--device', '--out']);
  const device = args.value('--device') ?? 'auto';
  const copies = Math.max(2, args.count('--copies', 4));
  const model = args.value('--model') ?? 'mobilenetv2-pascal-257';
  const dir = mkdtempSync(join(tmpdir(), 'segment-throughput-'));
  try {
    const names = readdirSync(IMAGES).sort();
    const links: string[] = [];
    for (let c = 0; c < copies; c++) {
      for (const n of names) {
        const link = join(dir, `${c}_${n}`);
        symlinkSync(join(IMAGES, n), link);
        links.push(link);
      }
    }
    const short = join(dir, 'short.txt');
    const long = join(dir, 'long.txt');
    writeFileSync(short, links.slice(0, names.length).join('\n') + '\n');
    writeFileSync(long, links.join('\n') + '\n');
    const shortS = timeRun(short, join(dir, 'out-short'), model, device);
    const longS = timeRun(long, join(dir, 'out-long'), model, device);
    const extra = links.length - names.length;
    const perSecond = extra / (longS - shortS);
    const startupS = shortS - names.length / perSecond;
    const report = {
      bench: 'segment-throughput',
      model,
      device,
      host: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`,
      images: { short: names.length, long: links.length },
      wallSeconds: { short: shortS, long: longS },
      imagesPerSecond: perSecond,
      startupSeconds: startupS,
      wholeRunImagesPerSecond: links.length / longS,
    };
    console.log(`${model}: ${perSecond.toFixed(2)} images/s steady, start-up ${startupS.toFixed(1)} s; ${links.length} images in ${longS.toFixed(1)} s (${report.wholeRunImagesPerSecond.toFixed(2)} images/s with start-up)`);
    writeReport(args.value('--out') ?? join(ROOT, 'bench', 'results', 'segment-throughput.json'), report);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, main);
