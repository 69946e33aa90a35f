// Every export format record, enumerated: a record added to the registry is tested here by being
// listed (SAMPLES fails to compile without a model it takes). Each writes a model it takes where
// `--out` says (a file with its ending, or a folder) and what it wrote reads back; `deeplab
// export` refuses each option a format does not read, naming the formats that do.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModel } from '../../src/graph/onnx/proto.js';
import type { ExportOption } from '../../src/model/export-formats/format.js';
import { EXPORT_FORMAT_RECORDS, type ExportFormat, exportFormat } from '../../src/model/export-formats/registry.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { readSafetensors } from '../../src/model/weights/import/safetensors.js';
import { readTflite } from '../../src/model/weights/import/tflite.js';
import { runCli } from '../cli/run-cli.js';
import { sharedPath } from '../shared.js';
import { writeSmpFolder } from './smp-fixture.js';

const MNV3_RANDOM = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
const MOBILEVIT = sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small');

/** A model each format takes, and how what it wrote is read back (the tensor names it holds). */
const SAMPLES: { [F in ExportFormat]: { model: string; names(out: string): Promise<string[]> } } = {
  safetensors: { model: MNV3_RANDOM, names: async (out) => [...readSafetensors(out).tensors.keys()] },
  onnx: { model: MNV3_RANDOM, names: async (out) => decodeModel(readFileSync(out)).graph.initializer.map((t) => t.name) },
  hf: { model: MOBILEVIT, names: async (out) => [...(await loadWeights(out)).params.keys()] },
  smp: { model: writeSmpFolder('deeplabv3plus-mobilenet_v2').dir, names: async (out) => [...(await loadWeights(out)).params.keys()] },
  'transformers-js': { model: 'test/fixtures/hub-onnx/segformer-dynamo', names: async (out) => [...(await loadWeights(out)).params.keys()] },
  tflite: { model: MNV3_RANDOM, names: async (out) => readTflite(out).tensors.filter((t) => t.data).map((t) => t.name) },
};

describe('model: every export format record', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'export-formats-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('one record per name, each found by it; an unknown name finds none', () => {
    const names = EXPORT_FORMAT_RECORDS.map((f) => f.name);
    expect(new Set(names).size).to.equal(names.length);
    expect(Object.keys(SAMPLES).sort()).to.deep.equal([...names].sort());
    for (const f of EXPORT_FORMAT_RECORDS) expect(exportFormat(f.name)).to.equal(f);
    expect(exportFormat('coreml')).to.equal(undefined);
  });

  for (const record of EXPORT_FORMAT_RECORDS) {
    it(`${record.name}: writes a model it takes where --out says, and it reads back`, async () => {
      const { model, names } = SAMPLES[record.name];
      const out = join(dir, `${record.name}${record.extension ?? ''}`);
      const said: string[] = [];
      const w = await loadWeights(model);
      const wrote = record.write(out, w, { size: { height: 33, width: 41 } }, { source: () => model, say: (m) => said.push(m) });
      expect(wrote).to.be.a('string').and.not.equal('');
      expect(statSync(out).isDirectory(), 'a folder').to.equal(record.extension === null);
      const read = await names(out);
      expect(read.length, 'tensors read back').to.be.greaterThan(0);
    });
  }

  it('deeplab export refuses an option a format does not read, naming the formats that do', async () => {
    // Each option as the command line gives it. TF Lite's own four are each tried on one other
    // format (in turn), not all: they are refused by the same check, and each try starts a CLI.
    const options: Record<ExportOption, string[]> = { size: ['--size', '33'], quantize: ['--quantize', 'int8'], precision: ['--precision', 'float16'], output: ['--output', 'classes'], calibrate: ['--calibrate', dir], int8Io: ['--int8-io'] };
    const tfliteOnly: ExportOption[] = ['precision', 'output', 'calibrate', 'int8Io'];
    const others = EXPORT_FORMAT_RECORDS.filter((f) => f.name !== 'tflite');
    for (const record of EXPORT_FORMAT_RECORDS) {
      for (const [option, given] of Object.entries(options) as [ExportOption, string[]][]) {
        if (record.options.includes(option)) continue;
        if (tfliteOnly.includes(option) && others[tfliteOnly.indexOf(option) % others.length] !== record) continue;
        const out = join(dir, `refused-${record.name}-${option}${record.extension ?? ''}`);
        const r = await runCli(['export', '--model', MNV3_RANDOM, '--format', record.name, '--out', out, ...given]);
        const takers = EXPORT_FORMAT_RECORDS.filter((f) => f.options.includes(option)).map((f) => f.name);
        expect(r.code, `${record.name} ${given[0]}`).to.equal(2);
        expect(r.stderr).to.include(`${given[0]} applies to --format ${takers.join(' or ')} only`);
        expect(existsSync(out), 'nothing written').to.equal(false);
      }
    }
  });
});
