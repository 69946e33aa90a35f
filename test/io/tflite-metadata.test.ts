// TFLite metadata added to the official DeepLab .tflite (src/io/tflite-metadata.ts, what part
// browser gives MediaPipe's segmenter): the rewritten file holds the same model, read by our own
// TFLite reader tensor for tensor, its buffers aligned as they were, and the metadata reads back.
// That MediaPipe takes the file is checked in the page (test/browser/bench-page.test.ts).
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { ByteBuffer } from 'flatbuffers';
import { METADATA_KEY, addTfliteMetadata, readTfliteMetadata, segmenterMetadata } from '../../src/io/tflite-metadata.js';
import { readTflite } from '../../src/model/weights/import/tflite.js';
import { expectThrows } from '../helpers.js';
import { sharedPath } from '../shared.js';

const TFLITE = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');

/** Where each Buffer's data starts (schema.fbs: Model field 4 `buffers`, Buffer field 0 `data`); -1 for none. */
function bufferData(bytes: Uint8Array): number[] {
  const bb = new ByteBuffer(bytes);
  const root = bb.readUint32(0);
  const buffers = bb.__indirect(root + bb.__offset(root, 4 + 2 * 4));
  return Array.from({ length: bb.readUint32(buffers) }, (_, i) => {
    const table = bb.__indirect(buffers + 4 + 4 * i);
    const data = bb.__offset(table, 4);
    return data ? bb.__vector(table + data) : -1;
  });
}

/** The names of the model's metadata entries (Model field 6 `metadata`, Metadata field 0 `name`). */
function metadataNames(bytes: Uint8Array): string[] {
  const bb = new ByteBuffer(bytes);
  const root = bb.readUint32(0);
  const field = bb.__offset(root, 4 + 2 * 6);
  if (!field) return [];
  const vec = bb.__indirect(root + field);
  return Array.from({ length: bb.readUint32(vec) }, (_, i) => {
    const table = bb.__indirect(vec + 4 + 4 * i);
    return bb.__string(table + bb.__offset(table, 4)) as string;
  });
}

describe('io: TFLite metadata for MediaPipe (src/io/tflite-metadata.ts)', () => {
  const original = new Uint8Array(readFileSync(TFLITE));
  const metadata = segmenterMetadata({ name: 'DeepLab-v3 MobileNetV2 257', description: 'test', mean: [127.5], std: [127.5] });
  const rewritten = addTfliteMetadata(original, metadata);

  it('keeps the model: every tensor (name, shape, type, values), operator, input and output as the original file has them', () => {
    const [a, b] = [readTflite(original, 'original'), readTflite(rewritten, 'rewritten')];
    expect(b.inputs).to.deep.equal(a.inputs);
    expect(b.outputs).to.deep.equal(a.outputs);
    expect(b.operators).to.deep.equal(a.operators);
    expect(b.tensors.length).to.equal(a.tensors.length);
    for (let i = 0; i < a.tensors.length; i++) {
      const [x, y] = [a.tensors[i], b.tensors[i]];
      expect([y.name, y.shape, y.type, y.buffer], x.name).to.deep.equal([x.name, x.shape, x.type, x.buffer]);
      if (x.data) expect(Buffer.from(y.data!.buffer, y.data!.byteOffset, y.data!.byteLength).equals(Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength)), x.name).to.equal(true);
    }
  });

  // The original's converter did not align its buffers to 16 (each is at 4 mod 16, 8, 12 or 0): a
  // rewrite must leave each where it was mod 16, and align its own.
  it('adds one buffer, the metadata, 16-byte aligned, after the original ones; those stay where they were modulo 16', () => {
    const [before, after] = [bufferData(original), bufferData(rewritten)];
    expect(after.length).to.equal(before.length + 1);
    expect(after.slice(0, -1).map((p) => (p < 0 ? p : p % 16))).to.deep.equal(before.map((p) => (p < 0 ? p : p % 16)));
    expect(after[before.length] % 16).to.equal(0);
    expect(Buffer.from(rewritten.subarray(after[before.length] + 4, after[before.length] + 8)).toString(), 'its identifier').to.equal('M001');
  });

  it('reads back: the input normalisation, one input and one output described; adding it again replaces it', () => {
    expect(readTfliteMetadata(original)).to.equal(null);
    const expected = { name: 'DeepLab-v3 MobileNetV2 257', mean: [127.5], std: [127.5], inputs: 1, outputs: 1, outputFiles: [] };
    expect(readTfliteMetadata(rewritten)).to.deep.equal(expected);
    const names = metadataNames(original);
    expect(metadataNames(rewritten)).to.deep.equal([...names, METADATA_KEY]);
    const again = addTfliteMetadata(rewritten, segmenterMetadata({ name: 'again', description: '', mean: [0, 0, 0], std: [255, 255, 255] }));
    expect(metadataNames(again)).to.deep.equal([...names, METADATA_KEY]);
    expect(readTfliteMetadata(again)).to.deep.equal({ name: 'again', mean: [0, 0, 0], std: [255, 255, 255], inputs: 1, outputs: 1, outputFiles: [] });
  });

  it('refuses what it cannot write: bytes that are no TFLite model, metadata that is no ModelMetadata, a std of 0 or a mean and std of different lengths', () => {
    expectThrows(() => addTfliteMetadata(new Uint8Array(64), metadata), /not a TFLite model/);
    expectThrows(() => addTfliteMetadata(original, original), /not a ModelMetadata flatbuffer/);
    expectThrows(() => segmenterMetadata({ name: 'x', description: '', mean: [127.5], std: [0] }), /a std of 0/);
    expectThrows(() => segmenterMetadata({ name: 'x', description: '', mean: [1, 2, 3], std: [1] }), /the same, non-empty length/);
  });
});
