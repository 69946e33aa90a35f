// Damaged transformers.js folders (config.json, preprocessor_config.json, onnx/model*.onnx) for the
// fuzz test (test/model/hostile-folders.test.ts): the valid folder is test/fixtures/hub-onnx's
// SegFormer (dynamo), its ONNX files linked, not copied; the cases remove, cut or replace a file,
// or change a JSON file so that it disagrees with the graph or asks for what is not reproduced.
import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ModelProto, decodeModel, encodeModel } from '../../src/graph/onnx/proto.js';
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

/** A copy of the valid folder whose onnx/model.onnx is `from` (a file of the fixture's onnx/) with its message changed by `edit`. */
const graph = (name: string, from: string, edit: (m: ModelProto) => void, expect: HostileCase['expect']): HostileCase =>
  replacedFile(
    name,
    FP32,
    (path) => {
      const m = decodeModel(readFileSync(join(TJS(), 'onnx', from)));
      edit(m);
      writeFileSync(path, encodeModel(m));
    },
    expect,
  );

/** The onnx/ entry replaced by what `put` makes at its path. */
const onnxEntry = (name: string, put: (path: string) => void, expect: HostileCase['expect']): HostileCase => ({
  name,
  make: (dir, _, valid) => {
    for (const f of [CONFIG, PROCESSOR]) copyFileSync(join(valid.path, f), join(dir, f));
    put(join(dir, 'onnx'));
    return { path: dir };
  },
  expect,
});

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
    // Issue 81's classes.
    json('preprocessor_config.json resample "constructor" (an inherited key)', PROCESSOR, (j) => ({ ...j, resample: 'constructor' }), /preprocessor_config\.json: resample must be 2 \(bilinear\) or 3 \(bicubic\), got "constructor"/),
    json('config.json architectures a plain string', CONFIG, (j) => ({ ...j, architectures: 'SegformerForImageClassification' }), /config\.json: architectures must be a list of model class names, got "SegformerForImageClassification"/),
    {
      // transformers takes ViTImageProcessor: not one we reproduce.
      name: 'preprocessor_config.json without image_processor_type, config.json model_type "vit"',
      make: (dir, fx, valid) => {
        json('', CONFIG, (j) => ({ ...j, model_type: 'vit' }), 'same').make(dir, fx, valid);
        const processor = JSON.parse(readFileSync(join(dir, PROCESSOR), 'utf8')) as Record<string, unknown>;
        delete processor.image_processor_type;
        rmSync(join(dir, PROCESSOR));
        writeFileSync(join(dir, PROCESSOR), JSON.stringify(processor));
        return { path: dir };
      },
      expect: /config\.json: model_type "vit" has no image processor we reproduce, and .*preprocessor_config\.json names none in image_processor_type/,
    },
    graph('onnx/model.onnx with a NaN in the classifier', 'model.onnx', (m) => {
      const t = m.graph.initializer.find((x) => x.name.endsWith('classifier.weight'))!;
      const data = new Float32Array(new Uint8Array(t.raw_data).buffer);
      data[17] = NaN;
      t.raw_data = new Uint8Array(data.buffer);
    }, /onnx\/model\.onnx: tensor 'model\.decode_head\.classifier\.weight' holds a value that is not a number at element 17: weights must be finite/),
    graph('onnx/model.onnx the q8 graph with a uint8 zero point of 300 (in int32_data)', 'model_quantized.onnx', (m) => {
      // onnxruntime's quantiser writes each zero point in int32_data, as onnx.helper does.
      const points = m.graph.initializer as (ModelProto['graph']['initializer'][number] & { int32_data?: number[] })[];
      points.find((x) => x.data_type === 2 && x.name.endsWith('_zero_point') && x.int32_data?.length)!.int32_data![0] = 300;
    }, /onnx\/model\.onnx: initializer '.*_zero_point' int32_data holds 300 at element 0, outside the range of uint8 \(0\.\.255\)/),
    graph('onnx/model.onnx whose graph output names no value', 'model.onnx', (m) => void (m.graph.output[0].name = ''), /onnx\/model\.onnx: graph output 0 names no value/),
    onnxEntry('onnx/ empty', (p) => mkdirSync(p), /: no onnx\/model\.onnx for dtype 'fp32' \(the folder holds no ONNX file\)$/),
    onnxEntry('onnx a file, not a folder', (p) => writeFileSync(p, ''), /: no onnx\/model\.onnx for dtype 'fp32' \(the folder holds no ONNX file\)$/),
    replacedFile('config.json missing (its ONNX files there)', CONFIG, () => undefined, /: no config\.json \(a transformers\.js folder holds config\.json, preprocessor_config\.json and onnx\/model\.onnx; the folder holds fp32 \(onnx\/model\.onnx\), fp16 .*q8/),

    // Harmless: transformers ignores it too.
    json('an unknown config.json key', CONFIG, (j) => ({ ...j, transformers_version: '99.0' }), 'same labels'),
    // Harmless: transformers takes the processor config.json's model_type names (issue 81: the class's defaults, not generic ones).
    json(
      'preprocessor_config.json without image_processor_type',
      PROCESSOR,
      (j) => {
        delete j.image_processor_type;
        return j;
      },
      'same labels',
    ),
  ],
};
