// Mocha root hooks: one GPU context for the whole run, destroyed at the end.
import { ensureRuntimeDir } from '../src/gpu/runtime-dir.js';
import { closeTestContext } from './helpers.js';

ensureRuntimeDir();

export const mochaHooks = {
  async afterAll(): Promise<void> {
    closeTestContext();
  },
};
