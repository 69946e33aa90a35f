// Run by Deno (wgpu's WebGPU, shaders compiled by naga), not by mocha: compiles the shader modules
// listed in a JSON file and creates each one's compute pipeline, one at a time, printing a line
// before and after each. naga can panic (abort the whole process) on a module it should reject;
// the driver (deno.ts, compileUnderNaga) then knows which module was being compiled from the last
// `start` line and starts this again after it.
//
//   deno run --allow-read dist/test/wgpu/naga-compile.js <jobs.json> <first index> <adapter | default>
//
// The device has the adapter's limits (those the engine asks for, src/gpu/context.ts) or
// WebGPU's defaults (no required limits, as Safari and phones may give). The first line printed
// is the adapter's profile: its features, its limits and a default device's, and its info.
import { readFileSync } from 'node:fs';
import process from 'node:process';
import type { NagaJob } from './naga-protocol.js';

function say(line: object): void {
  console.log(JSON.stringify(line));
}

const [file, first, limitsMode] = process.argv.slice(2);
/** The limits the engine asks for where the adapter offers more (GpuContext.create). */
const ENGINE_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
] as const;
const adapter = await navigator.gpu.requestAdapter();
if (!adapter) {
  say({ fatal: 'no WebGPU adapter under Deno' });
  process.exit(1);
}
const features = [...adapter.features].map(String).sort();
const limits: Record<string, number> = {};
for (const k in adapter.limits) limits[k] = (adapter.limits as unknown as Record<string, number>)[k];
const info = adapter.info ?? {};
const plain = await adapter.requestDevice();
const defaultLimits: Record<string, number> = {};
for (const k in plain.limits) defaultLimits[k] = (plain.limits as unknown as Record<string, number>)[k];
plain.destroy();
say({ profile: { features, limits, defaultLimits, info: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description }, isFallbackAdapter: (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? null } });
if (!file) process.exit(0);

const jobs = JSON.parse(readFileSync(file, 'utf8')) as NagaJob[];
const wanted = (['shader-f16'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
const requiredLimits = limitsMode === 'adapter' ? Object.fromEntries(ENGINE_LIMITS.map((k) => [k, adapter.limits[k]])) : {};
const device = await adapter.requestDevice({ requiredFeatures: wanted, requiredLimits });
for (let i = Number(first ?? 0); i < jobs.length; i++) {
  const job = jobs[i];
  const missing = job.features.filter((f) => !device.features.has(f as GPUFeatureName));
  if (missing.length) {
    say({ done: i, declined: `the device lacks ${missing.join(', ')}` });
    continue;
  }
  say({ start: i });
  device.pushErrorScope('internal');
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: job.code, label: job.name });
  const compiled = await module.getCompilationInfo();
  const errors = compiled.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
  if (!errors.length) device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: job.entryPoint, constants: job.constants } });
  const [validation, internal] = [await device.popErrorScope(), await device.popErrorScope()];
  const error = errors.join('; ') || validation?.message || internal?.message || null;
  say({ done: i, error });
}
device.destroy();
