// Mocha root hooks: one GPU context for the whole run, destroyed at the end.
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { closeTestContext } from './helpers.js';

ensureRuntimeDir();
// Kernel choices stored by a developer's `deeplab tune` must not change what the tests run:
// tests that exercise tuning use stores of their own.
process.env.DEEPLAB_TUNE ??= 'off';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    closeTestContext();
  },
};
