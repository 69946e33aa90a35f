// wgpu's shader compiler (naga, Firefox's and Deno's) on every kernel we may ask a wgpu device
// for: each module compiled and its pipeline created under Deno, on the same adapter as Dawn,
// with the kernel spaces the engine builds for the adapter's limits and for WebGPU's defaults
// (a module both build is compiled once, under the defaults: compileModes).
// naga panics on some modules it should reject (the whole process aborts: in Firefox, every
// tab); compileUnderNaga restarts after such a module, so it fails alone, named.
import { expect } from 'chai';
import type { GpuContext } from '../../src/gpu/context.js';
import type { KernelLimits } from '../../src/gpu/kernel-limits.js';
import { kernelKey } from '../../src/gpu/pipeline-cache.js';
import { testContext } from '../helpers.js';
import { compileUnderNaga, nagaJob, wgpuProfile } from './deno.js';
import { type ModuleGroup, NETWORKS, convBackwardSpecs, broadcastSpecs, convForwardSpecs, matmulSpecs, networkSpecs, quantizeSpecs, resizeSpecs, wgpuKernelLimits } from './kernel-modules.js';
import type { NagaResult, WgpuProfile } from './naga-protocol.js';

const GROUPS: Record<string, (ctx: GpuContext, limits: KernelLimits) => ModuleGroup | Promise<ModuleGroup>> = {
  'conv2d forward (f32)': (_, limits) => convForwardSpecs(limits, 'f32'),
  'conv2d forward (f16)': (_, limits) => convForwardSpecs(limits, 'f16'),
  'conv2d backward': (_, limits) => convBackwardSpecs(limits),
  matmul: (_, limits) => matmulSpecs(limits),
  resize_bilinear: () => resizeSpecs(),
  broadcast: () => broadcastSpecs(),
  quantize_dynamic: () => quantizeSpecs(),
  ...Object.fromEntries(Object.keys(NETWORKS).map((name) => [`network ${name}`, (ctx: GpuContext) => networkSpecs(ctx, name)])),
};

type LimitsMode = 'adapter' | 'default';
type Compiled = Map<string, { group: ModuleGroup; results: NagaResult[] }>;

/**
 * Each limits mode's groups with the result of each module. A module both modes build is
 * compiled once, on the device with WebGPU's default limits: every limit is an upper bound, so a
 * pipeline created under the defaults is created under the adapter's larger limits too (same
 * features, same naga). The adapter's device compiles the modules only its larger limits allow.
 */
async function compileModes(): Promise<{ profile: WgpuProfile } & Record<LimitsMode, Compiled>> {
  const profile = await wgpuProfile();
  const ctx = await testContext();
  const built = {} as Record<LimitsMode, Map<string, ModuleGroup>>;
  for (const mode of ['adapter', 'default'] as const) {
    // The spaces as the engine sees a device with these limits: candidates that do not fit decline.
    const limits = wgpuKernelLimits(mode === 'adapter' ? profile.limits : profile.defaultLimits);
    built[mode] = new Map();
    for (const [name, build] of Object.entries(GROUPS)) built[mode].set(name, await build(ctx, limits));
  }
  /** Each module once, however many groups hold it, and not where `skip` has it. */
  const jobsOf = (groups: Map<string, ModuleGroup>, skip = new Set<string>()) => {
    const jobs = new Map<string, ReturnType<typeof nagaJob>>();
    for (const g of groups.values()) for (const s of g.specs) if (!jobs.has(kernelKey(s)) && !skip.has(kernelKey(s))) jobs.set(kernelKey(s), nagaJob(s));
    return jobs;
  };
  const onDefault = jobsOf(built.default);
  const adapterOnly = jobsOf(built.adapter, new Set(onDefault.keys()));
  const results = new Map<string, NagaResult>();
  for (const [jobs, mode] of [[onDefault, 'default'], [adapterOnly, 'adapter']] as const) {
    if (jobs.size) for (const r of await compileUnderNaga([...jobs.values()], mode)) results.set(r.job.name, r);
  }
  console.log(`      (${onDefault.size} distinct modules with default limits, ${adapterOnly.size} more with the adapter's, on ${profile.info.description || 'an adapter that gives no description'})`);
  const compiled = {} as Record<LimitsMode, Compiled>;
  for (const mode of ['adapter', 'default'] as const) {
    compiled[mode] = new Map([...built[mode]].map(([name, group]) => [name, { group, results: group.specs.map((s) => results.get(kernelKey(s))!) }]));
  }
  return { profile, ...compiled };
}

let modes: ReturnType<typeof compileModes> | undefined;

for (const limitsMode of ['adapter', 'default'] as const) {
  describe(`wgpu (Deno, naga): every kernel candidate compiles and its pipeline is created (${limitsMode} limits) @extended`, function () {
    this.timeout(900_000);
    let profile: WgpuProfile;
    let groups: Compiled;

    before(async () => {
      modes ??= compileModes();
      ({ profile, [limitsMode]: groups } = await modes);
    });

    it('the wgpu adapter offers shader-f16 (the f16 modules below are compiled, not declined)', () => {
      expect(profile.features).to.include('shader-f16');
    });

    for (const name of Object.keys(GROUPS)) {
      it(`${name}: every module compiles under naga and its pipeline is created`, () => {
        const { group, results } = groups.get(name)!;
        expect(results.length, 'modules').to.be.at.least(1);
        const failed = results.filter((r) => r.error !== null || r.declined).map((r) => `${r.job.name}: ${r.declined ? `declined (${r.declined})` : r.error}`);
        console.log(`      (${results.length} modules)`);
        expect(failed, `${group.name}: modules that fail under naga`).to.deep.equal([]);
      });
    }
  });
}

describe('wgpu (Deno, naga): a module that panics naga fails alone', function () {
  this.timeout(120_000);
  it('the panicking module is named with Rust\'s message; the modules after it still compile', async () => {
    // docs/wgsl-rules.md, rule 1: an override with an expression initialiser after a workgroup
    // array sized by overrides (naga 29 panics creating the pipeline).
    const panics = `override A: u32 = 4u;\noverride B: u32 = 4u;\nvar<workgroup> tile: array<f32, 2u * A>;\noverride AB: u32 = A * B;\n@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(A) fn main(@builtin(local_invocation_index) i: u32) { tile[i] = f32(AB); workgroupBarrier(); o[i] = tile[i]; }\n`;
    const fine = panics.replace('var<workgroup> tile: array<f32, 2u * A>;\noverride AB: u32 = A * B;', 'override AB: u32 = A * B;\nvar<workgroup> tile: array<f32, 2u * A>;');
    const job = (name: string, code: string) => ({ name, code, entryPoint: 'main', constants: {}, features: [] });
    const results = await compileUnderNaga([job('before', fine), job('panics', panics), job('after', fine)]);
    expect(results.map((r) => [r.job.name, r.error === null])).to.deep.equal([['before', true], ['panics', false], ['after', true]]);
    expect(results[1].panicked).to.equal(true);
    expect(results[1].error).to.match(/naga panicked: .*panicked at/);
  });
});
