// TF Lite exports of the real TF MobileNetV2 (257 and 513) in float32, float16 and int8, judged by
// TF's own interpreter (scripts/tflite/tflite_run.py: tf.lite.Interpreter, XNNPACK, one thread):
// on the ten VOC sample images, the mIoU of each file (at the model's input size, the ground
// truth resized to it nearest-neighbour, present classes), the share of pixels whose class equals
// the float32 file's, the int8 file's classes as our reader (loadModel of the file) gives them
// against TF's, each file's size, and each one's median time in the same Python process, the
// files taking turns. int8 is calibrated on the first five images of the sample's val split, as
// `deeplab export --format tflite --precision int8 --calibrate VOC --calibrate-count 5` does.
//   node dist/bench/tflite-int8.js [--python python3] [--runs 30] [--out bench/results/tflite-int8.json]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibrationImages } from '../src/cli/calibration-images.js';
import { listVocSplit } from '../src/data/formats/voc-split.js';
import { ConfusionMatrix } from '../src/eval/metrics.js';
import { readImage } from '../src/io/image.js';
import { readIndexedPng } from '../src/io/png-indexed.js';
import { loadWeights } from '../src/model/loading/load-weights.js';
import { loadModel } from '../src/model/model.js';
import { type TflitePrecision, exportTflite } from '../src/model/tflite-export.js';
import { calibrationInputs } from '../src/model/tflite-int8.js';
import { readNpy } from '../src/model/weights/import/npy.js';
import { writeNpy } from '../test/model/tflite-tf.js';
import { benchArgs, runIfMain, writeReport } from './common.js';

const VOC = join('..', 'shared', 'data', 'voc-sample');
const CASES = [
  { name: 'mobilenetv2-257', model: join('..', 'shared', 'weights', 'deeplabv3_257_mv_gpu.tflite'), size: 257 },
  { name: 'mobilenetv2-513', model: join('..', 'shared', 'weights', 'tf-deeplabv3-mnv2-pascal-trainval-513'), size: 513 },
];
const PRECISIONS: TflitePrecision[] = ['float32', 'float16', 'int8'];

/** Each pixel's class in an NHWC map of `classes` channels. */
function argmax(logits: ArrayLike<number>, classes: number): Uint8Array {
  const out = new Uint8Array(logits.length / classes);
  for (let p = 0; p < out.length; p++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[p * classes + c] > logits[p * classes + best]) best = c;
    out[p] = best;
  }
  return out;
}

/** A label map resized nearest-neighbour (each output pixel the input pixel its centre falls in). */
function resizeNearest(indices: Uint8Array, width: number, height: number, size: number): Uint8Array {
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / size));
    for (let x = 0; x < size; x++) out[y * size + x] = indices[sy * width + Math.min(width - 1, Math.floor(((x + 0.5) * width) / size))];
  }
  return out;
}

const agreement = (a: Uint8Array, b: Uint8Array): number => a.reduce((n, v, i) => n + (v === b[i] ? 1 : 0), 0) / a.length;

async function main(): Promise<void> {
  const args = benchArgs('tflite-int8', process.argv.slice(2), [], ['--python', '--runs', '--out']);
  const python = args.value('--python') ?? 'python3';
  const runs = args.count('--runs', 30);
  const dir = mkdtempSync(join(tmpdir(), 'bench-tflite-'));
  const items = [...listVocSplit(VOC, 'val'), ...listVocSplit(VOC, 'train')];
  const calibrate = await calibrationImages(VOC, 5);
  const rows = [];
  try {
    for (const c of CASES) {
      const w = await loadWeights(c.model);
      const files: Record<string, string> = {};
      const exportMs: Record<string, number> = {};
      for (const precision of PRECISIONS) {
        files[precision] = join(dir, `${c.name}-${precision}.tflite`);
        const t0 = performance.now();
        exportTflite(files[precision], w, { height: c.size, width: c.size, precision, ...(precision === 'int8' ? { calibrate } : {}) });
        exportMs[precision] = performance.now() - t0;
      }
      const inputs = calibrationInputs(w, await Promise.all(items.map((i) => readImage(i.imagePath))), c.size, c.size);
      const triples: string[] = [];
      inputs.forEach((x, i) => {
        writeNpy(join(dir, `in-${i}.npy`), x, [1, c.size, c.size, 3]);
        for (const p of PRECISIONS) triples.push(files[p], join(dir, `in-${i}.npy`), join(dir, `out-${p}-${i}.npy`));
      });
      const tf = spawnSync(python, ['scripts/tflite/tflite_run.py', ...triples], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (tf.status !== 0) throw new Error(`tflite_run.py: ${tf.stderr.split('\n').slice(-8).join('\n')}`);
      const timed = spawnSync(python, ['scripts/tflite/tflite_run.py', '--time', String(runs), ...PRECISIONS.flatMap((p) => [files[p], join(dir, 'in-0.npy'), join(dir, `timed-${p}.npy`)])], { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (timed.status !== 0) throw new Error(`tflite_run.py --time: ${timed.stderr.split('\n').slice(-8).join('\n')}`);
      const medianMs = timed.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { median_ms: number }).median_ms);
      const classes = w.config.numClasses;
      const gts = items.map((i) => {
        const png = readIndexedPng(readFileSync(i.gtPath), i.gtPath);
        return resizeNearest(png.indices, png.width, png.height, c.size);
      });
      const labels = Object.fromEntries(PRECISIONS.map((p) => [p, inputs.map((_, i) => argmax(readNpy(join(dir, `out-${p}-${i}.npy`)).data, classes))]));
      // Our reader on the int8 file: its weights as their real values, the arithmetic in float32.
      const ours = await loadModel(files.int8);
      const oursLabels: Uint8Array[] = [];
      try {
        for (const x of inputs) oursLabels.push(argmax(await ours.forwardToHost(x, c.size, c.size), classes));
      } finally {
        ours.dispose();
      }
      const concat = (maps: Uint8Array[]): Uint8Array => Uint8Array.from(maps.flatMap((m) => [...m]));
      for (const [k, p] of PRECISIONS.entries()) {
        const m = new ConfusionMatrix(classes);
        labels[p].forEach((l, i) => m.add(l, gts[i]));
        rows.push({
          model: c.name,
          precision: p,
          fileBytes: statSync(files[p]).size,
          sizeVsFloat32: statSync(files[p]).size / statSync(files.float32).size,
          mIoU: m.meanIouPresent(),
          agreementWithFloat32: agreement(concat(labels[p]), concat(labels.float32)),
          tfMedianMs: medianMs[k],
          speedupVsFloat32: medianMs[0] / medianMs[k],
          exportMs: exportMs[p],
          ...(p === 'int8' ? { oursAgainstTf: agreement(concat(oursLabels), concat(labels.int8)) } : {}),
        });
        const r = rows[rows.length - 1];
        console.log(`${c.name} ${p}: ${(r.fileBytes / 2 ** 20).toFixed(2)} MiB (${r.sizeVsFloat32.toFixed(3)}x), mIoU ${(100 * r.mIoU).toFixed(2)}, labels as float32's ${(100 * r.agreementWithFloat32).toFixed(2)} %, TF ${r.tfMedianMs.toFixed(1)} ms (${r.speedupVsFloat32.toFixed(2)}x)${'oursAgainstTf' in r ? `, our reader against TF ${(100 * (r.oursAgainstTf as number)).toFixed(2)} %` : ''}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const host = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores`;
  writeReport(args.value('--out') ?? join('bench', 'results', 'tflite-int8.json'), { host, date: new Date().toISOString(), runs, rows });
}

runIfMain(import.meta.url, main);
