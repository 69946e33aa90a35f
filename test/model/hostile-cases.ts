// The hostile-folder fuzz test's vocabulary (test/model/hostile-folders.test.ts): a table of cases
// per format, what a case must give, the job a child process runs (test/model/hostile-child.ts)
// and what it reports; and the helpers the tables build damaged files and folders with.
//
// A new format (an ONNX reader, say) adds one table, a FormatTable in a file of its own like
// test/model/hostile-cases-files.ts, and lists it in the test's TABLES: its valid file, its cases.
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, ftruncateSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorMap } from '../../src/model/weights/import/tensor-map.js';

/** What the fixtures give every table: the valid smp folder (the model every child loads after its case), its config and state dict. */
export interface Fixtures {
  /** The valid smp folder: config.json and model.safetensors of a small DeepLabV3 with PRNG weights. */
  smpFolder: string;
  /** Its config.json as an object. */
  smpConfig: Record<string, unknown>;
  /** Its state dict (smp's names, PyTorch layouts). */
  smpState: TensorMap;
}

/** What a case loads: a path, and the load options a user would pass with it. */
export interface CaseSource {
  path: string;
  /** The smpConfig load option (a bare smp state dict's config.json), as the JSON text a user's file holds. */
  smpConfig?: string;
}

/**
 * What a case must give: refused, with an error whose message starts with the case's path and
 * matches the pattern (it names the file, field or tensor); or, where the damage is harmless,
 * 'same': it loads the valid source's weights (config, input policy, classes and every tensor,
 * which fix the labels); or 'same labels', where the damage changes what only training reads:
 * it segments (on the GPU) into the valid source's labels.
 */
export type Expected = RegExp | 'same' | 'same labels';

export interface HostileCase {
  name: string;
  /** Writes the damaged file or folder into `dir` (an empty folder of its own); returns what to load. */
  make(dir: string, fx: Fixtures, valid: CaseSource): CaseSource;
  expect: Expected;
  /** One of the failures issue 55 found: run through the GPU as well (segment, then the valid folder on the same context). */
  issue55?: boolean;
}

export interface FormatTable {
  format: string;
  /**
   * Writes (or names) the format's valid file or folder, once, into `dir`; the cases are made from
   * it. Its own load is the reference of the table's 'same' cases; where it is refused (a file that
   * holds part of a model), `refused` says how, and the table has no 'same' cases.
   */
  valid(dir: string, fx: Fixtures): CaseSource | Promise<CaseSource>;
  /** The valid source segments (on the GPU): the reference labels of 'same labels' cases. */
  labels: boolean;
  /** The valid source is material only: a part of a model, refused as this says. */
  refused?: RegExp;
  cases: HostileCase[];
}

/** What a child process runs: the case (loaded as a user would), then the valid folder. */
export interface CaseJob {
  path: string;
  /** The smpConfig load option as JSON text (parsed in the child: a value nested 200,000 deep is no argument to JSON.stringify). */
  smpConfig?: string;
  /** The valid smp folder, loaded after the case in the same process. */
  valid: string;
  /** Segment on the GPU (a context shared by both loads), rather than load the weights alone. */
  gpu: boolean;
  /** The test image's width and height. */
  image: [number, number];
}

/** How a load ended: refused (the error's class and message), or loaded (the weights' digest; labels where segmented). */
export type Outcome = { refused: { kind: string; message: string } } | { loaded: { digest: string; labels?: number[] } };

/** What a child prints: the case's outcome, then the valid folder's. */
export interface CaseReport {
  outcome: Outcome;
  after: Outcome;
  ms: number;
}

// ---------------------------------------------------------------- helpers for the tables

/** A copy of `src` (a folder) at `dir`; returns `dir`. */
export function copyFolder(src: string, dir: string): string {
  cpSync(src, dir, { recursive: true });
  return dir;
}

/** A case on a copy of the valid folder with file `which` (a path in it) replaced by what `put` makes at its path (nothing: the file removed). */
export function replacedFile(name: string, which: string, put: (path: string) => void, expect: HostileCase['expect']): HostileCase {
  return {
    name,
    make: (dir, _, valid) => {
      copyFolder(valid.path, dir);
      rmSync(join(dir, which));
      put(join(dir, which));
      return { path: dir };
    },
    expect,
  };
}

/** `text` nested `depth` lists deep: [[[...text...]]]. */
export function nested(depth: number, text = '1'): string {
  return `${'['.repeat(depth)}${text}${']'.repeat(depth)}`;
}

/** Writes `json` (an object, or raw text) as `file` in `dir`. */
export function writeJson(dir: string, file: string, json: unknown): void {
  writeFileSync(join(dir, file), typeof json === 'string' ? json : JSON.stringify(json));
}

/** A copy of the valid smp folder whose config.json is `change(config)` (an object, or raw text). */
export function smpWithConfig(dir: string, fx: Fixtures, change: (c: Record<string, unknown>) => unknown): CaseSource {
  copyFolder(fx.smpFolder, dir);
  writeJson(dir, 'config.json', change({ ...fx.smpConfig }));
  return { path: dir };
}

/** A named pipe at `path` (a reader that opens it blocking would wait forever). */
export function fifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/** A sparse file of `size` bytes (nothing written: instant, and no disk used). */
export function sparseFile(path: string, size: number): string {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** A safetensors file's header and data. */
export function splitSafetensors(bytes: Uint8Array): { header: Record<string, Record<string, unknown>>; data: Uint8Array } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))), data: bytes.subarray(8 + length) };
}

/** A safetensors file of `header` (an object, or raw JSON text) and `data`. */
export function joinSafetensors(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Rewrites the safetensors file at `path` with its header changed by `edit` (which may return raw text). */
export function editSafetensors(path: string, edit: (header: Record<string, Record<string, unknown>>) => unknown): void {
  const { header, data } = splitSafetensors(readFileSync(path));
  const changed = edit(header);
  writeFileSync(path, joinSafetensors(changed ?? header, data));
}

/** The first `fraction` of the file at `src`, written to `path`. */
export function truncatedCopy(src: string, path: string, fraction: number): string {
  const bytes = readFileSync(src);
  writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * fraction)));
  return path;
}
