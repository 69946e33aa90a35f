// PyTorch checkpoint (torch.save zip format) -> TensorMap. The archive holds
// `<prefix>/data.pkl` (the pickled state_dict) and `<prefix>/data/<key>` raw little-endian
// storages; tensors in the pickle are `_rebuild_tensor_v2(storage, offset, size, stride, ...)`
// over persistent ids ('storage', <storage type>, key, location, numel).
import { readFileBytes } from '../../../io/file-bytes.js';
import { isPickleTuple, pickleRepr, unpickle } from './pickle.js';
import { DecodeBudget, type HostTensor, type SourceDType, type TensorMap, DTYPE_SIZE, decodeToF32, formatShape, shapeNumel } from './tensor-map.js';
import { readZip } from './zip.js';

/** A storage class named in the pickle; dtype null marks a known but unsupported one. */
class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: SourceDType | null,
  ) {}
}

const STORAGE_DTYPES: ReadonlyArray<[string, SourceDType | null]> = [
  ['torch.FloatStorage', 'f32'],
  ['torch.HalfStorage', 'f16'],
  ['torch.BFloat16Storage', 'bf16'],
  ['torch.DoubleStorage', 'f64'],
  ['torch.LongStorage', 'i64'],
  ['torch.IntStorage', 'i32'],
  ['torch.ByteStorage', 'u8'],
  ['torch.CharStorage', 'i8'],
  ['torch.BoolStorage', 'bool'],
  // An untyped storage is raw bytes.
  ['torch.UntypedStorage', 'u8'],
  ['torch.storage.UntypedStorage', 'u8'],
  // Known, but without an f32 conversion here: named in a clear error if a tensor uses them.
  ['torch.ShortStorage', null],
  ['torch.ComplexFloatStorage', null],
  ['torch.ComplexDoubleStorage', null],
  ['torch.QInt8Storage', null],
  ['torch.QUInt8Storage', null],
  ['torch.QInt32Storage', null],
  ['torch.QUInt4x2Storage', null],
  ['torch.QUInt2x4Storage', null],
];

/** One raw storage record of the archive, typed by its storage class. */
class Storage {
  constructor(
    readonly key: string,
    readonly dtype: SourceDType,
    readonly bytes: Uint8Array,
    readonly numel: number,
  ) {}
}

/** What _rebuild_tensor_v2 returns: marks a value of the state_dict as a tensor. */
class PthTensor implements HostTensor {
  constructor(
    readonly shape: number[],
    readonly data: Float32Array,
    readonly sourceDType: SourceDType,
  ) {}
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
    throw new Error(`${what} is not a tuple of non-negative integers: ${pickleRepr(v)}`);
  }
  return [...(v as number[])];
}

/**
 * Materialises a (possibly strided, offset) view of a storage as a dense row-major tensor. A view
 * may not hold more elements than its storage (only zero or overlapping strides could, which a
 * state_dict does not use), and all views together stay within the file's decode budget.
 */
function rebuildTensor(budget: DecodeBudget, storage: unknown, storageOffset: unknown, sizeArg: unknown, strideArg: unknown): PthTensor {
  if (!(storage instanceof Storage)) throw new Error(`_rebuild_tensor_v2: first argument is not a storage but ${pickleRepr(storage)}`);
  const size = intList(sizeArg, '_rebuild_tensor_v2 size');
  const stride = intList(strideArg, '_rebuild_tensor_v2 stride');
  if (stride.length !== size.length) {
    throw new Error(`_rebuild_tensor_v2: size ${formatShape(size)} and stride ${formatShape(stride)} differ in rank`);
  }
  if (typeof storageOffset !== 'number' || !Number.isSafeInteger(storageOffset) || storageOffset < 0) {
    throw new Error(`_rebuild_tensor_v2: bad storage offset ${pickleRepr(storageOffset)}`);
  }
  const n = shapeNumel(size);
  if (n === 0) return new PthTensor(size, new Float32Array(0), storage.dtype);
  if (n > storage.numel) {
    throw new Error(
      `tensor view of size ${formatShape(size)} (${n} elements, stride ${formatShape(stride)}) is larger than its storage ${storage.key} of ${storage.numel}`,
    );
  }
  let last = storageOffset;
  for (let d = 0; d < size.length; d++) last += (size[d] - 1) * stride[d];
  if (last >= storage.numel) {
    throw new Error(
      `tensor view (offset ${storageOffset}, size ${formatShape(size)}, stride ${formatShape(stride)}) ` +
        `reaches element ${last} of storage ${storage.key} which has ${storage.numel}`,
    );
  }
  budget.take(n, `tensor of size ${formatShape(size)} over storage ${storage.key}`);
  const itemSize = DTYPE_SIZE[storage.dtype];
  let contiguous = true;
  for (let d = size.length - 1, expect = 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expect) contiguous = false;
    expect *= size[d];
  }
  if (contiguous) {
    return new PthTensor(size, decodeToF32(storage.bytes, storageOffset * itemSize, n, storage.dtype), storage.dtype);
  }
  // Decode the covered span once, then gather with an odometer over the view's indices.
  const span = decodeToF32(storage.bytes, storageOffset * itemSize, last - storageOffset + 1, storage.dtype);
  const out = new Float32Array(n);
  const idx = new Array<number>(size.length).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    out[i] = span[src];
    for (let d = size.length - 1; d >= 0; d--) {
      idx[d]++;
      src += stride[d];
      if (idx[d] < size[d]) break;
      src -= stride[d] * size[d];
      idx[d] = 0;
    }
  }
  return new PthTensor(size, out, storage.dtype);
}

/** The only names a checkpoint's pickle may reference. */
function pthGlobals(budget: DecodeBudget): Record<string, unknown> {
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown) => rebuildTensor(budget, storage, offset, size, stride);
  const g: Record<string, unknown> = {
    'collections.OrderedDict': () => new Map(),
    'torch._utils._rebuild_tensor': rebuild,
    'torch._utils._rebuild_tensor_v2': rebuild, // extra args (requires_grad, hooks, metadata) ignored
    'torch._utils._rebuild_parameter': (data: unknown) => data,
    'torch._utils._rebuild_parameter_with_state': (data: unknown) => data,
  };
  for (const [name, dtype] of STORAGE_DTYPES) g[name] = new StorageType(name, dtype);
  return g;
}

function findPickle(entries: Map<string, Uint8Array>, what: string): { prefix: string; pkl: Uint8Array } {
  for (const [name, bytes] of entries) {
    const m = /^((?:[^/]+\/)?)data\.pkl$/.exec(name);
    if (m) return { prefix: m[1], pkl: bytes };
  }
  throw new Error(`${what}: not a PyTorch checkpoint (no data.pkl)`);
}

/**
 * Reads a torch.save'd state_dict (zip format, torch >= 1.6) into f32 host tensors.
 * Non-tensor values of the dict are skipped. `source` names the file in errors.
 */
export function readPth(bufOrPath: Uint8Array | string, source?: string): TensorMap {
  const what = source ?? (typeof bufOrPath === 'string' ? bufOrPath : 'pth');
  const buf = typeof bufOrPath === 'string' ? readFileBytes(bufOrPath) : bufOrPath;
  // Legacy files open with a pickled magic number: PROTO 2, LONG1 of 10 bytes.
  if (buf.length >= 4 && buf[0] === 0x80 && buf[1] === 0x02 && buf[2] === 0x8a && buf[3] === 0x0a) {
    throw new Error(`${what}: legacy (non-zip, torch < 1.6) PyTorch checkpoints are not supported; re-save it with a newer torch`);
  }
  let entries: Map<string, Uint8Array>;
  try {
    entries = readZip(buf);
  } catch (e) {
    throw new Error(`${what}: ${(e as Error).message}`);
  }
  const { prefix, pkl } = findPickle(entries, what);
  const order = entries.get(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(order).trim() !== 'little') {
    throw new Error(`${what}: big-endian checkpoints are not supported`);
  }

  const storages = new Map<string, Storage>();
  const persistentLoad = (pid: unknown): Storage => {
    if (!isPickleTuple(pid) || pid[0] !== 'storage' || pid.length < 5) {
      throw new Error(`unsupported persistent id ${pickleRepr(pid)} (expected ('storage', type, key, location, numel))`);
    }
    const [, type, key, , numel] = pid;
    if (!(type instanceof StorageType)) throw new Error(`persistent id names ${pickleRepr(type)}, not a storage type`);
    if (type.dtype === null) throw new Error(`unsupported storage type ${type.name}`);
    if (typeof key !== 'string') throw new Error(`bad storage key ${pickleRepr(key)} in persistent id`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
      throw new Error(`bad element count ${pickleRepr(numel)} for storage ${key}`);
    }
    const bytes = entries.get(`${prefix}data/${key}`);
    if (!bytes) throw new Error(`storage ${prefix}data/${key} is missing from the archive`);
    const cached = storages.get(key);
    if (cached) {
      if (cached.dtype !== type.dtype || cached.numel !== numel) {
        throw new Error(`storage ${key} is named as ${type.name} of ${numel} elements, and elsewhere as ${cached.dtype} of ${cached.numel}`);
      }
      return cached;
    }
    // torch.save writes exactly numel elements: fewer bytes is a cut file, more a damaged count.
    const need = numel * DTYPE_SIZE[type.dtype];
    if (bytes.length < need) {
      throw new Error(`storage ${key} is truncated: ${type.name} of ${numel} elements needs ${need} bytes, has ${bytes.length}`);
    }
    if (bytes.length !== need) {
      throw new Error(`storage ${key} has ${bytes.length} bytes, but its record says ${type.name} of ${numel} elements (${need} bytes)`);
    }
    const s = new Storage(key, type.dtype, bytes, numel);
    storages.set(key, s);
    return s;
  };

  const budget = new DecodeBudget(buf.length); // its errors come through the unpickler, which names the file
  const root = unpickle(pkl, { globals: pthGlobals(budget), persistentLoad, what: `${what}: ${prefix}data.pkl` });
  if (!(root instanceof Map)) {
    throw new Error(`${what}: not a state_dict (the checkpoint's top-level object is not a dict)`);
  }
  const out: TensorMap = new Map();
  for (const [k, v] of root) {
    if (v instanceof PthTensor && typeof k === 'string') {
      out.set(k, { shape: v.shape, data: v.data, sourceDType: v.sourceDType });
    }
  }
  if (out.size === 0) {
    const keys = [...root.keys()].slice(0, 8).map(String).join(', ');
    throw new Error(`${what}: no tensors at the top level of the checkpoint (keys: ${keys}); expected a state_dict`);
  }
  return out;
}
