// Mocha root hooks: one GPU context for the whole run, destroyed at the end; the environment every
// test file shares.
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { flagIsSet } from '../src/util/flags.js';
import { closeTestContext } from './helpers.js';
import { sharedDirLocation, sharedDirPresent, useSharedWeights } from './shared.js';

ensureRuntimeDir();
// Kernel choices stored by a developer's `deeplab tune` must not change what the tests run:
// tests that exercise tuning use stores of their own.
if (!flagIsSet('DEEPLAB_TUNE')) process.env.DEEPLAB_TUNE = 'off';
if (sharedDirPresent()) useSharedWeights();
else console.log(`no shared folder at ${sharedDirLocation()} (set DEEPLAB_SHARED_DIR): the tests that read weights, fixtures or data fail`);

export const mochaHooks = {
  async afterAll(): Promise<void> {
    closeTestContext();
  },
};
