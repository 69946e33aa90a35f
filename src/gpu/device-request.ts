// How a GpuContext gets its device: Dawn's bindings and instance in Node (the browser's
// navigator.gpu in a page), the adapter, and the features and limits the device is asked for.
import { importOptional } from '../util/optional-package.js';
import { readFlag } from '../util/flags.js';
import { SUBGROUP_MATRIX_FEATURE } from './adapter-info.js';
import { GpuError } from './errors.js';
import type { SplitKMode } from './kernel-options.js';
import type { TuneMode } from './tuning.js';

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

/** An on/off option: its value where given, else the environment variable `env` ('on' / 'off'), else on. */
export function onOffOption(value: boolean | undefined, env: 'DEEPLAB_SUBGROUPS' | 'DEEPLAB_SUBGROUP_MATRIX'): boolean {
  return value ?? readFlag(env) === 'on';
}

/**
 * What the context uses of Dawn's bindings, typed here: a declaration naming the optional
 * `webgpu` package would not type-check in a project without it.
 */
interface DawnModule {
  create(flags: string[]): GPU;
}

let globalsInstalled = false;
/**
 * Dawn's bindings in Node (in the page, the browser's navigator.gpu: scripts/browser-plugin.mjs),
 * imported on first use since a page-only install does not have them. The GPU* constants
 * (GPUBufferUsage, GPUMapMode, ...) live on globalThis in browsers; dawn.node exports them
 * separately.
 */
export async function webgpuModule(): Promise<DawnModule> {
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
export function dawnInstance(create: (flags: string[]) => GPU, flags: string[]): GPU {
  const key = flags.join('\n');
  let gpu = dawnInstances.get(key);
  if (!gpu) dawnInstances.set(key, (gpu = create(flags)));
  return gpu;
}

/**
 * The flags for Dawn's `create()`. Dawn rounds timestamps down to multiples of 65.5 us unless
 * told not to (a guard against timing attacks in browsers); a benchmark asking for timestamps
 * wants them exact.
 */
export function dawnFlags(options: GpuContextOptions, subgroupMatrix: boolean): string[] {
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
export interface DeviceRecipe {
  powerPreference: GPUPowerPreference;
  timestamps: boolean;
  subgroupMatrix: boolean;
  limits: 'adapter' | 'default';
}

/** An adapter and a device on it with the features and limits `recipe` asks for. */
export async function requestGpuDevice(gpu: GPU, recipe: DeviceRecipe): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
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
