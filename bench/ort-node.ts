// Part ort-node: our engine (on WebGPU, and on the CPU device, which runs our graph's ONNX on
// onnxruntime-node itself: the overhead around ORT is what it adds) beside onnxruntime-node alone
// on the same weights (the ONNX file `deeplab
// export --format onnx` writes, or for an ONNX case the exporter's file itself, which ours loads
// too) and the same normalised input: what a user who has ONNX runs in Node today. Its execution
// provider is the first of `providers` that takes the file: its CPU provider (the CPU-native
// limit on a machine without a GPU), or on a GPU its WebGPU provider (Dawn inside onnxruntime,
// on Vulkan on Linux) or its CUDA provider. Ours is forwardToHost (host input to host logits),
// ORT's session.run the same; the first run of each is reported apart, then warm-up runs until
// both engines' times settle (bench/settle.ts) and the timed runs, the engines alternating so
// drift on a shared host falls on both alike. ORT's logits are compared with ours first: a peer
// that disagrees is not timed. A transformers.js folder (bench/tjs-folders.ts) is loaded by ours
// as a folder and its onnx/model.onnx run by ORT, on the network input its processor makes of the
// photo (in BGR order for ORT where the processor flips the channels), each file's own output
// compared.
import ort from 'onnxruntime-node';
import type { GpuContext } from '../src/gpu/context.js';
import { encodeModel } from '../src/graph/onnx/proto.js';
import { readImage } from '../src/io/image.js';
import { resizeRgbPil } from '../src/io/resize-cpu.js';
import { type LoadedWeights, loadWeights } from '../src/model/loading/load-weights.js';
import { DeepLabModel } from '../src/model/model.js';
import { onnxModel } from '../src/model/onnx-export.js';
import { MAX_RELATIVE_ERROR } from './model.js';
import type { OnnxBenchFile } from './onnx-cases.js';
import type { TjsFolder } from './tjs-folders.js';
import { type SettleOptions, type Settled, measureSettled } from './settle.js';

/**
 * The execution providers the bench can ask onnxruntime-node for. Its Linux x64 build carries
 * cpu and webgpu (`listSupportedBackends()`: bundled); cuda needs its CUDA 12 libraries, which
 * its install script fetches unless told to skip (npm run setup skips them), and CUDA 12 and
 * cuDNN 9 on the machine.
 */
export const ORT_PROVIDERS = ['cpu', 'webgpu', 'cuda'] as const;
export type OrtProvider = (typeof ORT_PROVIDERS)[number];

/** Our weights (ORT runs our export of them), an exporter's ONNX file (both run it), or a transformers.js folder (ORT runs its onnx/model.onnx). */
export type OrtNodeSource = { weights: LoadedWeights } | { file: OnnxBenchFile } | { folder: TjsFolder };

export interface OrtNodeOptions {
  /** Square input size (a folder's is its processor's). */
  size: number;
  repeats: number;
  settle: SettleOptions;
  image: string;
  /** The photo a folder's processor makes the input of (default `image`). */
  photo?: string;
  /** Tried in turn; the first that creates a session and runs the file is timed. */
  providers: readonly OrtProvider[];
}

export interface OrtNodeTiming extends Partial<Settled> {
  medianMs: number;
  /** The load (our model; ORT's session) and the first run. */
  firstRunMs: number;
  samplesMs: number[];
}

export interface OrtNodeRow {
  input: number[];
  ours: OrtNodeTiming;
  /** Ours on the CPU device (device: 'cpu'), timed beside the others; null where ORT was not timed. */
  oursCpu: OrtNodeTiming | null;
  /** Its own output against ours on WebGPU. */
  oursCpuRelativeError: number | null;
  /** Null where ORT disagreed with ours or could not run the file (`error` says why). */
  ort: OrtNodeTiming | null;
  relativeError: number | null;
  error?: string;
  /** The execution provider timed (cpu with its default threads, one per core); null where none ran. */
  ortProvider: OrtProvider | null;
  /** Why each provider tried before it (or every one, where none ran) did not. */
  ortProviderErrors: Partial<Record<OrtProvider, string>>;
}

/**
 * A session's options for `provider`. The GPU providers run with the CPU fallback off
 * (`session.disable_cpu_ep_fallback`): a node they cannot run fails the session, rather than
 * running on the CPU inside the time.
 */
function sessionOptions(provider: OrtProvider): ort.InferenceSession.SessionOptions {
  return provider === 'cpu' ? { executionProviders: ['cpu'] } : { executionProviders: [provider], extra: { session: { disable_cpu_ep_fallback: '1' } } };
}

/** NHWC values as NCHW (ONNX's layout), the channels reversed if `reverse` (RGB to BGR). */
function nhwcToNchw(x: Float32Array, h: number, w: number, c: number, reverse = false): Float32Array {
  const out = new Float32Array(x.length);
  for (let y = 0; y < h; y++) for (let i = 0; i < w; i++) for (let k = 0; k < c; k++) out[((reverse ? c - 1 - k : k) * h + y) * w + i] = x[(y * w + i) * c + k];
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

type HostRun = () => Promise<{ ms: number; out: Float32Array }>;

/** The first of `providers` whose session takes `model` and runs it once; each failure's message by provider. */
async function openSession(model: string | Uint8Array, providers: readonly OrtProvider[], feeds: Record<string, ort.Tensor>, outputName: string) {
  const errors: Partial<Record<OrtProvider, string>> = {};
  for (const provider of providers) {
    let session: ort.InferenceSession | null = null;
    try {
      const start = performance.now();
      session = typeof model === 'string' ? await ort.InferenceSession.create(model, sessionOptions(provider)) : await ort.InferenceSession.create(model, sessionOptions(provider));
      const s = session;
      const run: HostRun = () => timed(async () => (await s.run(feeds))[outputName].data as Float32Array);
      // Its first run counts the session's creation, as ours counts the model's load.
      const output = (await s.run(feeds))[outputName];
      const first = { out: output.data as Float32Array, dims: output.dims, ms: performance.now() - start };
      return { session, provider, run, first, errors };
    } catch (e) {
      errors[provider] = (e as Error).message.split('\n')[0];
      await session?.release();
    }
  }
  return { session: null, errors };
}

export async function benchOrtNode(ctx: GpuContext, source: OrtNodeSource, o: OrtNodeOptions): Promise<OrtNodeRow> {
  const { size } = o;
  const t0 = performance.now();
  const file = 'file' in source ? source.file : null;
  const folder = 'folder' in source ? source.folder : null;
  const weights = file
    ? await loadWeights(file.path, { download: false, mean: file.mean, std: file.std })
    : folder
      ? await loadWeights(folder.dir, { download: false })
      : (source as { weights: LoadedWeights }).weights;
  const model = await DeepLabModel.fromWeights(weights, { ctx });
  let session: ort.InferenceSession | null = null;
  let cpu: DeepLabModel | null = null;
  try {
    // The bench image resized to the square size, so every model's input is size x size; a
    // folder's processor makes its own input of the photo.
    const { input, height, width } = folder ? model.preprocess(await readImage(o.photo ?? o.image)) : model.preprocess(resizeRgbPil(await readImage(o.image), size, size));
    const channels = input.length / (height * width);
    // A binary model's forwardToHost gives its one channel z; its ONNX graph's logits are the two classes [0, z].
    const binary = model.config.binary ?? false;
    const C = binary ? 1 : model.numClasses;
    const oursRun: HostRun = () => timed(() => model.forwardToHost(input, height, width));
    const ours = { out: (await oursRun()).out, ms: performance.now() - t0 };
    const alone = async (error: string, ortProvider: OrtProvider | null, ortProviderErrors: OrtNodeRow['ortProviderErrors'], err: number | null): Promise<OrtNodeRow> => {
      const [t] = await measureSettled([async () => (await oursRun()).ms], o.repeats, o.settle);
      return { input: [1, height, width, channels], ours: { ...t, firstRunMs: ours.ms }, oursCpu: null, oursCpuRelativeError: null, ort: null, relativeError: err, error, ortProvider, ortProviderErrors };
    };
    const [inputName, outputName] = file ? [file.inputName, file.outputName] : folder ? ['pixel_values', 'logits'] : ['image', 'logits'];
    const feeds = { [inputName]: new ort.Tensor('float32', nhwcToNchw(input, height, width, channels, folder?.bgr), [1, channels, height, width]) };
    const onnxFile = file ? file.path : folder ? folder.files.get('onnx/model.onnx')! : null;
    const opened = await openSession(onnxFile ?? encodeModel(onnxModel(weights, { height, width })), o.providers, feeds, outputName);
    if (!opened.session) {
      const why = Object.entries(opened.errors).map(([p, m]) => `${p}: ${m}`).join('; ');
      return await alone(`onnxruntime-node ran it on none of ${o.providers.join(', ')} (${why})`, null, opened.errors, null);
    }
    session = opened.session;
    const { provider, run: ortRun, first: ortFirst, errors } = opened;
    // The file's own output (a folder's at its stride): ORT's [1,C,h,w].
    const [oh, ow] = ortFirst.dims.length === 4 ? [ortFirst.dims[2], ortFirst.dims[3]] : [height, width];
    const err = ours.out.length !== oh * ow * C ? Infinity : relativeError(binary ? ortFirst.out.subarray(height * width) : ortFirst.out, nhwcToNchw(ours.out, oh, ow, C));
    if (!(err < MAX_RELATIVE_ERROR)) return await alone(`ORT's logits are ${err.toExponential(1)} from ours: not timed`, provider, errors, err);
    // Ours on the CPU device: its load (the session made of our graph) and first pass, then timed with the others.
    const cpuStart = performance.now();
    cpu = await DeepLabModel.fromWeights(weights, { device: 'cpu' });
    const cpuModel = cpu;
    const cpuRun: HostRun = () => timed(() => cpuModel.forwardToHost(input, height, width));
    const cpuFirst = { out: (await cpuRun()).out, ms: performance.now() - cpuStart };
    const cpuErr = relativeError(cpuFirst.out, ours.out);
    const [oursTimed, ortTimed, cpuTimed] = await measureSettled([oursRun, ortRun, cpuRun].map((r) => async () => (await r()).ms), o.repeats, o.settle);
    return {
      input: [1, height, width, channels],
      ours: { ...oursTimed, firstRunMs: ours.ms },
      oursCpu: { ...cpuTimed, firstRunMs: cpuFirst.ms },
      oursCpuRelativeError: cpuErr,
      ort: { ...ortTimed, firstRunMs: ortFirst.ms },
      relativeError: err,
      ortProvider: provider,
      ortProviderErrors: errors,
    };
  } finally {
    await session?.release();
    model.dispose();
    cpu?.dispose();
  }
}
