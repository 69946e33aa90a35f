// The ONNX reader's bounds, in one place: every count, rank, name and tensor a file states is
// checked here before anything of that size is made (src/io/byte-cursor.ts states the rule for
// every reader). Each check throws an Error starting with `what` (the file) and naming the field.
import { checkCount, checkShape, shapeCount } from '../../io/reader-rules.js';

/** Nodes, initializers and graph inputs/outputs a model may have (DeepLab exports have a few thousand nodes). */
export const MAX_NODES = 200_000;
export const MAX_INITIALIZERS = 200_000;
export const MAX_GRAPH_VALUES = 4096;
/** Inputs, outputs and attributes of one node. */
export const MAX_NODE_VALUES = 4096;
/** A tensor's rank (ONNX allows any; no exporter writes more than 8). */
export const MAX_RANK = 8;
/** Characters of a name (node, tensor, attribute, metadata key). */
export const MAX_NAME = 4096;
/** Values of a list attribute (ints, floats, strings). */
export const MAX_ATTR_VALUES = 1 << 20;
/** The default domain's operator sets we know of (ONNX 1.17 defines 22). */
export const MAX_OPSET = 30;

/** A count from the file, within its bound. */
export function checkedCount(n: number, max: number, field: string, what: string): number {
  return checkCount(n, max, field, what);
}

/** A name from the file: a string of at most MAX_NAME characters. */
export function checkedName(s: unknown, field: string, what: string): string {
  if (typeof s !== 'string') throw new Error(`${what}: ${field} is not a string`);
  if (s.length > MAX_NAME) throw new Error(`${what}: ${field} has ${s.length} characters (at most ${MAX_NAME})`);
  return s;
}

/** A tensor's dims: at most MAX_RANK non-negative integers; returns them with their element count. */
export function checkedDims(dims: unknown, field: string, what: string): { dims: number[]; count: number } {
  const shape = checkShape(dims, field, what, MAX_RANK);
  return { dims: shape, count: shapeCount(shape) };
}

/**
 * The values one file may decode to: one per stored byte (the file's and its external data's),
 * so no tensor stating a huge shape over a few bytes is ever allocated.
 */
export class ValueBudget {
  private left: number;
  constructor(
    private bytes: number,
    private readonly what: string,
  ) {
    this.left = bytes;
  }
  /** More stored bytes to decode from (an external data file, the first time it is read). */
  grant(bytes: number): void {
    this.bytes += bytes;
    this.left += bytes;
  }
  take(count: number, tensor: string): void {
    if (!(count <= this.left)) throw new Error(`${this.what}: tensor '${tensor}' would bring the decoded values past the ${this.bytes} the file's bytes allow (damaged or hostile)`);
    this.left -= count;
  }
}

/**
 * An external data file's location as the file states it: a relative path inside the model's
 * folder (no absolute path, no '..', no drive or backslash), so a file cannot make the loader read
 * anything outside its own folder.
 */
export function checkedLocation(location: string, tensor: string, what: string): string {
  const bad = location === '' || location.startsWith('/') || location.includes('\\') || location.includes(':') || location.includes('\0') || location.split('/').some((p) => p === '..' || p === '');
  if (bad) throw new Error(`${what}: tensor '${tensor}' names its external data at ${JSON.stringify(location.slice(0, 80))}, not a relative path inside the model's folder`);
  return location;
}
