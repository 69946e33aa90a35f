// The Vulkan loader warns when XDG_RUNTIME_DIR is unset (common on servers and CI); point it
// at a private temporary folder before the first device is created.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagIsSet } from '../util/flags.js';

export function ensureRuntimeDir(): void {
  if (flagIsSet('XDG_RUNTIME_DIR')) return;
  const dir = join(tmpdir(), `xdg-runtime-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}
