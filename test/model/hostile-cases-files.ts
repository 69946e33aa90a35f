// Damaged and hostile weights files, and the folders of the file formats, for the fuzz test
// (test/model/hostile-folders.test.ts), one table per format: our checkpoints (safetensors), a
// bare smp state dict (.pth, its config given as smpConfig), mmseg's and VainF's .pth, a folder
// of .npy tensors, TF Lite, and TF DeepLab's zoo (tarball, folder, frozen graph). What the byte
// mutations of each reader do not reach is here: what a path is (a folder, a FIFO, a device, a
// link, a sparse file over the size cap), what a config number or a shape says, and the damage
// that changes nothing.
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadWeights, saveCheckpoint } from '../../src/model/loading/load-weights.js';
import { FROZEN_GRAPH } from '../../src/model/loading/tf-zoo-model.js';
import { GraphDefType } from '../../src/model/weights/import/tf-proto.js';
import { buildNpy } from '../import/builders.js';
import { type Saved, savedTensor, torchSaveLegacy, torchSaveZip } from '../import/torch-save.js';
import { sharedPath } from '../shared.js';
import { type CaseSource, type Fixtures, type FormatTable, type HostileCase, editSafetensors, fifo, nested, sparseFile, truncatedCopy } from './hostile-cases.js';

const DEEP = 200_000;
export const GB3 = 3 * 2 ** 30;

type NotAFile = 'fifo' | 'device' | 'sparse' | 'dangling' | 'loop';

/**
 * What no weights file is, at `name` in the case's folder: a FIFO, a link to /dev/zero, a sparse
 * 3 GB file (over the size cap, never read), a dangling link, a link to itself; those of `kinds`.
 */
export function notAFile(format: string, name: string, kinds: readonly NotAFile[]): HostileCase[] {
  const at = (dir: string) => join(dir, name);
  const esc = name.replace(/\./g, '\\.');
  const cases: Record<NotAFile, HostileCase> = {
    fifo: { name: `${format} a FIFO`, make: (dir) => ({ path: fifo(at(dir)) }), expect: new RegExp(`${esc}: a FIFO \\(named pipe\\), not a file`) },
    device: { name: `${format} a link to /dev/zero`, make: (dir) => (symlinkSync('/dev/zero', at(dir)), { path: at(dir) }), expect: new RegExp(`${esc}: a character device \\(a link to /dev/zero\\)`) },
    sparse: { name: `${format} a sparse 3 GB file`, make: (dir) => ({ path: sparseFile(at(dir), GB3) }), expect: new RegExp(`${esc}: 3221225472 bytes, more than the 2147483647`) },
    loop: { name: `${format} a link to itself`, make: (dir) => (symlinkSync(at(dir), at(dir)), { path: at(dir) }), expect: new RegExp(`${esc}: a link that leads back to itself`) },
    dangling: { name: `${format} a dangling link`, make: (dir) => (symlinkSync('/nonexistent/weights', at(dir)), { path: at(dir) }), expect: new RegExp(`${esc}: a link to /nonexistent/weights, which does not exist`) },
  };
  return kinds.map((k) => cases[k]);
}

/** A copy of the valid file at `dir/name`, changed by `change`. */
function changedCopy(valid: CaseSource, dir: string, name: string, change: (bytes: Uint8Array) => Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, change(new Uint8Array(readFileSync(valid.path))));
  return path;
}

// ---------------------------------------------------------------- our checkpoints

/** Our checkpoint with its metadata's `key` set to `text` (raw JSON text). */
const metadata = (name: string, key: string, text: (old: string) => string, expect: HostileCase['expect']): HostileCase => ({
  name,
  make: (dir, _, valid) => {
    const path = join(dir, 'model.safetensors');
    copyFileSync(valid.path, path);
    editSafetensors(path, (h) => {
      const m = h.__metadata__ as Record<string, string>;
      if (text(m[key] ?? '') === '') delete m[key];
      else m[key] = text(m[key] ?? '');
    });
    return { path };
  },
  expect,
});

/** A JSON value of our checkpoint's metadata with one field changed. */
const withField = (json: string, field: string, value: string): string => {
  const o = JSON.parse(json) as Record<string, unknown>;
  return JSON.stringify({ ...o, [field]: 0 }).replace(`"${field}":0`, `"${field}":${value}`);
};

export const CHECKPOINT_CASES: FormatTable = {
  format: 'our checkpoint (safetensors)',
  valid: async (dir, fx) => {
    const path = join(dir, 'model.safetensors');
    saveCheckpoint(path, await loadWeights(fx.smpFolder));
    return { path };
  },
  labels: false,
  cases: [
    metadata('metadata config nested 200,000 deep', 'config', () => nested(DEEP), /model\.safetensors: corrupt checkpoint metadata: config is \[\[\[.*\.\.\., not a JSON object/),
    metadata('metadata numClasses 1e9', 'config', (c) => withField(c, 'numClasses', '1e9'), /model\.safetensors: .*numClasses must be at most 256/),
    metadata('metadata asppRates [2^32 + 1, 4, 6]', 'config', (c) => withField(c, 'asppRates', '[4294967297,4,6]'), /model\.safetensors: .*asppRates must be at most 65536/),
    metadata('metadata classes of 100,000 names', 'classes', () => JSON.stringify({ names: Array.from({ length: 100_000 }, (_, i) => `c${i}`), colors: [] }), /model\.safetensors: 100000 class names for a model with 3 classes/),
    metadata('metadata slide windows of 2^40', 'slide', () => `{"crop":${2 ** 40},"stride":1}`, /model\.safetensors: corrupt checkpoint metadata: slide .* is not \{crop, stride\}/),
    {
      name: 'a tensor of shape [2^26, 2^26, 2^26, 0]',
      make: (dir, _, valid) => {
        const path = join(dir, 'model.safetensors');
        copyFileSync(valid.path, path);
        editSafetensors(path, (h) => {
          const name = Object.keys(h).find((k) => k !== '__metadata__')!;
          const held = h[name].data_offsets as number[];
          h[name] = { ...h[name], shape: [2 ** 26, 2 ** 26, 2 ** 26, 0], data_offsets: [held[0], held[0]] };
          h['spare'] = { dtype: 'U8', shape: [held[1] - held[0]], data_offsets: held };
        });
        return { path };
      },
      expect: /model\.safetensors: tensor .*: shape \[67108864,67108864,67108864,0\] holds no elements/,
    },
    ...notAFile('model.safetensors', 'model.safetensors', ['fifo', 'device', 'sparse', 'dangling', 'loop']),
    metadata('an unknown metadata key', 'note', () => 'written by hand', 'same'),
  ],
};

// ---------------------------------------------------------------- a bare smp state dict

/** The valid state dict as torch.save writes it, tensors changed by `change`. */
function smpPth(fx: Fixtures, change: (root: Map<string, Saved>) => void = () => undefined, legacy = false): Uint8Array {
  const root = new Map<string, Saved>([...fx.smpState].map(([k, t]) => [k, savedTensor([...t.shape], Float32Array.from(t.data))]));
  change(root);
  return legacy ? torchSaveLegacy(root) : torchSaveZip(root);
}

/** The valid .pth loaded with its smpConfig changed by `change` (raw JSON text). */
const smpConfigCase = (name: string, change: (c: Record<string, unknown>) => string, expect: HostileCase['expect'], issue55 = false): HostileCase => ({
  name,
  make: (dir, fx, valid) => ({ path: valid.path, smpConfig: change({ ...fx.smpConfig }) }),
  expect,
  ...(issue55 ? { issue55 } : {}),
});

export const SMP_PTH_CASES: FormatTable = {
  format: 'smp state dict (.pth with smpConfig)',
  valid: (dir, fx) => {
    const path = join(dir, 'model.pth');
    writeFileSync(path, smpPth(fx));
    return { path, smpConfig: JSON.stringify(fx.smpConfig) };
  },
  labels: false,
  cases: [
    smpConfigCase('smpConfig classes 1e9 (a bare .pth)', (c) => JSON.stringify({ ...c, classes: 1e9 }), /model\.pth: smpConfig: classes 1000000000 is more than 256/, true),
    smpConfigCase('smpConfig nested 200,000 deep', () => nested(DEEP), /model\.pth: an smp state dict .* holds no config/),
    smpConfigCase('smpConfig with _model_class missing', (c) => JSON.stringify({ ...c, _model_class: undefined }), /model\.pth: smpConfig: _model_class is missing/),
    smpConfigCase('smpConfig encoder_name nested 200,000 deep', (c) => JSON.stringify({ ...c, encoder_name: 0 }).replace('"encoder_name":0', `"encoder_name":${nested(DEEP)}`), /model\.pth: smpConfig: encoder_name \[\[\[.*: not built here/),
    {
      name: 'a tensor of shape [2^26, 2^26, 2^26, 0]',
      make: (dir, fx) => {
        const path = join(dir, 'model.pth');
        writeFileSync(path, smpPth(fx, (root) => root.set('decoder.aspp.convs.0.0.weight', savedTensor([2 ** 26, 2 ** 26, 2 ** 26, 0], new Float32Array(0)))));
        return { path, smpConfig: JSON.stringify(fx.smpConfig) };
      },
      expect: /model\.pth: .*size \[67108864,67108864,67108864,0\] holds no elements/,
    },
    { name: 'model.pth cut in half', make: (dir, fx, valid) => ({ path: truncatedCopy(valid.path, join(dir, 'model.pth'), 0.5), smpConfig: JSON.stringify(fx.smpConfig) }), expect: /model\.pth: / },
    ...notAFile('model.pth', 'model.pth', ['fifo']),
    // Harmless: the same weights.
    {
      name: "torch's legacy format (before 1.6)",
      make: (dir, fx) => {
        const path = join(dir, 'model.pth');
        writeFileSync(path, smpPth(fx, () => undefined, true));
        return { path, smpConfig: JSON.stringify(fx.smpConfig) };
      },
      expect: 'same',
    },
  ],
};

// ---------------------------------------------------------------- mmseg's and VainF's .pth

const MMSEG_SMALL = (): string => sharedPath('fixtures', 'mmseg', 'r18-d8_c19_seed1_small_1x.pth');
const MMSEG_LEGACY = (): string => sharedPath('fixtures', 'mmseg', 'r18-d8_c19_seed1_small_0x_legacy.pth');
/** The committed VainF fixture (test/fixtures/vainf), from dist/test/model. */
const VAINF_SMALL = (): string => join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'vainf', 'save_ckpt_small.pth');

/** The bytes of `file` with one byte of its last quarter flipped (a zip entry's data: its CRC no longer matches). */
function flipped(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[Math.floor(out.length * 0.75)] ^= 0x40;
  return out;
}

export const TORCH_PTH_CASES: FormatTable = {
  format: "mmseg's and VainF's .pth (a part of a model)",
  valid: () => ({ path: MMSEG_SMALL() }),
  labels: false,
  refused: /not a torchvision DeepLabv3 checkpoint \(no classifier\.0\.convs\.0\.0\.weight; it holds 10 tensors/,
  cases: [
    { name: 'mmseg: cut at 60 %', make: (dir) => ({ path: truncatedCopy(MMSEG_SMALL(), join(dir, 'mmseg.pth'), 0.6) }), expect: /mmseg\.pth: / },
    { name: 'mmseg: a flipped byte in a zip entry', make: (dir) => ({ path: changedCopy({ path: MMSEG_SMALL() }, dir, 'mmseg.pth', flipped) }), expect: /mmseg\.pth: .*(CRC|crc|checksum|damaged)/ },
    { name: "mmseg: torch's legacy format cut at 60 %", make: (dir) => ({ path: truncatedCopy(MMSEG_LEGACY(), join(dir, 'legacy.pth'), 0.6) }), expect: /legacy\.pth: / },
    { name: 'VainF: a flipped byte in a zip entry', make: (dir) => ({ path: changedCopy({ path: VAINF_SMALL() }, dir, 'vainf.pth', flipped) }), expect: /vainf\.pth: / },
    { name: 'VainF: cut at 60 %', make: (dir) => ({ path: truncatedCopy(VAINF_SMALL(), join(dir, 'vainf.pth'), 0.6) }), expect: /vainf\.pth: / },
  ],
};

// ---------------------------------------------------------------- a folder of .npy tensors

const NPY_DIR = (): string => sharedPath('weights', 'tf-deeplabv3-mnv2-pascal-trainval-513');
const NPY_ONE = 'logits_semantic_biases.npy';

/** A folder linking every tensor of the valid folder, with `name` made by `put` in its place. */
const npyFolder = (caseName: string, name: string, put: ((path: string) => void) | undefined, expect: HostileCase['expect']): HostileCase => ({
  name: caseName,
  make: (dir) => {
    for (const f of readdirSync(NPY_DIR())) if (f !== name || !put) symlinkSync(join(NPY_DIR(), f), join(dir, f));
    put?.(join(dir, name));
    return { path: dir };
  },
  expect,
});

export const NPY_FOLDER_CASES: FormatTable = {
  format: 'folder of .npy tensors',
  valid: () => ({ path: NPY_DIR() }),
  labels: false,
  cases: [
    npyFolder('a tensor a FIFO', NPY_ONE, (p) => fifo(p), /logits_semantic_biases\.npy: a FIFO \(named pipe\), not a file/),
    npyFolder('a tensor of shape (2^26, 2^26, 2^26, 0)', NPY_ONE, (p) => writeFileSync(p, buildNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': (${2 ** 26}, ${2 ** 26}, ${2 ** 26}, 0), }`, new Uint8Array(0))), /logits_semantic_biases\.npy: .*holds no elements/),
    npyFolder('a tensor whose header nests 1000 deep', NPY_ONE, (p) => writeFileSync(p, buildNpy(`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(1000)}${')'.repeat(1000)}, }`, new Uint8Array(0))), /logits_semantic_biases\.npy: /),
    npyFolder('a tensor cut short', NPY_ONE, (p) => truncatedCopy(join(NPY_DIR(), NPY_ONE), p, 0.9), /logits_semantic_biases\.npy: truncated npy data/),
    npyFolder('a tensor a dangling link', NPY_ONE, (p) => symlinkSync('/nonexistent/tensor.npy', p), /logits_semantic_biases\.npy: a link to \/nonexistent\/tensor\.npy, which does not exist/),
    npyFolder('a README and a sub-folder besides the tensors', 'README.md', (p) => (writeFileSync(p, '# notes'), mkdirSync(join(p, '..', 'old'))), 'same'),
  ],
};

// ---------------------------------------------------------------- TF Lite

const TFLITE = (): string => sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');

export const TFLITE_CASES: FormatTable = {
  format: 'TF Lite',
  valid: () => ({ path: TFLITE() }),
  labels: false,
  cases: [
    ...notAFile('model.tflite', 'model.tflite', ['fifo', 'sparse']),
    { name: 'cut in half', make: (dir) => ({ path: truncatedCopy(TFLITE(), join(dir, 'model.tflite'), 0.5) }), expect: /model\.tflite: / },
    { name: 'a link to the valid file', make: (dir) => (symlinkSync(TFLITE(), join(dir, 'model.tflite')), { path: join(dir, 'model.tflite') }), expect: 'same' },
  ],
};

// ---------------------------------------------------------------- TF DeepLab's zoo

const ZOO_TARBALL = (): string => sharedPath('fixtures', 'tf-zoo', 'deeplabv3_tiny_pascal_trainval_2018_01_29.tar.gz');
const ZOO_FOLDER = (): string => sharedPath('fixtures', 'tf-zoo', 'deeplabv3_tiny_pascal_trainval');

/** A folder linking the zoo folder's files, with `name` made by `put` in its place. */
const zooFolder = (caseName: string, name: string, put: (path: string) => void, expect: HostileCase['expect']): HostileCase => ({
  name: caseName,
  make: (dir) => {
    for (const f of readdirSync(ZOO_FOLDER())) if (f !== name) symlinkSync(join(ZOO_FOLDER(), f), join(dir, f));
    put(join(dir, name));
    return { path: dir };
  },
  expect,
});

export const TF_ZOO_CASES: FormatTable = {
  format: "TF DeepLab's zoo (tarball, folder, frozen graph; a tiny model of other sizes)",
  valid: () => ({ path: ZOO_TARBALL() }),
  labels: false,
  refused: /weights do not match the model/,
  cases: [
    ...notAFile('the tarball', basename(ZOO_TARBALL()), ['fifo']),
    { name: 'the tarball cut in half', make: (dir) => ({ path: truncatedCopy(ZOO_TARBALL(), join(dir, 'zoo.tar.gz'), 0.5) }), expect: /zoo\.tar\.gz: / },
    zooFolder('the frozen graph a folder', FROZEN_GRAPH, (p) => mkdirSync(p), /frozen_inference_graph\.pb: a folder, not a file/),
    zooFolder('the checkpoint index a FIFO', 'model.ckpt-5.index', (p) => fifo(p), /model\.ckpt-5\.index: a FIFO \(named pipe\), not a file/),
    zooFolder('the checkpoint data a sparse 3 GB file', 'model.ckpt-5.data-00000-of-00001', (p) => sparseFile(p, GB3), /model\.ckpt-5\.data-00000-of-00001: 3221225472 bytes, more than the 2147483647/),
    {
      name: 'a frozen graph Const of shape [2^26, 2^26, 2^26, 0]',
      make: (dir) => {
        const g = GraphDefType.toObject(GraphDefType.decode(readFileSync(join(ZOO_FOLDER(), FROZEN_GRAPH))), { longs: Number }) as { node: Array<{ op: string; attr: Record<string, { tensor?: Record<string, unknown> }> }> };
        const node = g.node.find((n) => n.op === 'Const' && n.attr.value?.tensor?.tensor_content)!;
        node.attr.value.tensor = { dtype: 1, tensor_shape: { dim: [2 ** 26, 2 ** 26, 2 ** 26, 0].map((size) => ({ size })) } };
        const path = join(dir, FROZEN_GRAPH);
        writeFileSync(path, GraphDefType.encode(GraphDefType.fromObject(g)).finish());
        return { path };
      },
      expect: /frozen_inference_graph\.pb: .*holds no elements/,
    },
    {
      name: 'the tarball with 512 zero bytes after its gzip stream (as the original)',
      make: (dir) => {
        const path = join(dir, basename(ZOO_TARBALL()));
        copyFileSync(ZOO_TARBALL(), path);
        appendFileSync(path, new Uint8Array(512));
        return { path };
      },
      expect: /weights do not match the model/,
    },
  ],
};
