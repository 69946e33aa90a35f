// A transformers.js folder fine-tuned and written back as one (`deeplab export --format
// transformers-js`), through the calls users make: loadModel(folder), fineTune to a new class list,
// save, export from the checkpoint. The folder written back holds config.json (the original's
// text, the new id2label and label2id), preprocessor_config.json as it was, onnx/model.onnx with
// the trained weights, and nothing else; loadModel of it gives our logits again, onnxruntime runs
// its file to our logits within 1e-5, and transformers.js itself loads it and labels photos as
// segment() does on >= 99.9 % of the pixels. Two families: SegFormer (TorchScript, opset 12),
// through transformers.js' pipeline, and DPT (TorchScript, opset 14), through the steps its
// pipeline runs (transformers.js 4.3.1 has no DPT segmentation class). Then what is refused.
//
// transformers.js resizes a photo with sharp's affine transform (no antialiasing), transformers
// (and so we) with torch's antialiased one: their network inputs differ for a photo of another
// size, so its labels are compared on photos at the processor's own size (64x64 crops of the
// fixture's 96x128 photo), which neither resizes. The fine-tune teaches three bands of columns of
// one crop, which leaves the tuned model's labels varying over it (a one-class map would prove
// nothing).
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readOnnx } from '../../src/graph/onnx/read.js';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { exportFormat } from '../../src/model/export-formats/registry.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { fineTune } from '../../src/train/fine-tune.js';
import { messages, runCli } from '../cli/run-cli.js';
import { classAgreement, expectClose, expectThrows, relativeError, testContext } from '../helpers.js';
import { runOnnx } from '../onnx-runtime.js';
import { sharedPath } from '../shared.js';
import { nchwToNhwc } from './layout.js';
import { type TransformersJsRoute, transformersJsLabels } from './transformers-js-labels.js';

const FIXTURES = 'test/fixtures/hub-onnx';
const CLASSES = ['sky', 'road', 'car'];
const PHOTOS: [number, number][] = [
  [67, 53],
  [96, 128],
];

const CASES: { name: string; route: TransformersJsRoute; classifier: string }[] = [
  { name: 'segformer-torchscript', route: 'pipeline', classifier: 'model.decode_head.classifier.weight' },
  { name: 'dpt', route: 'steps', classifier: 'model.head.head.4.weight' },
];
/** The crops [y, x] of the 96x128 photo, at the processors' size (64x64), that transformers.js labels; the first is the one taught. */
const CROPS: [number, number][] = [
  [16, 32],
  [0, 0],
];
const SIDE = 64;

const fixture = (name: string, ...file: string[]): string => join(FIXTURES, name, ...file);

function photo(name: string, h: number, w: number): RgbImage {
  const u8 = readNpy(fixture(name, `image_${h}x${w}_uint8.npy`));
  return { width: w, height: h, data: Uint8Array.from(u8.data) };
}

/** The SIDE x SIDE crop at [y, x] of the case's 96x128 photo. */
function crop(name: string, [y, x]: [number, number]): RgbImage {
  const p = photo(name, 96, 128);
  const data = new Uint8Array(SIDE * SIDE * 3);
  for (let r = 0; r < SIDE; r++) data.set(p.data.subarray(((y + r) * p.width + x) * 3, ((y + r) * p.width + x + SIDE) * 3), r * SIDE * 3);
  return { width: SIDE, height: SIDE, data };
}

/** The processor's pixel_values of a photo, NCHW and as our NHWC input. */
function pixelValues(name: string, h: number, w: number): { nchw: Float32Array; dims: number[]; nhwc: Float32Array } {
  const pv = readNpy(fixture(name, `pixel_values_${h}x${w}.npy`));
  return { nchw: Float32Array.from(pv.data), dims: pv.shape, nhwc: nchwToNhwc(Float32Array.from(pv.data), pv.shape) };
}

/** The files of a folder, '/'-separated, sorted. */
function filesOf(dir: string, sub = ''): string[] {
  return readdirSync(join(dir, sub), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesOf(dir, `${sub}${e.name}/`) : [`${sub}${e.name}`]))
    .sort();
}

describe('model: a transformers.js folder fine-tuned and exported back (deeplab export --format transformers-js)', function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tjs-export-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const { name, route, classifier } of CASES) {
    describe(name, () => {
      let tuned: DeepLabModel;
      let out: string;
      before(async () => {
        const model = await loadModel(fixture(name), { ctx: await testContext() });
        try {
          // One crop in three bands of columns, one class each.
          const labels = Uint8Array.from({ length: SIDE * SIDE }, (_, i) => Math.min(2, Math.floor((3 * (i % SIDE)) / SIDE)));
          tuned = await fineTune(model, [{ image: crop(name, CROPS[0]), labels }], { recipe: 'plain', steps: 2, crop: SIDE, lr: 0.1, classes: CLASSES, scale: [1, 1], flip: false, freezeBn: false, seed: 3 });
        } finally {
          model.dispose();
        }
        const ckpt = join(dir, `${name}.safetensors`);
        await tuned.save(ckpt);
        out = join(dir, name);
        const cli = await runCli(['export', '--model', ckpt, '--format', 'transformers-js', '--out', out]);
        expect(cli.code, messages(cli.stderr)).to.equal(0);
        expect(cli.stdout).to.include(`wrote ${out}: config.json (3 classes), preprocessor_config.json, onnx/model.onnx`);
      });
      after(() => tuned?.dispose());

      it('writes config.json (the new id2label and label2id, the rest as the folder had it), preprocessor_config.json as it was, onnx/model.onnx with the trained weights, and nothing else', () => {
        expect(filesOf(out)).to.deep.equal(['config.json', 'onnx/model.onnx', 'preprocessor_config.json']);
        expect(readFileSync(join(out, 'preprocessor_config.json')).equals(readFileSync(fixture(name, 'preprocessor_config.json')))).to.equal(true);
        const [config, original] = [join(out, 'config.json'), fixture(name, 'config.json')].map((f) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>);
        expect(config.id2label).to.deep.equal({ 0: 'sky', 1: 'road', 2: 'car' });
        expect(config.label2id).to.deep.equal({ car: 2, road: 1, sky: 0 });
        const rest = (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'id2label' && k !== 'label2id'));
        expect(rest(config)).to.deep.equal(rest(original));
        const [back, file] = [join(out, 'onnx', 'model.onnx'), fixture(name, 'onnx', 'model.onnx')].map((f) => readOnnx(readFileSync(f), f));
        expect(back.opset).to.equal(file.opset);
        expect(back.graph.nodes.map((n) => `${n.name} ${n.opType}`)).to.deep.equal(file.graph.nodes.map((n) => `${n.name} ${n.opType}`));
        expect(back.graph.initializers.get(classifier)!.dims[0], "the classifier's new class count").to.equal(3);
        // Trained: of the initializers both hold at one shape, most changed.
        const same = [...file.graph.initializers.values()].filter((t) => t.dtype === 'float' && t.data.length > 64 && back.graph.initializers.get(t.name)?.data.length === t.data.length);
        const moved = same.filter((t) => back.graph.initializers.get(t.name)!.data.some((v, i) => v !== t.data[i]));
        expect(moved.length / same.length, `trained weights written back (${moved.length} of ${same.length})`).to.be.greaterThan(0.5);
      });

      it('loadModel(folder written back) gives our classes, input and logits again', async () => {
        const back = await loadModel(out, { ctx: await testContext() });
        try {
          expect(back.classNames).to.deep.equal(CLASSES);
          expect(back.inputPolicy).to.deep.equal(tuned.inputPolicy);
          for (const [h, w] of PHOTOS) {
            const { nhwc, dims } = pixelValues(name, h, w);
            const [ours, again] = [await tuned.forwardToHost(nhwc, dims[2], dims[3]), await back.forwardToHost(nhwc, dims[2], dims[3])];
            console.log(`      (${h}x${w}: re-loaded against ours ${relativeError(again, ours).toExponential(1)})`);
            expectClose(again, ours, `${name} re-loaded, ${h}x${w}`, 1e-5);
          }
        } finally {
          back.dispose();
        }
      });

      it("onnxruntime runs onnx/model.onnx to our forwardToHost (the file's own output) within 1e-5", async () => {
        const bytes = readFileSync(join(out, 'onnx', 'model.onnx'));
        for (const [h, w] of PHOTOS) {
          const { nchw, dims, nhwc } = pixelValues(name, h, w);
          const theirs = (await runOnnx(bytes, { pixel_values: { dims, data: nchw } })).get('logits')!;
          expect(theirs.dims[1], 'classes').to.equal(3);
          const ours = await tuned.forwardToHost(nhwc, dims[2], dims[3]);
          const want = nchwToNhwc(theirs.data, theirs.dims);
          console.log(`      (${h}x${w}: onnxruntime [${theirs.dims.join(',')}] against ours ${relativeError(ours, want).toExponential(1)})`);
          expectClose(ours, want, `${name} onnxruntime, ${h}x${w}`, 1e-5);
        }
      });

      it(`transformers.js loads it (${route === 'pipeline' ? 'its image-segmentation pipeline' : 'AutoProcessor, AutoModel and post_process_semantic_segmentation: its pipeline has no DPT segmentation class'}) and labels photos as segment() does on >= 99.9 % of the pixels`, async () => {
        const photos = CROPS.map((at) => crop(name, at));
        const theirs = await transformersJsLabels(out, photos, route);
        for (const [k, p] of photos.entries()) {
          const { classes } = await tuned.segment(p);
          const agree = classAgreement(classes, theirs[k]);
          const present = new Set(classes).size;
          console.log(`      (${p.height}x${p.width}: transformers.js' labels against segment()'s ${(100 * agree).toFixed(2)} %, ${present} classes present)`);
          expect(present, 'classes present (the agreement means something)').to.be.at.least(2);
          expect(agree, `${p.height}x${p.width} labels`).to.be.at.least(0.999);
        }
      });
    });
  }

  describe('the command, exported unchanged, and what it refuses', () => {
    const write = exportFormat('transformers-js')!.write;
    const ctx = { source: () => 'test', say: () => undefined };

    it('deeplab export --help names the format, what it writes and how transformers.js reads it', async () => {
      const r = await runCli(['export', '--help']);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.include('transformers-js: a transformers.js folder (models loaded from one, or fine-tuned from one: onnx/model.onnx with the weights now, config.json with the classes now), --out DIR (new or empty)');
      expect(r.stdout).to.include("pipeline('image-segmentation', DIR's name, { dtype: 'fp32' })").and.include("the folder's fp16 and q8 files would hold the weights it came with");
    });

    it('a folder exported unchanged is the original: config.json and preprocessor_config.json byte for byte', async () => {
      const out = join(dir, 'unchanged');
      write(out, await loadWeights(fixture('segformer-torchscript')), {}, ctx);
      for (const f of ['config.json', 'preprocessor_config.json']) expect(readFileSync(join(out, f)).equals(readFileSync(fixture('segformer-torchscript', f))), f).to.equal(true);
    });

    it('a model not from a transformers.js folder: a network of ours, an ONNX file alone (by the CLI), a folder loaded with dtype fp16', async () => {
      const torchvision = sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth');
      const mnv3 = await loadWeights(torchvision);
      expectThrows(() => write(join(dir, 'no'), mnv3, {}, ctx), 'MobileNetV3-Large is not a network from a transformers.js folder: only a model loaded from a transformers.js folder (or a checkpoint of one, fine-tuned) is written back as one');
      const onnx = 'test/fixtures/onnx-train/model.onnx';
      const cli = await runCli(['export', '--model', onnx, '--format', 'transformers-js', '--out', join(dir, 'no')]);
      expect(cli.code).to.not.equal(0);
      expect(messages(cli.stderr)).to.include(`imported from the ONNX file ${onnx} alone, not from a transformers.js folder`);
      const fp16 = await loadWeights(fixture('segformer-torchscript'), { dtype: 'fp16' });
      expectThrows(() => write(join(dir, 'no'), fp16, {}, ctx), "loaded from the folder's onnx/model_fp16.onnx (dtype 'fp16'); the folder written back holds its fp32 file, onnx/model.onnx: load the folder with dtype 'fp32'");
      expect(existsSync(join(dir, 'no')), 'nothing written').to.equal(false);
    });

    it('a folder that holds files (the original folder among them): nothing of it changed, nothing written', async () => {
      const w = await loadWeights(fixture('segformer-torchscript'));
      const full = join(dir, 'full');
      mkdirSync(full);
      writeFileSync(join(full, 'model_fp16.onnx'), 'old');
      expectThrows(() => write(full, w, {}, ctx), `cannot write ${full}: the folder is not empty`);
      expect(readdirSync(full)).to.deep.equal(['model_fp16.onnx']);
      const before = filesOf(fixture('segformer-torchscript'));
      expectThrows(() => write(fixture('segformer-torchscript'), w, {}, ctx), 'the folder is not empty');
      expect(filesOf(fixture('segformer-torchscript'))).to.deep.equal(before);
      expect(readdirSync(FIXTURES).filter((f) => f.endsWith('.tmp')), 'no temporary folder left beside it').to.deep.equal([]);
      // An empty folder is written into.
      const empty = join(dir, 'empty');
      mkdirSync(empty);
      write(empty, w, {}, ctx);
      expect(filesOf(empty)).to.deep.equal(['config.json', 'onnx/model.onnx', 'preprocessor_config.json']);
      expect(readdirSync(dir).filter((f) => f.endsWith('.tmp')), 'no temporary folder left').to.deep.equal([]);
    });
  });
});
