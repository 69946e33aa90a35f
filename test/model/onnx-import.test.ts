// ONNX files exported by the reference libraries (test/fixtures/onnx, scripts/fixtures/onnx/README.md)
// loaded from the file alone with loadModel, as a user would: at both of each case's input sizes
// (one odd) forwardToHost gives onnxruntime's logits (the file's own output, at its own size)
// within 1e-4 relative, and segment() labels the case's
// uint8 image as onnxruntime's logits do on at least 99.9 % of the pixels. Each file loads once.
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import type { DeepLabModel } from '../../src/model/model.js';
import { loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { argmaxCpu } from '../../src/kernels/softmax/softmax.js';
import { classAgreement, expectClose, relativeError, testContext } from '../helpers.js';
import { onnxCaseArrays, onnxCasePath, onnxCases, readOnnxCase, writeOnnxCase } from '../onnx-fixture.js';
import { nchwToNhwc } from './layout.js';

// The full-size ResNet-50 (159 MB of weights) is the benchmarks' file.
const CASES = onnxCases().filter((c) => !c.endsWith('-full'));

describe('model: ONNX files from the reference exporters, loaded from the file alone', function () {
  this.timeout(300_000);

  for (const name of CASES) {
    const meta = readOnnxCase(name);
    describe(`${name} (${meta.source.library}, ${meta.exporter_name} opset ${meta.opset}${meta.dynamic_hw ? ', dynamic H/W' : ''})`, () => {
      const models = new Map<string, DeepLabModel>();
      let dir: string | undefined;
      before(async () => {
        const written = writeOnnxCase(name);
        if (meta.external_data) dir = written.dir;
        // Every case's models run on this test file's one context: one device, each kernel compiled
        // once (a context per model took the file 28-30 s against 17-18 s, alone).
        const ctx = await testContext();
        for (const file of new Set(Object.values(written.files))) {
          models.set(file, await loadModel(file, { ctx, mean: meta.preprocessing.mean, std: meta.preprocessing.std }));
        }
        for (const [size, file] of Object.entries(written.files)) models.set(size, models.get(file)!);
      });
      after(() => {
        for (const m of new Set(models.values())) m.dispose();
        if (dir) rmSync(dir, { recursive: true, force: true });
      });

      for (const [h, w] of meta.sizes) {
        it(`${h}x${w}: onnxruntime's logits within 1e-4, its labels on 99.9 % of the pixels`, async () => {
          const model = models.get(`${h}x${w}`)!;
          const { input, logits } = onnxCaseArrays(name, [h, w]);
          const classes = meta.num_classes;
          expect(model.numClasses).to.equal(classes);
          // forwardToHost gives the file's own output, at its own size (a head's stride), as onnxruntime does.
          const ours = await model.forwardToHost(nchwToNhwc(input.data, input.shape), h, w);
          const want = nchwToNhwc(logits.data, logits.shape);
          const [, , lh, lw] = logits.shape;
          expect(ours.length, 'the output at the file\'s own size').to.equal(lh * lw * classes);
          const labels = classAgreement(argmaxCpu(ours, [lh, lw, classes]), argmaxCpu(want, [lh, lw, classes]));
          console.log(`      (logits ${relativeError(ours, want).toExponential(1)} relative, labels ${(100 * labels).toFixed(2)} %)`);
          expectClose(ours, want, `${name} ${h}x${w} logits`);
          expect(labels, 'labels').to.be.at.least(0.999);
        });
      }

      it("segment() on the case's image: the labels of onnxruntime's logits", async () => {
        const [h, w] = meta.sizes[meta.sizes.length - 1];
        const model = models.get(`${h}x${w}`)!;
        const u8 = readNpy(onnxCasePath(name, `image_${h}x${w}_uint8.npy`));
        // A file that takes BGR (transformers' MobileViT) gets the image's channels reversed, as its processor does.
        const bgr = meta.preprocessing.channel_order === 'BGR';
        const data = Uint8Array.from(u8.data, (_, i) => (bgr ? u8.data[i - (i % 3) + 2 - (i % 3)] : u8.data[i]));
        const { classes } = await model.segment({ width: w, height: h, data });
        const { logits } = onnxCaseArrays(name, [h, w]);
        const [, , lh, lw] = logits.shape;
        const theirs = nchwToNhwc(logits.data, logits.shape);
        const full = lh === h && lw === w ? theirs : resizeBilinearCpu(theirs, [1, lh, lw, meta.num_classes], { outH: h, outW: w, mode: 'half_pixel' });
        const want = argmaxCpu(full, [h, w, meta.num_classes]);
        expect(classAgreement(classes, want), 'labels').to.be.at.least(0.999);
      });
    });
  }
});
