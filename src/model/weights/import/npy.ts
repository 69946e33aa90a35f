// NumPy .npy reader (format versions 1, 2 and 3): magic, header length, a Python-literal dict
// header {'descr', 'fortran_order', 'shape'}, then raw C-order data.
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readFileBytes } from '../../../io/file-bytes.js';
import { checkShape } from '../../../io/reader-rules.js';
import { type HostTensor, type SourceDType, type TensorMap, DTYPE_SIZE, decodeToF32, formatShape, shapeNumel } from './tensor-map.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** The dtype strings we accept ('<' little-endian; '|' "not applicable" for single bytes). */
const NPY_DTYPES: Readonly<Record<string, SourceDType>> = {
  '<f4': 'f32',
  '<f2': 'f16',
  '<f8': 'f64',
  '<i8': 'i64',
  '<i4': 'i32',
  '|u1': 'u8',
  '<u1': 'u8',
  '|i1': 'i8',
  '<i1': 'i8',
  '|b1': 'bool',
};

type PyLiteral = string | number | boolean | null | PyLiteral[] | { [key: string]: PyLiteral };

/** The header (or a value of it) for a message: JSON-quoted, at most 120 characters. */
function excerpt(text: string): string {
  const t = text.trim();
  return JSON.stringify(t.length > 120 ? `${t.slice(0, 120)}...` : t);
}

/** What a header field holds, for a message ('missing' when absent). */
function shown(v: unknown): string {
  return v === undefined ? 'missing' : excerpt(JSON.stringify(v));
}

/** Nesting deeper than this is no npy header (theirs is 2 deep): refused, not recursed into. */
const MAX_DEPTH = 32;

/**
 * Parses the small subset of Python literals an npy header uses: dicts with string keys,
 * tuples/lists, strings, ints, True/False/None. Never evaluates anything.
 */
function parsePyLiteral(text: string, what: string): PyLiteral {
  let i = 0;
  let depth = 0;
  const fail = (msg: string): never => {
    throw new Error(`${what}: bad npy header (${msg} at character ${i}): ${excerpt(text)}`);
  };
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const parseValue = (): PyLiteral => {
    skipSpace();
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      if (++depth > MAX_DEPTH) fail(`nested more than ${MAX_DEPTH} deep`);
      i++;
      const items: PyLiteral[] = [];
      // No prototype: a key like "__proto__" is just a key.
      const dict = Object.create(null) as { [key: string]: PyLiteral };
      for (;;) {
        skipSpace();
        if (text[i] === close) {
          i++;
          break;
        }
        const v = parseValue();
        if (c === '{') {
          skipSpace();
          if (text[i] !== ':') fail("expected ':'");
          i++;
          if (typeof v !== 'string') fail('dict key is not a string');
          dict[v as string] = parseValue();
        } else {
          items.push(v);
        }
        skipSpace();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected ',' or '${close}'`);
      }
      depth--;
      return c === '{' ? dict : items;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(-?\d+|True|False|None)/.exec(text.slice(i));
    if (!m) fail('unexpected token');
    i += m![0].length;
    if (m![0] === 'True') return true;
    if (m![0] === 'False') return false;
    if (m![0] === 'None') return null;
    return Number(m![0]);
  };
  const v = parseValue();
  skipSpace();
  if (i !== text.length) fail('trailing characters');
  return v;
}

/** Decodes one .npy file's bytes; `what` names the source in error messages. */
export function parseNpy(buf: Uint8Array, what = 'npy'): HostTensor {
  if (buf.length < 10 || MAGIC.some((b, k) => buf[k] !== b)) {
    throw new Error(`${what}: not an npy file (bad magic; expected "\\x93NUMPY")`);
  }
  const major = buf[6];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new Error(`${what}: truncated npy header`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new Error(`${what}: unsupported npy format version ${major}.${buf[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.length) {
    throw new Error(`${what}: truncated npy header (header of ${headerLen} bytes, file of ${buf.length})`);
  }
  // Version 1 and 2 headers are latin1, version 3 is utf8; the fields we read are ASCII either way.
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(headerStart, dataStart));
  const dict = parsePyLiteral(header, what);
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) {
    throw new Error(`${what}: npy header is not a dict: ${excerpt(header)}`);
  }
  const { descr, fortran_order: fortran, shape } = dict;
  if (descr === undefined) throw new Error(`${what}: npy header has no 'descr' (dtype): ${excerpt(header)}`);
  if (typeof descr !== 'string') {
    throw new Error(`${what}: unsupported npy dtype ${shown(descr)} (structured dtypes are not supported)`);
  }
  const dtype = Object.prototype.hasOwnProperty.call(NPY_DTYPES, descr) ? NPY_DTYPES[descr] : undefined;
  if (!dtype) {
    throw new Error(`${what}: unsupported npy dtype '${descr}' (supported: ${Object.keys(NPY_DTYPES).join(' ')})`);
  }
  if (fortran !== false) {
    throw new Error(
      fortran === true
        ? `${what}: fortran_order arrays are not supported (save with C order)`
        : `${what}: npy header's fortran_order is ${shown(fortran)}, expected False`,
    );
  }
  if (!Array.isArray(shape)) throw new Error(`${what}: bad npy shape ${shown(shape)}`);
  const dims = checkShape(shape, "npy header's shape", what);
  const count = shapeNumel(dims);
  const need = count * DTYPE_SIZE[dtype];
  if (!Number.isSafeInteger(need)) throw new Error(`${what}: npy shape ${formatShape(dims)} ${descr} needs more bytes than can be counted`);
  const has = buf.length - dataStart;
  if (has < need) {
    throw new Error(`${what}: truncated npy data (shape ${formatShape(dims)} ${descr} needs ${need} bytes, file has ${has})`);
  }
  // np.save writes exactly the array: more bytes mean a damaged shape or header.
  if (has > need) {
    throw new Error(`${what}: npy data is ${has} bytes, shape ${formatShape(dims)} ${descr} needs ${need} (damaged shape or trailing bytes)`);
  }
  return { shape: dims, data: decodeToF32(buf, dataStart, count, dtype), sourceDType: dtype };
}

export function readNpy(path: string): HostTensor {
  return parseNpy(readFileBytes(path), path);
}

/** Every *.npy in `dir` (not recursive), keyed by file name without the extension, sorted by name. */
export function readNpyDir(dir: string): TensorMap {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`readNpyDir: ${dir} is not a directory`);
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.npy'))
    .sort();
  if (files.length === 0) throw new Error(`readNpyDir: no .npy files in ${dir}`);
  const map: TensorMap = new Map();
  for (const f of files) map.set(basename(f, '.npy'), readNpy(join(dir, f)));
  return map;
}
