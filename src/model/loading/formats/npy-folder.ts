// The tensors of a folder of .npy files, through a FileSet. Node only: the .npy reader's module
// also reads paths (node:fs), so the page bundles a stand-in of this module
// (src/browser/npy-folder.ts) that refuses.
import { parseNpy } from '../../weights/import/npy.js';
import type { TensorMap } from '../../weights/import/tensor-map.js';
import type { FileSet } from './format.js';

/** Every *.npy of the folder, keyed by file name without the extension, sorted by name. */
export function npyFolderTensors(files: FileSet): TensorMap {
  const names = files.names.filter((f) => f.endsWith('.npy')).sort();
  if (names.length === 0) throw new Error(`${files.what}: no .npy files in the folder`);
  return new Map(names.map((f) => [f.slice(0, -'.npy'.length), parseNpy(files.read(f), `${files.what}/${f}`)]));
}
