// The library's main object: a loaded DeepLabv3 model that segments images on the GPU.
//
//   const model = await loadModel('mobilenetv2-pascal-257');
//   const { classes, width, height } = await model.segment('photo.jpg');
//   model.dispose();
//
// A model holds its weights on the GPU once (a Session) and compiles a program per batch and
// input size on demand (model-programs.ts). segment() reproduces the reference pipelines: the
// image resized for the network as the reference does (input-policy.ts), the logits resized back
// to the image's size and the argmax taken there. Still images take one of the modes of
// still-images.ts; frames on the GPU take frames.ts. Each mode gets the model as a SegmentHost.
//
// Calls may overlap (concurrent callers, several models on one context): each call's GPU work
// runs as one turn of the context's queue (src/gpu/serial-queue.ts), while decoding and resizing
// images on the CPU overlap freely. Programs, the logits a pass leaves in them and the device's
// error scopes are shared, so the GPU work of two calls must never interleave.
import { DEFAULT_MODEL } from './loading/registry.js';
import type { GpuContext } from '../gpu/context.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { CompiledGraph } from '../graph/compile.js';
import type { RunInput } from '../graph/program.js';
import type { HostParams } from '../graph/params.js';
import type { Session } from '../graph/session.js';
import { type ProgramProfile, profileProgram, profileProgramOnHost } from '../graph/profile.js';
import type { StillImage } from '../io/band-image.js';
import { inputPadding, networkInput, networkInputSize, outputResizeMode, policyNormalization, policyResample, takesNearestLabels } from './input-policy.js';
import { type PostLogits, ownOutput } from './post-logits.js';
import type { DeepLabConfig } from './networks/config.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from './loading/load-weights.js';
import type { DeviceLossPolicy, DeviceLostEvent, InputPolicy, LoadOptions, Precision } from './loading/options.js';
import { LOAD_OPTION_NAMES } from './loading/options.js';
import type { NetworkSize } from './networks/deeplab.js';
import { type ClassSet, classPalette } from './voc.js';
import { type TuneOptions, type TuneReport, tuneGraph } from '../graph/tune.js';
import { type FrameInput, isFrameInput } from '../io/frame-source.js';
import { ModelGpu } from './model-gpu.js';
import { type ImageInput, type SegmentOptions, type SegmentResult, checkFrameOptions, checkStillImageOptions } from './segment-options.js';
import type { SegmentHost } from './segment-host.js';
import { toStillImages } from './band-input.js';
import { checkSignal } from '../util/option-keys.js';
import { checkNetworkInput, checkOptionNames, checkSegmentOptionTypes, checkedImageInput, describeValue } from './input-check.js';
import { type StillImageHost, segmentStillImages, stillImageHost } from './still-images.js';
import { FrameSegmenter } from './frames.js';
import type { ModelMemory } from './memory.js';
import { type ContextOptions, modelContext } from './model-context.js';

export { PAPER_SCALES, DEFAULT_BATCH_SIZE } from './segment-options.js';
export type { ImageInput, SegmentOptions, SegmentOutput, SegmentResult } from './segment-options.js';
export type { DeviceLossPolicy, DeviceLostEvent, InputPolicy, LoadOptions } from './loading/options.js';
export type { ModelMemory } from './memory.js';
export type { FrameInput, ExternalFrame } from '../io/frame-source.js';

export class DeepLabModel {
  /** The model's GPU state: context, weights, programs, and its calls' turns. */
  private readonly gpu: ModelGpu;
  /** What the ways of segmenting use of this model. */
  private readonly host: SegmentHost;
  /** Frames on the GPU: the texture page frames are copied into and the preprocessing kernels. */
  private readonly frames: FrameSegmenter;
  /** The still-image modes' view of this model. */
  private readonly stills: StillImageHost;

  private constructor(
    readonly ctx: GpuContext,
    ownsContext: boolean,
    readonly name: string,
    readonly config: DeepLabConfig,
    readonly inputPolicy: InputPolicy,
    /** Class names and colours (from the checkpoint, VOC's by default). */
    readonly classes: ClassSet,
    private readonly weights: LoadedWeights,
    /** Storage precision of the network's activations and weights. */
    readonly precision: Precision,
    memoryBudget: number | null,
    loss: { policy?: DeviceLossPolicy; onLost?: (event: DeviceLostEvent) => void },
  ) {
    this.gpu = new ModelGpu(ctx, ownsContext, weights, precision, memoryBudget, () => this.frames, loss);
    this.host = {
      ctx,
      name,
      numClasses: config.numClasses,
      normalization: policyNormalization(inputPolicy, config),
      resample: policyResample(inputPolicy),
      outputResize: outputResizeMode(inputPolicy, config),
      nearestLabels: takesNearestLabels(inputPolicy),
      networkSize: (width, height, scale) => this.networkSize(width, height, scale),
      inputPadding: (width, height, scale) => inputPadding(inputPolicy, width, height, scale),
      preprocess: (img, scale) => this.preprocess(img, scale),
      program: (height, width, batch) => this.gpu.network(height, width, batch),
      postLogits: (height, width) => this.gpu.programs.postLogits(height, width),
      forward: (input, height, width, batch, output) => this.forwardNow(input, height, width, batch, output),
      postProgram: (key, build) => this.gpu.programs.post(key, build),
      exclusive: (work) => this.gpu.exclusive(work),
    };
    this.frames = new FrameSegmenter(this.host);
    this.stills = stillImageHost(this.host, weights);
  }

  static async load(nameOrPath: string | Uint8Array | ArrayBuffer, opts: LoadOptions = {}): Promise<DeepLabModel> {
    checkOptionNames(opts, LOAD_OPTION_NAMES, 'loadModel');
    const signal = checkSignal('loadModel', opts.signal);
    signal?.throwIfAborted();
    const weights = await loadWeights(nameOrPath, opts);
    signal?.throwIfAborted();
    return DeepLabModel.fromWeights(weights, { ...opts, paramsChecked: true });
  }

  /**
   * A model of loaded weights. With `session`, the model runs on that session's parameters as
   * they are (training shares its session this way, so evaluation sees every step).
   */
  static async fromWeights(
    weights: LoadedWeights,
    opts: ContextOptions &
      Pick<LoadOptions, 'onProgress' | 'deviceLoss' | 'onDeviceLost' | 'signal'> & {
        session?: Session;
        /** With tuning 'full': when (performance.now()) compiling and tuning must be done (src/model/load-deadline.ts). */
        loadDeadline?: number;
        /** The weights' params were checked against their network by the loader (loadWeights and the page's load do). */
        paramsChecked?: boolean;
      } = {},
  ): Promise<DeepLabModel> {
    const { ctx, owned, precision, memoryBudget } = await modelContext({ ...opts, weightsPrecision: weights.precision });
    const model = new DeepLabModel(ctx, owned, weights.name, weights.config, weights.inputPolicy, weights.classes, weights, precision, memoryBudget, { policy: opts.deviceLoss, onLost: opts.onDeviceLost });
    try {
      // Build once at the network's own size: this checks the weights against the graph and
      // uploads them, so a bad file fails here and not at the first image.
      const [h, w] = model.ownSize;
      const tuning = ctx.tuning.mode === 'full' ? `tuning (up to ${(ctx.tuning.budgetMs / 1000).toFixed(0)} s) and ` : '';
      opts.onProgress?.(`${tuning}compiling ${model.name} for ${w}x${h}`);
      if (opts.session) model.gpu.share(opts.session);
      else model.gpu.uploadWeights(weights.buildGraph({ height: h, width: w }), !!opts.paramsChecked);
      await model.gpu.compileOwnSize(h, w, opts.loadDeadline);
      // Cancelled while compiling: give back what the load made.
      opts.signal?.throwIfAborted();
    } catch (e) {
      await model.gpu.disposeWhenIdle();
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

  /** The network's own input size [height, width]: the one it is built at when loaded. */
  private get ownSize(): [number, number] {
    return this.networkSize(...this.weights.probeSize);
  }

  /** The network compiled for inference at one batch and input size. */
  compiledGraph(size: NetworkSize): CompiledGraph {
    return this.gpu.programs.compiledGraph(size);
  }

  /**
   * Times the kernel candidates of the network (at its own input size unless given) on this
   * model's adapter and stores the fastest (src/graph/tune.ts); programs compiled afterwards
   * use them.
   */
  async tune(opts: TuneOptions & Partial<NetworkSize> = {}): Promise<TuneReport> {
    checkSignal('tune', opts.signal);
    const [h, w] = this.ownSize;
    const size = { batch: opts.batch ?? 1, height: opts.height ?? h, width: opts.width ?? w };
    return this.gpu.exclusive(() => tuneGraph(this.ctx, this.compiledGraph(size).graph, opts));
  }

  /**
   * GPU bytes this model holds, by what holds them (ModelMemory); dispose() gives `total` back.
   * The context's pool of idle buffers is shared by the models on it and counted apart.
   */
  memory(): ModelMemory {
    return this.gpu.memory();
  }

  /** Frames are prepared by the RGB frame kernels: a network of other input channels takes images on the host. */
  private assertRgbFrames(what: string): void {
    const channels = this.config.inChannels ?? 3;
    if (channels !== 3) throw new Error(`${what}: ${this.name} takes ${channels} input channels; frames on the GPU are RGB only: pass the image's pixels (an RgbImage) instead`);
  }

  /** Normalised NHWC network input for an image. */
  preprocess(img: StillImage, scale = 1): { input: Float32Array; height: number; width: number } {
    return networkInput(this.inputPolicy, this.config, img, scale);
  }

  /**
   * Raw network logits [N,h,w,classes] for an already normalised input of N images (stays on
   * the GPU: a view of the program's buffer, valid until the next forward pass at that size).
   */
  async forward(input: Float32Array, height: number, width: number, batch = 1): Promise<GpuTensor> {
    this.gpu.assertUsable();
    return this.gpu.exclusive(() => this.forwardNow(input, height, width, batch));
  }

  /** forward(), inside a turn of the context's queue (the input may be a tensor on the GPU); `output` 'logits_raw' is the head's own logits where segment() reads them. */
  private async forwardNow(input: RunInput, height: number, width: number, batch = 1, output: PostLogits['name'] = 'logits'): Promise<GpuTensor> {
    const exec = await this.gpu.network(height, width, batch);
    const out = await exec.runOnGpu({ image: input });
    return out.get(output)!;
  }

  /**
   * The network's own output for a normalised NHWC input of N images, read back in the same
   * submission: [N,h,w,classes] logits at the input's size; a binary model's one channel z, as
   * smp's forward gives; an ONNX file's output as onnxruntime gives it, at its own size (NHWC).
   */
  async forwardToHost(input: Float32Array, height: number, width: number, batch = 1): Promise<Float32Array> {
    this.gpu.assertUsable();
    checkNetworkInput(input, height, width, batch, 'forwardToHost', this.config.inChannels ?? 3);
    const output = this.gpu.programs.ownOutput(height, width);
    const logits = await this.gpu.exclusive(async () => {
      const exec = await this.gpu.network(height, width, batch);
      return (await exec.run({ image: input })).get(output) as Float32Array;
    });
    return ownOutput(logits, this.config.binary ?? false);
  }

  /**
   * Where the forward pass's time goes at one network size: each layer's GPU time, the whole
   * pass's, and a plain run's host time (src/graph/profile.ts). Timed with GPU timestamps where
   * the context has them (`GpuContext.create({ timestamps: true })`, passed as `ctx` to
   * loadModel), else (or with `timing: 'host'`) each layer's submission on the host's clock.
   */
  async profile(input: Float32Array, height: number, width: number, repeats = 5, timing?: ProgramProfile['timing']): Promise<ProgramProfile> {
    this.gpu.assertUsable();
    const how = timing ?? (this.ctx.hasTimestamps ? 'timestamps' : 'host');
    const profiler = how === 'timestamps' ? profileProgram : profileProgramOnHost;
    return this.gpu.exclusive(async () => profiler(this.ctx, await this.gpu.network(height, width), { image: input }, repeats));
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
      this.gpu.assertUsable();
      this.assertRgbFrames('segment');
      const include = checkFrameOptions(opts);
      return this.gpu.exclusive(async () => (await this.frames.segment(image, opts.scales?.[0] ?? 1, include))!);
    }
    return (await this.segmentBatch([checkedImageInput(image, 'segment')], opts))[0];
  }

  /**
   * A frame's class map left on the GPU: written into `classes`, a [1, height, width] u32 tensor
   * at the frame's size, nothing read back (the overlay renderer draws from it). The copy into
   * `classes` is queued when this resolves; work submitted afterwards sees it.
   */
  async segmentFrameInto(frame: FrameInput, classes: GpuTensor, opts: Pick<SegmentOptions, 'scales'> = {}): Promise<void> {
    this.gpu.assertUsable();
    if (!isFrameInput(frame)) throw new Error('segmentFrameInto: the frame must be a GPUTexture, VideoFrame, <video>, ImageBitmap or canvas');
    this.assertRgbFrames('segmentFrameInto');
    checkFrameOptions(opts);
    await this.gpu.exclusive(() => this.frames.segment(frame, opts.scales?.[0] ?? 1, new Set(), classes));
  }

  /**
   * Several images. Images that give the network the same input size run together, up to
   * `opts.batchSize` per forward pass; each image's logits are then resized to its own size.
   * Multi-scale and flipped inference average each image's passes on the GPU.
   */
  async segmentBatch(images: readonly ImageInput[], opts: SegmentOptions = {}): Promise<SegmentResult[]> {
    this.gpu.assertUsable();
    if (!Array.isArray(images)) throw new Error(`segmentBatch: images must be an array of images, got ${describeValue(images)}`);
    if (images.some((image) => isFrameInput(image))) {
      throw new Error('segmentBatch: frames (GPUTexture, VideoFrame, <video>, ...) are segmented one at a time with segment()');
    }
    checkSegmentOptionTypes(opts, 'segmentBatch');
    const plan = checkStillImageOptions(opts);
    const checked = images.map((image, i) => checkedImageInput(image, images.length > 1 ? `segmentBatch: images[${i}]` : 'segment'));
    opts.signal?.throwIfAborted();
    const imgs = await toStillImages(this.weights, checked, opts);
    return segmentStillImages(this.stills, imgs, opts, plan);
  }

  /** The parameters and statistics as they are on the GPU, by checkpoint name (our layouts). */
  async parameters(): Promise<HostParams> {
    this.gpu.assertUsable();
    const [h, w] = this.ownSize;
    return this.gpu.session.downloadAll(this.weights.buildGraph({ height: h, width: w }));
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
    this.gpu.assertUsable();
    saveCheckpoint(path, this.weights, await this.parameters());
  }

  /**
   * Renews the context's device if it was lost, as the model's next call would (deviceLoss
   * 'recover'), or rejects with the loss ('fail'): for a caller that holds GPU resources of its own
   * on the model's context (segmentStream) and makes them again on the new device.
   */
  async ensureDevice(): Promise<void> {
    this.gpu.assertUsable();
    await this.gpu.exclusive(async () => {});
  }

  /**
   * Releases every GPU buffer the model holds (and the device, when the model created it). A call
   * already running finishes first; calls still queued fail as used after dispose().
   */
  dispose(): void {
    this.gpu.dispose();
  }
}

/**
 * A model by registry name or weights path, or from a weights file's bytes (as the page's
 * loadModel; `opts.name` names it); with no argument, the default model (DEFAULT_MODEL).
 */
export function loadModel(nameOrPath: string | Uint8Array | ArrayBuffer = DEFAULT_MODEL, opts: LoadOptions = {}): Promise<DeepLabModel> {
  return DeepLabModel.load(nameOrPath, opts);
}
