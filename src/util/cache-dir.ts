// The folder for downloads and measurements kept between runs.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFlag } from './flags.js';

/** $DEEPLAB_CACHE_DIR, else ~/.cache/deeplab-webgpu. */
export function cacheDirectory(): string {
  return readFlag('DEEPLAB_CACHE_DIR') ?? join(homedir(), '.cache', 'deeplab-webgpu');
}
