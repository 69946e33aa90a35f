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
//
// Calls may overlap (concurrent async callers, several models on one context): each call's GPU
// work (program look-up, forward pass, post-processing of its logits) runs as one turn of the
// context's queue (src/gpu/serial-queue.ts), while decoding and resizing images on the CPU
// overlap freely. Programs, the logits a forward pass leaves in them and the device's error
// scopes are shared, so the GPU work of two calls must never interleave.
//
// Frames (a GPUTexture; in the browser a VideoFrame, <video>, ImageBitmap or canvas, copied into
// a texture the model keeps) take the GPU path: resized and normalised by a kernel as the CPU
// path does it (bit for bit), then the same program and post-processing. segmentFrameInto()
// leaves the class map on the GPU for a renderer (src/gpu/overlay-renderer.ts).
import { GpuContext, GpuError } from '../gpu/context.js';
import { type GpuTensor, batchItem, copyTensor, createTensor, fillTensor, readTensor, shapeString } from '../gpu/tensor.js';
import { GraphBuilder } from '../graph/builder.js';
import { type CompiledGraph, compile } from '../graph/compile.js';
import type { Graph } from '../graph/ir.js';
import { Program, type RunInput } from '../graph/program.js';
import type { HostParams } from '../graph/params.js';
import { Session } from '../graph/session.js';
import { ensureRuntimeDir } from '../gpu/runtime-dir.js';
import { contextQueue } from '../gpu/serial-queue.js';
import { type ProgramProfile, profileProgram, profileProgramOnHost } from '../graph/profile.js';
import { decodeImageSource } from '../io/image-source.js';
import { type RgbImage, checkImageSize } from '../io/rgb-image.js';
import { networkInputSize, normalizeInput, outputResizeMode, resizeForNetwork } from './input-policy.js';
import type { DeepLabConfig } from './networks/config.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from './loading/load-weights.js';
import type { InputPolicy, LoadOptions, Precision, SlideWindows } from './loading/options.js';
import { segmentSlide } from './slide.js';
import type { NetworkSize } from './networks/deeplab.js';
import { type ClassSet, classPalette } from './voc.js';
import { type TuneOptions, type TuneReport, tuneGraph } from '../graph/tune.js';
import { segmentTiled } from './tiled.js';
import { DEFAULT_OVERLAP, checkTileOptions } from './tiling.js';
import type { ResizeMode } from '../kernels/resize/resize.js';
import { type FrameInput, isExternalFrame, isFrameInput, isGpuTexture } from '../io/frame-source.js';
import { FrameTexture } from '../gpu/frame-texture.js';
import { checkFrameTexture } from '../kernels/frame/frame-preprocess.js';
import { FramePreprocessor } from './frame-preprocessor.js';

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
  /** segmentBatch: at most this many images per forward pass (default 4); with `tile`, windows. */
  batchSize?: number;
  /**
   * Sliding-window inference for images much larger than the network's input: windows of
   * tile x tile image pixels (at least MIN_TILE), each segmented as an image is, their
   * probabilities blended on the GPU weighted towards each window's centre (src/model/tiled.ts).
   * Along an axis where the image is no longer than the tile, the window is as long as the image.
   */
  tile?: number;
  /** With `tile`: the share of a window its neighbour overlaps, 0 <= overlap < 1 (default 0.25). */
  overlap?: number;
  /** With `tile` (or a model's own sliding windows): called after each batch of windows of an image. */
  onTileProgress?: (windowsDone: number, windows: number) => void;
  /**
   * Models whose reference pipeline slides windows over the image (mmseg's 769x769 Cityscapes
   * and Pascal Context models: `loadedWeights.slide`) do so by default, as mmseg does
   * (src/model/slide.ts); false runs the whole image through the network at once instead.
   * Ignored by other models, and when `tile`, several scales or `flip` are given.
   */
  slide?: boolean;
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
function buildPostGraph(inH: number, inW: number, classes: number, outH: number, outW: number, include: Set<SegmentOutput>, mode: ResizeMode = 'half_pixel'): Graph {
  const g = new GraphBuilder();
  const logits = g.input('logits', [1, inH, inW, classes]);
  const same = inH === outH && inW === outW;
  if (!include.has('probabilities') && !include.has('logits')) {
    // Only classes: resize and argmax in one kernel, no full-size logits in memory.
    g.output('classes', same ? g.argmax('argmax', logits) : g.resizeArgmax('resize_argmax', logits, outH, outW, mode));
    return g.build();
  }
  const full = same ? logits : g.resize('resize_to_image', logits, outH, outW, mode);
  g.output('classes', g.argmax('argmax', full));
  if (include.has('probabilities')) g.output('probabilities', g.softmax('softmax', full));
  if (include.has('logits') && full !== logits) g.output('logits', full);
  return g.build();
}

/** One pass of averaged inference: sum + softmax(resize(mirror?(logits))) at the image's size. */
function buildAccumulateGraph(inH: number, inW: number, classes: number, outH: number, outW: number, mirrored: boolean, mode: ResizeMode = 'half_pixel'): Graph {
  const g = new GraphBuilder();
  const logits = g.input('logits', [1, inH, inW, classes]);
  const sum = g.input('sum', [1, outH, outW, classes]);
  // Mirroring commutes with the (symmetric) half-pixel resize, so it runs at the smaller size.
  const unmirrored = mirrored ? g.flipWidth('unmirror', logits) : logits;
  const full = inH === outH && inW === outW ? unmirrored : g.resize('resize_to_image', unmirrored, outH, outW, mode);
  g.output('sum', g.addValues('accumulate', sum, g.softmax('softmax', full)));
  return g.build();
}

/** The class map of summed probabilities. */
function buildArgmaxGraph(h: number, w: number, classes: number): Graph {
  const g = new GraphBuilder();
  g.output('classes', g.argmax('argmax', g.input('sum', [1, h, w, classes])));
  return g.build();
}

/** An image as a path (a URL in the browser), encoded bytes or decoded RGB. */
export type ImageInput = RgbImage | Uint8Array | string;

export type { FrameInput, ExternalFrame } from '../io/frame-source.js';

async function toRgbImage(image: ImageInput): Promise<RgbImage> {
  if (typeof image === 'string' || image instanceof Uint8Array) return decodeImageSource(image);
  if (!Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 0 || image.height < 0) {
    throw new Error(`segment: image size must be whole numbers, got ${image.width}x${image.height}`);
  }
  checkImageSize(image.width, image.height, 'segment');
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`segment: image data has ${image.data.length} bytes, expected ${image.width}x${image.height}x3 = ${image.width * image.height * 3}`);
  }
  return image;
}

/** Images per forward pass when several share a size (segmentBatch's default). */
export const DEFAULT_BATCH_SIZE = 4;

export class DeepLabModel {
  private readonly models = new ProgramCache();
  private readonly posts = new ProgramCache();
  private session: Session | null = null;
  private ownsSession = true;
  private disposed = false;
  /** This model's calls queued or running on the context's queue (dispose() waits for them). */
  private calls = 0;
  /** Page frames are copied into this texture (made on the first one). */
  private frameTexture: FrameTexture | null = null;
  /** The frame path's network input and its kernels, kept from frame to frame. */
  private framePreprocessor: FramePreprocessor | null = null;

  private constructor(
    readonly ctx: GpuContext,
    private readonly ownsContext: boolean,
    readonly name: string,
    readonly config: DeepLabConfig,
    readonly inputPolicy: InputPolicy,
    /** Class names and colours (from the checkpoint, VOC's by default). */
    readonly classes: ClassSet,
    private readonly weights: LoadedWeights,
    /** Storage precision of the network's activations and weights. */
    readonly precision: Precision,
  ) {}

  static async load(nameOrPath: string, opts: LoadOptions = {}): Promise<DeepLabModel> {
    return DeepLabModel.fromWeights(await loadWeights(nameOrPath, opts), opts);
  }

  /**
   * A model of loaded weights. With `session`, the model runs on that session's parameters as
   * they are (training shares its session this way, so evaluation sees every step).
   */
  static async fromWeights(
    weights: LoadedWeights,
    opts: Pick<LoadOptions, 'ctx' | 'onProgress' | 'precision' | 'tune' | 'tuneBudgetMs'> & { session?: Session; quickTuning?: { patience: number } } = {},
  ): Promise<DeepLabModel> {
    const precision = opts.precision ?? 'f32';
    if (precision !== 'f32' && precision !== 'f16') throw new Error(`precision must be 'f32' or 'f16', got '${String(precision)}'`);
    ensureRuntimeDir();
    const ctx = opts.ctx ?? (await GpuContext.create({ tune: opts.tune }));
    if (opts.ctx && opts.tune) await ctx.tuning.setMode(opts.tune);
    if (opts.tuneBudgetMs !== undefined) ctx.tuning.budgetMs = checkedBudget(opts.tuneBudgetMs);
    // Quick tuning (the page's): a patience per layer, and tuned once (what the budget does not
    // reach keeps its default, so the next load times nothing).
    if (opts.quickTuning) [ctx.tuning.patience, ctx.tuning.once] = [opts.quickTuning.patience, true];
    if (precision === 'f16' && !ctx.hasHalf) {
      if (!opts.ctx) ctx.destroy();
      throw new Error(`precision 'f16' needs the shader-f16 feature, which this adapter lacks (${ctx.adapterInfo.description}); use 'f32'`);
    }
    const model = new DeepLabModel(ctx, !opts.ctx, weights.name, weights.config, weights.inputPolicy, weights.classes, weights, precision);
    try {
      // Build once at the network's own size: this checks the weights against the graph and
      // uploads them, so a bad file fails here and not at the first image.
      const [h, w] = model.networkSize(weights.probeSize[1], weights.probeSize[0]);
      const tuning = ctx.tuning.mode === 'full' ? `tuning (up to ${(ctx.tuning.budgetMs / 1000).toFixed(0)} s) and ` : '';
      opts.onProgress?.(`${tuning}compiling ${model.name} for ${w}x${h}`);
      if (opts.session) {
        model.session = opts.session;
        model.ownsSession = false;
      } else {
        model.session = Session.create(ctx, weights.buildGraph({ height: h, width: w }), weights.params, weights.name);
      }
      await model.exclusive(() => model.programFor(h, w));
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  get numClasses(): number {
    return this.config.numClasses;
  }

  /** How logits at the network's size are resized to the image (the reference pipeline's mode). */
  private get outputResize(): ResizeMode {
    return outputResizeMode(this.inputPolicy, this.config);
  }

  get classNames(): readonly string[] {
    return this.classes.names;
  }

  /** The class colours as a PNG palette: what segment's palette PNGs and overlays use. */
  get palette(): Uint8Array {
    return classPalette(this.classes);
  }

  /** The network's input size [height, width] for an image of width x height at a scale. */
  networkSize(width: number, height: number, scale = 1): [number, number] {
    return networkInputSize(this.inputPolicy, width, height, scale);
  }

  /** The network compiled for inference at one batch and input size. */
  compiledGraph(size: NetworkSize): CompiledGraph {
    return compile(this.weights.buildGraph(size), { mode: 'inference', precision: this.precision });
  }

  /**
   * Times the kernel candidates of the network (at its own input size unless given) on this
   * model's adapter and stores the fastest (src/graph/tune.ts); programs compiled afterwards
   * use them.
   */
  async tune(opts: TuneOptions & Partial<NetworkSize> = {}): Promise<TuneReport> {
    const [h, w] = this.networkSize(this.weights.probeSize[1], this.weights.probeSize[0]);
    const size = { batch: opts.batch ?? 1, height: opts.height ?? h, width: opts.width ?? w };
    return this.exclusive(() => tuneGraph(this.ctx, this.compiledGraph(size).graph, opts));
  }

  private async programFor(height: number, width: number, batch = 1): Promise<Program> {
    return this.models.get(`${batch}x${height}x${width}`, () =>
      Program.create(this.ctx, this.compiledGraph({ batch, height, width }), this.session!, this.name),
    );
  }

  /** Normalised NHWC network input for an image. */
  preprocess(img: RgbImage, scale = 1): { input: Float32Array; height: number; width: number } {
    const [h, w] = this.networkSize(img.width, img.height, scale);
    const input = normalizeInput(this.inputPolicy, this.config, resizeForNetwork(this.inputPolicy, img, h, w));
    return { input, height: h, width: w };
  }

  /**
   * Raw network logits [N,h,w,classes] for an already normalised input of N images (stays on
   * the GPU: a view of the program's buffer, valid until the next forward pass at that size).
   */
  async forward(input: Float32Array, height: number, width: number, batch = 1): Promise<GpuTensor> {
    this.assertUsable();
    return this.exclusive(() => this.forwardNow(input, height, width, batch));
  }

  /** forward(), inside a turn of the context's queue (the input may be a tensor on the GPU). */
  private async forwardNow(input: RunInput, height: number, width: number, batch = 1): Promise<GpuTensor> {
    const exec = await this.programFor(height, width, batch);
    const out = await exec.runOnGpu({ image: input });
    return out.get('logits')!;
  }

  /** As forward, with the logits read back to the host in the same submission. */
  async forwardToHost(input: Float32Array, height: number, width: number, batch = 1): Promise<Float32Array> {
    this.assertUsable();
    return this.exclusive(async () => {
      const exec = await this.programFor(height, width, batch);
      return (await exec.run({ image: input })).get('logits') as Float32Array;
    });
  }

  /**
   * Where the forward pass's time goes at one network size: each layer's GPU time, the whole
   * pass's, and a plain run's host time (src/graph/profile.ts). Timed with GPU timestamps where
   * the context has them (`GpuContext.create({ timestamps: true })`, passed as `ctx` to
   * loadModel), else (or with `timing: 'host'`) each layer's submission on the host's clock.
   */
  async profile(input: Float32Array, height: number, width: number, repeats = 5, timing?: ProgramProfile['timing']): Promise<ProgramProfile> {
    this.assertUsable();
    const how = timing ?? (this.ctx.hasTimestamps ? 'timestamps' : 'host');
    const profiler = how === 'timestamps' ? profileProgram : profileProgramOnHost;
    return this.exclusive(async () => profiler(this.ctx, await this.programFor(height, width), { image: input }, repeats));
  }

  /**
   * One image, or one frame on the GPU (a GPUTexture; in the browser also a VideoFrame, <video>,
   * ImageBitmap or canvas): a frame's pixels never reach the CPU, only its class map (and what
   * `include` asks for) comes back.
   */
  async segment(image: ImageInput | FrameInput, opts: SegmentOptions = {}): Promise<SegmentResult> {
    if (isFrameInput(image)) {
      this.assertUsable();
      const include = this.frameOptions(opts);
      return this.exclusive(async () => (await this.segmentFrameNow(image, opts.scales?.[0] ?? 1, include))!);
    }
    return (await this.segmentBatch([image], opts))[0];
  }

  /**
   * A frame's class map left on the GPU: written into `classes`, a [1, height, width] u32 tensor
   * at the frame's size, nothing read back (the overlay renderer draws from it). The copy into
   * `classes` is queued when this resolves; work submitted afterwards sees it.
   */
  async segmentFrameInto(frame: FrameInput, classes: GpuTensor, opts: Pick<SegmentOptions, 'scales'> = {}): Promise<void> {
    this.assertUsable();
    if (!isFrameInput(frame)) throw new Error('segmentFrameInto: the frame must be a GPUTexture, VideoFrame, <video>, ImageBitmap or canvas');
    this.frameOptions(opts);
    if (classes.dtype !== 'u32' || classes.shape.length !== 3 || classes.shape[0] !== 1) {
      throw new Error(`segmentFrameInto: classes must be a [1, height, width] u32 tensor, got ${classes.dtype} ${shapeString(classes.shape)}`);
    }
    await this.exclusive(() => this.segmentFrameNow(frame, opts.scales?.[0] ?? 1, new Set(), classes));
  }

  /** The outputs a frame is segmented with; multi-scale and flipped inference are for still images. */
  private frameOptions(opts: SegmentOptions): Set<SegmentOutput> {
    const scales = opts.scales ?? [1];
    if (scales.length !== 1 || opts.flip) {
      throw new Error('segment: multi-scale and flipped inference take still images (RgbImage, bytes or a path); a frame (GPUTexture, VideoFrame, ...) is segmented at one scale');
    }
    if (!(scales[0] > 0) || !Number.isFinite(scales[0])) throw new Error(`segment: scales must be positive numbers, got [${scales.join(', ')}]`);
    const include = new Set(opts.include ?? []);
    for (const k of include) {
      if (!['classes', 'probabilities', 'logits'].includes(k)) throw new Error(`segment: unknown output '${k}' (classes, probabilities, logits)`);
    }
    return include;
  }

  /**
   * A frame through the GPU path, inside a turn of the context's queue: into the model's texture
   * (page frames), preprocessed by the frame kernels, the network, then the post-processing at
   * the frame's size. Returns the result read back, or with `into` copies the class map there
   * and returns null.
   */
  private async segmentFrameNow(frame: FrameInput, scale: number, include: Set<SegmentOutput>, into?: GpuTensor): Promise<SegmentResult | null> {
    let texture: GPUTexture;
    if (isGpuTexture(frame)) texture = frame;
    else if (isExternalFrame(frame)) texture = (this.frameTexture ??= new FrameTexture(this.ctx, `${this.name}: frame`)).upload(frame, 'segment');
    else throw new Error('segment: not a frame');
    checkFrameTexture(texture, 'segment');
    const { width: W, height: H } = texture;
    if (into && (into.shape[1] !== H || into.shape[2] !== W)) {
      throw new Error(`segmentFrameInto: classes is ${shapeString(into.shape)}, the frame ${W}x${H} needs [1,${H},${W}]`);
    }
    const C = this.numClasses;
    const [h, w] = this.networkSize(W, H, scale);
    const postKey = `${h}x${w}->${H}x${W}:${[...include].sort().join(',')}`;
    const post = (): Promise<Program> => this.posts.get(postKey, () => Program.create(this.ctx, buildPostGraph(h, w, C, H, W, include, this.outputResize), new Map(), 'postprocess'));
    // Post-processing first: a frame too large for the device's limits fails before any GPU work.
    await post();
    this.framePreprocessor ??= new FramePreprocessor(this.ctx, this.config.normalization);
    const input = await this.framePreprocessor.run(texture, h, w);
    if (into) {
      const logits = await this.forwardNow(input, h, w);
      const classes = (await (await post()).runOnGpu({ logits })).get('classes')!;
      await copyTensor(this.ctx, classes, into);
      return null;
    }
    // The network and the post-processing in one submission.
    const exec = await this.programFor(h, w);
    const postProgram = await post();
    let logits!: GpuTensor;
    const out = await postProgram.runAfter(exec, { image: input }, (o) => ({ logits: (logits = o.get('logits')!) }));
    const result: SegmentResult = { width: W, height: H, classes: Uint8Array.from(out.get('classes') as Uint32Array), numClasses: C };
    if (include.has('probabilities')) result.probabilities = out.get('probabilities') as Float32Array;
    if (include.has('logits')) result.logits = (out.get('logits') as Float32Array | undefined) ?? (await readTensor(this.ctx, logits));
    return result;
  }

  /**
   * Several images. Images that give the network the same input size run together, up to
   * `opts.batchSize` per forward pass; each image's logits are then resized to its own size.
   * Multi-scale and flipped inference average each image's passes on the GPU.
   */
  async segmentBatch(images: readonly ImageInput[], opts: SegmentOptions = {}): Promise<SegmentResult[]> {
    this.assertUsable();
    if (images.some((image) => isFrameInput(image))) {
      throw new Error('segmentBatch: frames (GPUTexture, VideoFrame, <video>, ...) are segmented one at a time with segment()');
    }
    const include = new Set(opts.include ?? []);
    for (const k of include) {
      if (!['classes', 'probabilities', 'logits'].includes(k)) throw new Error(`segment: unknown output '${k}' (classes, probabilities, logits)`);
    }
    const scales = opts.scales ?? [1];
    if (scales.length === 0 || scales.some((x) => !(x > 0) || !Number.isFinite(x))) {
      throw new Error(`segment: scales must be positive numbers, got [${scales.join(', ')}]`);
    }
    const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`segment: batchSize must be a positive integer, got ${batchSize}`);
    const averaged = scales.length > 1 || !!opts.flip;
    if (averaged && include.has('logits')) throw new Error('segment: logits are not defined for multi-scale / flipped inference (use probabilities)');
    const tiled = opts.tile !== undefined;
    if (tiled) {
      checkTileOptions(opts.tile!, opts.overlap ?? DEFAULT_OVERLAP);
      if (averaged || scales[0] !== 1) throw new Error('segment: tile cannot be combined with scales or flip (each window is segmented at scale 1)');
      if (include.has('logits')) throw new Error('segment: logits are not defined for tiled inference, whose windows are blended as probabilities (use probabilities)');
    } else if (opts.overlap !== undefined) {
      throw new Error('segment: overlap needs tile (the window size)');
    }
    const imgs = await Promise.all(images.map(toRgbImage));
    const results: SegmentResult[] = new Array(imgs.length);
    const slide = !tiled && !averaged && scales[0] === 1 && opts.slide !== false ? this.weights.slide : undefined;
    if (slide) {
      if (include.has('logits')) throw new Error(`segment: ${this.name} averages the logits of sliding windows; ask for probabilities, or pass slide: false for whole-image logits`);
      for (const [i, img] of imgs.entries()) results[i] = await this.segmentSliding(img, slide, batchSize, include.has('probabilities'), opts.onTileProgress);
      return results;
    }
    if (tiled) {
      for (const [i, img] of imgs.entries()) results[i] = await this.segmentInTiles(img, { ...opts, tile: opts.tile! }, batchSize, include.has('probabilities'));
      return results;
    }
    if (averaged) {
      for (const [i, img] of imgs.entries()) results[i] = await this.segmentAveraged(img, scales, !!opts.flip, include.has('probabilities'));
      return results;
    }
    // Group by network input size, keeping each group's order.
    const groups = new Map<string, number[]>();
    imgs.forEach((img, i) => {
      const key = this.networkSize(img.width, img.height, scales[0]).join('x');
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    for (const members of groups.values()) {
      for (let start = 0; start < members.length; start += batchSize) {
        const chunk = members.slice(start, start + batchSize);
        const out = await this.segmentSplitting(chunk.map((i) => imgs[i]), scales[0], include);
        chunk.forEach((i, k) => (results[i] = out[k]));
      }
    }
    return results;
  }

  /** segmentTogether, halving the batch while it is too large for the device's binding limit. */
  private async segmentSplitting(imgs: RgbImage[], scale: number, include: Set<SegmentOutput>): Promise<SegmentResult[]> {
    try {
      return await this.segmentTogether(imgs, scale, include);
    } catch (e) {
      if (imgs.length === 1 || !(e instanceof GpuError) || e.kind !== 'limit') throw e;
      const half = Math.ceil(imgs.length / 2);
      return [
        ...(await this.segmentSplitting(imgs.slice(0, half), scale, include)),
        ...(await this.segmentSplitting(imgs.slice(half), scale, include)),
      ];
    }
  }

  /** One forward pass over images of one network size; each image post-processed at its own size. */
  private async segmentTogether(imgs: RgbImage[], scale: number, include: Set<SegmentOutput>): Promise<SegmentResult[]> {
    const [height, width] = this.networkSize(imgs[0].width, imgs[0].height, scale);
    const C = this.numClasses;
    const post = (img: RgbImage): Promise<Program> =>
      this.posts.get(`${height}x${width}->${img.height}x${img.width}:${[...include].sort().join(',')}`, () =>
        Program.create(this.ctx, buildPostGraph(height, width, C, img.height, img.width, include, this.outputResize), new Map(), 'postprocess'),
      );
    // On the CPU, while other calls may have the GPU.
    const input = new Float32Array(imgs.length * height * width * 3);
    imgs.forEach((img, k) => input.set(this.preprocess(img, scale).input, k * height * width * 3));
    return this.exclusive(async () => {
      // Post-processing first: an image too large for the device's limits fails before any GPU work.
      for (const img of imgs) await post(img);
      const exec = await this.programFor(height, width, imgs.length);
      let logits!: GpuTensor;
      const results: SegmentResult[] = [];
      for (const [k, img] of imgs.entries()) {
        // Cached by size, so usually a hit (the cache may have evicted it for a later image's).
        const postProgram = await post(img);
        // The network and the first image's post-processing in one submission; the others
        // post-process the logits it left on the GPU.
        const out =
          k === 0
            ? await postProgram.runAfter(exec, { image: input }, (o) => ({ logits: batchItem((logits = o.get('logits')!), 0) }))
            : await postProgram.run({ logits: batchItem(logits, k) });
        const item = batchItem(logits, k);
        const result: SegmentResult = { width: img.width, height: img.height, classes: Uint8Array.from(out.get('classes') as Uint32Array), numClasses: C };
        if (include.has('probabilities')) result.probabilities = out.get('probabilities') as Float32Array;
        if (include.has('logits')) result.logits = (out.get('logits') as Float32Array | undefined) ?? (await readTensor(this.ctx, item));
        results.push(result);
      }
      return results;
    });
  }

  /**
   * Averages the softmax probabilities of every scale (and its mirror) at the image's size, on
   * the GPU: each pass's logits are mirrored back (flipped view), resized to the image, turned
   * into probabilities and added to one accumulator; only the class map (and the average, when
   * asked for) comes back.
   */
  private segmentAveraged(img: RgbImage, scales: number[], flip: boolean, keepProbabilities: boolean): Promise<SegmentResult> {
    return this.exclusive(() => this.segmentAveragedNow(img, scales, flip, keepProbabilities));
  }

  private async segmentAveragedNow(img: RgbImage, scales: number[], flip: boolean, keepProbabilities: boolean): Promise<SegmentResult> {
    const C = this.numClasses;
    const { width: W, height: H } = img;
    const finish = (): Promise<Program> =>
      this.posts.get(`average->${H}x${W}`, () => Program.create(this.ctx, buildArgmaxGraph(H, W, C), new Map(), 'postprocess'));
    // Post-processing first: an image too large for the device's limits fails before any work.
    await finish();
    const sum = createTensor(this.ctx, [1, H, W, C], 'f32', 'probability sum');
    try {
      fillTensor(this.ctx, sum, 0);
      const views: [RgbImage, boolean][] = flip ? [[img, false], [flipRgb(img), true]] : [[img, false]];
      let passes = 0;
      for (const scale of scales) {
        for (const [view, mirrored] of views) {
          const [h, w] = this.networkSize(W, H, scale);
          const key = `accumulate ${h}x${w}->${H}x${W}${mirrored ? ' mirrored' : ''}`;
          const post = await this.posts.get(key, () => Program.create(this.ctx, buildAccumulateGraph(h, w, C, H, W, mirrored, this.outputResize), new Map(), 'postprocess'));
          const network = await this.programFor(h, w);
          // The network and the accumulation in one submission and one wait.
          const out = await post.runOnGpuAfter(network, { image: this.preprocess(view, scale).input }, (o) => ({ logits: o.get('logits')!, sum }));
          await copyTensor(this.ctx, out.get('sum')!, sum);
          passes++;
        }
      }
      // Fetched again: the passes' programs may have pushed it out of the cache.
      const out = await (await finish()).run({ sum });
      const result: SegmentResult = { width: W, height: H, classes: Uint8Array.from(out.get('classes') as Uint32Array), numClasses: C };
      if (keepProbabilities) {
        const p = await readTensor(this.ctx, sum);
        for (let i = 0; i < p.length; i++) p[i] /= passes;
        result.probabilities = p;
      }
      return result;
    } finally {
      sum.dispose();
    }
  }

  /** mmseg's sliding-window test of one image (src/model/slide.ts), as one turn of the context's queue. */
  private segmentSliding(img: RgbImage, slide: SlideWindows, batchSize: number, keepProbabilities: boolean, onProgress?: (done: number, total: number) => void): Promise<SegmentResult> {
    const policy = this.inputPolicy;
    return this.exclusive(() =>
      segmentSlide(
        {
          ctx: this.ctx,
          numClasses: this.numClasses,
          // Windows go through the network at their own size, already resized with the image.
          networkSize: (width, height) => [height, width],
          preprocess: (window) => ({ input: normalizeInput(policy, this.config, window), height: window.height, width: window.width }),
          forward: (input, height, width, batch) => this.forwardNow(input, height, width, batch),
          postProgram: (key, build) => this.posts.get(key, () => Program.create(this.ctx, build(), new Map(), 'postprocess')),
          testSize: (width, height) => this.networkSize(width, height),
          resize: (image, height, width) => resizeForNetwork(policy, image, height, width),
          resizeMode: this.config.resizeMode,
        },
        img,
        slide,
        { batchSize, keepProbabilities, onProgress },
      ),
    );
  }

  /** Sliding-window inference of one image (src/model/tiled.ts), as one turn of the context's queue. */
  private segmentInTiles(img: RgbImage, opts: SegmentOptions & { tile: number }, batchSize: number, keepProbabilities: boolean): Promise<SegmentResult> {
    return this.exclusive(() =>
      segmentTiled(
        {
          ctx: this.ctx,
          numClasses: this.numClasses,
          networkSize: (width, height) => this.networkSize(width, height),
          preprocess: (window) => this.preprocess(window),
          forward: (input, height, width, batch) => this.forwardNow(input, height, width, batch),
          postProgram: (key, build) => this.posts.get(key, () => Program.create(this.ctx, build(), new Map(), 'postprocess')),
        },
        img,
        { tile: opts.tile, overlap: opts.overlap ?? DEFAULT_OVERLAP, batchSize, keepProbabilities, onProgress: opts.onTileProgress },
      ),
    );
  }

  /** The parameters and statistics as they are on the GPU, by checkpoint name (our layouts). */
  async parameters(): Promise<HostParams> {
    this.assertUsable();
    const [h, w] = this.networkSize(this.weights.probeSize[0], this.weights.probeSize[1]);
    return this.session!.downloadAll(this.weights.buildGraph({ height: h, width: w }));
  }

  /** The loaded weights this model was made from (config, input policy, classes, host params). */
  get loadedWeights(): LoadedWeights {
    return this.weights;
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

  /**
   * Runs GPU work that spans several awaits as one turn of the context's queue: no other call,
   * of this model or another on the context, runs between its steps (a queued call fails here
   * if the model was disposed meanwhile).
   */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    this.calls++;
    return contextQueue(this.ctx)
      .run(async () => {
        this.assertUsable();
        return work();
      })
      .finally(() => this.calls--);
  }

  /**
   * Releases every GPU buffer the model holds (and the device, when the model created it). A call
   * already running finishes first; calls still queued fail as used after dispose().
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const release = (): void => {
      this.models.clear();
      this.posts.clear();
      this.framePreprocessor?.release();
      this.frameTexture?.destroy();
      if (this.ownsSession) this.session?.dispose();
      this.session = null;
      if (this.ownsContext) this.ctx.destroy();
    };
    // Queued behind this model's calls, so it runs when the last of them has settled.
    if (this.calls > 0) void contextQueue(this.ctx).run(async () => release());
    else release();
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

/** A tuning budget in milliseconds: a non-negative number. */
function checkedBudget(ms: number): number {
  if (typeof ms !== 'number' || !(ms >= 0)) throw new Error(`tuneBudgetMs must be a non-negative number of milliseconds, got ${String(ms)}`);
  return ms;
}
