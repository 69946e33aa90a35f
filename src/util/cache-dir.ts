// The folder for downloads and measurements kept between runs.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $DEEPLAB_CACHE_DIR, else ~/.cache/deeplab-webgpu. */
export function cacheDirectory(): string {
  return process.env.DEEPLAB_CACHE_DIR ?? join(homedir(), '.cache', 'deeplab-webgpu');
}
