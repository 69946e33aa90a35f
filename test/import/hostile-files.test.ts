// Hostile files: mutated copies of real weight files (the TFLite model, a torchvision .pth, .npy
// tensors, a safetensors checkpoint written by our writer) through every weight reader. Each
// mutant must be refused with a clear error naming the file, or read to an internally consistent
// result, quickly, without allocating what a header claims beyond the file's size (the rules are
// in test/hostile.ts). Truncations and broken checksums must always be refused.
//
// Mutants are generated from a fixed seed (HOSTILE_SEED overrides it; HOSTILE_VERBOSE=1 prints
// the messages the readers gave, grouped). The counts printed are the ones docs/reliability.md quotes.
// The TFLite and zip .pth runs sample every kind of field in the quick tier (the zip and legacy
// runs on mmseg's 25 KB fixtures), and the long runs (@slow) sample more.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { loadWeights, saveCheckpoint } from '../../src/model/loading/load-weights.js';
import { weightsFromBytes } from '../../src/model/loading/weights-from-bytes.js';
import { loadModel } from '../../src/model/model.js';
import { parseNpy } from '../../src/model/weights/import/npy.js';
import { readPth } from '../../src/model/weights/import/pth.js';
import { readSafetensors, writeSafetensors } from '../../src/model/weights/import/safetensors.js';
import { type TensorMap, decodeToF32, shapeNumel } from '../../src/model/weights/import/tensor-map.js';
import { type TfliteModel, readTflite } from '../../src/model/weights/import/tflite.js';
import { HOSTILE_SEED, Rand, Tally, hostileValues, readUint, truncationLengths, unclearError, withPatch, writeInt } from '../hostile.js';
import { FlatBuilder, P, buildNpy, buildZip, concat } from './builders.js';
import { sharedPath } from '../shared.js';
import { expectRejects, expectThrows } from '../helpers.js';

const TFLITE = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');
const PTH = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const NPY_DIR = sharedPath('weights', 'tf-deeplabv3-mnv2-pascal-trainval-513');
const NPY_FILES = [`${NPY_DIR}/MobilenetV2_Conv_Conv2D.npy`, `${NPY_DIR}/logits_semantic_biases.npy`, sharedPath('fixtures', 'torchvision', 'input_97x129.npy')];

const fileBytes = new Map<string, Uint8Array>();

/**
 * A file's bytes as a plain Uint8Array (whose slice() copies, unlike a Buffer's), read once per
 * test file: the .pth is 44 MB and two tests read it. Callers mutate copies, never these bytes.
 */
function readBytes(path: string): Uint8Array {
  let bytes = fileBytes.get(path);
  if (!bytes) {
    const b = readFileSync(path);
    // A view of the Buffer's memory where the Buffer owns all of it (not one of Node's pooled small ones).
    bytes = b.byteOffset === 0 && b.buffer.byteLength === b.length ? new Uint8Array(b.buffer) : new Uint8Array(b);
    fileBytes.set(path, bytes);
  }
  return bytes;
}

/** Null when every tensor's data has as many values as its shape says. */
function tensorsConsistent(m: TensorMap): string | null {
  for (const [k, t] of m) {
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return `${k} has shape [${t.shape}]`;
    if (t.data.length !== shapeNumel(t.shape)) return `${k} has ${t.data.length} values for shape [${t.shape}]`;
  }
  return null;
}

/** A compact identity of a tensor map: names, shapes and a CRC of the values. */
function fingerprint(m: TensorMap): string {
  return [...m].map(([k, t]) => `${k}[${t.shape}]${crc32(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))}`).join(';');
}

/** Runs `fn` with a temporary folder, removed after. */
async function withTempDir<T>(fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- TFLite: flatbuffer walk

interface Target {
  kind: string;
  at: number;
  bytes: 1 | 2 | 4 | 8;
}

/**
 * The positions of the fields a TFLite reader follows, found by walking the flatbuffer here
 * (independently of the reader): root offset, identifier, tables' vtable offsets and entries,
 * uoffsets, vector lengths, shapes, types, buffer and opcode indices, operator tensor indices,
 * option fields.
 */
function tfliteTargets(b: Uint8Array): { targets: Target[]; extent: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Target[] = [];
  let extent = 0; // the end of the last byte of any object walked
  const cover = (end: number) => (extent = Math.max(extent, end));
  const seenTables = new Set<number>();
  const field = (t: number, s: number): number => {
    const vt = t - dv.getInt32(t, true);
    if (4 + 2 * s + 2 > dv.getUint16(vt, true)) return 0;
    const o = dv.getUint16(vt + 4 + 2 * s, true);
    return o ? t + o : 0;
  };
  const table = (t: number): number => {
    if (seenTables.has(t)) return t;
    seenTables.add(t);
    const vt = t - dv.getInt32(t, true);
    out.push({ kind: 'vtable offset', at: t, bytes: 4 });
    out.push({ kind: 'vtable size', at: vt, bytes: 2 });
    cover(vt + dv.getUint16(vt, true));
    cover(t + dv.getUint16(vt + 2, true));
    for (let s = 0; 4 + 2 * s + 2 <= dv.getUint16(vt, true); s++) out.push({ kind: 'vtable entry', at: vt + 4 + 2 * s, bytes: 2 });
    return t;
  };
  const ref = (t: number, s: number): number => {
    const p = field(t, s);
    if (!p) return 0;
    out.push({ kind: 'uoffset', at: p, bytes: 4 });
    return p + dv.getUint32(p, true);
  };
  const vector = (t: number, s: number, elem: number, kind = 'vector length'): [number, number] | null => {
    const v = ref(t, s);
    if (!v) return null;
    out.push({ kind, at: v, bytes: 4 });
    cover(v + 4 + elem * dv.getUint32(v, true));
    return [v + 4, dv.getUint32(v, true)];
  };
  const scalar = (t: number, s: number, kind: string, bytes: 1 | 4): void => {
    const p = field(t, s);
    if (p) out.push({ kind, at: p, bytes });
  };
  const tables = (t: number, s: number): number[] => {
    const v = vector(t, s, 4);
    const ts: number[] = [];
    if (v) for (let i = 0; i < v[1]; i++) {
      out.push({ kind: 'uoffset', at: v[0] + 4 * i, bytes: 4 });
      ts.push(table(v[0] + 4 * i + dv.getUint32(v[0] + 4 * i, true)));
    }
    return ts;
  };
  const ints = (t: number, s: number, kind: string): void => {
    const v = vector(t, s, 4);
    if (v) for (let i = 0; i < v[1]; i++) out.push({ kind, at: v[0] + 4 * i, bytes: 4 });
  };

  out.push({ kind: 'root offset', at: 0, bytes: 4 });
  for (let i = 4; i < 8; i++) out.push({ kind: 'file identifier', at: i, bytes: 1 });
  const model = table(dv.getUint32(0, true));
  for (const oc of tables(model, 1)) {
    scalar(oc, 0, 'opcode', 1);
    scalar(oc, 3, 'opcode', 4);
    vector(oc, 1, 1, 'string length');
  }
  vector(model, 3, 1, 'string length');
  for (const buf of tables(model, 4)) vector(buf, 0, 1, 'buffer data length');
  const [sg] = tables(model, 2);
  for (const t of tables(sg, 0)) {
    ints(t, 0, 'shape dim');
    scalar(t, 1, 'tensor type', 1);
    scalar(t, 2, 'buffer index', 4);
    vector(t, 3, 1, 'string length');
  }
  ints(sg, 1, 'subgraph input/output');
  ints(sg, 2, 'subgraph input/output');
  for (const op of tables(sg, 3)) {
    scalar(op, 0, 'opcode index', 4);
    ints(op, 1, 'operator tensor index');
    ints(op, 2, 'operator tensor index');
    scalar(op, 3, 'options type', 1);
    const opts = ref(op, 4);
    if (opts) {
      table(opts);
      for (let s = 0; s < 8; s++) scalar(opts, s, 'options field', 1);
    }
  }
  return { targets: out, extent };
}

/** Where the dims of the main subgraph's first input tensor lie (its shape vector's first element). */
function tfliteInputShapeAt(b: Uint8Array): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const deref = (p: number) => p + dv.getUint32(p, true);
  const field = (t: number, s: number) => t + dv.getUint16(t - dv.getInt32(t, true) + 4 + 2 * s, true);
  const elem = (v: number, i: number) => v + 4 + 4 * i;
  const model = deref(0);
  const sg = deref(elem(deref(field(model, 2)), 0));
  const input = dv.getInt32(elem(deref(field(sg, 1)), 0), true);
  const tensor = deref(elem(deref(field(sg, 0)), input));
  return elem(deref(field(tensor, 0)), 0);
}

/** The model's tensors (names, shapes, types, a CRC of the values) and operators, as one string. */
function tfliteFingerprint(m: TfliteModel): string {
  const tensors = m.tensors.map((t) => `${t.name}[${t.shape}]${t.type}:${t.data ? crc32(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)) : '-'}`);
  return JSON.stringify([tensors, m.operators, m.inputs, m.outputs, m.description]);
}

/** Null when every index of the model is in range and every constant matches its shape. */
function tfliteConsistent(m: TfliteModel): string | null {
  for (const t of m.tensors) {
    if (t.data && t.data.length !== shapeNumel(t.shape)) return `${t.name} has ${t.data.length} values for [${t.shape}]`;
  }
  const inRange = (ids: number[]) => ids.every((i) => Number.isInteger(i) && i >= -1 && i < m.tensors.length);
  if (!inRange(m.inputs) || !inRange(m.outputs)) return 'subgraph input/output out of range';
  for (const op of m.operators) if (!inRange(op.inputs) || !inRange(op.outputs)) return `${op.opcode} tensor index out of range`;
  return null;
}

describe('hostile files: weight readers', function () {
  this.timeout(600_000);
  // The f16 table is built on first use (256 KB): not an allocation a file's header asked for.
  before(() => decodeToF32(new Uint8Array(2), 0, 1, 'f16'));

  /**
   * The TFLite run: truncations, then `perKind` fields of each kind set to `values` hostile values
   * each, and the accepted mutants through the loader. The quick tier samples fewer of each.
   */
  const tfliteRun = (scale: { dense: number; spread: number; tables: number; perKind: number; values: number }): void => {
      const orig = readBytes(TFLITE);
      const name = 'hostile.tflite';
      const r = new Rand(HOSTILE_SEED);
      const tally = new Tally(TFLITE, 1000, orig.length);
      const work = orig.slice();
      const accepted: Array<{ at: number; patch: Uint8Array }> = [];

      // The tables (tensors, operators, opcodes) lie at the end, the weights before them. A cut
      // before the end of the last object the model references must be refused; this file ends
      // with 8 bytes of an unreferenced table, and a cut there must read exactly as the original.
      const { targets, extent } = tfliteTargets(orig);
      expect(extent).to.be.within(orig.length - 64, orig.length);
      const original = tfliteFingerprint(readTflite(orig, name));
      const tableStart = 2_755_900;
      const lengths = new Set(truncationLengths(orig.length, scale.dense, scale.spread, r));
      for (const n of r.sample(Array.from({ length: orig.length - tableStart }, (_, i) => tableStart + i), scale.tables)) lengths.add(n);
      for (let n = extent - 8; n < orig.length; n++) lengths.add(n);
      for (const n of [...lengths].sort((a, b) => a - b)) {
        tally.check(n < extent ? 'truncation' : 'truncation in unreferenced bytes', `to ${n}`, () => readTflite(work.subarray(0, n), name), {
          name,
          mustRefuse: n < extent,
          consistent: (m) => (tfliteFingerprint(m) === original ? null : 'differs from the original'),
        });
      }

      const byKind = groupByKind(targets);
      for (const [kind, ts] of byKind) {
        for (const t of r.sample(ts, scale.perKind)) {
          const v = readUint(orig, t.at, t.bytes);
          for (const nv of hostileValues(v, t.bytes, orig.length, r, scale.values)) {
            const patch = new Uint8Array(t.bytes);
            writeInt(patch, 0, t.bytes, nv);
            const outcome = withPatch(work, t.at, patch, () =>
              tally.check(kind, `at ${t.at}: ${v} -> ${nv}`, () => readTflite(work, name), { name, consistent: tfliteConsistent }),
            );
            if (outcome === 'accepted') accepted.push({ at: t.at, patch });
          }
        }
      }
      // Dims far beyond the file (with the other dims, billions of elements): never allocated.
      const shapeDims = byKind.get('shape dim')!;
      for (const huge of [2 ** 31 - 1, 2 ** 30, 65536]) {
        const t = shapeDims[r.int(shapeDims.length)];
        const patch = new Uint8Array(4);
        writeInt(patch, 0, 4, BigInt(huge));
        withPatch(work, t.at, patch, () => tally.check('huge claim', `dim at ${t.at} = ${huge}`, () => readTflite(work, name), { name, consistent: tfliteConsistent }));
      }
      tally.assert();

      // What the readers accepted must load through the model builder, or fail clearly, naming the file.
      const loaderTally = new Tally(`${TFLITE} (accepted mutants through weightsFromBytes)`, 2000, 2 * orig.length);
      for (const [i, { at, patch }] of accepted.entries()) {
        const source = `accepted-${i}.tflite`;
        withPatch(work, at, patch, () =>
          loaderTally.check('accepted by readTflite', `${i} (at ${at})`, () => weightsFromBytes(work, 'tflite', source, {}, source), { name: source }),
        );
      }
      loaderTally.assert();
  };

  it('TFLite, sampled: truncations and every kind of flatbuffer field', () => tfliteRun({ dense: 128, spread: 30, tables: 30, perKind: 3, values: 2 }));
  describe('long mutation runs @slow @extended', () => {
    it('TFLite: truncations, flatbuffer offsets, vtables, lengths, shapes, types and indices', () => tfliteRun({ dense: 1024, spread: 120, tables: 200, perKind: 16, values: 3 }));
  });

  it('TFLite: a model whose tensors all share one large buffer is refused, not decoded once per tensor', () => {
    /** n tensors of 2^18 f32 values (1 MB), all over one 1 MB buffer; forward-only builder. */
    const sharedModel = (n: number): Uint8Array => {
      const fb = new FlatBuilder();
      const at: Record<string, number> = {};
      const tensorAt: number[] = [];
      fb.header('TFL3', () => at.model);
      at.model = fb.table([[4, 3], null, () => at.subgraphs, null, () => at.buffers]);
      at.subgraphs = fb.vector([() => at.sg]);
      at.buffers = fb.vector([() => at.buf, () => at.buf]);
      at.sg = fb.table([() => at.tensors]);
      at.tensors = fb.vector(Array.from({ length: n }, (_, i) => () => tensorAt[i]));
      for (let i = 0; i < n; i++) tensorAt.push(fb.table([() => at.shape, [1, 0], [4, 1]]));
      at.shape = fb.vector([1 << 18]);
      at.buf = fb.table([() => at.data]);
      at.data = fb.byteVector(new Uint8Array(1 << 20));
      return fb.finish();
    };
    // Four such tensors fit the budget (one value per byte of the file); 600 would be 600 MB.
    expect(readTflite(sharedModel(4), 'four.tflite').tensors.filter((t) => t.data)).to.have.length(4);
    const bytes = sharedModel(600);
    const tally = new Tally('shared-buffer.tflite', 2000, 4 * bytes.length);
    tally.check('shared buffer', '600 tensors', () => readTflite(bytes, 'shared.tflite'), { name: 'shared.tflite', mustRefuse: true });
    tally.assert();
    expectThrows(() => readTflite(bytes, 'shared.tflite'), /^shared\.tflite: tensor tensor_4 would bring the decoded values to more than the file's \d+ bytes allow/);
  });

  /**
   * The zip .pth run on `file`: truncations, directory and header fields (`perKind` of each
   * kind, `values` hostile values each), data flips, shuffled directories, pickle edits with
   * both CRCs fixed, and the accepted pickle mutants through the loader.
   */
  const pthRun = (
    file: string,
    seed: number,
    scale: { dense: number; spread: number; tail: number; perKind: number; values: number; flips: number; shuffles: number; opcodes: number; pickleFields: number; entries?: number },
  ): void => {
      const PTH = file;
      const orig = readBytes(file);
      const name = 'hostile.pth';
      const r = new Rand(seed);
      const t0 = process.cpuUsage();
      const reference = fingerprint(readPth(orig, name));
      const used = process.cpuUsage(t0);
      const base = (used.user + used.system) / 1000; // ms of CPU, as the tallies measure
      const tally = new Tally(PTH, Math.max(3000, 20 * base), 4 * orig.length);
      const work = orig.slice();
      const dv = new DataView(work.buffer, work.byteOffset, work.byteLength);
      const sameAsOriginal = (m: TensorMap): string | null => tensorsConsistent(m) ?? (fingerprint(m) === reference ? null : 'tensors differ from the original');

      // Truncations: the end of central directory is at the end, so every one must be refused.
      for (const n of truncationLengths(orig.length, scale.dense, scale.spread, r)) {
        tally.check('truncation', `to ${n}`, () => readPth(work.subarray(0, n), name), { name, mustRefuse: true });
      }
      for (const n of r.sample(Array.from({ length: Math.min(40000, orig.length - 1) }, (_, i) => orig.length - 1 - i), scale.tail)) {
        tally.check('truncation', `to ${n}`, () => readPth(work.subarray(0, n), name), { name, mustRefuse: true });
      }

      // The directory: EOCD, zip64 locator and record, and each central entry with its local header.
      let eocd = orig.length - 22;
      while (dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
      const z64 = Number(dv.getBigUint64(eocd - 12, true));
      let p = Number(dv.getBigUint64(z64 + 48, true));
      const cdStart = p;
      const entries: Array<{ at: number; len: number; local: number; name: string }> = [];
      const targets: Target[] = [];
      const push = (kind: string, at: number, bytes: 1 | 2 | 4 | 8) => targets.push({ kind, at, bytes });
      push('EOCD field', eocd, 4);
      for (const o of [10, 12, 16, 20]) push('EOCD field', eocd + o, o === 10 || o === 20 ? 2 : 4);
      push('zip64 locator', eocd - 20, 4);
      push('zip64 locator', eocd - 12, 8);
      push('zip64 EOCD', z64, 4);
      for (const o of [32, 40, 48]) push('zip64 EOCD', z64 + o, 8);
      while (p < eocd - 20 && dv.getUint32(p, true) === 0x02014b50) {
        const nl = dv.getUint16(p + 28, true);
        const len = 46 + nl + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
        const local = dv.getUint32(p + 42, true);
        entries.push({ at: p, len, local, name: Buffer.from(orig.subarray(p + 46, p + 46 + nl)).toString() });
        push('central entry signature', p, 4);
        push('central entry flags/method', p + 8, 2);
        push('central entry flags/method', p + 10, 2);
        push('central entry CRC', p + 16, 4);
        push('central entry sizes', p + 20, 4);
        push('central entry sizes', p + 24, 4);
        push('central entry name/extra/comment length', p + 28, 2);
        push('central entry name/extra/comment length', p + 30, 2);
        push('central entry name/extra/comment length', p + 32, 2);
        push('central entry local header offset', p + 42, 4);
        push('central entry name', p + 46 + r.int(nl), 1);
        push('local header signature', local, 4);
        push('local header method', local + 8, 2);
        push('local header name/extra length', local + 26, 2);
        push('local header name/extra length', local + 28, 2);
        p += len;
      }
      if (scale.entries !== undefined) expect(entries.length).to.equal(scale.entries);
      const byKind = groupByKind(targets);
      for (const [kind, ts] of byKind) {
        for (const t of r.sample(ts, scale.perKind)) {
          const v = readUint(orig, t.at, t.bytes);
          for (const nv of hostileValues(v, t.bytes, orig.length, r, scale.values)) {
            const patch = new Uint8Array(t.bytes);
            writeInt(patch, 0, t.bytes, nv);
            withPatch(work, t.at, patch, () =>
              tally.check(kind, `at ${t.at}: ${v} -> ${nv}`, () => readPth(work, name), { name, mustRefuse: kind === 'central entry CRC', consistent: sameAsOriginal }),
            );
          }
        }
      }

      // Stored data changed without fixing its CRC: always refused.
      for (let k = 0; k < scale.flips; k++) {
        const e = entries[4 + r.int(entries.length - 4)];
        const local = e.local;
        const dataStart = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
        const size = dv.getUint32(e.at + 20, true);
        if (size === 0) continue;
        const at = dataStart + r.int(size);
        withPatch(work, at, Uint8Array.of(orig[at] ^ (1 + r.int(255))), () =>
          tally.check('entry data (CRC not fixed)', `${e.name} at ${at}`, () => readPth(work, name), { name, mustRefuse: true }),
        );
      }

      // Shuffled central directories: the same entries in another order mean the same archive.
      const cd = orig.subarray(cdStart, p);
      for (let k = 0; k < scale.shuffles; k++) {
        const order = r.sample(entries, entries.length);
        const shuffled = concat(order.map((e) => orig.subarray(e.at, e.at + e.len)));
        expect(shuffled.length).to.equal(cd.length);
        withPatch(work, cdStart, shuffled, () =>
          tally.check('shuffled central directory', `#${k}`, () => readPth(work, name), { name, consistent: sameAsOriginal }),
        );
      }

      // The pickle (data.pkl, the first entry, stored): same-length edits with both CRCs fixed, so
      // the zip layer passes them on and the unpickler and the tensor rebuild see them.
      const pklEntry = entries[0];
      expect(pklEntry.name).to.match(/data\.pkl$/);
      const pklStart = 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
      const pklLen = dv.getUint32(pklEntry.at + 20, true);
      const pkl = orig.subarray(pklStart, pklStart + pklLen);
      const ops = scanPickle(pkl);
      const storageKeys = new Set(entries.map((e) => /\/data\/(\d+)$/.exec(e.name)?.[1]).filter((k): k is string => !!k));
      const pickleTargets: Array<{ kind: string; at: number; make: () => Uint8Array }> = [];
      const OPS = [0x28, 0x2e, 0x30, 0x4e, 0x52, 0x51, 0x62, 0x63, 0x5d, 0x7d, 0x29, 0x74, 0x85, 0x86, 0x87, 0x71, 0x68, 0x73, 0x75, 0x61, 0x65, 0x88, 0x89, 0x4b, 0x4d, 0x4a, 0x58, 0x8a, 0x93, 0x94, 0x95, 0x81];
      for (const [i, op] of ops.entries()) {
        pickleTargets.push({ kind: 'pickle opcode', at: op.at, make: () => Uint8Array.of(r.next() < 0.8 ? r.pick(OPS) : r.int(256)) });
        if (op.lenBytes) {
          const v = readUint(pkl, op.at + 1, op.lenBytes);
          pickleTargets.push({ kind: 'pickle length argument', at: op.at + 1, make: () => le(op.lenBytes, hostileValues(v, op.lenBytes as 1 | 4, pkl.length, r, 1)[0]) });
        }
        if (op.intBytes) {
          const v = readUint(pkl, op.at + 1, op.intBytes);
          // After 'cpu' in a persistent id: the storage's element count; else sizes, strides, offsets.
          const prev = ops[i - 1];
          const isNumel = prev && prev.str === 'cpu';
          pickleTargets.push({ kind: isNumel ? 'pickle storage numel' : 'pickle int (size/stride/offset)', at: op.at + 1, make: () => le(op.intBytes, hostileValues(v, op.intBytes as 1 | 2 | 4, pkl.length, r, 1)[0]) });
        }
        if (op.str !== undefined && storageKeys.has(op.str)) {
          const others = [...storageKeys].filter((k) => k.length === op.str!.length && k !== op.str);
          const missing = op.str.replace(/\d/g, '9') === op.str ? op.str.replace(/\d/g, '8') : op.str.replace(/\d/g, '9');
          pickleTargets.push({ kind: 'pickle storage key', at: op.dataAt!, make: () => Buffer.from(r.next() < 0.7 && others.length ? r.pick(others) : missing) });
        }
        if (op.code === 0x68 || op.code === 0x71) {
          pickleTargets.push({ kind: 'pickle memo index', at: op.at + 1, make: () => Uint8Array.of(r.int(256)) });
        }
        if (op.code === 0x63) pickleTargets.push({ kind: 'pickle global name', at: op.at + 1 + r.int(op.argLen - 1), make: () => Uint8Array.of(0x41 + r.int(26)) });
      }
      const pByKind = groupByKind(pickleTargets);
      const localCrcAt = 14;
      const centralCrcAt = pklEntry.at + 16;
      const accepted: Array<Array<[number, Uint8Array]>> = [];
      for (const [kind, ts] of pByKind) {
        for (const t of r.sample(ts, kind === 'pickle opcode' ? scale.opcodes : scale.pickleFields)) {
          const patch = t.make();
          const mutated = pkl.slice();
          mutated.set(patch, t.at);
          const crc = new Uint8Array(4);
          writeInt(crc, 0, 4, BigInt(crc32(mutated)));
          const patches: Array<[number, Uint8Array]> = [[pklStart + t.at, patch], [localCrcAt, crc], [centralCrcAt, crc]];
          const outcome = withPatches(work, patches, () =>
            tally.check(kind, `at ${t.at}: ${[...pkl.subarray(t.at, t.at + patch.length)]} -> ${[...patch]}`, () => readPth(work, name), { name, consistent: tensorsConsistent }),
          );
          if (outcome === 'accepted') accepted.push(patches);
        }
      }
      tally.assert();

      // What the reader accepted must load as a model, or fail clearly, naming the file.
      const loaderTally = new Tally(`${PTH} (accepted pickle mutants through weightsFromBytes)`, Math.max(3000, 40 * base), 4 * orig.length);
      for (const [i, patches] of accepted.entries()) {
        const source = `accepted-${i}.pth`;
        withPatches(work, patches, () =>
          loaderTally.check('accepted by readPth', `${i} (at ${patches[0][0]})`, () => weightsFromBytes(work, 'pth', source, {}, source), { name: source }),
        );
      }
      loaderTally.assert();
  };

  it('.pth, sampled: an mmseg checkpoint (zip): truncations, directory, headers, data, pickle edits', () =>
    pthRun(sharedPath('fixtures', 'mmseg', 'r18-d8_c19_seed1_small_0x.pth'), HOSTILE_SEED + 6, { dense: 64, spread: 30, tail: 20, perKind: 3, values: 2, flips: 6, shuffles: 2, opcodes: 20, pickleFields: 6 }));
  it('.pth, sampled: an mmseg legacy checkpoint: truncations, each pickle\'s opcodes and arguments, storage counts', () => {
    const file = sharedPath('fixtures', 'mmseg', 'r18-d8_c19_seed1_small_0x_legacy.pth');
    const orig = readBytes(file);
    const name = 'hostile-legacy.pth';
    const r = new Rand(HOSTILE_SEED + 7);
    const tally = new Tally(file, 2000, 4 * orig.length);
    expect(tensorsConsistent(readPth(orig, name))).to.equal(null);
    const work = orig.slice();
    for (const n of truncationLengths(orig.length, 64, 40, r)) {
      tally.check('truncation', `to ${n}`, () => readPth(work.subarray(0, n), name), { name, mustRefuse: true });
    }
    // The five pickles one after another (magic, protocol, sys info, object, storage keys), then
    // each storage as an int64 element count and its bytes.
    const ops: PickleOp[] = [];
    let at = 0;
    for (let k = 0; k < 5; k++) {
      const pickle = scanPickle(orig.subarray(at));
      for (const op of pickle) ops.push({ ...op, at: op.at + at, dataAt: op.dataAt === undefined ? undefined : op.dataAt + at });
      const last = pickle[pickle.length - 1];
      at += last.at + 1;
    }
    // A changed size or stride may read other values of the storage: consistent is all it can be.
    const judge = { name, consistent: tensorsConsistent };
    const patchCheck = (kind: string, at: number, patch: Uint8Array) =>
      withPatch(work, at, patch, () => tally.check(kind, `at ${at}: -> ${[...patch]}`, () => readPth(work, name), judge));
    const OPS = [0x28, 0x2e, 0x30, 0x4e, 0x52, 0x51, 0x62, 0x63, 0x5d, 0x7d, 0x29, 0x74, 0x85, 0x86, 0x87, 0x71, 0x68, 0x73, 0x75, 0x61, 0x65, 0x8a, 0x4b, 0x4a, 0x58];
    for (const op of r.sample(ops, 40)) patchCheck('pickle opcode', op.at, Uint8Array.of(r.pick(OPS)));
    for (const op of r.sample(ops.filter((o) => o.lenBytes), 15)) {
      patchCheck('pickle length argument', op.at + 1, le(op.lenBytes, hostileValues(readUint(orig, op.at + 1, op.lenBytes), op.lenBytes as 1 | 4, orig.length, r, 1)[0]));
    }
    for (const op of r.sample(ops.filter((o) => o.intBytes), 15)) {
      patchCheck('pickle int', op.at + 1, le(op.intBytes, hostileValues(readUint(orig, op.at + 1, op.intBytes), op.intBytes as 1 | 2 | 4, orig.length, r, 1)[0]));
    }
    // The first storage's int64 element count follows the pickles (the file has no checksum).
    for (const v of [0n, 1n, -1n, 1n << 40n, 1n << 62n, BigInt(readUint(orig, at, 4)) + 1n, BigInt(readUint(orig, at, 4)) - 1n]) {
      patchCheck('storage element count', at, le(8, BigInt.asUintN(64, v)));
    }
    tally.assert();
  });

  describe('long mutation runs @slow @extended', () => {
    it('.pth: truncations, zip directory fields, local headers, shuffled directories, pickle opcodes and storage keys', () =>
      pthRun(PTH, HOSTILE_SEED + 1, { dense: 64, spread: 60, tail: 60, perKind: 10, values: 2, flips: 12, shuffles: 6, opcodes: 40, pickleFields: 20, entries: 366 }));
  });

  it('.pth: a pickle that rebuilds one storage ten thousand times, or claims 2^40 elements, is refused', () => {
    const f4 = new Uint8Array(new Float32Array(1 << 16).buffer); // 256 KB storage
    const rebuild = (size: number[], stride: number[]) => [
      P.global('torch._utils', '_rebuild_tensor_v2'), P.mark, P.binGet(1), P.int(0), P.mark, ...size.map(P.int), P.tuple, P.mark, ...stride.map(P.int), P.tuple,
      P.newFalse, P.global('collections', 'OrderedDict'), P.emptyTuple, P.reduce, P.tuple, P.reduce,
    ];
    const storage = [P.mark, P.str('storage'), P.global('torch', 'FloatStorage'), P.str('0'), P.str('cpu'), P.int(1 << 16), P.tuple, P.binPersId, P.binPut(1), [0x30]];
    const items = Array.from({ length: 10_000 }, (_, i) => concat([P.str(`w${i}`), ...rebuild([1 << 16], [1])]));
    const many = concat([P.proto(2), P.emptyDict, ...storage, P.mark, ...items, P.setItems, P.stop]);
    const huge = concat([P.proto(2), P.emptyDict, ...storage, P.str('w'), ...rebuild([1 << 20, 1 << 20], [0, 0]), P.setItem, P.stop]);
    const tally = new Tally('hand-built .pth', 3000, 4 * 1024 * 1024);
    for (const [label, pickle] of [['10^4 views of one storage', many], ['[2^20, 2^20] with zero strides', huge]] as const) {
      const zip = buildZip([{ name: 'm/data.pkl', data: pickle }, { name: 'm/data/0', data: f4 }]);
      tally.check('amplification', label, () => readPth(zip, 'amp.pth'), { name: 'amp.pth', mustRefuse: true });
    }
    tally.assert();
  });

  it('.npy: truncations, magic, version, header length, header text, dtypes and shapes', () => {
    const r = new Rand(HOSTILE_SEED + 2);
    for (const file of NPY_FILES) {
      const orig = readBytes(file);
      const name = 'hostile.npy';
      const tally = new Tally(file, 1000, 4 * orig.length);
      const headerLen = orig[6] === 1 ? readUint(orig, 8, 2) : readUint(orig, 8, 4);
      const headerStart = orig[6] === 1 ? 10 : 12;
      const dataStart = headerStart + headerLen;
      const header = Buffer.from(orig.subarray(headerStart, dataStart)).toString('latin1');
      const consistent = (t: ReturnType<typeof parseNpy>) => tensorsConsistent(new Map([['t', t]]));

      for (const n of truncationLengths(orig.length, dataStart + 64, 80, r)) {
        tally.check('truncation', `to ${n}`, () => parseNpy(orig.subarray(0, n), name), { name, mustRefuse: true });
      }
      const work = orig.slice();
      for (let i = 0; i < 8; i++) {
        for (const v of hostileValues(orig[i], 1, orig.length, r, 2)) {
          withPatch(work, i, Uint8Array.of(Number(v)), () =>
            tally.check(i < 6 ? 'magic' : 'version', `byte ${i} -> ${v}`, () => parseNpy(work, name), { name, mustRefuse: i < 6, consistent }),
          );
        }
      }
      const lenBytes = (headerStart - 8) as 2 | 4;
      for (const v of hostileValues(headerLen, lenBytes, orig.length, r, 12)) {
        const patch = new Uint8Array(lenBytes);
        writeInt(patch, 0, lenBytes, v);
        withPatch(work, 8, patch, () => tally.check('header length', `${headerLen} -> ${v}`, () => parseNpy(work, name), { name, consistent }));
      }
      for (let k = 0; k < 120; k++) {
        const at = headerStart + r.int(headerLen);
        const b = r.next() < 0.5 ? r.int(256) : r.pick([...'()[]{},:\'" 0123456789-TrueFalsNn<>|f4i8u1'].map((c) => c.charCodeAt(0)));
        withPatch(work, at, Uint8Array.of(b), () =>
          tally.check('header text byte', `at ${at} -> ${b}`, () => parseNpy(work, name), { name, consistent }),
        );
      }
      // Whole fields rewritten (the header re-padded to its length, or a new length).
      const shape = /'shape': \(([^)]*)\)/.exec(header)![1];
      const dims = shape.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
      const descr = /'descr': '([^']*)'/.exec(header)![1];
      const rewrites: Array<[string, string]> = [
        ...['<f8', '<f2', '<i4', '|u1', '>f4', '<c8', '<U4', '|O', 'f4', ''].map((d): [string, string] => ['dtype', header.replace(`'descr': '${descr}'`, `'descr': '${d}'`)]),
        ['dtype', header.replace(`'descr': '${descr}'`, `'descr': [('a', '<f4')]`)],
        ['fortran order', header.replace("'fortran_order': False", "'fortran_order': True")],
        ['fortran order', header.replace("'fortran_order': False", "'fortran_order': 0")],
        ...[
          [2 ** 40], [2 ** 31, 2 ** 31], [2 ** 53 + 2], [1e30], [-1, ...dims.slice(1)], [...dims, 2], [dims.reduce((a, b) => a * b, 1)],
          dims.map((d, i) => (i === 0 ? d + 1 : d)), dims.map((d, i) => (i === 0 ? d - 1 : d)), [0], [], [...dims].reverse(),
        ].map((s): [string, string] => ['shape', header.replace(`'shape': (${shape})`, `'shape': (${s.map((d) => (d >= 1e21 ? '1' + '0'.repeat(30) : String(d))).join(', ')}${s.length === 1 ? ',' : ''})`)]),
        ['shape', header.replace(`'shape': (${shape})`, "'shape': (3.5,)")],
        ['shape', header.replace(`'shape': (${shape})`, "'shape': None")],
        ['header syntax', header.replace('{', '(')],
        ['header syntax', header.replace(/}/, '')],
        ['header syntax', '{' + "'__proto__': {'descr': '<f4'}, ".repeat(3) + header.slice(1)],
        ['header syntax', '('.repeat(500_000)],
        ['header syntax', '[' + '1,'.repeat(100_000) + ']'],
      ];
      for (const [kind, text] of rewrites) {
        const body = Buffer.from(text.trimEnd() + '\n', 'latin1');
        const bytes = concat([orig.subarray(0, 6), [2, 0], new Uint8Array(new Uint32Array([body.length]).buffer), body, orig.subarray(dataStart)]);
        tally.check(kind, text.slice(0, 60), () => parseNpy(bytes, name), { name, consistent, allocLimit: 4 * bytes.length });
      }
      // Trailing bytes after the data: the shape no longer accounts for the file.
      tally.check('trailing bytes', '+4', () => parseNpy(concat([orig, [0, 0, 0, 0]]), name), { name, mustRefuse: true });
      tally.assert();
    }
  });

  it('safetensors: truncations, header length, JSON bytes, dtypes, shapes and data offsets', async () => {
    const r = new Rand(HOSTILE_SEED + 3);
    await withTempDir((dir) => {
      const path = join(dir, 'small.safetensors');
      const rand = (n: number) => Float32Array.from({ length: n }, () => r.next() * 2 - 1);
      const tensors: TensorMap = new Map([
        ['conv.weight', { shape: [3, 3, 3, 8], data: rand(216), sourceDType: 'f32' }],
        ['conv.bias', { shape: [8], data: rand(8), sourceDType: 'f32' }],
        ['empty', { shape: [0, 4], data: new Float32Array(0), sourceDType: 'f32' }],
        ['bn.num_batches_tracked', { shape: [], data: Float32Array.of(1234), sourceDType: 'i64' }],
        ['head.weight', { shape: [1, 1, 8, 5], data: rand(40), sourceDType: 'f32' }],
      ]);
      writeSafetensors(path, tensors, { format: 'deeplab-webgpu', version: '1', config: '{"backbone":"x"}' });
      const orig = readBytes(path);
      const name = 'hostile.safetensors';
      const tally = new Tally(path.replace(dir, '<generated>'), 1000, 4 * orig.length);
      const headerLen = Number(readUint(orig, 0, 8));
      const header = JSON.parse(Buffer.from(orig.subarray(8, 8 + headerLen)).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
      const data = orig.subarray(8 + headerLen);
      const consistent = (f: ReturnType<typeof readSafetensors>) => tensorsConsistent(f.tensors);

      for (let n = 0; n < orig.length; n++) {
        tally.check('truncation', `to ${n}`, () => readSafetensors(orig.subarray(0, n), name), { name, mustRefuse: true });
      }
      const work = orig.slice();
      for (const v of hostileValues(headerLen, 8, orig.length, r, 14)) {
        const patch = new Uint8Array(8);
        writeInt(patch, 0, 8, v);
        withPatch(work, 0, patch, () => tally.check('header length', `${headerLen} -> ${v}`, () => readSafetensors(work, name), { name, consistent }));
      }
      for (let k = 0; k < 300; k++) {
        const at = 8 + r.int(headerLen);
        const b = r.next() < 0.5 ? r.int(256) : r.pick([...'{}[]",:0123456789-.eEFIUB '].map((c) => c.charCodeAt(0)));
        withPatch(work, at, Uint8Array.of(b), () => tally.check('header JSON byte', `at ${at} -> ${b}`, () => readSafetensors(work, name), { name, consistent }));
      }
      const rebuilt = (h: unknown, body: Uint8Array = data) => {
        const json = Buffer.from(JSON.stringify(h));
        const len = new Uint8Array(8);
        writeInt(len, 0, 8, BigInt(json.length));
        return concat([len, json, body]);
      };
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      const edit = (kind: string, label: string, change: (h: typeof header) => void, mustRefuse = false) => {
        const h = JSON.parse(JSON.stringify(header)) as typeof header;
        change(h);
        const bytes = rebuilt(h);
        tally.check(kind, label, () => readSafetensors(bytes, name), { name, mustRefuse, consistent });
      };
      for (const n of names) {
        for (const d of ['F16', 'BF16', 'F64', 'I64', 'I32', 'U8', 'I8', 'BOOL', 'F8_E4M3', 'X', 5, null]) edit('dtype', `${n}: ${d}`, (h) => (h[n].dtype = d as string));
        const s = header[n].shape;
        for (const shape of [[2 ** 40], [2 ** 53 + 2], [-1], [1.5], ['a'], [], [...s, 2], s.map((x, i) => (i === 0 ? x + 1 : x)), [...s].reverse(), [2 ** 31, 2 ** 31, 0], null]) {
          edit('shape', `${n}: ${JSON.stringify(shape)}`, (h) => (h[n].shape = shape as number[]));
        }
        const [b, e] = header[n].data_offsets;
        for (const offs of [[b, e + 1], [b + 4, e + 4], [e, b], [0, 2 ** 60], [-1, e], [b, e, 0], [b], [b - 4, e - 4], [0, e - b], '0-4']) {
          edit('data offsets', `${n}: ${JSON.stringify(offs)}`, (h) => (h[n].data_offsets = offs as number[]));
        }
      }
      edit('data offsets', 'two tensors on the same bytes', (h) => (h['head.weight'].data_offsets = [...h['conv.weight'].data_offsets]), true);
      edit('metadata', 'not an object', (h) => ((h as Record<string, unknown>).__metadata__ = ['x']));
      edit('metadata', 'a number value', (h) => ((h as Record<string, unknown>).__metadata__ = { format: 1 }));
      edit('header syntax', 'empty object', (h) => Object.keys(h).forEach((k) => delete h[k as keyof typeof h]));
      tally.check('header syntax', 'an array at the top', () => readSafetensors(rebuilt([1, 2]), name), { name, consistent });
      const nested = (text: string) => concat([le(8, BigInt(text.length)), Buffer.from(text)]);
      const deep = nested('['.repeat(100_000) + ']'.repeat(100_000));
      tally.check('header syntax', 'nested 100000 deep', () => readSafetensors(deep, name), { name, consistent, allocLimit: 4 * deep.length });
      const deepTensor = nested(`{"w":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
      tally.check('header syntax', 'tensor nested 100000 deep', () => readSafetensors(deepTensor, name), { name, consistent, allocLimit: 4 * deepTensor.length });
      tally.check('trailing bytes', '+8 after the last tensor', () => readSafetensors(concat([orig, new Uint8Array(8)]), name), { name, mustRefuse: true });
      tally.assert();
    });
  });

  it('our checkpoint: damaged metadata (config, input policy, classes, width) through weightsFromBytes', async () => {
    const r = new Rand(HOSTILE_SEED + 5);
    await withTempDir(async (dir) => {
      const path = join(dir, 'ours.safetensors');
      saveCheckpoint(path, await loadWeights(TFLITE));
      const orig = readBytes(path);
      const headerLen = Number(readUint(orig, 0, 8));
      const header = JSON.parse(Buffer.from(orig.subarray(8, 8 + headerLen)).toString()) as Record<string, unknown> & { __metadata__: Record<string, string> };
      const data = orig.subarray(8 + headerLen);
      const meta = header.__metadata__;
      const tally = new Tally(`checkpoint written by saveCheckpoint from ${TFLITE}`, 2000, 2 * orig.length);
      const name = 'hostile-checkpoint.safetensors';
      const withMetadata = (m: Record<string, unknown>): Uint8Array => {
        const json = Buffer.from(JSON.stringify({ ...header, __metadata__: m }));
        return concat([le(8, BigInt(json.length)), json, data]);
      };
      const load = (m: Record<string, unknown>) => {
        const bytes = withMetadata(m);
        return () => weightsFromBytes(bytes, 'safetensors', name, {}, name);
      };
      const hostile: unknown[] = [undefined, null, '', 'x', -1, 0, 2.5, 1e9, 2 ** 53 + 2, [], {}, [1, 2], true];
      // Each metadata string: removed, or replaced by garbage.
      for (const key of Object.keys(meta)) {
        for (const v of [undefined, '', 'x', '{', '[]', 'null', '1', '-1', '0']) {
          const m: Record<string, unknown> = { ...meta };
          if (v === undefined) delete m[key];
          else m[key] = v;
          tally.check(`metadata ${key}`, JSON.stringify(v ?? '(removed)'), load(m), { name });
        }
      }
      // Each field of the JSON values (config, inputPolicy, classes): removed or of a hostile value.
      for (const key of ['config', 'inputPolicy', 'classes']) {
        const obj = JSON.parse(meta[key]) as Record<string, unknown>;
        for (const field of Object.keys(obj)) {
          for (const v of r.sample(hostile, 6)) {
            const o: Record<string, unknown> = { ...obj };
            if (v === undefined) delete o[field];
            else o[field] = v;
            tally.check(`metadata ${key} field`, `${field} = ${JSON.stringify(v ?? '(removed)')}`, load({ ...meta, [key]: JSON.stringify(o) }), { name });
          }
        }
      }
      tally.check('metadata', 'the original', load(meta), { name });
      tally.assert();
    });
  });

  it('loadWeights and loadModel name the file for hostile .tflite, .pth, .safetensors and .npy folders', async () => {
    const r = new Rand(HOSTILE_SEED + 4);
    await withTempDir(async (dir) => {
      const tfl = readBytes(TFLITE);
      const pth = readBytes(PTH);
      const badRoot = tfl.slice();
      writeInt(badRoot, 0, 4, 0xfffffff0n);
      // The input tensor's height set to 2^31 - 1: refused by the structure check, not built.
      const tallInput = tfl.slice();
      const inputShape = tfliteInputShapeAt(tfl);
      writeInt(tallInput, inputShape + 4, 4, 0x7fffffffn);
      const hdr = Buffer.from('{"w":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4]}}');
      const cases: Array<[string, Uint8Array, RegExp]> = [
        ['cut.tflite', tfl.subarray(0, r.int(tfl.length)), /truncated|corrupt TFLite/],
        ['root.tflite', badRoot, /truncated or corrupt TFLite flatbuffer/],
        ['tall-input.tflite', tallInput, /the TFLite network differs from the one we built/],
        ['cut.pth', pth.subarray(0, pth.length - 1 - r.int(1000)), /truncated zip archive/],
        ['empty.safetensors', new Uint8Array(0), /truncated safetensors file \(0 bytes/],
        ['huge.safetensors', concat([le(8, BigInt(hdr.length)), hdr, new Uint8Array(4)]), /holds 4 bytes, shape \[1099511627776\] F32 needs/],
      ];
      for (const [file, bytes, problem] of cases) {
        const path = join(dir, file);
        writeFileSync(path, bytes);
        for (const [how, load] of [['loadWeights', loadWeights], ['loadModel', loadModel]] as const) {
          const err = await expectRejects(() => load(path), problem, `${how} ${file}`);
          expect(unclearError(err, path), `${how} ${file}`).to.equal(null);
        }
      }
      // A folder of .npy files with one cut short: the message names that file.
      const npyDir = join(dir, 'npy');
      mkdirSync(npyDir);
      const good = buildNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", new Uint8Array(16));
      writeFileSync(join(npyDir, 'a.npy'), good);
      writeFileSync(join(npyDir, 'b.npy'), good.subarray(0, good.length - 3));
      const err = await expectRejects(loadWeights(npyDir), /truncated npy data/, 'a folder with a truncated .npy');
      expect(unclearError(err, join(npyDir, 'b.npy'))).to.equal(null);
    });
  });
});

/**
 * Items grouped by kind, in their order (the torchvision pickle's thousands of targets: a new
 * array per item, as before, took seconds).
 */
function groupByKind<T extends { kind: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of items) {
    const group = out.get(t.kind);
    if (group) group.push(t);
    else out.set(t.kind, [t]);
  }
  return out;
}

/** withPatch for several ranges at once. */
function withPatches<T>(buf: Uint8Array, patches: Array<[number, Uint8Array]>, fn: () => T): T {
  if (patches.length === 0) return fn();
  const [[at, bytes], ...rest] = patches;
  return withPatch(buf, at, bytes, () => withPatches(buf, rest, fn));
}

function le(bytes: number, v: bigint): Uint8Array {
  const out = new Uint8Array(bytes);
  writeInt(out, 0, bytes, v);
  return out;
}

// ---------------------------------------------------------------- pickle scanning (test side)

interface PickleOp {
  at: number;
  code: number;
  /** Bytes of the length prefix of a string/bytes argument (1, 4 or 8). */
  lenBytes: 0 | 1 | 4 | 8;
  /** Bytes of an integer argument (BININT1/2/BININT). */
  intBytes: 0 | 1 | 2 | 4;
  argLen: number;
  str?: string;
  dataAt?: number;
}

/** The opcodes of a protocol 2-5 pickle with their argument positions (like pickletools.genops). */
function scanPickle(b: Uint8Array): PickleOp[] {
  const out: PickleOp[] = [];
  const fixed: Record<number, number> = { 0x80: 1, 0x95: 8, 0x4a: 4, 0x4b: 1, 0x4d: 2, 0x47: 8, 0x68: 1, 0x6a: 4, 0x71: 1, 0x72: 4, 0x82: 1, 0x83: 2, 0x84: 4 };
  const counted: Record<number, 1 | 4 | 8> = { 0x58: 4, 0x8c: 1, 0x8d: 8, 0x42: 4, 0x43: 1, 0x8e: 8, 0x96: 8, 0x54: 4, 0x55: 1, 0x8a: 1, 0x8b: 4 };
  const lines: Record<number, number> = { 0x63: 2, 0x69: 2, 0x49: 1, 0x4c: 1, 0x46: 1, 0x53: 1, 0x56: 1, 0x50: 1, 0x67: 1, 0x70: 1 };
  let p = 0;
  while (p < b.length) {
    const code = b[p];
    const op: PickleOp = { at: p, code, lenBytes: 0, intBytes: 0, argLen: 0 };
    if (code in fixed) {
      op.argLen = fixed[code];
      if (code === 0x4a || code === 0x4b || code === 0x4d) op.intBytes = fixed[code] as 1 | 2 | 4;
    } else if (code in counted) {
      const n = counted[code];
      const len = readUint(b, p + 1, n);
      op.lenBytes = n;
      op.argLen = n + len;
      if (code === 0x58 || code === 0x8c) {
        op.str = Buffer.from(b.subarray(p + 1 + n, p + 1 + n + len)).toString();
        op.dataAt = p + 1 + n;
      }
    } else if (code in lines) {
      let q = p + 1;
      for (let k = 0; k < lines[code]; k++) q = b.indexOf(0x0a, q) + 1;
      op.argLen = q - p - 1;
    }
    out.push(op);
    p += 1 + op.argLen;
    if (code === 0x2e) break;
  }
  return out;
}
