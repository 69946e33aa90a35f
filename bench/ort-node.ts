// Part ort-node: our engine beside onnxruntime-node's CPU provider on the same weights (the ONNX
// file `deeplab export --format onnx` writes, or for an ONNX case the exporter's file itself, which
// ours loads too) and the same normalised input: what a user who has ONNX runs in Node today, and
// the CPU-native limit on a machine without a GPU. Ours is
// forwardToHost (host input to host logits), ORT's session.run the same; the first run of each
// is a warm-up reported apart, the timed runs alternate engines so drift on a shared host falls
// on both alike. ORT's logits are compared with ours first: a peer that disagrees is not timed.
import ort from 'onnxruntime-node';
import type { GpuContext } from '../src/gpu/context.js';
import { encodeModel } from '../src/graph/onnx/proto.js';
import { readImage } from '../src/io/image.js';
import { resizeRgbPil } from '../src/io/resize-cpu.js';
import { type LoadedWeights, loadWeights } from '../src/model/loading/load-weights.js';
import { DeepLabModel } from '../src/model/model.js';
import { onnxModel } from '../src/model/onnx-export.js';
import { median } from './common.js';
import { MAX_RELATIVE_ERROR } from './model.js';
import type { OnnxBenchFile } from './onnx-cases.js';

/** Our weights (ORT runs our export of them), or an exporter's ONNX file (both run it). */
export type OrtNodeSource = { weights: LoadedWeights } | { file: OnnxBenchFile };

export interface OrtNodeOptions {
  /** Square input size. */
  size: number;
  repeats: number;
  image: string;
}

export interface OrtNodeTiming {
  medianMs: number;
  /** The load (our model; ORT's session) and the first run. */
  firstRunMs: number;
  samplesMs: number[];
}

export interface OrtNodeRow {
  input: number[];
  ours: OrtNodeTiming;
  /** Null where ORT disagreed with ours or could not run the file (`error` says why). */
  ort: OrtNodeTiming | null;
  relativeError: number | null;
  error?: string;
  /** ORT's execution provider and its threads (its default: one per core). */
  ortProvider: string;
}

/** NHWC values as NCHW (ONNX's layout). */
function nhwcToNchw(x: Float32Array, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let y = 0; y < h; y++) for (let i = 0; i < w; i++) for (let k = 0; k < c; k++) out[(k * h + y) * w + i] = x[(y * w + i) * c + k];
  return out;
}

function relativeError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; out: T }> {
  const t = performance.now();
  const out = await fn();
  return { ms: performance.now() - t, out };
}

export async function benchOrtNode(ctx: GpuContext, source: OrtNodeSource, o: OrtNodeOptions): Promise<OrtNodeRow> {
  const { size } = o;
  const t0 = performance.now();
  const file = 'file' in source ? source.file : null;
  const weights = file ? await loadWeights(file.path, { download: false, mean: file.mean, std: file.std }) : (source as { weights: LoadedWeights }).weights;
  const model = await DeepLabModel.fromWeights(weights, { ctx });
  let session: ort.InferenceSession | null = null;
  try {
    // The bench image resized to the square size, so every model's input is size x size.
    const { input, height, width } = model.preprocess(resizeRgbPil(await readImage(o.image), size, size));
    const channels = input.length / (height * width);
    // A binary model's forwardToHost gives its one channel z; its ONNX graph's logits are the two classes [0, z].
    const binary = model.config.binary ?? false;
    const C = binary ? 1 : model.numClasses;
    const oursRun = () => timed(() => model.forwardToHost(input, height, width));
    const ours = { out: (await oursRun()).out, ms: performance.now() - t0 };
    const base = { input: [1, height, width, channels], ortProvider: 'cpu (default threads)' };
    let ortRun: () => Promise<{ ms: number; out: Float32Array }>;
    let ortFirst: { ms: number; out: Float32Array };
    try {
      const start = performance.now();
      session = file
        ? await ort.InferenceSession.create(file.path, { executionProviders: ['cpu'] })
        : await ort.InferenceSession.create(encodeModel(onnxModel(weights, { height, width })), { executionProviders: ['cpu'] });
      const [inputName, outputName] = file ? [file.inputName, file.outputName] : ['image', 'logits'];
      const feeds = { [inputName]: new ort.Tensor('float32', nhwcToNchw(input, height, width, channels), [1, channels, height, width]) };
      const s = session;
      ortRun = () => timed(async () => (await s.run(feeds))[outputName].data as Float32Array);
      // Its first run counts the session's creation, as ours counts the model's load.
      ortFirst = { out: (await ortRun()).out, ms: performance.now() - start };
    } catch (e) {
      return { ...base, ours: { medianMs: ours.ms, firstRunMs: ours.ms, samplesMs: [] }, ort: null, relativeError: null, error: `onnxruntime-node: ${(e as Error).message}` };
    }
    const err = relativeError(binary ? ortFirst.out.subarray(height * width) : ortFirst.out, nhwcToNchw(ours.out, height, width, C));
    if (!(err < MAX_RELATIVE_ERROR)) {
      return { ...base, ours: { medianMs: ours.ms, firstRunMs: ours.ms, samplesMs: [] }, ort: null, relativeError: err, error: `ORT's logits are ${err.toExponential(1)} from ours: not timed` };
    }
    const samples: [number[], number[]] = [[], []];
    for (let i = 0; i < o.repeats; i++) {
      samples[0].push((await oursRun()).ms);
      samples[1].push((await ortRun()).ms);
    }
    return {
      ...base,
      ours: { medianMs: median(samples[0]), firstRunMs: ours.ms, samplesMs: samples[0] },
      ort: { medianMs: median(samples[1]), firstRunMs: ortFirst.ms, samplesMs: samples[1] },
      relativeError: err,
    };
  } finally {
    await session?.release();
    model.dispose();
  }
}
