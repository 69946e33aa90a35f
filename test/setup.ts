// Mocha root hooks: one GPU context for the whole run, destroyed at the end; a test that leaves GPU
// buffers or a context alive fails (test/leak-check.ts); the environment every test file shares.
import { takeCoverage } from 'node:v8';
import { backOffHostPolling } from '../src/gpu/host-poll.js';
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { flagIsSet } from '../src/util/flags.js';
import { closeTestContext } from './helpers.js';
import { recordFileTiming } from './file-timings.js';
import { type GpuSnapshot, disposeTestItems, gpuLeaksSince, gpuSnapshot } from './leak-check.js';
import { sharedDirLocation, sharedDirPresent, useSharedWeights } from './shared.js';

// Mocha's global fixtures: the host-speed probe of a measured run (TEST_TIMINGS).
export { mochaGlobalSetup, mochaGlobalTeardown } from './host-speed.js';

ensureRuntimeDir();
// Waits for the GPU without a core spinning on Dawn's polling (src/gpu/host-poll.ts): on lavapipe
// that core is one the shaders and their compiles need.
backOffHostPolling();
// Kernel choices stored by a developer's `deeplab tune` must not change what the tests run:
// tests that exercise tuning use stores of their own.
if (!flagIsSet('DEEPLAB_TUNE')) process.env.DEEPLAB_TUNE = 'off';
if (sharedDirPresent()) useSharedWeights();
else console.log(`no shared folder at ${sharedDirLocation()} (set DEEPLAB_SHARED_DIR): the tests that read weights, fixtures or data fail`);

let before: GpuSnapshot = new Map();

export const mochaHooks = {
  beforeEach(): void {
    before = gpuSnapshot();
  },
  afterEach(this: Mocha.Context): void {
    disposeTestItems();
    const test = this.currentTest;
    if (!test || test.state !== 'passed') return;
    const leaks = gpuLeaksSince(before);
    // Hook#error fails the test itself; a hook that threw would stop the rest of its suite.
    const hook = this.test as unknown as { error(e: Error): void };
    if (leaks.length) hook.error(new Error(`the test left GPU resources alive:\n  ${leaks.join('\n  ')}`));
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    disposeTestItems();
    closeTestContext();
    recordFileTiming(this.test?.parent);
    // Under c8 (npm run test:coverage), each file's coverage is written as it ends: a worker's is
    // otherwise written as it exits, and mocha's pool kills a worker slow to exit, its coverage
    // of every file it ran lost with it (one run lost a tenth of src's lines that way). A no-op
    // without NODE_V8_COVERAGE.
    takeCoverage();
  },
};
