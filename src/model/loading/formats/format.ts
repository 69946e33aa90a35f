// A weights format is one record: how it is recognised (its first bytes, its names), how it is
// read (bytes in, tensors out, or a folder's files in), which model mappings take its tensors,
// how a model is made of it, whether the page has it and whether a registry entry may name it.
// The records are kept by name in registry.ts; detecting, reading and loading go through them.
import type { BackboneWeights } from '../../backbones/backbone.js';
import type { LoadedWeights, WeightHints } from '../loaded-weights.js';
import type { LoadOptions } from '../options.js';
import type { ZooFiles } from '../tf-zoo-model.js';
import type { TensorMap } from '../../weights/import/tensor-map.js';
import type { WeightFormatName } from './names.js';

/** A folder's files: their names (paths inside it) and a reader of one by name; `what` names it in errors. */
export type FileSet = ZooFiles;

/** The model mappings a format's tensors go to: the backbone records' weights sources, and our checkpoints. */
export type WeightMapping = keyof BackboneWeights | 'ours';

/** What a load knows besides the bytes: the model's name, the file in errors, the options, a registry entry's hints. */
export interface LoadContext {
  name: string;
  source: string;
  opts: LoadOptions;
  hints: WeightHints;
  /** A folder format: which of several models in it (a TF checkpoint's prefix). */
  prefix?: string;
  /** A file read from disk: the files beside it, by name (an ONNX file's external data); absent for bytes. */
  siblings?: (name: string) => Uint8Array;
}

/** How a folder format is read: from a folder's files. */
export interface FolderReader {
  kind: 'folder';
  /** Folders inside the folder whose files it reads, listed among its names as 'sub/name' (transformers.js' onnx/). */
  subfolders?: readonly string[];
  /** Whether a folder of these files is this format (tried in the records' order): by their names, or a small file's contents. */
  recognise(files: FileSet): boolean;
  tensors(files: FileSet, prefix?: string): TensorMap;
  load(files: FileSet, ctx: LoadContext): LoadedWeights;
}

/** How a format is read: from one file's bytes, or from a folder's files. */
export type WeightReader =
  | {
      kind: 'file';
      /** Recognised from a file's first bytes; absent where only the name tells. */
      sniff?(bytes: Uint8Array): boolean;
      /** The tensors as the file stores them (names and layouts unmapped). */
      tensors(bytes: Uint8Array, source: string): TensorMap;
      load(bytes: Uint8Array, ctx: LoadContext): LoadedWeights;
    }
  | FolderReader;

export interface WeightFormatRecord {
  name: WeightFormatName;
  /** Its name in words, without an article, for messages ('TF Lite', 'PyTorch .pth'). */
  title: string;
  /** The ends of the file names it takes, lower case ('.tflite', '.tar.gz'); none for a plain folder. */
  extensions: readonly string[];
  /** Names that stand for it without being a file (a TF checkpoint's prefix, model.ckpt-30000). */
  prefixNames?: RegExp;
  read: WeightReader;
  mappings: readonly WeightMapping[];
  /** Whether the page loads it (from a URL, a File or bytes): it needs no file system. */
  page: boolean;
  /** Whether a registry entry may name it (weights/registry.json's `format`). */
  registry: boolean;
  /** Whether it reads the `dtype` load option (which of a transformers.js folder's files); every other format refuses it. */
  dtype?: true;
  /**
   * How its models prepare an image, in words, where the format itself decides (a hub folder's
   * processor): `deeplab models`' INPUT column for a registry entry of this format.
   */
  input?: string;
}
