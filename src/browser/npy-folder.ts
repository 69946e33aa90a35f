// The browser's stand-in for src/model/loading/formats/npy-folder.ts: the page reads weights from
// one file's bytes, not a folder of .npy tensors.
import type { TensorMap } from '../model/weights/import/tensor-map.js';
import type { FileSet } from '../model/loading/formats/format.js';

export function npyFolderTensors(files: FileSet): TensorMap {
  throw new Error(`deeplab: ${files.what}: a page does not read a folder of .npy files; load one weights file (TF Lite, .pth, safetensors or a TF zoo .tar.gz)`);
}
