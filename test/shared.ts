// The team's shared folder of weights, fixtures and data (`../shared` beside the project root, or
// DEEPLAB_SHARED_DIR): tests read it in place and never copy it into the project.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The shared folder, checked once: a missing one is an error that says where it was looked for. */
export function sharedDir(): string {
  const dir = resolve(process.env.DEEPLAB_SHARED_DIR ?? '../shared');
  if (!existsSync(join(dir, 'README.md'))) {
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
