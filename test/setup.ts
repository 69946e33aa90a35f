// Mocha root hooks: one GPU context for the whole run, destroyed at the end; a test that leaves GPU
// buffers or a context alive fails (test/leak-check.ts); the environment every test file shares.
import { relative } from 'node:path';
import { takeCoverage } from 'node:v8';
import { backOffHostPolling } from '../src/gpu/host-poll.js';
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { flagIsSet, readFlag } from '../src/util/flags.js';
import { RUN_SEED, closeTestContext } from './helpers.js';
import { trackRandomScopes } from './random-scope.js';
import { endWaits } from './wait-until.js';
import { recordFileTiming } from './file-timings.js';
import { type GpuSnapshot, disposeTestItems, gpuLeaksSince, gpuSnapshot } from './leak-check.js';
import { sharedDirLocation, sharedDirPresent, useSharedWeights } from './shared.js';

// Mocha's global fixtures: the host-speed probe of a measured run (TEST_TIMINGS).
export { mochaGlobalSetup, mochaGlobalTeardown } from './host-speed.js';

ensureRuntimeDir();
// Each test's random inputs depend on the seed and its own title, not on the files run before it.
trackRandomScopes();
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
    const waiting = endWaits();
    if (test?.state === 'failed' && waiting !== undefined) console.log(`      still waiting for ${waiting} when it ended`);
    if (test?.state === 'failed') console.log(replayLine(test));
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

/** The command that runs a failed test alone with the values it drew (test/random-scope.ts). */
function replayLine(test: Mocha.Test): string {
  const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
  const limits = flagIsSet('DEEPLAB_DEVICE_LIMITS') ? `DEEPLAB_DEVICE_LIMITS=${readFlag('DEEPLAB_DEVICE_LIMITS')} ` : '';
  const file = test.file ? relative(process.cwd(), test.file) : '<its file>';
  return `      replay: ${limits}TEST_SEED=${RUN_SEED} npx mocha ${file} --fgrep ${quote(test.fullTitle())}`;
}
