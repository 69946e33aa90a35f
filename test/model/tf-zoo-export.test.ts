// TF DeepLab's zoo files as the zoo runs them, through the calls a user makes: the frozen graphs
// export_model.py wrote (scripts/fixtures/tf-mnv3 and tf-xception, `--export`: MobileNetV3-Small
// at output stride 32 and Xception-65 at 16, 19 classes, crop 65x97; preprocessing included; the
// PRNG's weights left out of the committed graph and written back here), loaded by path
// (loadModel) alone, as a checkpoint bundle and as a tarball, then segment() of an image smaller
// than the crop (the graph pads it) and of one larger (shrunk first as TF's demo does) against
// the graph's SemanticPredictions and its logits.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resizeRgbPil } from '../../src/io/resize-cpu.js';
import { resizeBilinearCpu } from '../../src/kernels/resize/resize.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { GraphDefType, type GraphDefObject, decodeMessage } from '../../src/model/weights/import/tf-proto.js';
import { expectClose, expectRejects, relativeError, testContext } from '../helpers.js';
import { type ExportFixture, exportFixture, writeZooForms } from './tf-export-fixture.js';

const FIXTURES = join(process.cwd(), 'test', 'fixtures');

/** The share of pixels whose label equals TF's, printed with the case's name. */
function agreement(ours: Uint8Array, theirs: Uint8Array, what: string): number {
  expect(ours.length, what).to.equal(theirs.length);
  let same = 0;
  for (let i = 0; i < theirs.length; i++) if (ours[i] === theirs[i]) same++;
  console.log(`      (${what}: ${((100 * same) / theirs.length).toFixed(2)} % of labels equal SemanticPredictions)`);
  return same / theirs.length;
}

/** A fixture image as segment() takes it. */
function image(fx: ExportFixture, h: number, w: number): { width: number; height: number; data: Uint8Array } {
  return { width: w, height: h, data: Uint8Array.from(readNpy(join(fx.dir, `export_image_${h}x${w}.npy`)).data) };
}

/**
 * TF's logits of the image's pixels: the graph's stride logits resized to the crop with aligned
 * corners (the ResizeBilinear before its ArgMax), the rows and columns of the fed image kept.
 */
function tfLogits(fx: ExportFixture, c: ExportFixture['manifest']['cases'][number]): Float32Array {
  const [ch, cw] = fx.manifest.crop;
  const C = fx.manifest.num_classes;
  const atCrop = resizeBilinearCpu(readNpy(join(fx.dir, `export_${fx.tag}_logits_${c.height}x${c.width}.npy`)).data, c.logits_shape, { outH: ch, outW: cw, mode: 'align_corners' });
  const [fh, fw] = c.fed;
  const out = new Float32Array(fh * fw * C);
  for (let y = 0; y < fh; y++) out.set(atCrop.subarray(y * cw * C, (y * cw + fw) * C), y * fw * C);
  return out;
}

/** The graph's bytes with one Const's float values replaced. */
function withConst(fx: ExportFixture, name: string, values: number[]): Uint8Array {
  const graph = decodeMessage<GraphDefObject>(GraphDefType, fx.graph);
  const t = graph.node.find((n) => n.name === name)!.attr.value!.tensor!;
  t.tensor_content = new Uint8Array(Float32Array.from(values).buffer);
  t.float_val = [];
  return GraphDefType.encode(GraphDefType.fromObject(graph)).finish();
}

// MobileNetV3-Small in every form; Xception-65 (41 M weights: a 165 MB graph) as the graph alone,
// its other forms being read as MobileNetV3's are (test/model/xception.test.ts loads them too).
const FAMILIES = [
  { name: 'mobilenet_v3_small_seg', folder: 'tf-mnv3', tag: 'mnv3_small', forms: true, slow: '' },
  { name: 'xception_65', folder: 'tf-xception', tag: 'xception', forms: false, slow: ' @slow' },
];

for (const family of FAMILIES) {
  describe(`model: TF DeepLab's ${family.name} zoo files as export_model.py's frozen graph runs them${family.slow}`, function () {
    this.timeout(900_000);
    let fx: ExportFixture;
    let dir: string;
    let forms: ReturnType<typeof writeZooForms>;
    let model: DeepLabModel;

    before(async () => {
      fx = exportFixture(join(FIXTURES, family.folder), family.tag);
      dir = mkdtempSync(join(tmpdir(), `zoo-export-${family.tag}-`));
      const graph = join(dir, 'frozen_inference_graph.pb');
      if (family.forms) forms = writeZooForms(fx, dir, `deeplab_${family.tag}_export`);
      else writeFileSync(graph, fx.graph);
      model = await loadModel(graph, { ctx: await testContext() });
    });
    after(() => {
      model?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('the frozen graph alone loads: the crop and output stride read from the graph, every weight exact', () => {
      const [height, width] = fx.manifest.crop;
      expect(model.inputPolicy).to.deep.equal({ kind: 'pad-to-crop', height, width });
      expect(model.config).to.deep.include({ backbone: family.name, numClasses: fx.manifest.num_classes, outputStride: fx.manifest.output_stride });
      const params = model.loadedWeights.params;
      expect(params.size).to.equal(fx.variables.size);
      for (const [name, t] of fx.variables) {
        const ours = params.get(name.replace(/\/depthwise_weights$/, '/weights'))!;
        expect(Buffer.compare(Buffer.from(ours.data.buffer, ours.data.byteOffset, ours.data.byteLength), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name).to.equal(0);
      }
    });

    it("segment(): the graph's SemanticPredictions on >= 99.9 % of pixels and its logits within 1e-4, for an image smaller than the crop and one larger", async () => {
      const [small, large] = fx.manifest.cases;
      expect(small.fed).to.deep.equal([small.height, small.width]);
      const r = await model.segment(image(fx, small.height, small.width), { include: ['logits'] });
      const labels = (c: typeof small) => Uint8Array.from(readNpy(join(fx.dir, `export_${fx.tag}_labels_${c.height}x${c.width}.npy`)).data);
      expect(agreement(r.classes, labels(small), `${small.height}x${small.width}, padded to the crop`)).to.be.at.least(0.999);
      console.log(`      (its logits against the graph's: relative error ${relativeError(r.logits!, tfLogits(fx, small)).toExponential(1)})`);
      expectClose(r.logits!, tfLogits(fx, small), 'logits of the padded image');
      // The larger image: shrunk as the demo feeds it (PIL's LANCZOS; the fixture holds PIL's pixels), labels back by nearest neighbour.
      const big = image(fx, large.height, large.width);
      const fed = Uint8Array.from(readNpy(join(fx.dir, `export_image_${large.height}x${large.width}_fed.npy`)).data);
      const ours = resizeRgbPil(big, large.fed[1], large.fed[0], 'lanczos').data;
      expect(fed.length).to.equal(ours.length);
      const off = ours.reduce((n, v, i) => n + (v !== fed[i] ? 1 : 0), 0);
      expect(off, "values of the shrunk image other than PIL's").to.equal(0);
      const rl = await model.segment(big);
      expect([rl.width, rl.height]).to.deep.equal([large.width, large.height]);
      expect(agreement(rl.classes, labels(large), `${large.height}x${large.width}, shrunk to ${large.fed[0]}x${large.fed[1]}`)).to.be.at.least(0.999);
    });

    if (!family.forms) return;

    it('the checkpoint bundle and the tarball load as the same network; the tarball at the graph\'s crop, the bundle alone at 513x513; ownSize runs at the image\'s own size', async () => {
      const same = (w: Awaited<ReturnType<typeof loadWeights>>, what: string) => {
        expect(w.config, what).to.deep.equal(model.config);
        expect(w.params.size, what).to.equal(model.loadedWeights.params.size);
        for (const [name, t] of model.loadedWeights.params) expect(relativeError(w.params.get(name)!.data, t.data), `${what}: ${name}`).to.equal(0);
      };
      const tarball = await loadWeights(forms.tarball);
      same(tarball, 'tarball');
      expect(tarball.inputPolicy).to.deep.equal(model.inputPolicy);
      expect(tarball.architecture).to.deep.equal(model.loadedWeights.architecture);
      // No graph: nothing says the crop (nor the pooling windows) but the zoo's defaults.
      const bundle = await loadWeights(forms.prefix);
      expect(bundle.params.size).to.equal(model.loadedWeights.params.size);
      expect(bundle.inputPolicy).to.deep.equal({ kind: 'pad-to-crop', height: 513, width: 513 });
      expect((await loadWeights(forms.graph, { ownSize: true })).inputPolicy).to.deep.equal({ kind: 'own-size' });
    });

    it('a constant of the graph that is no weight is checked against what the network computes with: the preprocessing\'s and the hard-swish\'s, each named', async () => {
      const refused = async (name: string, values: number[], message: RegExp) => {
        const path = join(dir, `${name.replace(/\//g, '_')}.pb`);
        writeFileSync(path, withConst(fx, name, values));
        await expectRejects(loadWeights(path), message);
      };
      await refused('mul/x', [1 / 255], /the graph's preprocessing computes with Const 'mul\/x' = \[0\.0039.*\] \(read by Mul 'mul'\), but TF DeepLab's MobileNetV3-Small .* takes \(2\/255\) x - 1, padded with the mean pixel 127\.5/);
      await refused('Reshape/tensor', [0, 0, 0], /Const 'Reshape\/tensor' = \[0, 0, 0\] \(read by Reshape 'Reshape'\)/);
      await refused('MobilenetV3/Conv/hard_swish/add/y', [4], /Const 'MobilenetV3\/Conv\/hard_swish\/add\/y' = \[4\] \(read by AddV2 'MobilenetV3\/Conv\/hard_swish\/add'\) is neither a weight nor hard-swish's 3 and 1\/6 or the hard sigmoid's 3 and 0\.16667/);
    });
  });
}
