// The GPU runtime: one adapter, one device, and the caches that hang off it.
//
// Everything that touches WebGPU goes through a GpuContext so that buffers are counted (leak
// checks), pipelines are cached by specialisation, and validation / out-of-memory errors come
// back as JavaScript errors that name the kernel and shapes instead of console noise.
import { PipelineCache } from './pipeline-cache.js';
import { BufferPool } from './buffer-pool.js';
import { BufferLedger } from './buffer-ledger.js';
import { GpuError } from './errors.js';
import { inErrorScopes } from './error-scopes.js';
import { KernelTuning, adapterIdentity, tuneModeFrom } from './tuning.js';
import type { WorkTimer } from './work-timer.js';
import { readFlag } from '../util/flags.js';
import { type AdapterDescription, SUBGROUP_MATRIX_FEATURE, adapterInfoOf, describeAdapter, isSoftwareAdapter, offeredMatrixConfigs } from './adapter-info.js';
import { type DeviceRecipe, type GpuContextOptions, dawnFlags, dawnInstance, onOffOption, requestGpuDevice, webgpuModule } from './device-request.js';
import { EMULATED_MATRIX_CONFIGS, type KernelLimits, type MatrixConfig } from './kernel-limits.js';
import { type KernelOptions, splitKMode } from './kernel-options.js';
import { type WebGpuImplementation, webgpuImplementation } from './implementation.js';
import { noteAdapterKind } from './host-poll.js';

export { GpuError } from './errors.js';
export type { GpuContextOptions } from './device-request.js';

/** Contexts created and not yet destroyed: each holds a device, its pipelines and its buffers. */
const liveContexts = new Set<GpuContext>();

/** The contexts created and not yet destroyed (the tests' leak check reads them). */
export function liveGpuContexts(): GpuContext[] {
  return [...liveContexts];
}

export class GpuContext {
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  /** Buffers created through this context and not yet destroyed. */
  private readonly buffers = new BufferLedger();
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
        this.buffers.clear();
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
    return this.buffers.count;
  }

  /** Bytes of the buffers created through this context and not yet destroyed (the pool's idle ones included). */
  get liveBufferBytes(): number {
    return this.buffers.bytes;
  }

  /**
   * Buffers alive beyond what the pool keeps idle for reuse: those tensors, programs, kernels'
   * scratch and read-backs hold now. Back to its count once they are released.
   */
  get heldBufferCount(): number {
    return this.buffers.count - this.pool.idleCount;
  }

  /** How many times buffers were created or handed out again: a mark for heldBufferLabels. */
  get bufferSerial(): number {
    return this.buffers.serial;
  }

  /** The labels of the held buffers put to use since `serial` (all by default), for a report of what was left alive. */
  heldBufferLabels(serial = 0): string[] {
    return this.buffers.labelsSince(serial, (b) => !this.pool.isIdle(b));
  }

  /** Records that the pool handed `buffer` out again, as `label`. */
  reuseBuffer(buffer: GPUBuffer, label?: string): void {
    this.buffers.reuse(buffer, label);
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
    this.buffers.add(buffer, label || 'unlabelled');
    return buffer;
  }

  holds(buffer: GPUBuffer): boolean {
    return this.buffers.has(buffer);
  }

  destroyBuffer(buffer: GPUBuffer): void {
    buffer.destroy();
    this.buffers.delete(buffer);
  }

  /**
   * Runs `fn` inside validation and out-of-memory error scopes and throws the first error
   * caught, prefixed with `what` (kernel name and shapes), so a bad dispatch is reported
   * where it happened.
   */
  async checked<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
    this.assertAlive();
    const { result, reported } = await inErrorScopes(this.device, fn);
    // A lost device explains whatever else went wrong, and its results (a read may come back
    // as zeros) are not to be trusted even where nothing failed.
    const lost = 'error' in result || this.lostInfo ? await this.lostError(what) : null;
    if (lost) throw lost;
    if (reported) throw new GpuError(`${what}: WebGPU ${reported.kind} error: ${reported.message}`, reported.kind);
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
