// Small file-system helpers the format modules share.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

/** The sub-folders of `dir` (sorted), none when it is not a folder. */
export function subfolders(dir: string): string[] {
  return isDir(dir) ? readdirSync(dir).filter((s) => isDir(join(dir, s))).sort() : [];
}

/** "a, b, c, ... (N in all)": at most five names of a list for an error message. */
export function someOf(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, ... (${names.length} in all)`;
}
