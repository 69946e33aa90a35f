// The team's shared folder of weights, fixtures and data (`../shared` beside the project root, or
// DEEPLAB_SHARED_DIR): tests, benchmarks and the demo read it in place and never copy it into the
// project. Every path into it is made here.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagIsSet, readFlag } from '../src/util/flags.js';

/** The project root (this file is dist/test/shared.js once built). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the shared folder should be: DEEPLAB_SHARED_DIR, else ../shared beside the project root. */
export function sharedDirLocation(): string {
  return resolve(readFlag('DEEPLAB_SHARED_DIR') ?? join(ROOT, '..', 'shared'));
}

/** Whether the shared folder is there (its README marks it). */
export function sharedDirPresent(): boolean {
  return existsSync(join(sharedDirLocation(), 'README.md'));
}

/** The shared folder, checked: a missing one is an error that says where it was looked for. */
export function sharedDir(): string {
  const dir = sharedDirLocation();
  if (!sharedDirPresent()) {
    throw new Error(
      `the shared folder (weights, fixtures, data) is not at ${dir}: ` +
        'set DEEPLAB_SHARED_DIR to where it is, or place it beside the project root as ../shared',
    );
  }
  return dir;
}

/** A path inside the shared folder, e.g. sharedPath('fixtures', 'mmseg'). */
export function sharedPath(...parts: string[]): string {
  return join(sharedDir(), ...parts);
}

/** A shared path as test titles name it, the same on every machine: `../shared/<path inside>`. */
export function sharedName(path: string): string {
  return `../shared/${relative(sharedDir(), path)}`;
}

/**
 * Registry models load offline from the shared weights: points DEEPLAB_WEIGHTS_DIR there unless
 * it names a folder already (child processes inherit it).
 */
export function useSharedWeights(): void {
  if (!flagIsSet('DEEPLAB_WEIGHTS_DIR')) process.env.DEEPLAB_WEIGHTS_DIR = sharedPath('weights');
}
