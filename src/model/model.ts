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
//
// The ways of segmenting live beside this file, each given the model as a SegmentHost
// (src/model/segment-host.ts): batched.ts (images of one network size together), averaged.ts
// (multi-scale and flipped), tiled.ts (sliding windows) and frames.ts (frames on the GPU); the
// post-processing graphs are in post-graphs.ts, the options and their checks in
// segment-options.ts.
import { DEFAULT_MODEL } from './loading/registry.js';
import { GpuContext } from '../gpu/context.js';
import { type GpuTensor, shapeString } from '../gpu/tensor.js';
import { type CompiledGraph, compile } from '../graph/compile.js';
import { Program, type RunInput, plannedProgramBytes } from '../graph/program.js';
import type { HostParams } from '../graph/params.js';
import { Session } from '../graph/session.js';
import { ensureRuntimeDir } from '../gpu/runtime-dir.js';
import { contextQueue } from '../gpu/serial-queue.js';
import { type ProgramProfile, profileProgram, profileProgramOnHost } from '../graph/profile.js';
import type { RgbImage } from '../io/rgb-image.js';
import { networkInputSize, normalizeInput, outputResizeMode, policyNormalization, resizeForNetwork } from './input-policy.js';
import { compileWithinDeadline } from './load-deadline.js';
import type { DeepLabConfig } from './networks/config.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from './loading/load-weights.js';
import type { InputPolicy, LoadOptions, Precision, SlideWindows } from './loading/options.js';
import { LOAD_OPTION_NAMES } from './loading/options.js';
import { segmentSlide } from './slide.js';
import type { NetworkSize } from './networks/deeplab.js';
import { type ClassSet, classPalette } from './voc.js';
import { type TuneOptions, type TuneReport, tuneGraph } from '../graph/tune.js';
import { segmentTiled } from './tiled.js';
import { DEFAULT_OVERLAP } from './tiling.js';
import { type FrameInput, isFrameInput } from '../io/frame-source.js';
import { ProgramCache } from './program-cache.js';
import { type ImageInput, type SegmentOptions, type SegmentResult, checkFrameOptions, checkStillImageOptions } from './segment-options.js';
import type { SegmentHost } from './segment-host.js';
import { toRgbImage } from './image-input.js';
import { checkNetworkInput, checkOptionNames, checkSegmentOptionTypes, checkedImageInput, describeValue } from './input-check.js';
import { segmentSplitting } from './batched.js';
import { segmentAveraged } from './averaged.js';
import { FrameSegmenter } from './frames.js';
import { type ModelMemory, addProgramBytes, checkedMemoryBudget, overBudgetError, programTotal } from './memory.js';
import type { Graph } from '../graph/ir.js';

export { PAPER_SCALES, DEFAULT_BATCH_SIZE } from './segment-options.js';
export type { ImageInput, SegmentOptions, SegmentOutput, SegmentResult } from './segment-options.js';
export type { InputPolicy, LoadOptions } from './loading/options.js';
export type { ModelMemory } from './memory.js';
export type { FrameInput, ExternalFrame } from '../io/frame-source.js';

export class DeepLabModel {
  private readonly models = new ProgramCache();
  private readonly posts = new ProgramCache();
  private session: Session | null = null;
  private ownsSession = true;
  private disposed = false;
  /** This model's calls queued or running on the context's queue (dispose() waits for them). */
  private calls = 0;
  /** What the ways of segmenting use of this model. */
  private readonly host: SegmentHost;
  /** Frames on the GPU: the texture page frames are copied into and the preprocessing kernels. */
  private readonly frames: FrameSegmenter;
  /** The most GPU bytes the model may hold (LoadOptions.memoryBudget), or null. */
  private memoryBudget: number | null = null;

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
  ) {
    this.host = {
      ctx,
      name,
      numClasses: config.numClasses,
      normalization: policyNormalization(inputPolicy, config),
      outputResize: outputResizeMode(inputPolicy, config),
      networkSize: (width, height, scale) => this.networkSize(width, height, scale),
      preprocess: (img, scale) => this.preprocess(img, scale),
      program: (height, width, batch) => this.programFor(height, width, batch),
      forward: (input, height, width, batch) => this.forwardNow(input, height, width, batch),
      postProgram: (key, build) => this.postProgram(key, build),
      exclusive: (work) => this.exclusive(work),
    };
    this.frames = new FrameSegmenter(this.host);
  }

  static async load(nameOrPath: string | Uint8Array | ArrayBuffer, opts: LoadOptions = {}): Promise<DeepLabModel> {
    checkOptionNames(opts, LOAD_OPTION_NAMES, 'loadModel');
    return DeepLabModel.fromWeights(await loadWeights(nameOrPath, opts), opts);
  }

  /**
   * A model of loaded weights. With `session`, the model runs on that session's parameters as
   * they are (training shares its session this way, so evaluation sees every step).
   */
  static async fromWeights(
    weights: LoadedWeights,
    opts: Pick<LoadOptions, 'ctx' | 'onProgress' | 'precision' | 'tune' | 'tuneBudgetMs' | 'memoryBudget'> & {
      session?: Session;
      quickTuning?: { patience: number };
      /** With tuning 'full': when (performance.now()) compiling and tuning must be done (src/model/load-deadline.ts). */
      loadDeadline?: number;
    } = {},
  ): Promise<DeepLabModel> {
    const precision = opts.precision ?? 'f32';
    if (precision !== 'f32' && precision !== 'f16') throw new Error(`precision must be 'f32' or 'f16', got '${String(precision)}'`);
    const memoryBudget = checkedMemoryBudget(opts.memoryBudget);
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
    model.memoryBudget = memoryBudget ?? null;
    try {
      // Build once at the network's own size: this checks the weights against the graph and
      // uploads them, so a bad file fails here and not at the first image.
      const [h, w] = model.networkSize(...weights.probeSize);
      const tuning = ctx.tuning.mode === 'full' ? `tuning (up to ${(ctx.tuning.budgetMs / 1000).toFixed(0)} s) and ` : '';
      opts.onProgress?.(`${tuning}compiling ${model.name} for ${w}x${h}`);
      if (opts.session) {
        model.session = opts.session;
        model.ownsSession = false;
      } else {
        const graph = weights.buildGraph({ height: h, width: w });
        model.checkWeightsFit(graph);
        model.session = Session.create(ctx, graph, weights.params, weights.name);
      }
      const deadline = opts.loadDeadline;
      if (deadline !== undefined && ctx.tuning.mode === 'full') {
        await model.exclusive(() =>
          compileWithinDeadline(ctx, deadline, () => model.compiledGraph({ batch: 1, height: h, width: w }).graph, () => model.programFor(h, w), async () => {
            model.models.clear();
            await model.programFor(h, w);
          }),
        );
      } else {
        await model.exclusive(() => model.programFor(h, w));
      }
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  get numClasses(): number {
    return this.config.numClasses;
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
    const [h, w] = this.networkSize(...this.weights.probeSize);
    const size = { batch: opts.batch ?? 1, height: opts.height ?? h, width: opts.width ?? w };
    return this.exclusive(() => tuneGraph(this.ctx, this.compiledGraph(size).graph, opts));
  }

  private async programFor(height: number, width: number, batch = 1): Promise<Program> {
    const what = `the network at ${width}x${height}${batch > 1 ? ` (batch ${batch})` : ''}`;
    return this.models.get(`${batch}x${height}x${width}`, async () => {
      const compiled = this.compiledGraph({ batch, height, width });
      this.makeRoom(programTotal(plannedProgramBytes(compiled.graph)), what);
      return this.fitted(await Program.create(this.ctx, compiled, this.session!, this.name), what);
    });
  }

  /** A post-processing program (logits resized, argmax, probabilities) by its key. */
  private postProgram(key: string, build: () => Graph): Promise<Program> {
    // Keys read 'HxW->HxW:outputs'; a message names the sizes and the outputs.
    const [sizes, outputs] = key.split(':');
    const what = `the post-processing ${sizes}${outputs ? ` (${outputs})` : ''}`;
    return this.posts.get(key, async () => {
      const graph = build();
      this.makeRoom(programTotal(plannedProgramBytes(graph)), what);
      return this.fitted(await Program.create(this.ctx, graph, new Map(), 'postprocess'), what);
    });
  }

  /**
   * GPU bytes this model holds, by what holds them (ModelMemory); dispose() gives `total` back.
   * The context's pool of idle buffers is shared by the models on it and counted apart.
   */
  memory(): ModelMemory {
    const programs = addProgramBytes([this.models.bytes, this.posts.bytes]);
    const weights = this.ownsSession ? (this.session?.byteLength ?? 0) : 0;
    const frames = this.frames.bytes;
    return {
      weights,
      ...programs,
      frames,
      total: weights + programTotal(programs) + frames,
      contextPool: this.ctx.pool.stats.idleBytes,
      budget: this.memoryBudget,
    };
  }

  /** Refuses weights that alone would pass the memory budget, before they are uploaded. */
  private checkWeightsFit(graph: Graph): void {
    if (this.memoryBudget === null) return;
    const bytes = graph.state.reduce((a, v) => a + v.shape.reduce((x, y) => x * y, 1) * 4, 0);
    if (bytes > this.memoryBudget) throw overBudgetError(this.name, 'its weights', bytes, 0, this.memoryBudget);
  }

  /** Releases the least recently used programs until `bytes` more fit the budget; refuses what cannot fit. */
  private makeRoom(bytes: number, what: string): void {
    const budget = this.memoryBudget;
    if (budget === null) return;
    while (this.memory().total + bytes > budget) {
      if (!this.models.releaseOldest() && !this.posts.releaseOldest()) throw overBudgetError(this.name, what, bytes, this.memory().total, budget);
    }
  }

  /** `program` once made, if the model fits its budget with it (older programs released as needed); else disposed and refused. */
  private fitted(program: Program, what: string): Program {
    try {
      this.makeRoom(programTotal(program.bytes), what);
    } catch (e) {
      program.dispose();
      throw e;
    }
    return program;
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
    checkNetworkInput(input, height, width, batch, 'forwardToHost');
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
    checkSegmentOptionTypes(opts, 'segment');
    opts.signal?.throwIfAborted();
    if (isFrameInput(image)) {
      this.assertUsable();
      const include = checkFrameOptions(opts);
      return this.exclusive(async () => (await this.frames.segment(image, opts.scales?.[0] ?? 1, include))!);
    }
    return (await this.segmentBatch([checkedImageInput(image, 'segment')], opts))[0];
  }

  /**
   * A frame's class map left on the GPU: written into `classes`, a [1, height, width] u32 tensor
   * at the frame's size, nothing read back (the overlay renderer draws from it). The copy into
   * `classes` is queued when this resolves; work submitted afterwards sees it.
   */
  async segmentFrameInto(frame: FrameInput, classes: GpuTensor, opts: Pick<SegmentOptions, 'scales'> = {}): Promise<void> {
    this.assertUsable();
    if (!isFrameInput(frame)) throw new Error('segmentFrameInto: the frame must be a GPUTexture, VideoFrame, <video>, ImageBitmap or canvas');
    checkFrameOptions(opts);
    if (classes.dtype !== 'u32' || classes.shape.length !== 3 || classes.shape[0] !== 1) {
      throw new Error(`segmentFrameInto: classes must be a [1, height, width] u32 tensor, got ${classes.dtype} ${shapeString(classes.shape)}`);
    }
    await this.exclusive(() => this.frames.segment(frame, opts.scales?.[0] ?? 1, new Set(), classes));
  }

  /**
   * Several images. Images that give the network the same input size run together, up to
   * `opts.batchSize` per forward pass; each image's logits are then resized to its own size.
   * Multi-scale and flipped inference average each image's passes on the GPU.
   */
  async segmentBatch(images: readonly ImageInput[], opts: SegmentOptions = {}): Promise<SegmentResult[]> {
    this.assertUsable();
    if (!Array.isArray(images)) throw new Error(`segmentBatch: images must be an array of images, got ${describeValue(images)}`);
    if (images.some((image) => isFrameInput(image))) {
      throw new Error('segmentBatch: frames (GPUTexture, VideoFrame, <video>, ...) are segmented one at a time with segment()');
    }
    checkSegmentOptionTypes(opts, 'segmentBatch');
    const { include, scales, batchSize, averaged, tiled } = checkStillImageOptions(opts);
    const checked = images.map((image, i) => checkedImageInput(image, images.length > 1 ? `segmentBatch: images[${i}]` : 'segment'));
    const { signal } = opts;
    signal?.throwIfAborted();
    const imgs = await Promise.all(checked.map(toRgbImage));
    signal?.throwIfAborted();
    const results: SegmentResult[] = new Array(imgs.length);
    const slide = !tiled && !averaged && scales[0] === 1 && opts.slide !== false ? this.weights.slide : undefined;
    if (slide) {
      if (include.has('logits')) throw new Error(`segment: ${this.name} averages the logits of sliding windows; ask for probabilities, or pass slide: false for whole-image logits`);
      for (const [i, img] of imgs.entries()) {
        signal?.throwIfAborted();
        results[i] = await this.segmentSliding(img, slide, batchSize, include.has('probabilities'), opts.onTileProgress);
      }
      return results;
    }
    if (tiled) {
      for (const [i, img] of imgs.entries()) {
        signal?.throwIfAborted();
        results[i] = await this.segmentInTiles(img, { ...opts, tile: opts.tile! }, batchSize, include.has('probabilities'));
      }
      return results;
    }
    if (averaged) {
      for (const [i, img] of imgs.entries()) {
        signal?.throwIfAborted();
        results[i] = await this.exclusive(() => segmentAveraged(this.host, img, scales, !!opts.flip, include.has('probabilities')));
      }
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
        signal?.throwIfAborted();
        const chunk = members.slice(start, start + batchSize);
        const out = await segmentSplitting(this.host, chunk.map((i) => imgs[i]), scales[0], include);
        chunk.forEach((i, k) => (results[i] = out[k]));
      }
    }
    return results;
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
          postProgram: (key, build) => this.postProgram(key, build),
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
      segmentTiled(this.host, img, { tile: opts.tile, overlap: opts.overlap ?? DEFAULT_OVERLAP, batchSize, keepProbabilities, onProgress: opts.onTileProgress }),
    );
  }

  /** The parameters and statistics as they are on the GPU, by checkpoint name (our layouts). */
  async parameters(): Promise<HostParams> {
    this.assertUsable();
    const [h, w] = this.networkSize(...this.weights.probeSize);
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
        this.models.nextTurn();
        this.posts.nextTurn();
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
      this.frames.release();
      if (this.ownsSession) this.session?.dispose();
      this.session = null;
      if (this.ownsContext) this.ctx.destroy();
    };
    // Queued behind this model's calls, so it runs when the last of them has settled.
    if (this.calls > 0) void contextQueue(this.ctx).run(async () => release());
    else release();
  }
}

/**
 * A model by registry name or weights path, or from a weights file's bytes (as the page's
 * loadModel; `opts.name` names it); with no argument, the default model (DEFAULT_MODEL).
 */
export function loadModel(nameOrPath: string | Uint8Array | ArrayBuffer = DEFAULT_MODEL, opts: LoadOptions = {}): Promise<DeepLabModel> {
  return DeepLabModel.load(nameOrPath, opts);
}

/** A tuning budget in milliseconds: a non-negative number. */
function checkedBudget(ms: number): number {
  if (typeof ms !== 'number' || !(ms >= 0)) throw new Error(`tuneBudgetMs must be a non-negative number of milliseconds, got ${String(ms)}`);
  return ms;
}
