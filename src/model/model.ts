// The library's main object: a loaded DeepLabv3 model that segments images on the GPU.
//
//   const model = await loadModel('mobilenetv2-pascal-257');
//   const { classes, width, height } = await model.segment('photo.jpg');
//   model.dispose();
//
// A model holds its weights on its device once and makes a program per batch and input size on
// demand (on WebGPU, model-programs.ts). segment() reproduces the reference pipelines: the
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
import { type CompiledGraph, compile } from '../graph/compile.js';
import type { HostParams } from '../graph/params.js';
import { type ProgramProfile, profileProgram, profileProgramOnHost } from '../graph/profile.js';
import type { StillImage } from '../io/band-image.js';
import { networkInput, networkInputSize } from './input-policy.js';
import { type PostLogits, ownOutput } from './post-logits.js';
import type { DeepLabConfig } from './networks/config.js';
import { type LoadedWeights, loadWeights, saveCheckpoint } from './loading/load-weights.js';
import type { InputPolicy, LoadOptions, Precision } from './loading/options.js';
import { LOAD_OPTION_NAMES } from './loading/options.js';
import type { NetworkSize } from './networks/deeplab.js';
import { type ClassSet, classPalette } from './voc.js';
import { type TuneOptions, type TuneReport, tuneGraph } from '../graph/tune.js';
import { type FrameInput, isFrameInput } from '../io/frame-source.js';
import { ModelGpu } from './devices/webgpu/model-gpu.js';
import type { DeviceInput, DeviceName, DeviceTensor, FramePath, ModelDevice, ModelTraining } from './devices/device.js';
import { type ImageInput, type SegmentOptions, type SegmentResult, checkFrameOptions, checkStillImageOptions } from './segment-options.js';
import { type SegmentHost, segmentHost } from './segment-host.js';
import { toStillImages } from './band-input.js';
import { checkSignal } from '../util/option-keys.js';
import { checkNetworkInput, checkOptionNames, checkSegmentOptionTypes, checkedImageInput, describeValue } from './input-check.js';
import { type StillImageHost, segmentStillImages, stillImageHost } from './still-images.js';
import type { ModelMemory } from './memory.js';
import { type DeviceOptions, type OpenedDevice, openDevice } from './devices/open-device.js';
import { NetworkGraphs } from './network-graphs.js';

export { PAPER_SCALES, DEFAULT_BATCH_SIZE } from './segment-options.js';
export type { ImageInput, SegmentOptions, SegmentOutput, SegmentResult } from './segment-options.js';
export type { DeviceLossPolicy, DeviceLostEvent, InputPolicy, LoadOptions } from './loading/options.js';
export type { ModelMemory } from './memory.js';
export type { FrameInput, ExternalFrame } from '../io/frame-source.js';

export class DeepLabModel {
  /** Where the model runs: its network, post-processing and tensors (src/model/devices/device.ts). */
  private readonly device: ModelDevice;
  /** Storage precision of the network's activations and weights. */
  readonly precision: Precision;
  /** What the ways of segmenting use of this model. */
  private readonly host: SegmentHost;
  /** Frames: on the GPU through its frame kernels, on the CPU as still images. */
  private readonly frames: FramePath;
  /** The still-image modes' view of this model. */
  private readonly stills: StillImageHost;

  private constructor(
    opened: OpenedDevice,
    private readonly weights: LoadedWeights,
    /** The network's graphs by size. */
    private readonly graphs: NetworkGraphs,
  ) {
    const { device } = opened;
    this.device = device;
    this.precision = opened.precision;
    this.host = segmentHost(device, weights, {
      networkSize: (width, height, scale) => this.networkSize(width, height, scale),
      preprocess: (img, scale) => this.preprocess(img, scale),
      forward: (input, height, width, batch, output) => this.forwardNow(input, height, width, batch, output),
    });
    this.stills = stillImageHost(this.host, weights);
    this.frames = opened.framePath(this.host, (image, scale, include) =>
      segmentStillImages(this.stills, [image], {}, { include, scales: [scale], batchSize: 1, averaged: false, tiled: false }).then((r) => r[0]),
    );
  }

  /** The model's name (the registry's, or the file's). */
  get name(): string {
    return this.weights.name;
  }

  get config(): DeepLabConfig {
    return this.weights.config;
  }

  get inputPolicy(): InputPolicy {
    return this.weights.inputPolicy;
  }

  /** Class names and colours (from the checkpoint, VOC's by default). */
  get classes(): ClassSet {
    return this.weights.classes;
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
  static async fromWeights(weights: LoadedWeights, opts: DeviceOptions = {}): Promise<DeepLabModel> {
    const graphs = new NetworkGraphs(weights);
    const ownSize = networkInputSize(weights.inputPolicy, ...weights.probeSize);
    return new DeepLabModel(await openDevice(weights, graphs, ownSize, opts), weights, graphs);
  }

  /** How the model trains on its device (fineTune). */
  get training(): ModelTraining {
    return this.device.training();
  }

  /** The device the model runs on: 'webgpu' or 'cpu'. */
  get deviceName(): DeviceName {
    return this.device.name;
  }

  /** The device in words, for logs and reports: 'WebGPU on <adapter>', 'CPU (onnxruntime-node 1.30.0)'. */
  get deviceLabel(): string {
    return this.device.label;
  }

  /** The GPU side of a model on WebGPU; what only WebGPU does is refused on another device, naming it. */
  private gpuOnly(what: string): ModelGpu {
    if (this.device instanceof ModelGpu) return this.device;
    throw new Error(`${what}: ${this.name} runs on the CPU (device '${this.device.name}'); ${what} needs a model loaded with device 'webgpu'`);
  }

  /** The GPU context (a model on WebGPU only). */
  get ctx(): GpuContext {
    return this.gpuOnly('ctx').ctx;
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
    return compile(this.graphs.graph(size), { mode: 'inference', precision: this.precision });
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
    const gpu = this.gpuOnly('tune');
    return gpu.exclusive(() => tuneGraph(gpu.ctx, this.compiledGraph(size).graph, opts));
  }

  /**
   * GPU bytes this model holds, by what holds them (ModelMemory); dispose() gives `total` back.
   * The context's pool of idle buffers is shared by the models on it and counted apart. A model
   * on the CPU holds no GPU memory: every count is 0.
   */
  memory(): ModelMemory {
    return this.device.memory();
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
    const gpu = this.gpuOnly('forward');
    gpu.assertUsable();
    return gpu.exclusive(async () => (await this.forwardNow(input, height, width, batch)) as GpuTensor);
  }

  /** forward(), inside a turn of the device (the input may be a tensor there); `output` 'logits_raw' is the head's own logits where segment() reads them. */
  private async forwardNow(input: DeviceInput, height: number, width: number, batch = 1, output: PostLogits['name'] = 'logits'): Promise<DeviceTensor> {
    const exec = await this.device.network(height, width, batch);
    const out = await exec.runKept({ image: input });
    return out.get(output)!;
  }

  /**
   * The network's own output for a normalised NHWC input of N images, read back in the same
   * submission: [N,h,w,classes] logits at the input's size; a binary model's one channel z, as
   * smp's forward gives; an ONNX file's output as onnxruntime gives it, at its own size (NHWC).
   */
  async forwardToHost(input: Float32Array, height: number, width: number, batch = 1): Promise<Float32Array> {
    this.device.assertUsable();
    checkNetworkInput(input, height, width, batch, 'forwardToHost', this.config.inChannels ?? 3);
    const output = this.device.ownOutput(height, width);
    const logits = await this.device.exclusive(async () => {
      const exec = await this.device.network(height, width, batch);
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
    const gpu = this.gpuOnly('profile');
    gpu.assertUsable();
    const how = timing ?? (gpu.ctx.hasTimestamps ? 'timestamps' : 'host');
    const profiler = how === 'timestamps' ? profileProgram : profileProgramOnHost;
    return gpu.exclusive(async () => profiler(gpu.ctx, await gpu.program(height, width), { image: input }, repeats));
  }

  /**
   * One image, or one frame (a GPUTexture; in the browser also a VideoFrame, <video>, ImageBitmap
   * or canvas). On WebGPU a frame's pixels never reach the CPU, only its class map (and what
   * `include` asks for) comes back; on the CPU a page's frame is read as an image.
   */
  async segment(image: ImageInput | FrameInput, opts: SegmentOptions = {}): Promise<SegmentResult> {
    checkSegmentOptionTypes(opts, 'segment');
    opts.signal?.throwIfAborted();
    if (isFrameInput(image)) {
      this.device.assertUsable();
      this.assertRgbFrames('segment');
      const include = checkFrameOptions(opts);
      return this.frames.segment(image, opts.scales?.[0] ?? 1, include);
    }
    return (await this.segmentBatch([checkedImageInput(image, 'segment')], opts))[0];
  }

  /**
   * A frame's class map left on the GPU: written into `classes`, a [1, height, width] u32 tensor
   * at the frame's size, nothing read back (the overlay renderer draws from it). The copy into
   * `classes` is queued when this resolves; work submitted afterwards sees it. WebGPU only.
   */
  async segmentFrameInto(frame: FrameInput, classes: GpuTensor, opts: Pick<SegmentOptions, 'scales'> = {}): Promise<void> {
    this.gpuOnly('segmentFrameInto').assertUsable();
    if (!isFrameInput(frame)) throw new Error('segmentFrameInto: the frame must be a GPUTexture, VideoFrame, <video>, ImageBitmap or canvas');
    this.assertRgbFrames('segmentFrameInto');
    checkFrameOptions(opts);
    await this.frames.segmentInto(frame, classes, opts.scales?.[0] ?? 1);
  }

  /**
   * Several images. Images that give the network the same input size run together, up to
   * `opts.batchSize` per forward pass; each image's logits are then resized to its own size.
   * Multi-scale and flipped inference average each image's passes on the model's device.
   */
  async segmentBatch(images: readonly ImageInput[], opts: SegmentOptions = {}): Promise<SegmentResult[]> {
    this.device.assertUsable();
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

  /** The parameters and statistics as the model's device holds them, by checkpoint name (our layouts). */
  async parameters(): Promise<HostParams> {
    this.device.assertUsable();
    const [h, w] = this.ownSize;
    return this.device.parameters(this.weights.buildGraph({ height: h, width: w }));
  }

  /** The loaded weights this model was made from (config, input policy, classes, host params). */
  get loadedWeights(): LoadedWeights {
    return this.weights;
  }

  /**
   * Saves the weights as the model's device holds them (unfolded, our layouts) and the config in
   * our checkpoint format (.safetensors).
   */
  async save(path: string): Promise<void> {
    this.device.assertUsable();
    saveCheckpoint(path, this.weights, await this.parameters());
  }

  /**
   * Renews the context's device if it was lost, as the model's next call would (deviceLoss
   * 'recover'), or rejects with the loss ('fail'): for a caller that holds GPU resources of its own
   * on the model's context (segmentStream) and makes them again on the new device.
   */
  async ensureDevice(): Promise<void> {
    this.device.assertUsable();
    await this.device.exclusive(async () => {});
  }

  /**
   * Releases everything the model holds (on WebGPU every GPU buffer, and the device when the
   * model created it). A call already running finishes first; calls still queued fail as used
   * after dispose().
   */
  dispose(): void {
    this.device.dispose();
  }
}

/**
 * A model by registry name or weights path, or from a weights file's bytes (as the page's
 * loadModel; `opts.name` names it); with no argument, the default model (DEFAULT_MODEL).
 */
export function loadModel(nameOrPath: string | Uint8Array | ArrayBuffer = DEFAULT_MODEL, opts: LoadOptions = {}): Promise<DeepLabModel> {
  return DeepLabModel.load(nameOrPath, opts);
}
