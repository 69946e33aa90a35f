// torch.save written from TypeScript, for the tests: a tree of dicts, lists, tuples, strings,
// numbers and tensors as PyTorch's zip format (torch >= 1.6) or its legacy format (torch < 1.6),
// with the opcodes and records PyTorch itself writes (see src/model/weights/import/pth.ts).
import { P, ascii, buildZip, concat } from './builders.js';

/** A tensor to save: float32 values, or an int64 scalar/vector (num_batches_tracked). */
export interface SavedTensor {
  tensor: true;
  shape: number[];
  data: Float32Array | BigInt64Array;
}

export type Saved = string | number | boolean | null | SavedTensor | Saved[] | { tuple: Saved[] } | Map<string, Saved>;

export function savedTensor(shape: number[], data: Float32Array | BigInt64Array): SavedTensor {
  return { tensor: true, shape, data };
}

function isTensor(v: Saved): v is SavedTensor {
  return typeof v === 'object' && v !== null && 'tensor' in v;
}

/** Row-major strides of a shape. */
function strides(shape: number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) out[d] = out[d + 1] * shape[d + 1];
  return out;
}

function tupleOf(items: number[][]): number[] {
  return [...P.mark, ...items.flat(), ...P.tuple];
}

/** The pickle of `root` (protocol 2) and the storages its tensors reference, in order. */
function pickleTree(root: Saved, legacy: boolean): { pkl: Uint8Array; storages: { key: string; bytes: Uint8Array; numel: number }[] } {
  const storages: { key: string; bytes: Uint8Array; numel: number }[] = [];
  const out: number[] = [...P.proto(2)];
  const emit = (v: Saved): void => {
    if (v === null) out.push(...P.none);
    else if (typeof v === 'boolean') out.push(...(v ? P.newTrue : P.newFalse));
    else if (typeof v === 'number') out.push(...(Number.isInteger(v) ? P.int(v) : P.float(v)));
    else if (typeof v === 'string') out.push(...P.str(v));
    else if (Array.isArray(v)) {
      out.push(...P.emptyList, ...P.mark);
      v.forEach(emit);
      out.push(...P.appends);
    } else if (v instanceof Map) {
      out.push(...P.emptyDict, ...P.mark);
      for (const [k, x] of v) {
        out.push(...P.str(k));
        emit(x);
      }
      out.push(...P.setItems);
    } else if (isTensor(v)) {
      const key = String(storages.length);
      const long = v.data instanceof BigInt64Array;
      const numel = v.data.length;
      storages.push({ key, bytes: new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength).slice(), numel });
      out.push(...P.global('torch._utils', '_rebuild_tensor_v2'), ...P.mark);
      const pid = [...P.str('storage'), ...P.global('torch', long ? 'LongStorage' : 'FloatStorage'), ...P.str(key), ...P.str('cpu'), ...P.int(numel)];
      out.push(...P.mark, ...pid, ...(legacy ? P.none : []), ...P.tuple, ...P.binPersId);
      out.push(...P.int(0), ...tupleOf(v.shape.map((d) => P.int(d))), ...tupleOf(strides(v.shape).map((d) => P.int(d))), ...P.newFalse);
      out.push(...P.global('collections', 'OrderedDict'), ...P.emptyTuple, ...P.reduce, ...P.tuple, ...P.reduce);
    } else {
      out.push(...P.mark);
      v.tuple.forEach(emit);
      out.push(...P.tuple);
    }
  };
  emit(root);
  out.push(...P.stop);
  return { pkl: Uint8Array.from(out), storages };
}

/** torch.save(root, f) in the zip format (archive folder `name`). */
export function torchSaveZip(root: Saved, name = 'archive'): Uint8Array {
  const { pkl, storages } = pickleTree(root, false);
  return buildZip([
    { name: `${name}/data.pkl`, data: pkl },
    { name: `${name}/byteorder`, data: ascii('little') },
    ...storages.map((s) => ({ name: `${name}/data/${s.key}`, data: s.bytes, pad: 20 })),
    { name: `${name}/version`, data: ascii('3\n') },
  ]);
}

/** torch.save(root, f, _use_new_zipfile_serialization=False): the legacy stream. */
export function torchSaveLegacy(root: Saved): Uint8Array {
  const { pkl, storages } = pickleTree(root, true);
  const magic = concat([P.proto(2), P.long1([0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]), P.stop]);
  const protocol = concat([P.proto(2), P.int(1001), P.stop]);
  const sysInfo = concat([P.proto(2), P.emptyDict, P.mark, P.str('protocol_version'), P.int(1001), P.str('little_endian'), P.newTrue, P.setItems, P.stop]);
  const keys = concat([P.proto(2), P.emptyList, P.mark, ...storages.map((s) => P.str(s.key)), P.appends, P.stop]);
  const data = storages.flatMap((s) => {
    const n = new Uint8Array(8);
    new DataView(n.buffer).setBigInt64(0, BigInt(s.numel), true);
    return [n, s.bytes];
  });
  return concat([magic, protocol, sysInfo, pkl, keys, ...data]);
}
