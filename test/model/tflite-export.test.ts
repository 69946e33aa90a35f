// TF Lite export without TF (TF's interpreter runs the files in tflite-export-tf.test.ts): what
// the file holds, read back by our reader (builtin operators only, NHWC tensors, the logits at the
// input's size, the TF MobileNetV2's strides, pads, rates and resizes as the official file has
// them), the metadata MediaPipe reads (normalisation, labels zipped after the model), float16's
// DEQUANTIZE of each weight, --output classes' ARG_MAX, and the refusal of a model with an op no
// builtin expresses: named by op and layer, nothing written.
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABELS_FILE, associatedFiles, readTfliteMetadata } from '../../src/io/tflite-metadata.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { exportTflite, tfliteFile } from '../../src/model/tflite-export.js';
import { readTflite } from '../../src/model/weights/import/tflite.js';
import { checkTfliteStructure } from '../../src/model/weights/tflite-structure.js';
import { messages, runCli } from '../cli/run-cli.js';
import { TF_MNV2_257 } from './tflite-fixtures.js';

const QUANTIZED_SEGFORMER = 'test/fixtures/hub-onnx/segformer-dynamo';

describe('TF Lite export: the file, its metadata and its refusals', function () {
  this.timeout(120_000);
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tflite-export-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('TF MobileNetV2 257: builtin operators only, the official file\'s structure (strides, pads, rates, resizes, concat order), the logits at the input\'s size', async () => {
    const w = await loadWeights(TF_MNV2_257);
    const file = join(dir, 'mnv2.tflite');
    const written = exportTflite(file, w, { height: 257, width: 257 });
    const tfl = readTflite(file);
    const official = readTflite(TF_MNV2_257);
    const counts = (m: typeof tfl): Record<string, number> => m.operators.reduce<Record<string, number>>((c, o) => ({ ...c, [o.opcode]: (c[o.opcode] ?? 0) + 1 }), {});
    // The official file pools with AVERAGE_POOL_2D, ours with MEAN, and it resizes the logits
    // once more, 33x33 to 33x33 (TF's graph's leftover); everything else op for op.
    const ours = counts(tfl);
    const theirs = counts(official);
    expect([ours.MEAN, ours.RESIZE_BILINEAR]).to.deep.equal([theirs.AVERAGE_POOL_2D, theirs.RESIZE_BILINEAR - 1]);
    delete ours.MEAN;
    delete theirs.AVERAGE_POOL_2D;
    delete ours.RESIZE_BILINEAR;
    delete theirs.RESIZE_BILINEAR;
    expect(ours).to.deep.equal(theirs);
    expect(written.operators).to.equal(tfl.operators.length);
    expect(tfl.tensors[tfl.inputs[0]]).to.deep.include({ name: 'image', shape: [1, 257, 257, 3], type: 'FLOAT32' });
    expect(tfl.tensors[tfl.outputs[0]]).to.deep.include({ name: 'logits', shape: [1, 257, 257, 21], type: 'FLOAT32' });
    // The check the loader makes of the official file (each conv found by its weights' name): the
    // concat's order is checked by TF's tensor names, which ours are not, so it is left out.
    const withoutConcat = { ...tfl, operators: tfl.operators.filter((o) => o.opcode !== 'CONCATENATION') };
    // Throws, naming the first mismatch, where the structure differs.
    checkTfliteStructure(withoutConcat, w.buildGraph({ height: 257, width: 257 }), 'export');
  });

  it("metadata as MediaPipe reads it: the model's own normalisation (TF's [-1, 1]), the output's labels in a zip after the model", async () => {
    const w = await loadWeights(TF_MNV2_257);
    const { bytes } = tfliteFile(w, { height: 65, width: 65 });
    const meta = readTfliteMetadata(bytes);
    expect(meta).to.deep.include({ name: w.name, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], inputs: 1, outputs: 1, outputFiles: [LABELS_FILE] });
    const files = associatedFiles(bytes);
    expect(Object.keys(files)).to.deep.equal([LABELS_FILE]);
    expect(new TextDecoder().decode(files[LABELS_FILE]).trim().split('\n')).to.deep.equal(w.classes.names);
  });

  it('float16: every weight FLOAT16 and widened by a DEQUANTIZE; --output classes ends in ARG_MAX, int32 [1,H,W]', async () => {
    const w = await loadWeights(TF_MNV2_257);
    const half = readTflite(tfliteFile(w, { height: 65, width: 65, precision: 'float16' }).bytes);
    const consts = half.tensors.filter((t) => t.data);
    expect(consts.every((t) => t.type === 'FLOAT16' || t.type === 'INT32'), 'constants are FLOAT16 (or int32 sizes and axes)').to.equal(true);
    const dequantized = half.operators.filter((o) => o.opcode === 'DEQUANTIZE');
    expect(dequantized.length).to.equal(consts.filter((t) => t.type === 'FLOAT16').length);
    expect(dequantized.every((o) => half.tensors[o.inputs[0]].type === 'FLOAT16' && half.tensors[o.outputs[0]].type === 'FLOAT32')).to.equal(true);
    const classes = readTflite(tfliteFile(w, { height: 65, width: 65, output: 'classes' }).bytes);
    expect(classes.operators[classes.operators.length - 1].opcode).to.equal('ARG_MAX');
    expect(classes.tensors[classes.outputs[0]]).to.deep.include({ name: 'classes', shape: [1, 65, 65], type: 'INT32' });
  });

  it('`deeplab export --format tflite` of a model with an op no builtin expresses is refused, naming the op and the layer; no file is written', async () => {
    const out = join(dir, 'q8.tflite');
    const r = await runCli(['export', '--model', QUANTIZED_SEGFORMER, '--dtype', 'q8', '--format', 'tflite', '--out', out]);
    expect(r.code, messages(r.stderr)).to.equal(1);
    expect(r.stderr).to.match(/layer pixel_values_QuantizeLinear: op 'quantize_dynamic' has no TF Lite builtin form/);
    expect(existsSync(out), 'nothing written').to.equal(false);
  });

  it('`deeplab export` refuses int8 without --calibrate, and --calibrate with another precision', async () => {
    const out = join(dir, 'refused.tflite');
    const a = await runCli(['export', '--model', TF_MNV2_257, '--format', 'tflite', '--precision', 'int8', '--out', out]);
    expect(a.code).to.equal(1);
    expect(a.stderr).to.include('--precision int8 needs --calibrate');
    const b = await runCli(['export', '--model', TF_MNV2_257, '--format', 'tflite', '--calibrate', dir, '--out', out]);
    expect(b.code).to.not.equal(0);
    expect(existsSync(out), 'nothing written').to.equal(false);
  });
});
