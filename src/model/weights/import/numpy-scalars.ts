// The pickle globals of a numpy scalar, as torch.save (pickle protocol 2) writes one: training
// checkpoints keep such values beside the state dict (VainF's `best_score`, a numpy float64 from
// its metrics). `scalar(dtype('f8', False, True) + BUILD(state), _codecs.encode(text, 'latin1'))`
// is read as the number its bytes hold; nothing is executed, and other dtypes are refused by name.

/** numpy's dtype as pickled: its name, and the byte order its BUILD state gives. */
class NumpyDtype {
  order = '<';
  constructor(readonly name: string) {}
  __setstate__(state: unknown): void {
    // (version, byte order, subarray, names, fields, elsize, alignment, flags)
    if (!Array.isArray(state) || typeof state[1] !== 'string') throw new Error(`numpy dtype ${this.name}: unexpected state`);
    this.order = state[1];
  }
}

/** How each numpy scalar type we read is read from its bytes (little-endian). */
const READERS: Record<string, [number, (v: DataView) => number]> = {
  f8: [8, (v) => v.getFloat64(0, true)],
  f4: [4, (v) => v.getFloat32(0, true)],
  i8: [8, (v) => Number(v.getBigInt64(0, true))],
  i4: [4, (v) => v.getInt32(0, true)],
  b1: [1, (v) => v.getUint8(0)],
};

function scalar(dtype: unknown, bytes: unknown): number {
  if (!(dtype instanceof NumpyDtype)) throw new Error('numpy scalar without a dtype');
  if (!(bytes instanceof Uint8Array)) throw new Error(`numpy ${dtype.name} scalar without its bytes`);
  const reader = Object.hasOwn(READERS, dtype.name) ? READERS[dtype.name] : undefined;
  if (!reader) throw new Error(`numpy scalar of dtype ${dtype.name} is not read (only ${Object.keys(READERS).join(', ')})`);
  if (dtype.order === '>') throw new Error(`big-endian numpy ${dtype.name} scalar`);
  if (bytes.length !== reader[0]) throw new Error(`numpy ${dtype.name} scalar of ${bytes.length} bytes`);
  return reader[1](new DataView(bytes.buffer, bytes.byteOffset, bytes.length));
}

/** Protocol 2's bytes: a str of code points 0..255 encoded as latin-1. */
function encode(text: unknown, encoding: unknown): Uint8Array {
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) throw new Error(`_codecs.encode of ${typeof text} as ${String(encoding)}`);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) throw new Error('_codecs.encode: a code point above 255 in latin-1');
    out[i] = c;
  }
  return out;
}

/** The globals, by 'module.name' (numpy 1's `numpy.core` and numpy 2's `numpy._core`). */
export const NUMPY_SCALAR_GLOBALS: Readonly<Record<string, unknown>> = {
  '_codecs.encode': encode,
  'numpy.dtype': (name: unknown) => {
    if (typeof name !== 'string') throw new Error('numpy dtype without a name');
    return new NumpyDtype(name);
  },
  'numpy.core.multiarray.scalar': scalar,
  'numpy._core.multiarray.scalar': scalar,
};
