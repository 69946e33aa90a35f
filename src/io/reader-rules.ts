// The readers' rules, in one place. Every reader of a file we did not write (weights of every
// format, their configs, the folders that hold them) follows them, so that a damaged or hostile
// file is refused with one line naming the file and the field: never a hang, a stack overflow, an
// engine message (RangeError, "Invalid typed array length") or an allocation the file asked for.
//
//  - Files: regular files only, a size cap checked before reading (src/io/file-bytes.ts applies
//    FILE_LIMITS; a folder's FileSet passes them on).
//  - Lengths and offsets: within the bytes that remain (checkRange, and src/io/byte-cursor.ts).
//  - Counts: non-negative integers under a bound (checkCount).
//  - Shapes: at most MAX_RANK non-negative integers whose element count is a safe integer; a shape
//    with a zero dimension holds nothing, so no byte count bounds it: its extent (the product of
//    the other dimensions) is bounded instead, as a loop over it would run that many times
//    (checkShape); a tensor's bytes fit what the file gives it (checkTensorBytes).
//  - Numbers from a config (classes, rates, strides, channels): integers within CONFIG_LIMITS,
//    checked where they are read, naming the field (checkConfigInt).
//  - Weights: finite (checkFinite), in every reader that gives a network its parameters (the
//    weight checks of src/model/weights/weight-checks.ts, an ONNX file's float initializers).
//  - Messages: values appear through excerpt(), bounded in length and built without recursion,
//    so a value nested 200,000 deep or a list of a million items costs a few characters.
// Every error starts with `what`, the file and the part of it being read.

/** Bytes a file may have before it is read, by kind. */
export const FILE_LIMITS = {
  /** A weights file (or a tarball): what one read can return in Node (its fs' 2 GiB limit). */
  weights: 2 ** 31 - 1,
  /** A JSON config (config.json, preprocessor_config.json, an smpConfig file): a real one is a few KB. */
  config: 4 * 2 ** 20,
} as const;

/** Bounds on the numbers a config gives a network. */
export const CONFIG_LIMITS = {
  /** Labels are bytes (SegmentResult.classes is a Uint8Array). */
  classes: 256,
  /** An atrous rate, a dilation, a stride or a window: beyond any feature map a device can hold, and within every kernel's 32-bit parameters. */
  rate: 2 ** 16,
  /** Channels of a layer (decoder channels, input bands). */
  channels: 2 ** 16,
} as const;

/** Dimensions a tensor's shape may have. */
export const MAX_RANK = 32;
/** The extent (product of the dimensions other than zeros) a shape with a zero dimension may span. */
export const MAX_EMPTY_EXTENT = 2 ** 20;
/** Characters of a value a message shows. */
const EXCERPT_CHARS = 60;

/** Checks `n` is an integer in [0, max]; returns it. */
export function checkCount(n: number, max: number, field: string, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what}: ${field} is ${n}, not a count (a non-negative integer)`);
  if (n > max) throw new Error(`${what}: ${field} ${n} is more than the ${max} the data allows`);
  return n;
}

/** Checks that bytes [offset, offset + length) lie within the `size` bytes of `within`; returns the end. */
export function checkRange(offset: number, length: number, size: number, field: string, what: string, within = 'the file'): number {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`${what}: ${field} starts at ${offset}, not a byte offset`);
  if (!Number.isSafeInteger(length) || length < 0) throw new Error(`${what}: ${field} has length ${length}, not a byte count`);
  if (offset > size || length > size - offset) {
    throw new Error(`${what}: ${field} (bytes ${offset}..${offset + length}) runs past the end of ${within} (${size} bytes): truncated or damaged`);
  }
  return offset + length;
}

/** A value from a file as a message shows it (never "NaN", "undefined" or "[object Object]"). */
export function shown(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'not a number' : String(v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v);
  return v === null ? 'null' : v === undefined ? 'missing' : `a ${typeof v === 'object' ? (Array.isArray(v) ? 'list' : 'structure') : typeof v}`;
}

/** A closing bracket or separator on excerpt's stack (values are the other entries). */
class Token {
  constructor(readonly text: string) {}
}

/**
 * A value from a file (parsed JSON, a pickle's objects) as a message shows it: JSON-like, at most
 * `max` characters (then "..."), built with an explicit stack, so no nesting depth or list length
 * costs more than `max` steps.
 */
export function excerpt(v: unknown, max = EXCERPT_CHARS): string {
  if (v === undefined) return 'missing';
  let out = '';
  const stack: unknown[] = [v];
  while (stack.length > 0 && out.length <= max) {
    const x = stack.pop();
    if (x instanceof Token) out += x.text;
    else if (Array.isArray(x)) {
      out += '[';
      // Only the items a message could show are visited: at most `max` of them.
      const items = x.length > max ? [...x.slice(0, max), new Token('...')] : x;
      stack.push(new Token(']'));
      for (let i = items.length - 1; i >= 0; i--) {
        stack.push(items[i]);
        if (i > 0) stack.push(new Token(','));
      }
    } else if (typeof x === 'object' && x !== null) {
      out += '{';
      const entries: unknown[] = [];
      for (const key in x) {
        if (!Object.hasOwn(x, key)) continue;
        if (entries.length >= max) {
          entries.push(new Token('...'));
          break;
        }
        entries.push([new Token(`${JSON.stringify(key.length > max ? `${key.slice(0, max)}...` : key)}:`), (x as Record<string, unknown>)[key]]);
      }
      stack.push(new Token('}'));
      for (let i = entries.length - 1; i >= 0; i--) {
        const e = entries[i];
        if (Array.isArray(e)) stack.push(e[1], e[0]);
        else stack.push(e);
        if (i > 0) stack.push(new Token(','));
      }
    } else if (typeof x === 'string') out += JSON.stringify(x.length > max ? `${x.slice(0, max)}...` : x);
    else if (typeof x === 'number') out += Number.isNaN(x) ? 'not a number' : String(x);
    else out += x === undefined ? 'missing' : String(x);
  }
  // Unfinished: cut at `max`. Finished, it may run past `max` by its last string's excerpt at most.
  return stack.length > 0 ? `${out.slice(0, max)}...` : out;
}

/**
 * An integer a config gives (classes, a rate, channels), in [min, max]: `why` says what the bound
 * is for. Returns it; anything else is refused naming `field` and the value, excerpted.
 */
export function checkConfigInt(v: unknown, field: string, what: string, bounds: { min: number; max: number; why?: string }): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < bounds.min) {
    throw new Error(`${what}: ${field} ${excerpt(v)} is not ${bounds.min === 1 ? 'a positive integer' : `an integer of at least ${bounds.min}`}`);
  }
  if (v > bounds.max) throw new Error(`${what}: ${field} ${v} is more than ${bounds.max}${bounds.why ? ` (${bounds.why})` : ''}`);
  return v;
}

/** A tensor's values, every one finite, or an error naming the tensor and the first element that is not (a NaN in a weight spreads to every output it reaches). */
export function checkFinite(name: string, data: ArrayLike<number>, what: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) {
      throw new Error(`${what}: tensor '${name}' holds ${v !== v ? 'a value that is not a number' : v > 0 ? '+infinity' : '-infinity'} at element ${i}: weights must be finite`);
    }
  }
}

/** Elements of a checked shape. */
export function shapeCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * A tensor shape from a file: a list of non-negative integers (at most `maxRank` of them), whose
 * element count is a safe integer; with a zero dimension, whose other dimensions span at most
 * MAX_EMPTY_EXTENT. Returns it as numbers.
 */
export function checkShape(dims: unknown, field: string, what: string, maxRank = MAX_RANK): number[] {
  if (!Array.isArray(dims)) throw new Error(`${what}: ${field} is not a list of dimensions`);
  if (dims.length > maxRank) throw new Error(`${what}: ${field} has ${dims.length} dimensions (at most ${maxRank})`);
  let count = 1;
  let extent = 1;
  dims.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new Error(`${what}: ${field} [${dims.map(shown).join(',')}] is a bad shape: dimension ${i} is ${shown(d)}, not a non-negative integer`);
    }
    count *= d;
    extent *= Math.max(d, 1);
  });
  if (!Number.isSafeInteger(count)) throw new Error(`${what}: ${field} [${dims.join(',')}] has more elements than can be counted (overflow)`);
  if (count === 0 && extent > MAX_EMPTY_EXTENT) {
    const span = Number.isSafeInteger(extent) ? String(extent) : 'more than 2^53';
    throw new Error(`${what}: ${field} [${dims.join(',')}] holds no elements, but its other dimensions span ${span} (at most ${MAX_EMPTY_EXTENT}): a damaged shape`);
  }
  return dims as number[];
}

/**
 * The bytes a tensor of `shape` and `elementBytes` per element needs, checked to be at most
 * `available` (the bytes the file gives it): a shape claiming more than its file holds is refused
 * before anything of that size exists. Returns the element count and the bytes.
 */
export function checkTensorBytes(shape: unknown, elementBytes: number, available: number, field: string, what: string): { count: number; bytes: number } {
  const dims = checkShape(shape, `${field} shape`, what);
  const count = shapeCount(dims);
  const bytes = count * elementBytes;
  if (!Number.isSafeInteger(bytes)) throw new Error(`${what}: ${field} shape [${dims.join(',')}] needs more bytes than can be counted (overflow)`);
  if (bytes > available) {
    throw new Error(`${what}: ${field} shape [${dims.join(',')}] needs ${bytes} bytes, but only ${available} are there`);
  }
  return { count, bytes };
}

/** Checks that a file (or a member of an archive) of `size` bytes is within `max`, before it is read or parsed. */
export function checkFileSize(size: number, max: number, what: string): void {
  if (size > max) throw new Error(`${what}: ${size} bytes, more than the ${max} such a file may have (damaged, or not the file it is named as)`);
}

/** Bytes already in memory (an archive's member, a dropped file) held to a cap where one is given; returns them. */
export function bytesWithin(bytes: Uint8Array, maxBytes: number | undefined, what: string): Uint8Array {
  if (maxBytes !== undefined) checkFileSize(bytes.length, maxBytes, what);
  return bytes;
}
