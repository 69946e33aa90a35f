// The folder for downloads and measurements kept between runs: $DEEPLAB_CACHE_DIR, else the
// platform's own cache folder, by the rule env-paths and most tools follow:
//   Linux and other Unix  $XDG_CACHE_HOME/deeplab-webgpu (an absolute XDG_CACHE_HOME only, as the
//                         XDG base-directory spec says), else ~/.cache/deeplab-webgpu
//   macOS                 ~/Library/Caches/deeplab-webgpu
//   Windows               %LOCALAPPDATA%\deeplab-webgpu\Cache, else ~\AppData\Local\deeplab-webgpu\Cache
import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';
import { readFlag } from './flags.js';

const NAME = 'deeplab-webgpu';

export interface CachePlace {
  platform: NodeJS.Platform;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
}

/** The cache folder for a platform, its environment and home folder. */
export function cacheDirectoryFor({ platform, env, home }: CachePlace): string {
  if (env.DEEPLAB_CACHE_DIR) return env.DEEPLAB_CACHE_DIR;
  if (platform === 'win32') return win32.join(env.LOCALAPPDATA || win32.join(home, 'AppData', 'Local'), NAME, 'Cache');
  if (platform === 'darwin') return posix.join(home, 'Library', 'Caches', NAME);
  const xdg = env.XDG_CACHE_HOME;
  return posix.join(xdg && posix.isAbsolute(xdg) ? xdg : posix.join(home, '.cache'), NAME);
}

/** This machine's cache folder (see cacheDirectoryFor). */
export function cacheDirectory(): string {
  const env = { DEEPLAB_CACHE_DIR: readFlag('DEEPLAB_CACHE_DIR'), XDG_CACHE_HOME: readFlag('XDG_CACHE_HOME'), LOCALAPPDATA: readFlag('LOCALAPPDATA') };
  return cacheDirectoryFor({ platform: process.platform, env, home: homedir() });
}
