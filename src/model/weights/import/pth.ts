// PyTorch checkpoints (torch.save) -> TensorMap, in both of torch.save's formats:
//  - zip (torch >= 1.6): the archive holds `<prefix>/data.pkl` (the pickled object) and
//    `<prefix>/data/<key>` raw little-endian storages; persistent ids are
//    ('storage', <storage type>, key, location, numel);
//  - legacy (torch < 1.6): five pickles one after another (the magic number
//    0x1950a86a20f9469cfc6c, the protocol version 1001, a sys-info dict, the object, the list of
//    storage keys), then each storage of that list as an int64 element count and its raw bytes;
//    persistent ids are ('storage', type, key, location, numel, view) with view None or
//    (view key, offset, numel) for a storage sharing another's bytes.
// Tensors in the pickle are `_rebuild_tensor_v2(storage, offset, size, stride, ...)`. The object
// is a state_dict, or a dict holding one under 'state_dict' beside other entries (mmcv's and
// mmengine's checkpoints: 'meta', 'optimizer', ...) or under 'model_state' (VainF's
// DeepLabV3Plus-Pytorch: 'optimizer_state', 'scheduler_state', 'cur_itrs', 'best_score'), which
// readTorchCheckpoint returns as well.
import { checkCount, checkShape } from '../../../io/reader-rules.js';
import { readFileBytes } from '../../../io/file-bytes.js';
import { NUMPY_SCALAR_GLOBALS } from './numpy-scalars.js';
import { unpickle, unpickleOne } from './pickle.js';
import { isPickleTuple, pickleRepr } from './pickle-values.js';
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
  const size = checkShape(sizeArg, 'size', '_rebuild_tensor_v2');
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

/** The only names a checkpoint's pickle may reference; `rebuild` makes a tensor of a storage view. */
function pthGlobals(rebuild: (storage: unknown, offset: unknown, size: unknown, stride: unknown) => unknown): Record<string, unknown> {
  const g: Record<string, unknown> = {
    'collections.OrderedDict': () => new Map(),
    'torch._utils._rebuild_tensor': rebuild,
    'torch._utils._rebuild_tensor_v2': rebuild, // extra args (requires_grad, hooks, metadata) ignored
    'torch._utils._rebuild_parameter': (data: unknown) => data,
    'torch._utils._rebuild_parameter_with_state': (data: unknown) => data,
    // Numbers a training checkpoint keeps beside its state dict (VainF's best_score).
    ...NUMPY_SCALAR_GLOBALS,
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

/** A persistent id's storage record, checked: its type, key and element count. */
function storageRecord(pid: unknown, fields: number): { type: StorageType & { dtype: SourceDType }; key: string; numel: number; view: unknown } {
  if (!isPickleTuple(pid) || pid[0] !== 'storage' || pid.length < fields) {
    const expected = fields === 6 ? "('storage', type, key, location, numel, view)" : "('storage', type, key, location, numel)";
    throw new Error(`unsupported persistent id ${pickleRepr(pid)} (expected ${expected})`);
  }
  const [, type, key, , numel, view] = pid;
  if (!(type instanceof StorageType)) throw new Error(`persistent id names ${pickleRepr(type)}, not a storage type`);
  if (type.dtype === null) throw new Error(`unsupported storage type ${type.name}`);
  if (typeof key !== 'string') throw new Error(`bad storage key ${pickleRepr(key)} in persistent id`);
  if (typeof numel !== 'number') throw new Error(`bad element count ${pickleRepr(numel)} for storage ${key}`);
  checkCount(numel, Number.MAX_SAFE_INTEGER, 'element count', `storage ${key}`);
  return { type: type as StorageType & { dtype: SourceDType }, key, numel, view };
}

/**
 * The persistent_load of a checkpoint: each storage once, its bytes from `bytesOf(key)` (named
 * `where(key)` in errors), checked against the element count its record gives.
 */
function storageLoader(bytesOf: (key: string) => Uint8Array | undefined, where: (key: string) => string, fields: number): (pid: unknown) => Storage {
  const storages = new Map<string, Storage>();
  return (pid) => {
    const { type, key, numel, view } = storageRecord(pid, fields);
    const bytes = bytesOf(key);
    if (!bytes) throw new Error(`storage ${where(key)} is missing from the ${fields === 6 ? 'file' : 'archive'}`);
    let s = storages.get(key);
    if (s) {
      if (s.dtype !== type.dtype || s.numel !== numel) {
        throw new Error(`storage ${key} is named as ${type.name} of ${numel} elements, and elsewhere as ${s.dtype} of ${s.numel}`);
      }
    } else {
      // torch.save writes exactly numel elements: fewer bytes is a cut file, more a damaged count.
      const need = numel * DTYPE_SIZE[type.dtype];
      if (bytes.length < need) {
        throw new Error(`storage ${key} is truncated: ${type.name} of ${numel} elements needs ${need} bytes, has ${bytes.length}`);
      }
      if (bytes.length !== need) {
        throw new Error(`storage ${key} has ${bytes.length} bytes, but its record says ${type.name} of ${numel} elements (${need} bytes)`);
      }
      s = new Storage(key, type.dtype, bytes, numel);
      storages.set(key, s);
    }
    if (view === undefined || view === null) return s;
    // A legacy view: (view key, element offset, elements) of the root storage.
    if (!isPickleTuple(view) || view.length !== 3 || typeof view[1] !== 'number' || typeof view[2] !== 'number') {
      throw new Error(`bad storage view ${pickleRepr(view)} of storage ${key}`);
    }
    const [viewKey, offset, count] = view as readonly [unknown, number, number];
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(count) || offset < 0 || count < 0 || offset + count > s.numel) {
      throw new Error(`storage view ${pickleRepr(viewKey)} (offset ${offset}, ${count} elements) is outside storage ${key} of ${s.numel}`);
    }
    const size = DTYPE_SIZE[s.dtype];
    return new Storage(String(viewKey), s.dtype, s.bytes.subarray(offset * size, (offset + count) * size), count);
  };
}

/** What torch.load returns, as far as weights go. */
export interface TorchCheckpoint {
  /** The state dict's tensors (the top level's, or those under 'state_dict' or 'model_state'), in the file's order. */
  tensors: TensorMap;
  /** The top-level dict as unpickled: a Map whose tensors are TensorMap values, dicts Maps, tuples frozen arrays. */
  root: Map<unknown, unknown>;
}

/** The magic number a legacy checkpoint opens with (torch/serialization.py's MAGIC_NUMBER). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** Whether the bytes open as a legacy checkpoint does: PROTO 2, then LONG1 of 10 bytes. */
export function isLegacyTorchFile(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x80 && buf[1] === 0x02 && buf[2] === 0x8a && buf[3] === 0x0a;
}

/** Unpickles a legacy checkpoint: its object, with the storages that follow the pickles. */
function readLegacy(buf: Uint8Array, what: string, budget: DecodeBudget): unknown {
  let pos = 0;
  const next = (label: string, opts: Partial<Parameters<typeof unpickleOne>[1]> = {}): unknown => {
    if (pos >= buf.length) throw new Error(`${what}: truncated legacy checkpoint: it ends before its ${label}`);
    const { value, end } = unpickleOne(buf.subarray(pos), { globals: {}, ...opts, what: `${what}: ${label} (at byte ${pos})` });
    pos += end;
    return value;
  };
  const magic = next('magic number');
  if (magic !== LEGACY_MAGIC && magic !== Number(LEGACY_MAGIC)) throw new Error(`${what}: not a PyTorch checkpoint (magic number ${pickleRepr(magic)})`);
  const protocol = next('protocol version');
  if (protocol !== LEGACY_PROTOCOL) throw new Error(`${what}: legacy checkpoint protocol ${pickleRepr(protocol)} is not ${LEGACY_PROTOCOL}`);
  const sysInfo = next('system info');
  if (sysInfo instanceof Map && sysInfo.get('little_endian') === false) throw new Error(`${what}: big-endian checkpoints are not supported`);
  // The object's storages come after it: a first pass records which exist, without tensors.
  const objectStart = pos;
  const records = new Map<string, { type: StorageType & { dtype: SourceDType }; numel: number }>();
  next('object', {
    globals: pthGlobals(() => null),
    persistentLoad: (pid) => {
      const { type, key, numel } = storageRecord(pid, 6);
      records.set(key, { type, numel });
      return null;
    },
  });
  const keys = next('storage list');
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'string')) throw new Error(`${what}: the legacy storage list is not a list of keys: ${pickleRepr(keys)}`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const data = new Map<string, Uint8Array>();
  for (const key of keys as string[]) {
    const record = records.get(key);
    if (!record) throw new Error(`${what}: storage ${key} is in the storage list but no tensor uses it`);
    if (pos + 8 > buf.length) throw new Error(`${what}: storage ${key} is truncated: the file ends before its element count (byte ${pos})`);
    const count = view.getBigInt64(pos, true);
    if (count !== BigInt(record.numel)) {
      throw new Error(`${what}: storage ${key} holds ${count} elements in the file, but its record says ${record.type.name} of ${record.numel}`);
    }
    const bytes = record.numel * DTYPE_SIZE[record.type.dtype];
    if (pos + 8 + bytes > buf.length) {
      throw new Error(`${what}: storage ${key} is truncated: ${record.type.name} of ${record.numel} elements needs ${bytes} bytes at byte ${pos + 8}, the file has ${buf.length - pos - 8}`);
    }
    data.set(key, buf.subarray(pos + 8, pos + 8 + bytes));
    pos += 8 + bytes;
  }
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown) => rebuildTensor(budget, storage, offset, size, stride);
  return unpickle(buf.subarray(objectStart), {
    globals: pthGlobals(rebuild),
    persistentLoad: storageLoader((k) => data.get(k), (k) => k, 6),
    what: `${what}: object`,
  });
}

/** Unpickles a zip checkpoint's data.pkl over the archive's storages. */
function readZipCheckpoint(buf: Uint8Array, what: string, budget: DecodeBudget): unknown {
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
  // The budget's errors come through the unpickler, which names the file.
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown) => rebuildTensor(budget, storage, offset, size, stride);
  return unpickle(pkl, {
    globals: pthGlobals(rebuild),
    persistentLoad: storageLoader((k) => entries.get(`${prefix}data/${k}`), (k) => `${prefix}data/${k}`, 5),
    what: `${what}: ${prefix}data.pkl`,
  });
}

/** The tensors of a dict, in its order (non-tensor values skipped). */
function tensorsOf(dict: Map<unknown, unknown>): TensorMap {
  const out: TensorMap = new Map();
  for (const [k, v] of dict) {
    if (v instanceof PthTensor && typeof k === 'string') out.set(k, { shape: v.shape, data: v.data, sourceDType: v.sourceDType });
  }
  return out;
}

/** The keys a training checkpoint keeps its state_dict under: mmcv's and mmengine's, VainF's. */
const STATE_DICT_KEYS = ['state_dict', 'model_state'] as const;

/**
 * Reads a torch.save'd checkpoint (zip or legacy format) into f32 host tensors: a state_dict, or
 * a dict with the state_dict under 'state_dict' or 'model_state'. `source` names the file in errors.
 */
export function readTorchCheckpoint(bufOrPath: Uint8Array | string, source?: string): TorchCheckpoint {
  const what = source ?? (typeof bufOrPath === 'string' ? bufOrPath : 'pth');
  const buf = typeof bufOrPath === 'string' ? readFileBytes(bufOrPath) : bufOrPath;
  const budget = new DecodeBudget(buf.length);
  const root = isLegacyTorchFile(buf) ? readLegacy(buf, what, budget) : readZipCheckpoint(buf, what, budget);
  if (!(root instanceof Map)) {
    throw new Error(`${what}: not a state_dict (the checkpoint's top-level object is not a dict)`);
  }
  const key = STATE_DICT_KEYS.find((k) => root.get(k) instanceof Map);
  const nested = key === undefined ? undefined : (root.get(key) as Map<unknown, unknown>);
  const tensors = tensorsOf(nested ?? root);
  if (tensors.size === 0) {
    const keys = [...root.keys()].slice(0, 8).map(String).join(', ');
    const where = key !== undefined ? `under '${key}'` : 'at the top level of the checkpoint';
    throw new Error(`${what}: no tensors ${where} (keys: ${keys}); expected a state_dict`);
  }
  return { tensors, root };
}

/** readTorchCheckpoint's tensors: the state_dict of a checkpoint file or its bytes. */
export function readPth(bufOrPath: Uint8Array | string, source?: string): TensorMap {
  return readTorchCheckpoint(bufOrPath, source).tensors;
}
