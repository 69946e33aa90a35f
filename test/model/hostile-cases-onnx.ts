// Damaged and hostile ONNX files for the fuzz test (test/model/hostile-folders.test.ts): the valid
// file is PyTorch's export of torchvision's LR-ASPP (test/fixtures/onnx); the cases are the file
// itself as something that is not a file, cut, and the same graph with its conv weights moved to
// an external data file beside it: read as the file is when that file is right, and refused
// naming it when it is missing, not a regular file, over the size cap, outside the model's folder
// or short. The reader's own field rules are fuzzed in test/import/hostile-onnx.test.ts.
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readOnnx } from '../../src/graph/onnx/read.js';
import { type ModelProto, decodeModel, encodeModel } from '../../src/graph/onnx/proto.js';
import { onnxMessage } from '../../src/graph/onnx/write.js';
import { onnxCasePath } from '../onnx-fixture.js';
import { type CaseSource, type FormatTable, type HostileCase, fifo, sparseFile, truncatedCopy } from './hostile-cases.js';
import { GB3, notAFile } from './hostile-cases-files.js';

const FILE = (): string => onnxCasePath('tv-lraspp-mobilenetv3', 'model.onnx');
const DATA = 'weights.bin';

/**
 * The valid file at `dir/model.onnx` with its 4-D initializers stored in an external data file
 * (`location`, offsets as the file holds them; `short` bytes cut from the declared lengths' end);
 * `put` makes the data file (given its path and right bytes; default: writes them).
 */
function external(dir: string, valid: CaseSource, opts: { location?: string; put?: (path: string, bytes: Uint8Array) => void } = {}): CaseSource {
  const { location = DATA, put = (p, b) => writeFileSync(p, b) } = opts;
  const m = onnxMessage(readOnnx(new Uint8Array(readFileSync(valid.path)), valid.path));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of m.graph.initializer) {
    if ((t.dims as number[]).length !== 4 || !(t.raw_data instanceof Uint8Array)) continue;
    const bytes = t.raw_data;
    Object.assign(t, {
      raw_data: new Uint8Array(0),
      data_location: 1,
      external_data: [
        { key: 'location', value: location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.length) },
      ],
    });
    chunks.push(bytes);
    offset += bytes.length;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  const path = join(dir, 'model.onnx');
  writeFileSync(path, encodeModel(m as never));
  put(join(dir, location), data);
  return { path };
}

/** A case of the external data file, as `put` makes it. */
const dataCase = (name: string, put: (path: string, bytes: Uint8Array) => void, expect: HostileCase['expect']): HostileCase => ({
  name,
  make: (dir, _, valid) => external(dir, valid, { put }),
  expect,
});

/** The valid file with its message changed by `edit`. */
const edited = (name: string, edit: (m: ModelProto) => void, expect: HostileCase['expect']): HostileCase => ({
  name,
  make: (dir, _, valid) => {
    const m = decodeModel(readFileSync(valid.path));
    edit(m);
    const path = join(dir, 'model.onnx');
    writeFileSync(path, encodeModel(m));
    return { path };
  },
  expect,
});

const refusedData = (reason: string): RegExp => new RegExp(`model\\.onnx: its external data file 'weights\\.bin' cannot be read \\(.*weights\\.bin: ${reason}`);

export const ONNX_CASES: FormatTable = {
  format: "ONNX (PyTorch's LR-ASPP export; its weights as external data)",
  valid: (dir) => {
    const path = join(dir, 'model.onnx');
    copyFileSync(FILE(), path);
    return { path };
  },
  // An ONNX network's architecture names the file it came from (its later errors say where), so a
  // link or the file with its data beside it digests differently by that name alone: those cases
  // are judged by their labels.
  labels: true,
  cases: [
    ...notAFile('model.onnx', 'model.onnx', ['fifo', 'sparse', 'dangling']),
    { name: 'cut in half', make: (dir, _, valid) => ({ path: truncatedCopy(valid.path, join(dir, 'model.onnx'), 0.5) }), expect: /model\.onnx: / },
    { name: 'a link to the valid file', make: (dir, _, valid) => (symlinkSync(valid.path, join(dir, 'model.onnx')), { path: join(dir, 'model.onnx') }), expect: 'same labels' },
    dataCase('its conv weights in an external data file beside it', (p, b) => writeFileSync(p, b), 'same labels'),
    dataCase('the external data file missing', () => undefined, refusedData('ENOENT: no such file')),
    dataCase('the external data file a FIFO', (p) => fifo(p), refusedData('a FIFO \\(named pipe\\), not a file')),
    dataCase('the external data file a folder', (p) => mkdirSync(p), refusedData('a folder, not a file')),
    dataCase('the external data file a link to /dev/zero', (p) => symlinkSync('/dev/zero', p), refusedData('a character device \\(a link to /dev/zero\\)')),
    dataCase('the external data file a sparse 3 GB file', (p) => sparseFile(p, GB3), refusedData('3221225472 bytes, more than the 2147483647')),
    dataCase('the external data file a byte short', (p, b) => writeFileSync(p, b.subarray(0, b.length - 1)), /model\.onnx: tensor '.*' external data \(bytes \d+\.\.\d+\) runs past the end of weights\.bin/),
    // Issue 81's classes, in the file itself.
    edited('a NaN in a conv weight', (m) => {
      const t = m.graph.initializer.find((x) => x.dims.length === 4)!;
      const data = new Float32Array(new Uint8Array(t.raw_data).buffer);
      data[3] = NaN;
      t.raw_data = new Uint8Array(data.buffer);
    }, /model\.onnx: tensor '.*' holds a value that is not a number at element 3: weights must be finite/),
    edited('a uint8 initializer holding 300 (in int32_data)', (m) => m.graph.initializer.push({ name: 'zero_point', dims: [], data_type: 2, int32_data: [300] } as never), /model\.onnx: initializer 'zero_point' int32_data holds 300 at element 0, outside the range of uint8 \(0\.\.255\)/),
    edited('a graph output named ""', (m) => void (m.graph.output[0].name = ''), /model\.onnx: graph output 0 names no value \(an empty name\)/),
    edited('the output\'s node of op type "__proto__"', (m) => void (m.graph.node.find((n) => n.output.includes(m.graph.output[0].name))!.op_type = '__proto__'), /model\.onnx: node '.*' \(__proto__\): not run/),
    {
      name: 'the external data at ../weights.bin',
      make: (dir, _, valid) => external(dir, valid, { location: `../${DATA}`, put: (p, b) => writeFileSync(p, b) }),
      expect: /model\.onnx: tensor '.*' names its external data at "\.\.\/weights\.bin", not a relative path inside the model's folder/,
    },
  ],
};
