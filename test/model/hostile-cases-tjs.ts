// Damaged transformers.js folders (config.json, preprocessor_config.json, onnx/model*.onnx) for the
// fuzz test (test/model/hostile-folders.test.ts): the valid folder is test/fixtures/hub-onnx's
// SegFormer (dynamo), its ONNX files linked, not copied; the cases remove, cut or replace a file,
// or change a JSON file so that it disagrees with the graph or asks for what is not reproduced.
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CaseSource, type FormatTable, type HostileCase, fifo, replacedFile, truncatedCopy } from './hostile-cases.js';

const TJS = (): string => resolve('test/fixtures/hub-onnx/segformer-dynamo');
const CONFIG = 'config.json';
const PROCESSOR = 'preprocessor_config.json';
const ONNX_FILES = ['model.onnx', 'model_fp16.onnx', 'model_quantized.onnx'];
const FP32 = join('onnx', 'model.onnx');


/** A copy of the valid folder with `file`'s JSON changed by `change` (an object, or raw text). */
const json = (name: string, which: string, change: (j: Record<string, unknown>) => unknown, expect: HostileCase['expect']): HostileCase =>
  replacedFile(
    name,
    which,
    (path) => {
      const out = change(JSON.parse(readFileSync(join(TJS(), which), 'utf8')) as Record<string, unknown>);
      writeFileSync(path, typeof out === 'string' ? out : JSON.stringify(out));
    },
    expect,
  );

export const TRANSFORMERS_JS_CASES: FormatTable = {
  format: 'transformers.js folder',
  valid: (dir): CaseSource => {
    for (const f of [CONFIG, PROCESSOR]) copyFileSync(join(TJS(), f), join(dir, f));
    mkdirSync(join(dir, 'onnx'));
    for (const f of ONNX_FILES) symlinkSync(join(TJS(), 'onnx', f), join(dir, 'onnx', f));
    return { path: dir };
  },
  // A harmless change is judged by the labels: an ONNX model's architecture names its file's path.
  labels: true,
  cases: [
    replacedFile('onnx/model.onnx missing (fp16 and q8 there)', FP32, () => undefined, /: no onnx\/model\.onnx for dtype 'fp32' \(the folder holds fp16 \(onnx\/model_fp16\.onnx\), q8 \(onnx\/model_quantized\.onnx\)\)/),
    replacedFile('onnx/model.onnx cut in half', FP32, (p) => truncatedCopy(join(TJS(), FP32), p, 0.5), /onnx\/model\.onnx: not a readable ONNX model/),
    replacedFile('onnx/model.onnx a FIFO', FP32, (p) => fifo(p), /onnx\/model\.onnx: a FIFO \(named pipe\), not a file/),
    json(
      'config.json id2label of 6 classes (the graph gives 5)',
      CONFIG,
      (j) => ({ ...j, id2label: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [String(i), `c${i}`])) }),
      /config\.json: id2label names 6 classes, but .*onnx\/model\.onnx gives 5 channels of class scores/,
    ),
    json('config.json num_channels 1 (the graph takes 3)', CONFIG, (j) => ({ ...j, num_channels: 1 }), /config\.json: num_channels 1 is not the 3 channels .*onnx\/model\.onnx takes/),
    replacedFile('preprocessor_config.json missing', PROCESSOR, () => undefined, /: no preprocessor_config\.json \(a transformers\.js folder holds/),
    json('preprocessor_config.json not JSON', PROCESSOR, (j) => JSON.stringify(j).slice(0, -9), /preprocessor_config\.json: not valid JSON/),
    json('preprocessor_config.json size {longest_edge: 64}', PROCESSOR, (j) => ({ ...j, size: { longest_edge: 64 } }), /preprocessor_config\.json: size must be \{"shortest_edge": n\} or \{"height": h, "width": w\}/),
    json('preprocessor_config.json do_pad true', PROCESSOR, (j) => ({ ...j, do_pad: true }), /preprocessor_config\.json: do_pad must be false/),
    // Harmless: transformers ignores it too.
    json('an unknown config.json key', CONFIG, (j) => ({ ...j, transformers_version: '99.0' }), 'same labels'),
  ],
};
