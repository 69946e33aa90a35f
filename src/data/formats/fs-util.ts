// Small file-system helpers the format modules share (through the data set's file access).
import type { FileAccess } from '../files/file-access.js';

export function isDir(files: FileAccess, p: string): boolean {
  return files.isDir(p);
}

/** The sub-folders of `dir` (sorted), none when it is not a folder. */
export function subfolders(files: FileAccess, dir: string): string[] {
  return isDir(files, dir) ? files.list(dir).filter((s) => isDir(files, files.join(dir, s))).sort() : [];
}

/** "a, b, c, ... (N in all)": at most five names of a list for an error message. */
export function someOf(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')}, ... (${names.length} in all)`;
}
