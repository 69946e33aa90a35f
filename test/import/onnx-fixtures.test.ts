// The ONNX fixtures themselves (test/fixtures/onnx, scripts/fixtures/onnx/README.md): every case's
// files are there with the shapes meta.json gives, and onnxruntime-node, on the graph with its
// external data written again from the PRNG (test/onnx-fixture.ts), gives the logits the Python
// generator stored. What runs these files in our engine is tested by the importer's own tests.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { relativeError, expectThrows } from '../helpers.js';
import { externalDataBytes, onnxCaseArrays, onnxCasePath, onnxCases, readOnnxCase, writeOnnxCase } from '../onnx-fixture.js';

/**
 * onnxruntime's output against the logits it gave on the generator's host: not bit for bit on
 * every host, since its CPU kernels round as the instruction set they pick does (on an AMD EPYC
 * with AVX2, every file agreed exactly but MobileViT's at 49x71, 1.04e-6 away). A data file
 * written wrong errs by the order of the logits themselves.
 */
const SAME_ENGINE_OTHER_HOST = 1e-5;

async function runOrt(path: string, inputName: string, input: { shape: number[]; data: Float32Array }): Promise<{ dims: number[]; data: Float32Array }> {
  // The generator's settings: one thread, no graph optimizations (the file's own ops).
  const session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  try {
    const out = await session.run({ [inputName]: new ort.Tensor('float32', input.data, input.shape) });
    const t = out[session.outputNames[0]];
    return { dims: [...t.dims].map(Number), data: t.data as Float32Array };
  } finally {
    await session.release();
  }
}

describe('ONNX fixtures (test/fixtures/onnx)', () => {
  const cases = onnxCases();

  it('lists the cases the README lists', () => {
    const readme = readFileSync('scripts/fixtures/onnx/README.md', 'utf8');
    expect(cases.length).to.be.greaterThan(0);
    for (const name of cases) expect(readme, `README row for ${name}`).to.include(`\`${name}\``);
  });

  for (const name of cases) {
    const meta = readOnnxCase(name);
    describe(name, () => {
      it('has its files, inputs and logits of the shapes meta.json gives', () => {
        expect(meta.sizes.length, 'input sizes').to.equal(2);
        for (const [h, w] of meta.sizes) {
          const size = `${h}x${w}`;
          expect(existsSync(onnxCasePath(name, meta.files[size])), `${size}: ${meta.files[size]}`).to.equal(true);
          const { input, logits } = onnxCaseArrays(name, [h, w]);
          expect(input.shape, `input_${size}`).to.deep.equal([1, 3, h, w]);
          expect(logits.shape[1], `logits_${size} classes`).to.equal(meta.num_classes);
          if (meta.output_stride === 1) expect(logits.shape.slice(2), `logits_${size}`).to.deep.equal([h, w]);
        }
      });

      // With external data this writes the data file from the PRNG first (its SHA-256 checked):
      // seconds for the full-size networks, hence @slow.
      const check = meta.external_data ? (t: string, f: () => Promise<void>) => describe('with its external data @slow', () => it(t, f)) : it;
      check('onnxruntime gives the stored logits at both sizes', async () => {
        const { dir, files } = writeOnnxCase(name);
        try {
          for (const [h, w] of meta.sizes) {
            const { input, logits } = onnxCaseArrays(name, [h, w]);
            const out = await runOrt(files[`${h}x${w}`], meta.input_name, input);
            expect(out.dims, `${h}x${w}`).to.deep.equal(logits.shape);
            expect(relativeError(out.data, logits.data), `${h}x${w}`).to.be.lessThan(SAME_ENGINE_OTHER_HOST);
          }
        } finally {
          if (meta.external_data) rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }

  it('embeds the external data: onnxruntime gives the stored logits on the self-contained file', async () => {
    const name = cases
      .filter((c) => readOnnxCase(c).external_data)
      .reduce((a, b) => (readOnnxCase(b).external_data![0].bytes < readOnnxCase(a).external_data![0].bytes ? b : a));
    const meta = readOnnxCase(name);
    const { dir, files } = writeOnnxCase(name, undefined, { embed: true });
    try {
      expect(readdirSync(dir).filter((f) => !f.endsWith('.onnx')), 'files beside the graphs').to.deep.equal([]);
      const [h, w] = meta.sizes[1];
      const { input, logits } = onnxCaseArrays(name, [h, w]);
      const out = await runOrt(files[`${h}x${w}`], meta.input_name, input);
      expect(relativeError(out.data, logits.data), `${name} ${h}x${w}`).to.be.lessThan(SAME_ENGINE_OTHER_HOST);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a data file from the PRNG, and refuses rows that do not give the generator’s bytes, naming the file', () => {
    // the smallest data file of all
    const all = cases.flatMap((c) => (readOnnxCase(c).external_data ?? []).map((ext) => ({ name: c, ext })));
    expect(all.length, 'cases with external data').to.be.greaterThan(0);
    const { name, ext: smallest } = all.reduce((a, b) => (b.ext.bytes < a.ext.bytes ? b : a));
    expect(externalDataBytes(name, smallest).length).to.equal(smallest.bytes);
    const ext = structuredClone(smallest);
    const row = ext.tensors.find((t) => t[3] === 'conv')!;
    row[3] = 'linear';
    expectThrows(() => externalDataBytes(name, ext), `${name}/${ext.file}: the PRNG's bytes hash to`);
  });
});
