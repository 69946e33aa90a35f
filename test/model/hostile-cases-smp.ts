// Damaged and hostile smp folders (config.json and model.safetensors, as smp's save_pretrained
// writes them) for the fuzz test (test/model/hostile-folders.test.ts): issue 55's failures, then
// every config field given what no config means, the files given what no file is, the weights
// damaged, and the damage that changes nothing (which must load as the valid folder does).
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { safetensorsBytes } from '../../src/model/weights/import/safetensors.js';
import { savedTensor, torchSaveZip } from '../import/torch-save.js';
import { type FormatTable, type HostileCase, copyFolder, editSafetensors, fifo, nested, smpWithConfig, sparseFile, truncatedCopy, writeJson } from './hostile-cases.js';

const WEIGHTS = 'model.safetensors';
const HEAD = 'segmentation_head.0.weight';
const ASPP = 'decoder.aspp.convs.0.0.weight';

/** A config.json field set to `value` (undefined: removed). */
const field = (name: string, key: string, value: unknown, expect: HostileCase['expect'], issue55 = false): HostileCase => ({
  name,
  make: (dir, fx) =>
    smpWithConfig(dir, fx, (c) => {
      if (value === undefined) delete c[key];
      else c[key] = value;
      return c;
    }),
  expect,
  ...(issue55 ? { issue55 } : {}),
});

/** The valid folder with its weights file replaced by what `put` makes at its path. */
const weightsFile = (name: string, put: (path: string, dir: string) => void, expect: HostileCase['expect'], issue55 = false): HostileCase => ({
  name,
  make: (dir, fx) => {
    copyFolder(fx.smpFolder, dir);
    rmSync(join(dir, WEIGHTS));
    put(join(dir, WEIGHTS), dir);
    return { path: dir };
  },
  expect,
  ...(issue55 ? { issue55 } : {}),
});

/** The valid folder with its config.json replaced by what `put` makes at its path. */
const configFile = (name: string, put: (path: string) => void, expect: HostileCase['expect']): HostileCase => ({
  name,
  make: (dir, fx) => {
    copyFolder(fx.smpFolder, dir);
    rmSync(join(dir, 'config.json'));
    put(join(dir, 'config.json'));
    return { path: dir };
  },
  expect,
});

/** The valid folder with model.safetensors' header changed by `edit`. */
const header = (name: string, edit: (h: Record<string, Record<string, unknown>>) => unknown, expect: HostileCase['expect'], issue55 = false): HostileCase => ({
  name,
  make: (dir, fx) => {
    copyFolder(fx.smpFolder, dir);
    editSafetensors(join(dir, WEIGHTS), edit);
    return { path: dir };
  },
  expect,
  ...(issue55 ? { issue55 } : {}),
});

/** The valid folder with its state dict changed by `change` and written again. */
const state = (name: string, change: (s: Map<string, { shape: number[]; data: Float32Array; sourceDType?: string }>) => void, expect: HostileCase['expect']): HostileCase => ({
  name,
  make: (dir, fx) => {
    copyFolder(fx.smpFolder, dir);
    const s = new Map([...fx.smpState].map(([k, t]) => [k, { shape: [...t.shape], data: Float32Array.from(t.data), sourceDType: t.sourceDType as string | undefined }]));
    change(s);
    writeFileSync(join(dir, WEIGHTS), safetensorsBytes(s as never));
    return { path: dir };
  },
  expect,
});

const DEEP = 200_000;

export const SMP_FOLDER_CASES: FormatTable = {
  format: 'smp folder',
  valid: (_, fx) => ({ path: fx.smpFolder }),
  labels: true,
  cases: [
    // Issue 55's failures: each hung, overflowed the stack or answered wrongly.
    {
      name: 'config.json nested 200,000 deep (decoder_atrous_rates): no stack overflow in the message',
      make: (dir, fx) => smpWithConfig(dir, fx, (c) => JSON.stringify({ ...c, decoder_atrous_rates: 0 }).replace('"decoder_atrous_rates":0', `"decoder_atrous_rates":${nested(DEEP)}`)),
      expect: /config\.json: decoder_atrous_rates \[\[\[.*\.\.\. is not supported/,
      issue55: true,
    },
    {
      name: 'config.json nested 200,000 deep (encoder_name)',
      make: (dir, fx) => smpWithConfig(dir, fx, (c) => JSON.stringify({ ...c, encoder_name: 0 }).replace('"encoder_name":0', `"encoder_name":${nested(DEEP)}`)),
      expect: /config\.json: encoder_name \[\[\[.*\.\.\.: not built here/,
      issue55: true,
    },
    field('classes 1e9: refused before a billion class names are built', 'classes', 1e9, /config\.json: classes 1000000000 is more than 256/, true),
    field('decoder_atrous_rates [2^32 + 1, 24, 36]: refused, not truncated to rate 1', 'decoder_atrous_rates', [2 ** 32 + 1, 24, 36], /config\.json: decoder_atrous_rates\[0\] 4294967297 is more than 65536/, true),
    header(
      'a tensor of shape [2^26, 2^26, 2^26, 0] (zero bytes): refused before the layout conversion loops',
      (h) => {
        const held = h[ASPP].data_offsets as number[];
        h[ASPP] = { ...h[ASPP], shape: [2 ** 26, 2 ** 26, 2 ** 26, 0], data_offsets: [held[0], held[0]] };
        // The bytes it held now belong to no tensor: give them to a spare one, so that only the shape is wrong.
        h['decoder.spare'] = { dtype: 'U8', shape: [held[1] - held[0]], data_offsets: held };
      },
      /model\.safetensors: tensor decoder\.aspp\.convs\.0\.0\.weight: shape \[67108864,67108864,67108864,0\] holds no elements/,
      true,
    ),
    weightsFile('model.safetensors a directory: refused naming the path', (p) => mkdirSync(p), /model\.safetensors: a folder, not a file/, true),
    weightsFile('model.safetensors a FIFO: refused, not blocked on', (p) => fifo(p), /model\.safetensors: a FIFO \(named pipe\), not a file/, true),
    weightsFile('model.safetensors a link to /dev/zero: refused, not read forever', (p) => symlinkSync('/dev/zero', p), /model\.safetensors: a character device \(a link to \/dev\/zero\), not a file/, true),
    field("_model_class missing: refused naming it, not the hub's model_type", '_model_class', undefined, /config\.json: _model_class is missing/, true),

    // config.json's fields given what no config means.
    field('_model_class "Unet"', '_model_class', 'Unet', /config\.json: _model_class "Unet" is not supported/),
    field('encoder_name missing', 'encoder_name', undefined, /config\.json: encoder_name missing: not built here/),
    field('encoder_name a megabyte long', 'encoder_name', 'x'.repeat(2 ** 20), /config\.json: encoder_name "x{60}\.\.\.": not built here/),
    field('encoder_output_stride 1e300', 'encoder_output_stride', 1e300, /config\.json: encoder_output_stride 1e\+300 is not supported/),
    field('decoder_channels 2^40', 'decoder_channels', 2 ** 40, /config\.json: decoder_channels 1099511627776 is more than 65536/),
    field('decoder_channels 16 (the file holds 8)', 'decoder_channels', 16, /'?decoder\.[\w.]+/),
    field('decoder_atrous_rates of a million items', 'decoder_atrous_rates', new Array(1_000_000).fill(12), /config\.json: decoder_atrous_rates \[12,12,.*\.\.\. is not supported/),
    field('in_channels 2^31', 'in_channels', 2 ** 31, /config\.json: in_channels 2147483648 is more than 65536/),
    field('classes 0', 'classes', 0, /config\.json: classes 0 is not supported/),
    field('classes 257', 'classes', 257, /config\.json: classes 257 is more than 256/),
    field('classes 2 (the head holds 3)', 'classes', 2, /segmentation_head\.0\.weight/),
    field('upsampling 4 (a DeepLabV3 at stride 8 upsamples by 8)', 'upsampling', 4, /config\.json: upsampling 4 is not supported \(expected null or 8/),
    field('aux_params {classes: 4}', 'aux_params', { classes: 4 }, /config\.json: aux_params \{"classes":4\} is not supported/),
    {
      name: 'aux_params nested 200,000 deep',
      make: (dir, fx) => smpWithConfig(dir, fx, (c) => JSON.stringify({ ...c, aux_params: 0 }).replace('"aux_params":0', `"aux_params":${nested(DEEP)}`)),
      expect: /config\.json: aux_params \[\[\[.*\.\.\. is not supported/,
    },
    {
      name: 'ten thousand unknown fields: five named, the rest counted',
      make: (dir, fx) => smpWithConfig(dir, fx, (c) => ({ ...c, ...Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`extra_${i}`, i])) })),
      expect: /config\.json: unknown fields extra_0, extra_1, extra_2, extra_3, extra_4 and 9995 more/,
    },
    {
      name: 'a "__proto__" key (no prototype pollution)',
      make: (dir, fx) => smpWithConfig(dir, fx, (c) => JSON.stringify(c).replace('{', '{"__proto__":{"classes":1000000000},')),
      expect: /config\.json: unknown field __proto__/,
    },

    // config.json as what no config file is.
    configFile('config.json empty', (p) => writeFileSync(p, ''), /config\.json: not valid JSON/),
    configFile('config.json 5 MB (over the cap)', (p) => writeFileSync(p, `{"_model_class": "DeepLabV3", "pad": "${'x'.repeat(5 * 2 ** 20)}"}`), /config\.json: 5242\d{3} bytes, more than the 4194304/),
    configFile('config.json a sparse 3 GB file', (p) => sparseFile(p, 3 * 2 ** 30), /config\.json: 3221225472 bytes, more than the 4194304/),
    configFile('config.json a directory', (p) => mkdirSync(p), /config\.json: a folder, not a file/),
    configFile('config.json a FIFO', (p) => fifo(p), /config\.json: a FIFO \(named pipe\), not a file/),
    configFile('config.json a link to /dev/zero', (p) => symlinkSync('/dev/zero', p), /config\.json: a character device \(a link to \/dev\/zero\)/),
    configFile('config.json a dangling link', (p) => symlinkSync('/nonexistent/config.json', p), /config\.json: a link to \/nonexistent\/config\.json, which does not exist/),
    configFile('config.json a link to itself', (p) => symlinkSync(p, p), /config\.json: ELOOP/),
    {
      name: 'config.json missing',
      make: (dir, fx) => {
        copyFolder(fx.smpFolder, dir);
        rmSync(join(dir, 'config.json'));
        return { path: dir };
      },
      expect: /: no \.npy files in the folder \(it holds "?model\.safetensors"?\); an smp or hub folder needs its config\.json/,
    },

    // model.safetensors as what no weights file is, and damaged.
    weightsFile('model.safetensors missing', () => undefined, /: no model\.safetensors or pytorch_model\.bin$/),
    weightsFile('model.safetensors a sparse 3 GB file (over the cap, never read)', (p) => sparseFile(p, 3 * 2 ** 30), /model\.safetensors: 3221225472 bytes, more than the 2147483647/),
    {
      name: 'model.safetensors cut in half',
      make: (dir, fx) => {
        copyFolder(fx.smpFolder, dir);
        truncatedCopy(join(fx.smpFolder, WEIGHTS), join(dir, WEIGHTS), 0.5);
        return { path: dir };
      },
      expect: /model\.safetensors: .*(out of bounds|cover)/,
    },
    header('a header nested 200,000 deep in a dtype', (h) => JSON.stringify({ ...h, [HEAD]: { ...h[HEAD], dtype: 0 } }).replace('"dtype":0', `"dtype":${nested(DEEP)}`), /model\.safetensors: tensor segmentation_head\.0\.weight has unsupported dtype \[\[\[/),
    header('a tensor stored as I64', (h) => void (h[HEAD] = { ...h[HEAD], dtype: 'I64', shape: [3, 4, 1, 1] }), /segmentation_head\.0\.weight/),
    state('a tensor missing', (s) => s.delete('segmentation_head.0.bias'), /segmentation_head\.0\.bias/),
    state('an unknown tensor', (s) => s.set('decoder.extra.weight', { shape: [1], data: Float32Array.of(1) }), /decoder\.extra\.weight/),
    state('a NaN weight', (s) => void (s.get(HEAD)!.data[5] = NaN), /tensor 'segmentation_head\.0\.weight' holds a value that is not a number/),

    // Damage that changes nothing: each loads, and segments as the valid folder does.
    { name: 'config.json with a byte-order mark', make: (dir, fx) => smpWithConfig(dir, fx, (c) => `\ufeff${JSON.stringify(c)}`), expect: 'same' },
    field('decoder_aspp_dropout 0.1 (training only)', 'decoder_aspp_dropout', 0.1, 'same labels'),
    {
      name: 'a duplicate key (JSON takes the last)',
      make: (dir, fx) => smpWithConfig(dir, fx, (c) => JSON.stringify(c).replace('{', '{"classes":1000000000,')),
      expect: 'same',
    },
    {
      name: 'keys reordered, indented, with a final newline',
      make: (dir, fx) => smpWithConfig(dir, fx, (c) => `${JSON.stringify(Object.fromEntries(Object.entries(c).reverse()), null, 4)}\n`),
      expect: 'same',
    },
    {
      name: 'model.safetensors a link to a valid weights file elsewhere',
      make: (dir, fx) => {
        copyFolder(fx.smpFolder, dir);
        rmSync(join(dir, WEIGHTS));
        symlinkSync(join(fx.smpFolder, WEIGHTS), join(dir, WEIGHTS));
        return { path: dir };
      },
      expect: 'same',
    },
    {
      name: 'pytorch_model.bin (torch.save) in place of model.safetensors',
      make: (dir, fx) => {
        copyFolder(fx.smpFolder, dir);
        rmSync(join(dir, WEIGHTS));
        const root = new Map([...fx.smpState].map(([k, t]) => [k, savedTensor([...t.shape], Float32Array.from(t.data))]));
        writeFileSync(join(dir, 'pytorch_model.bin'), torchSaveZip(root));
        return { path: dir };
      },
      expect: 'same',
    },
    {
      name: 'a damaged pytorch_model.bin beside model.safetensors (the safetensors is read)',
      make: (dir, fx) => {
        copyFolder(fx.smpFolder, dir);
        writeFileSync(join(dir, 'pytorch_model.bin'), 'PK\x03\x04 damaged');
        return { path: dir };
      },
      expect: 'same',
    },
    {
      name: 'a thousand other files in the folder',
      make: (dir, fx) => {
        copyFolder(fx.smpFolder, dir);
        for (let i = 0; i < 1000; i++) writeFileSync(join(dir, `notes-${i}.txt`), String(i));
        mkdirSync(join(dir, 'logs'));
        writeJson(dir, 'trainer_state.json', { step: 1 });
        return { path: dir };
      },
      expect: 'same',
    },
  ],
};
