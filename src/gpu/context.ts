// The GPU runtime: one adapter, one device, and the caches that hang off it.
//
// Everything that touches WebGPU goes through a GpuContext so that buffers are counted (leak
// checks), pipelines are cached by specialisation, and validation / out-of-memory errors come
// back as JavaScript errors that name the kernel and shapes instead of console noise.
import { importOptional } from '../util/optional-package.js';
import { PipelineCache } from './pipeline-cache.js';
import { BufferPool } from './buffer-pool.js';
import { GpuError } from './errors.js';
import { KernelTuning, type TuneMode, adapterIdentity, tuneModeFrom } from './tuning.js';
import type { WorkTimer } from './work-timer.js';
import { readFlag } from '../util/flags.js';
import { EMULATED_MATRIX_CONFIGS, type KernelLimits, type MatrixConfig } from './kernel-limits.js';
import { type KernelOptions, type SplitKMode, splitKMode } from './kernel-options.js';
import { type WebGpuImplementation, webgpuImplementation } from './implementation.js';
import { noteAdapterKind } from './host-poll.js';

export { GpuError } from './errors.js';

export interface GpuContextOptions {
  /** Dawn toggles / options passed to `create()` (e.g. 'backend=vulkan'). */
  dawnOptions?: string[];
  /**
   * Ask for the adapter's timestamp-query feature when present (benchmarks, tuning). Default: on
   * under wgpu (Deno, Firefox), off elsewhere. wgpu settles `onSubmittedWorkDone` about 11 ms
   * after it is awaited (11.4 ms for an empty submission in Deno on lavapipe, against 0.1-0.2 ms
   * for Dawn), so timing on the host there measures the wait, not the work: tuning would choose
   * by noise.
   */
  timestamps?: boolean;
  powerPreference?: GPUPowerPreference;
  /**
   * Split-K for convolutions with few output tiles and long reductions: 'auto' (on hardware
   * adapters only; default, or DEEPLAB_SPLIT_K), 'never', or 'always' (tests, benchmarks).
   */
  splitK?: SplitKMode;
  /**
   * Kernel choices measured on this adapter (src/gpu/tuning.ts): 'off', 'cached' (default, or
   * DEEPLAB_TUNE) or 'full' (time the candidates of layers not yet tuned when a program is
   * compiled).
   */
  tune?: TuneMode;
  /**
   * Whether kernels may use the adapter's subgroups where they have a variant for them (default
   * true; DEEPLAB_SUBGROUPS=off turns them off): false runs every kernel's path for adapters
   * without subgroups (tests and benchmarks compare the two).
   */
  subgroups?: boolean;
  /**
   * Whether convolutions may multiply on the adapter's subgroup matrices (tensor cores) where
   * Dawn offers `chromium-experimental-subgroup-matrix` (default true; DEEPLAB_SUBGROUP_MATRIX=off
   * turns them off). Dawn offers the feature only with its `allow_unsafe_apis` toggle, which
   * this turns on (and `vulkan_enable_f16_on_nvidia`, without which NVIDIA's Vulkan driver has
   * no shader-f16). Each shape is checked against the CPU reference before any layer uses it.
   */
  subgroupMatrix?: boolean;
  /**
   * The device's limits: 'adapter' (default, or DEEPLAB_DEVICE_LIMITS) asks for all the adapter
   * offers for big tensors and wide workgroups; 'default' asks for none, so the device has
   * WebGPU's default limits, as Safari and phones may give (tests run the kernels so).
   */
  limits?: 'adapter' | 'default';
}

/** The feature's name in Dawn (not yet in @webgpu/types). */
const SUBGROUP_MATRIX_FEATURE = 'chromium-experimental-subgroup-matrix' as GPUFeatureName;

/** An on/off option: its value where given, else the environment variable `env` ('on' / 'off'), else on. */
function onOffOption(value: boolean | undefined, env: 'DEEPLAB_SUBGROUPS' | 'DEEPLAB_SUBGROUP_MATRIX'): boolean {
  return value ?? readFlag(env) === 'on';
}

/** The subgroup-matrix shapes of `adapter` the matrix kernel can use: f32 or f16 inputs (f16 with shader-f16), f32 sums. */
function offeredMatrixConfigs(adapter: GPUAdapter, hasHalf: boolean): MatrixConfig[] {
  const offered = adapterInfoOf(adapter).subgroupMatrixConfigs ?? [];
  const out: MatrixConfig[] = [];
  for (const c of offered) {
    if (c.resultComponentType !== 'f32' || !(c.componentType === 'f32' || (c.componentType === 'f16' && hasHalf))) continue;
    const config: MatrixConfig = { component: c.componentType, m: c.M, n: c.N, k: c.K };
    if (!out.some((o) => o.component === config.component && o.m === config.m && o.n === config.n && o.k === config.k)) out.push(config);
  }
  return out;
}

/** Contexts created and not yet destroyed: each holds a device, its pipelines and its buffers. */
const liveContexts = new Set<GpuContext>();

/** The contexts created and not yet destroyed (the tests' leak check reads them). */
export function liveGpuContexts(): GpuContext[] {
  return [...liveContexts];
}
/**
 * What the adapter says of itself, every field optional: Safari 26.0.1 has no `adapter.info` at
 * all, and Firefox gives empty strings. Everything that reads the info reads it through this.
 */
type AdapterInfoFields = Partial<Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'>> & {
  isFallbackAdapter?: boolean;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  subgroupMatrixConfigs?: { componentType: string; resultComponentType: string; M: number; N: number; K: number }[];
};

export function adapterInfoOf(adapter: Pick<GPUAdapter, 'info'>): AdapterInfoFields {
  return ((adapter as { info?: unknown }).info ?? {}) as AdapterInfoFields;
}

/** Whether an adapter is a CPU implementation (lavapipe / llvmpipe, SwiftShader, WARP). */
export function isSoftwareAdapter(adapter: Pick<GPUAdapter, 'info'>): boolean {
  const info = adapterInfoOf(adapter);
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return !!info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|software|warp/i.test(text);
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** One line for tables and logs. */
  name: string;
}

let globalsInstalled = false;
/**
 * Dawn's bindings in Node (in the page, the browser's navigator.gpu: scripts/browser-plugin.mjs),
 * imported on first use since a page-only install does not have them. The GPU* constants
 * (GPUBufferUsage, GPUMapMode, ...) live on globalThis in browsers; dawn.node exports them
 * separately.
 */
async function webgpuModule(): Promise<typeof import('webgpu')> {
  const module = await importOptional('webgpu', 'the GPU in Node', () => import('webgpu'));
  if (!globalsInstalled) {
    Object.assign(globalThis, module.globals);
    globalsInstalled = true;
  }
  return module;
}


/** Dawn's instances by their flags (dawnFlags), each made once and kept for the process's life. */
const dawnInstances = new Map<string, GPU>();

/**
 * The WebGPU instance for a set of Dawn flags: one per set, shared by every context made with
 * it and never dropped. Dawn frees an instance when V8 collects its object; if a device on it
 * was destroyed with queued work (a load refused after uploading its weights), that teardown
 * runs at some later collection, and when it falls while another device compiles its
 * pipelines the process aborts (`std::system_error: Invalid argument`, a failed mutex
 * assertion) or the compilation never ends. Instances kept alive are never torn down.
 */
function dawnInstance(create: (flags: string[]) => GPU, flags: string[]): GPU {
  const key = flags.join('\n');
  let gpu = dawnInstances.get(key);
  if (!gpu) dawnInstances.set(key, (gpu = create(flags)));
  return gpu;
}

export function describeAdapter(adapter: Pick<GPUAdapter, 'info'>): AdapterDescription {
  const info = adapterInfoOf(adapter);
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const device = info.device ?? '';
  const description = info.description ?? '';
  const name = [description || device, vendor && `(${vendor}${architecture ? ' ' + architecture : ''})`]
    .filter(Boolean)
    .join(' ') || (info.isFallbackAdapter ? 'unknown fallback adapter' : 'unknown adapter');
  return { vendor, architecture, device, description, name };
}

/**
 * The flags for Dawn's `create()`. Dawn rounds timestamps down to multiples of 65.5 us unless
 * told not to (a guard against timing attacks in browsers); a benchmark asking for timestamps
 * wants them exact.
 */
function dawnFlags(options: GpuContextOptions, subgroupMatrix: boolean): string[] {
  const flags = [...(options.dawnOptions ?? [])];
  if (subgroupMatrix) {
    const toggles = 'allow_unsafe_apis,vulkan_enable_f16_on_nvidia';
    const i = flags.findIndex((f) => f.startsWith('enable-dawn-features='));
    if (i >= 0) flags[i] = `${flags[i]},${toggles}`;
    else flags.push(`enable-dawn-features=${toggles}`);
  }
  if (options.timestamps && !flags.some((f) => f.startsWith('disable-dawn-features='))) {
    flags.push('disable-dawn-features=timestamp_quantization');
  }
  return flags;
}

/** What a device is asked for with: create()'s options, kept so that renew() asks alike. */
interface DeviceRecipe {
  powerPreference: GPUPowerPreference;
  timestamps: boolean;
  subgroupMatrix: boolean;
  limits: 'adapter' | 'default';
}

/** An adapter and a device on it with the features and limits `recipe` asks for. */
async function requestGpuDevice(gpu: GPU, recipe: DeviceRecipe): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  const adapter = await gpu.requestAdapter({ powerPreference: recipe.powerPreference });
  if (!adapter) {
    // In a browser (or Deno) the GPU is navigator.gpu: no driver of ours to install there.
    const inBrowser = typeof navigator !== 'undefined' && (navigator as { gpu?: GPU }).gpu === gpu;
    throw new GpuError(
      inBrowser
        ? 'No WebGPU adapter could be created: this browser has WebGPU turned off, or no GPU it allows (blocklisted drivers give none).'
        : 'No WebGPU adapter could be created. On a machine without a GPU install a Vulkan driver (Mesa >= 23 lavapipe: run `npm run setup`).',
      'unavailable',
    );
  }
  const requiredFeatures: GPUFeatureName[] = recipe.timestamps && adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  // Half precision and subgroups cost nothing unless a kernel asks for them.
  if (adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups');
  if (recipe.subgroupMatrix && adapter.features.has('subgroups') && adapter.features.has(SUBGROUP_MATRIX_FEATURE)) requiredFeatures.push(SUBGROUP_MATRIX_FEATURE);
  const l = adapter.limits;
  // Ask for everything the adapter offers for big tensors: the defaults (128 MiB bindings,
  // 256 MiB buffers) are far below what real GPUs can do.
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: recipe.limits === 'default' ? {} : {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  });
  return { adapter, device };
}

export class GpuContext {
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  /**
   * Buffers created through this context and not yet destroyed, each with the serial number of
   * its latest use (creation, or the pool handing it out again) and what that use calls it.
   */
  private readonly liveBuffers = new Map<GPUBuffer, { serial: number; label: string }>();
  /** Buffer uses so far: the serial number of the next one. */
  private bufferUses = 0;
  private lostInfo: GPUDeviceLostInfo | null = null;
  /** A CPU implementation: kernels keep the shapes tuned for it. */
  readonly isSoftware: boolean;
  /** The device has `shader-f16`: half-precision programs can run (src/graph/half.ts). */
  readonly hasHalf: boolean;
  /** The WebGPU implementation (Dawn, wgpu, WebKit): its compiler shapes which kernels run fastest. */
  readonly implementation: WebGpuImplementation = webgpuImplementation();
  /** Kernel choices that tests and benchmarks may change (kernel-options.ts). */
  readonly kernelOptions: KernelOptions;
  /**
   * The adapter's subgroup-matrix shapes that passed the kernels' check (recordMatrixCheck), and
   * those that failed it with the reason; null until the check has run, and until then none is used.
   */
  private matrixCheck: { passed: MatrixConfig[]; failed: { config: MatrixConfig; reason: string }[] } | null = null;
  private destroyed = false;
  private generationValue = 0;
  private renewing: Promise<void> | null = null;

  private constructor(
    readonly gpu: GPU,
    /** How the device was asked for: renew() asks again so. */
    private readonly recipe: DeviceRecipe,
    private adapterValue: GPUAdapter,
    private deviceValue: GPUDevice,
    readonly adapterInfo: AdapterDescription,
    readonly hasTimestamps: boolean,
    kernelOptions: Omit<KernelOptions, 'emulateMatrix'>,
    /** Kernel choices measured on this adapter, and whether to measure more (tests swap in their own store). */
    public tuning: KernelTuning,
  ) {
    this.isSoftware = isSoftwareAdapter(adapterValue);
    noteAdapterKind(this.isSoftware);
    this.hasHalf = deviceValue.features.has('shader-f16');
    this.kernelOptions = { ...kernelOptions, emulateMatrix: false };
    this.pipelines = new PipelineCache(this);
    this.pool = new BufferPool(this);
    liveContexts.add(this);
    this.watchLoss(deviceValue);
  }

  static async create(options: GpuContextOptions = {}): Promise<GpuContext> {
    const { create } = await webgpuModule();
    const splitK = splitKMode(options.splitK);
    const subgroups = onOffOption(options.subgroups, 'DEEPLAB_SUBGROUPS');
    const subgroupMatrix = onOffOption(options.subgroupMatrix, 'DEEPLAB_SUBGROUP_MATRIX');
    const tune = options.tune ?? readFlag('DEEPLAB_TUNE');
    tuneModeFrom(tune, 'tune');
    const limits = options.limits ?? readFlag('DEEPLAB_DEVICE_LIMITS');
    if (limits !== 'adapter' && limits !== 'default') throw new Error(`GpuContext: limits must be 'adapter' or 'default', got '${String(limits)}'`);
    const gpu = dawnInstance(create, dawnFlags(options, subgroupMatrix));
    const recipe: DeviceRecipe = { powerPreference: options.powerPreference ?? 'high-performance', timestamps: options.timestamps ?? webgpuImplementation() === 'wgpu', subgroupMatrix, limits };
    const { adapter, device } = await requestGpuDevice(gpu, recipe);
    const described = describeAdapter(adapter);
    const tuning = await KernelTuning.open(adapterIdentity(described, isSoftwareAdapter(adapter)), tune);
    return new GpuContext(gpu, recipe, adapter, device, described, device.features.has('timestamp-query'), { splitK, subgroups }, tuning);
  }

  /**
   * After the device was lost (not destroyed): a new device on a new adapter, asked for as the
   * lost one was, in place of it. Everything made on the lost device (buffers, pipelines, checks)
   * is forgotten, and `generation` counts the renewal: whatever holds GPU state compares it
   * with the generation it was made at and rebuilds. Concurrent callers share one renewal.
   */
  renew(): Promise<void> {
    if (this.destroyed) return Promise.reject(new GpuError('GpuContext used after destroy()', 'device-lost'));
    if (!this.lostInfo) return Promise.resolve();
    this.renewing ??= (async () => {
      try {
        const { adapter, device } = await requestGpuDevice(this.gpu, this.recipe);
        const missing = [...this.deviceValue.features].filter((f) => !device.features.has(f));
        if (missing.length) {
          device.destroy();
          throw new GpuError(`the GPU device was lost, and the new device lacks ${missing.join(', ')}, which the lost one had`, 'device-lost');
        }
        // The lost device's buffers and pipelines are gone with it.
        this.pool.forget();
        this.pipelines.clear();
        this.liveBuffers.clear();
        this.matrixCheck = null;
        [this.adapterValue, this.deviceValue, this.lostInfo] = [adapter, device, null];
        this.watchLoss(device);
        this.generationValue++;
      } finally {
        this.renewing = null;
      }
    })();
    return this.renewing;
  }

  /** How many times the device was renewed after a loss (renew()). */
  get generation(): number {
    return this.generationValue;
  }

  get device(): GPUDevice {
    return this.deviceValue;
  }

  get adapter(): GPUAdapter {
    return this.adapterValue;
  }

  private watchLoss(device: GPUDevice): void {
    void device.lost.then((info) => {
      if (device !== this.deviceValue) return;
      this.lostInfo = info;
      // An intentional destroy() is not news; anything else is.
      if (!this.destroyed) console.error(`deeplab: GPU device lost (${info.reason}): ${info.message}`);
    });
  }

  /**
   * The subgroup-matrix shapes (tensor cores) the device offers, unverified: the kernels layer
   * checks each against the CPU reference before any layer uses it (src/kernels/conv2d/gemm/
   * matrix-check.ts, run when a program is created) and records the result here.
   */
  get offeredMatrixConfigs(): MatrixConfig[] {
    return this.device.features.has(SUBGROUP_MATRIX_FEATURE) ? offeredMatrixConfigs(this.adapter, this.hasHalf) : [];
  }

  /** Whether the offered subgroup-matrix shapes have been checked (none is used before). */
  get matrixChecked(): boolean {
    return this.matrixCheck !== null;
  }

  /** Keeps the shapes that passed the kernels' check for use; the failed ones are reported by subgroupMatrices. */
  recordMatrixCheck(passed: readonly MatrixConfig[], failed: readonly { config: MatrixConfig; reason: string }[]): void {
    this.matrixCheck = { passed: [...passed], failed: [...failed] };
  }

  /** Subgroup-matrix shapes (tensor cores) the adapter offered: those convolutions use, and those that failed their check. */
  get subgroupMatrices(): { used: readonly MatrixConfig[]; rejected: readonly { config: MatrixConfig; reason: string }[] } {
    return { used: this.matrixCheck?.passed ?? [], rejected: this.matrixCheck?.failed ?? [] };
  }

  /** The adapter's largest subgroup (0 where it does not say). */
  get subgroupMaxSize(): number {
    return adapterInfoOf(this.adapter).subgroupMaxSize ?? 0;
  }

  /** Subgroup-matrix shapes convolutions may use now: emulated ones in tests, else those that passed their check. */
  private get matrixLimits(): KernelLimits['matrix'] {
    if (this.kernelOptions.emulateMatrix) {
      return { configs: EMULATED_MATRIX_CONFIGS.filter((c) => c.component === 'f32' || this.hasHalf), subgroupMaxSize: this.subgroupMaxSize, emulated: true };
    }
    const passed = this.matrixCheck?.passed ?? [];
    if (!passed.length || !this.kernelOptions.subgroups) return undefined;
    return { configs: passed, subgroupMaxSize: this.subgroupMaxSize, emulated: false };
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /**
   * What kernel variants must fit (src/kernels' candidate spaces): the device's limits, and its subgroup
   * size where it has `subgroups`, the adapter reports one fixed size and kernelOptions allow
   * them (0 otherwise: a kernel that shuffles among a subgroup's lanes needs every subgroup
   * full and of a known width).
   */
  get kernelLimits(): KernelLimits {
    const l = this.device.limits;
    const info = adapterInfoOf(this.adapter);
    const fixed = info.subgroupMinSize && info.subgroupMinSize === info.subgroupMaxSize ? info.subgroupMinSize : 0;
    return {
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      subgroupSize: this.device.features.has('subgroups') && this.kernelOptions.subgroups ? fixed : 0,
      matrix: this.matrixLimits,
    };
  }

  /** Largest byte size one storage binding may have on this device. */
  get maxBindingBytes(): number {
    return Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
  }

  get isLost(): boolean {
    return this.lostInfo !== null;
  }

  /** Why the device was lost (Dawn's reason and message), or null while it is alive. */
  get lostReason(): string | null {
    return this.lostInfo && `${this.lostInfo.reason}: ${this.lostInfo.message || 'no message'}`;
  }

  /** Throws if the device is gone: every entry point calls this first. */
  assertAlive(what?: string): void {
    const prefix = what ? `${what}: ` : '';
    if (this.destroyed) throw new GpuError(`${prefix}GpuContext used after destroy()`, 'device-lost');
    if (this.lostInfo) throw new GpuError(`${prefix}GPU device lost (${this.lostReason})`, 'device-lost');
  }

  /**
   * After GPU work failed: the device-lost error naming `what` if the device is gone, else
   * null. On a lost device Dawn rejects mapAsync with a bare AbortError (no message) and
   * reports no validation error; `device.lost` settles when Dawn next processes events, which
   * the wait on the queue gives it.
   */
  async lostError(what: string): Promise<GpuError | null> {
    if (!this.lostInfo && !this.destroyed) {
      await Promise.race([this.device.lost, this.device.queue.onSubmittedWorkDone()]).catch(() => {});
    }
    try {
      this.assertAlive(what);
      return null;
    } catch (e) {
      return e as GpuError;
    }
  }

  /** Number of buffers created through this context and not yet destroyed. */
  get liveBufferCount(): number {
    return this.liveBuffers.size;
  }

  /** Bytes of the buffers created through this context and not yet destroyed (the pool's idle ones included). */
  get liveBufferBytes(): number {
    let n = 0;
    for (const b of this.liveBuffers.keys()) n += b.size;
    return n;
  }

  /**
   * Buffers alive beyond what the pool keeps idle for reuse: those tensors, programs, kernels'
   * scratch and read-backs hold now. Back to its count once they are released.
   */
  get heldBufferCount(): number {
    return this.liveBuffers.size - this.pool.idleCount;
  }

  /** How many times buffers were created or handed out again: a mark for heldBufferLabels. */
  get bufferSerial(): number {
    return this.bufferUses;
  }

  /** The labels of the held buffers put to use since `serial` (all by default), for a report of what was left alive. */
  heldBufferLabels(serial = 0): string[] {
    return [...this.liveBuffers].filter(([b, use]) => use.serial >= serial && !this.pool.isIdle(b)).map(([, use]) => use.label);
  }

  /** Records that the pool handed `buffer` out again, as `label`. */
  reuseBuffer(buffer: GPUBuffer, label?: string): void {
    const use = this.liveBuffers.get(buffer);
    if (use) this.liveBuffers.set(buffer, { serial: this.bufferUses++, label: label ?? use.label });
  }

  createBuffer(size: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    this.assertAlive();
    if (size > this.device.limits.maxBufferSize) {
      throw new GpuError(
        `${label ?? 'buffer'}: ${size} bytes exceeds the device's maxBufferSize (${this.device.limits.maxBufferSize})`,
        'limit',
      );
    }
    // WebGPU wants sizes that are multiples of 4 for copies and mapping.
    const padded = Math.max(4, Math.ceil(size / 4) * 4);
    const buffer = this.device.createBuffer({ size: padded, usage, label });
    this.liveBuffers.set(buffer, { serial: this.bufferUses++, label: label || 'unlabelled' });
    return buffer;
  }

  holds(buffer: GPUBuffer): boolean {
    return this.liveBuffers.has(buffer);
  }

  destroyBuffer(buffer: GPUBuffer): void {
    buffer.destroy();
    this.liveBuffers.delete(buffer);
  }

  /**
   * Runs `fn` inside validation and out-of-memory error scopes and throws the first error
   * caught, prefixed with `what` (kernel name and shapes), so a bad dispatch is reported
   * where it happened.
   */
  async checked<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    this.assertAlive();
    const device = this.device;
    device.pushErrorScope('internal');
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let result: { value: T } | { error: unknown };
    try {
      result = { value: await fn() };
    } catch (error) {
      result = { error };
    }
    // Popped in order, awaited together: one wait for the device's answers instead of three in turn.
    const [validation, oom, internal] = await Promise.all([device.popErrorScope(), device.popErrorScope(), device.popErrorScope()]);
    // A lost device explains whatever else went wrong, and its results (a read may come back
    // as zeros) are not to be trusted even where nothing failed.
    const lost = 'error' in result || this.lostInfo ? await this.lostError(what) : null;
    if (lost) throw lost;
    const first = validation ?? oom ?? internal;
    if (first) {
      const kind = validation ? 'validation' : oom ? 'out-of-memory' : 'internal';
      throw new GpuError(`${what}: WebGPU ${kind} error: ${first.message}`, kind);
    }
    if ('error' in result) throw result.error;
    return result.value;
  }

  /**
   * Submits command buffers and waits for the GPU to finish them. With a `timer` for work that
   * recurs (a program's pass), the host sleeps through most of the expected time first instead
   * of polling (see work-timer.ts).
   */
  async submitAndWait(commandBuffers: GPUCommandBuffer[], timer?: WorkTimer): Promise<void> {
    this.assertAlive();
    this.device.queue.submit(commandBuffers);
    if (timer) await timer.wait(performance.now(), () => this.device.queue.onSubmittedWorkDone());
    else await this.device.queue.onSubmittedWorkDone();
    this.assertAlive('submitted work');
  }

  /** Releases every cached pipeline and pooled buffer, then the device itself. */
  destroy(): void {
    if (this.destroyed) return;
    this.pool.clear();
    this.pipelines.clear();
    this.destroyed = true;
    liveContexts.delete(this);
    this.device.destroy();
  }
}
