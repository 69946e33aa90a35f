// The library's main object: a loaded DeepLabv3 model that segments images on the GPU.
//
//   const model = await loadModel('mobilenetv2-pascal-257');
//   const { classes, width, height } = await model.segment('photo.jpg');
//   model.dispose();
//
// A model holds its weights on the GPU once (a Session) and compiles a program per batch and
// input size on demand (graphs have concrete shapes), keeping the few most recent; BN-folded
// weights are derived on the GPU from the session's parameters, again whenever they change. segment() reproduces
// the reference pipelines: the image is resized for the network the way the reference does
// (PIL-style bilinear to 257x257 for TF's model; short side 520 for torchvision's), the logits
// are resized back to the image's size (bilinear, half-pixel) and the argmax taken there.
import { GpuContext } from '../gpu/context.js';
import { type GpuTensor, readBuffer } from '../gpu/tensor.js';
import { GraphBuilder } from '../graph/builder.js';
import { type CompiledGraph, compile } from '../graph/compile.js';
import type { Graph } from '../graph/ir.js';
import { Program } from '../graph/program.js';
import type { HostParams } from '../graph/params.js';
import { Session } from '../graph/session.js';
import { ensureRuntimeDir } from '../gpu/runtime-dir.js';
import { type RgbImage, decodeImage, readImage } from '../io/image.js';
import { normalizeImagenet, normalizeToMinusOneOne, resizeRgbPil } from '../io/resize-cpu.js';
import type { DeepLabConfig } from './networks/config.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from './loading/load-weights.js';
import type { InputPolicy, LoadOptions } from './loading/options.js';
import type { NetworkSize } from './networks/deeplab.js';
import { VOC_CLASSES } from './voc.js';

export type SegmentOutput = 'classes' | 'probabilities' | 'logits';

export interface SegmentOptions {
  /** Also return per-pixel class probabilities and/or logits at the image's size (HWC). */
  include?: SegmentOutput[];
  /**
   * Input scales (multiples of the network's input size). With more than one scale or with
   * `flip`, the softmax probabilities of all passes are averaged at the image's resolution and
   * the argmax taken of the average (paper Sec. 5). Default [1].
   */
  scales?: number[];
  /** Also run the left-right flipped image and average it in. */
  flip?: boolean;
}

/** The paper's multi-scale inputs. */
export const PAPER_SCALES: readonly number[] = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75];

export interface SegmentResult {
  width: number;
  height: number;
  /** Class index per pixel, row-major, width*height. */
  classes: Uint8Array;
  /** [height, width, numClasses] softmax probabilities, when asked for. */
  probabilities?: Float32Array;
  /** [height, width, numClasses] logits, when asked for. */
  logits?: Float32Array;
  numClasses: number;
}

export type { InputPolicy, LoadOptions } from './loading/options.js';

const MAX_CACHED_PROGRAMS = 3;

/** A small LRU of programs keyed by size, disposing what falls out. */
class ProgramCache {
  private readonly map = new Map<string, Program>();
  async get(key: string, make: () => Promise<Program>): Promise<Program> {
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const exec = await make();
    this.map.set(key, exec);
    while (this.map.size > MAX_CACHED_PROGRAMS) {
      const [oldKey, old] = this.map.entries().next().value as [string, Program];
      this.map.delete(oldKey);
      old.dispose();
    }
    return exec;
  }
  clear(): void {
    for (const e of this.map.values()) e.dispose();
    this.map.clear();
  }
}

/** The post-processing graph: logits at the network's size -> the image's size -> argmax. */
function buildPostGraph(inH: number, inW: number, classes: number, outH: number, outW: number, include: Set<SegmentOutput>): Graph {
  const g = new GraphBuilder();
  const logits = g.input('logits', [1, inH, inW, classes]);
  const same = inH === outH && inW === outW;
  if (!include.has('probabilities') && !include.has('logits')) {
    // Only classes: resize and argmax in one kernel, no full-size logits in memory.
    g.output('classes', same ? g.argmax('argmax', logits) : g.resizeArgmax('resize_argmax', logits, outH, outW, 'half_pixel'));
    return g.build();
  }
  const full = same ? logits : g.resize('resize_to_image', logits, outH, outW, 'half_pixel');
  g.output('classes', g.argmax('argmax', full));
  if (include.has('probabilities')) g.output('probabilities', g.softmax('softmax', full));
  if (include.has('logits') && full !== logits) g.output('logits', full);
  return g.build();
}

export class DeepLabModel {
  private readonly models = new ProgramCache();
  private readonly posts = new ProgramCache();
  private session: Session | null = null;
  private disposed = false;

  private constructor(
    readonly ctx: GpuContext,
    private readonly ownsContext: boolean,
    readonly name: string,
    readonly config: DeepLabConfig,
    readonly inputPolicy: InputPolicy,
    readonly classNames: readonly string[],
    private readonly weights: LoadedWeights,
  ) {}

  static async load(nameOrPath: string, opts: LoadOptions = {}): Promise<DeepLabModel> {
    const weights = await loadWeights(nameOrPath, opts);
    ensureRuntimeDir();
    const ctx = opts.ctx ?? (await GpuContext.create());
    const classNames = weights.config.numClasses === 21 ? VOC_CLASSES : Array.from({ length: weights.config.numClasses }, (_, i) => `class ${i}`);
    const model = new DeepLabModel(ctx, !opts.ctx, weights.name, weights.config, weights.inputPolicy, classNames, weights);
    try {
      // Build once at the network's own size: this checks the weights against the graph and
      // uploads them, so a bad file fails here and not at the first image.
      const [h, w] = model.networkSize(weights.probeSize[1], weights.probeSize[0]);
      opts.onProgress?.(`compiling ${model.name} for ${w}x${h}`);
      model.session = Session.create(ctx, weights.buildGraph({ height: h, width: w }), weights.params, weights.name);
      await model.programFor(h, w);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  /** The network's input size [height, width] for an image of width x height at a scale. */
  networkSize(width: number, height: number, scale = 1): [number, number] {
    const p = this.inputPolicy;
    if (p.kind === 'fixed') return [Math.max(1, Math.round(p.height * scale)), Math.max(1, Math.round(p.width * scale))];
    const k = (p.size * scale) / Math.min(width, height);
    return [Math.max(1, Math.round(height * k)), Math.max(1, Math.round(width * k))];
  }

  /** The network compiled for inference at one batch and input size. */
  compiledGraph(size: NetworkSize): CompiledGraph {
    return compile(this.weights.buildGraph(size), { mode: 'inference' });
  }

  private async programFor(height: number, width: number, batch = 1): Promise<Program> {
    return this.models.get(`${batch}x${height}x${width}`, () =>
      Program.create(this.ctx, this.compiledGraph({ batch, height, width }), this.session!, this.name),
    );
  }

  /** Normalised NHWC network input for an image. */
  preprocess(img: RgbImage, scale = 1): { input: Float32Array; height: number; width: number } {
    const [h, w] = this.networkSize(img.width, img.height, scale);
    const resized = img.width === w && img.height === h ? img : resizeRgbPil(img, w, h);
    const input = this.config.normalization === 'imagenet' ? normalizeImagenet(resized) : normalizeToMinusOneOne(resized);
    return { input, height: h, width: w };
  }

  /** Raw network logits [1,h,w,classes] for an already normalised input (stays on the GPU). */
  async forward(input: Float32Array, height: number, width: number): Promise<GpuTensor> {
    this.assertUsable();
    const exec = await this.programFor(height, width);
    const out = await exec.runOnGpu({ image: input });
    return out.get('logits')!;
  }

  async segment(image: RgbImage | Uint8Array | string, opts: SegmentOptions = {}): Promise<SegmentResult> {
    this.assertUsable();
    const img = typeof image === 'string' ? readImage(image) : image instanceof Uint8Array ? decodeImage(image) : image;
    const include = new Set(opts.include ?? []);
    for (const k of include) {
      if (!['classes', 'probabilities', 'logits'].includes(k)) throw new Error(`segment: unknown output '${k}' (classes, probabilities, logits)`);
    }
    const scales = opts.scales ?? [1];
    if (scales.length === 0 || scales.some((x) => !(x > 0) || !Number.isFinite(x))) {
      throw new Error(`segment: scales must be positive numbers, got [${scales.join(', ')}]`);
    }
    if (scales.length === 1 && !opts.flip) return this.segmentOnce(img, scales[0], include);
    if (include.has('logits')) throw new Error('segment: logits are not defined for multi-scale / flipped inference (use probabilities)');
    return this.segmentAveraged(img, scales, !!opts.flip, include.has('probabilities'));
  }

  /** One pass: network at `scale`, logits resized to the image, argmax on the GPU. */
  private async segmentOnce(img: RgbImage, scale: number, include: Set<SegmentOutput>): Promise<SegmentResult> {
    const [height, width] = this.networkSize(img.width, img.height, scale);
    const C = this.numClasses;
    // Post-processing first: an image too large for the device's limits fails before any work.
    const key = `${height}x${width}->${img.height}x${img.width}:${[...include].sort().join(',')}`;
    const post = await this.posts.get(key, () =>
      Program.create(this.ctx, buildPostGraph(height, width, C, img.height, img.width, include), new Map(), 'postprocess'),
    );
    const { input } = this.preprocess(img, scale);
    const logits = await this.forward(input, height, width);
    const out = await post.run({ logits });
    const classes = Uint8Array.from(out.get('classes') as Uint32Array);
    const result: SegmentResult = { width: img.width, height: img.height, classes, numClasses: C };
    if (include.has('probabilities')) result.probabilities = out.get('probabilities') as Float32Array;
    if (include.has('logits')) {
      result.logits = (out.get('logits') as Float32Array | undefined) ?? new Float32Array(await readBuffer(this.ctx, logits.buffer, logits.byteLength));
    }
    return result;
  }

  /** Averages the softmax probabilities of every scale (and its mirror) at the image's size. */
  private async segmentAveraged(img: RgbImage, scales: number[], flip: boolean, keepProbabilities: boolean): Promise<SegmentResult> {
    const C = this.numClasses;
    const { width: W, height: H } = img;
    const sum = new Float32Array(W * H * C);
    const mirrored = flip ? flipRgb(img) : null;
    let passes = 0;
    for (const scale of scales) {
      for (const view of mirrored ? [img, mirrored] : [img]) {
        const r = await this.segmentOnce(view, scale, new Set<SegmentOutput>(['probabilities']));
        const p = r.probabilities!;
        if (view === img) {
          for (let i = 0; i < p.length; i++) sum[i] += p[i];
        } else {
          // Un-mirror while accumulating: column x of the flipped view is column W-1-x.
          for (let y = 0; y < H; y++)
            for (let x = 0; x < W; x++) {
              const src = (y * W + (W - 1 - x)) * C;
              const dst = (y * W + x) * C;
              for (let c = 0; c < C; c++) sum[dst + c] += p[src + c];
            }
        }
        passes++;
      }
    }
    const classes = new Uint8Array(W * H);
    for (let i = 0; i < W * H; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (sum[i * C + c] > sum[i * C + best]) best = c;
      classes[i] = best;
    }
    const result: SegmentResult = { width: W, height: H, classes, numClasses: C };
    if (keepProbabilities) {
      for (let i = 0; i < sum.length; i++) sum[i] /= passes;
      result.probabilities = sum;
    }
    return result;
  }

  /** The parameters and statistics as they are on the GPU, by checkpoint name (our layouts). */
  async parameters(): Promise<HostParams> {
    this.assertUsable();
    const [h, w] = this.networkSize(this.weights.probeSize[0], this.weights.probeSize[1]);
    return this.session!.downloadAll(this.weights.buildGraph({ height: h, width: w }));
  }

  /**
   * Saves the weights as they are on the GPU (unfolded, our layouts) and the config in our
   * checkpoint format (.safetensors).
   */
  async save(path: string): Promise<void> {
    this.assertUsable();
    saveCheckpoint(path, this.weights, await this.parameters());
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error(`model ${this.name} used after dispose()`);
  }

  /** Releases every GPU buffer the model holds (and the device, when the model created it). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.models.clear();
    this.posts.clear();
    this.session?.dispose();
    this.session = null;
    if (this.ownsContext) this.ctx.destroy();
  }
}

/** The image mirrored left-right. */
function flipRgb(img: RgbImage): RgbImage {
  const { width: W, height: H, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const s = (y * W + (W - 1 - x)) * 3;
      const d = (y * W + x) * 3;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
    }
  return { width: W, height: H, data: out };
}

export function loadModel(nameOrPath: string, opts: LoadOptions = {}): Promise<DeepLabModel> {
  return DeepLabModel.load(nameOrPath, opts);
}
