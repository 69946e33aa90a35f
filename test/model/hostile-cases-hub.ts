// Damaged and hostile Hugging Face hub folders (config.json, preprocessor_config.json,
// model.safetensors of a `transformers` DeepLabV3) for the fuzz test
// (test/model/hostile-folders.test.ts): the valid folder is ../shared/fixtures/hf's MobileViT
// (xx-small), its weights linked, not copied; the cases change its JSON files and its files.
import { copyFileSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedPath } from '../shared.js';
import { type CaseSource, type FormatTable, type HostileCase, copyFolder, fifo, nested, replacedFile } from './hostile-cases.js';

const HUB = (): string => sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small');
const CONFIG = 'config.json';
const PROCESSOR = 'preprocessor_config.json';
const DEEP = 200_000;

/** A copy of the valid folder with `file`'s JSON changed by `change` (an object, or raw text). */
function hubWith(dir: string, valid: CaseSource, file: string, change: (j: Record<string, unknown>) => unknown): CaseSource {
  copyFolder(valid.path, dir);
  const json = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
  const out = change(json);
  rmSync(join(dir, file));
  writeFileSync(join(dir, file), typeof out === 'string' ? out : JSON.stringify(out));
  return { path: dir };
}

/** A field of `file` set to `value` (undefined: removed). */
const field = (name: string, file: string, key: string, value: unknown, expect: HostileCase['expect']): HostileCase => ({
  name,
  make: (dir, _, valid) =>
    hubWith(dir, valid, file, (j) => {
      if (value === undefined) delete j[key];
      else j[key] = value;
      return j;
    }),
  expect,
});

/** A field of `file` nested 200,000 lists deep. */
const deep = (name: string, file: string, key: string, expect: RegExp): HostileCase => ({
  name,
  make: (dir, _, valid) => hubWith(dir, valid, file, (j) => JSON.stringify({ ...j, [key]: 0 }).replace(`"${key}":0`, `"${key}":${nested(DEEP)}`)),
  expect,
});


export const HUB_FOLDER_CASES: FormatTable = {
  format: 'hub folder (transformers)',
  valid: (dir) => {
    for (const f of [CONFIG, PROCESSOR]) copyFileSync(join(HUB(), f), join(dir, f));
    symlinkSync(join(HUB(), 'model.safetensors'), join(dir, 'model.safetensors'));
    return { path: dir };
  },
  labels: false,
  cases: [
    field('model_type missing', CONFIG, 'model_type', undefined, /config\.json: model_type is missing/),
    deep('model_type nested 200,000 deep', CONFIG, 'model_type', /config\.json: model_type \[\[\[.*\.\.\. is not a DeepLabV3/),
    {
      name: 'id2label of 1000 classes',
      make: (dir, _, valid) => hubWith(dir, valid, CONFIG, (j) => ({ ...j, id2label: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [String(i), `c${i}`])) })),
      expect: /config\.json: id2label names 1000 classes, more than 256/,
    },
    deep('id2label nested 200,000 deep', CONFIG, 'id2label', /config\.json: id2label must be an object of class names by index, got \[\[\[/),
    field('id2label with a key that is no index', CONFIG, 'id2label', { 0: 'background', cat: 'cat' }, /config\.json: id2label key 'cat' is not an index/),
    field('atrous_rates [2^32 + 1, 12, 18]', CONFIG, 'atrous_rates', [2 ** 32 + 1, 12, 18], /config\.json: .*atrous_rates\[0\] must be at most 65536/),
    field('neck_hidden_sizes holding 2^40', CONFIG, 'neck_hidden_sizes', [16, 16, 24, 48, 64, 80, 2 ** 40], /config\.json: .*neck_hidden_sizes\[6\] must be at most 65536/),
    {
      name: 'config.json 5 MB (over the cap)',
      make: (dir, _, valid) => hubWith(dir, valid, CONFIG, (j) => ({ ...j, pad: 'x'.repeat(5 * 2 ** 20) })),
      expect: /config\.json: 52\d{5} bytes, more than the 4194304/,
    },
    replacedFile('config.json a FIFO', CONFIG, (p) => fifo(p), /config\.json: a FIFO \(named pipe\), not a file/),
    replacedFile('preprocessor_config.json missing', PROCESSOR, () => undefined, /: no preprocessor_config\.json/),
    replacedFile('preprocessor_config.json a FIFO', PROCESSOR, (p) => fifo(p), /preprocessor_config\.json: a FIFO \(named pipe\), not a file/),
    field('size {shortest_edge: 1e9}', PROCESSOR, 'size', { shortest_edge: 1e9 }, /preprocessor_config\.json: size must hold sizes of at most 65536/),
    {
      name: 'image_mean nested 200,000 deep (with do_normalize)',
      make: (dir, _, valid) => hubWith(dir, valid, PROCESSOR, (j) => JSON.stringify({ ...j, do_normalize: true, image_mean: 0 }).replace('"image_mean":0', `"image_mean":${nested(DEEP)}`)),
      expect: /preprocessor_config\.json: image_mean .*got \[\[\[/,
    },
    replacedFile('model.safetensors a link to /dev/zero', 'model.safetensors', (p) => symlinkSync('/dev/zero', p), /model\.safetensors: a character device \(a link to \/dev\/zero\)/),
    // Issue 81's classes.
    field('resample "__proto__" (an inherited key)', PROCESSOR, 'resample', '__proto__', /preprocessor_config\.json: resample must be 2 \(bilinear\) or 3 \(bicubic\), got "__proto__"/),
    field('architectures a plain string', CONFIG, 'architectures', 'MobileViTForImageClassification', /config\.json: architectures must be a list of model class names, got "MobileViTForImageClassification"/),
    replacedFile('model.safetensors missing', 'model.safetensors', () => undefined, /: no onnx\/model\.onnx for dtype 'fp32' \(the folder holds no ONNX file; a hub folder of model_type 'mobilevit' holds model\.safetensors instead\)$/),

    // Harmless: each loads the valid folder's weights.
    field('an unknown config.json key (transformers ignores it too)', CONFIG, 'transformers_version', '99.0', 'same'),
    // transformers takes MobileViT's processor by model_type, which does not normalise (issue 81: generic defaults normalised).
    field('preprocessor_config.json without image_processor_type', PROCESSOR, 'image_processor_type', undefined, 'same'),
    { name: 'preprocessor_config.json with a byte-order mark', make: (dir, _, valid) => hubWith(dir, valid, PROCESSOR, (j) => `\ufeff${JSON.stringify(j)}`), expect: 'same' },
  ],
};
