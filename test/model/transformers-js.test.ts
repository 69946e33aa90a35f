// transformers.js folders (test/fixtures/hub-onnx, scripts/fixtures/hub-onnx/README.md: config.json,
// preprocessor_config.json, onnx/model{,_fp16,_quantized}.onnx of the six segmentation families
// transformers.js lists) loaded by path with loadModel, as a user would. For every case our
// preprocessing of both photos (one of odd size) is transformers' processor's pixel_values; for
// the families whose fp32 file our importer runs, forwardToHost(pixel_values) is onnxruntime's
// output of that file within 1e-4 relative, and segment() of the photos gives transformers'
// post_process_semantic_segmentation labels on at least 99.9 % of the pixels. A family whose file
// is refused today is listed with the op that refuses it, and the refusal asserted.
import { expect } from 'chai';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RgbImage } from '../../src/io/rgb-image.js';
import { readIndexedPng } from '../../src/io/png-indexed.js';
import { networkInput, networkInputSize } from '../../src/model/input-policy.js';
import { hubProcessor } from '../../src/model/loading/hub-processor.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { type DeepLabModel, loadModel } from '../../src/model/model.js';
import { exportOnnx } from '../../src/model/onnx-export.js';
import { backboneRecord } from '../../src/model/backbones/registry.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { messages, runCli } from '../cli/run-cli.js';
import { writeRgbPng } from '../data/tiny-datasets.js';
import { classAgreement, expectClose, expectRejects, expectThrows, relativeError, testContext } from '../helpers.js';
import { runOnnx } from '../onnx-runtime.js';
import { nchwToNhwc } from './layout.js';

const FIXTURES = 'test/fixtures/hub-onnx';

/**
 * Each case's fp32 file: run, or refused today by the importer, the refusal's words naming the
 * node's op (the ops the importer lacks: flip an entry to 'runs' when they land).
 */
const CASES: readonly { name: string; fp32: 'runs' | { refused: string } }[] = [
  { name: 'segformer-torchscript', fp32: 'runs' },
  { name: 'segformer-dynamo', fp32: 'runs' },
  { name: 'mobilevit', fp32: 'runs' },
  { name: 'upernet-convnext', fp32: 'runs' },
  { name: 'upernet-swin', fp32: 'runs' },
  { name: 'dpt', fp32: 'runs' },
  { name: 'beit', fp32: 'runs' },
  { name: 'mobilevitv2', fp32: 'runs' },
];

interface CaseMeta {
  family: string;
  exporter: string;
  opset: number;
  /** By photo 'HxW'. */
  references: Record<string, unknown>;
}

const path = (name: string, ...file: string[]): string => join(FIXTURES, name, ...file);
const json = (name: string, file: string): Record<string, unknown> => JSON.parse(readFileSync(path(name, file), 'utf8')) as Record<string, unknown>;
/** The photos' sizes [height, width]. */
const photos = (name: string): [number, number][] => Object.keys((json(name, 'meta.json') as unknown as CaseMeta).references).map((k) => k.split('x').map(Number) as [number, number]);

function photo(name: string, h: number, w: number): RgbImage {
  const u8 = readNpy(path(name, `image_${h}x${w}_uint8.npy`));
  expect(u8.shape).to.deep.equal([h, w, 3]);
  return { width: w, height: h, data: Uint8Array.from(u8.data) };
}

/** pixel_values [1,3,H,W] as our NHWC input: in RGB order where the processor flips to BGR (the model takes RGB; its graph reverses them). */
function pixelValues(name: string, h: number, w: number, bgr: boolean): { input: Float32Array; height: number; width: number; nchw: Float32Array } {
  const pv = readNpy(path(name, `pixel_values_${h}x${w}.npy`));
  const [, c, ph, pw] = pv.shape;
  const nhwc = nchwToNhwc(Float32Array.from(pv.data), pv.shape);
  const input = bgr ? Float32Array.from(nhwc, (_, i) => nhwc[i - (i % c) + (c - 1 - (i % c))]) : nhwc;
  return { input, height: ph, width: pw, nchw: Float32Array.from(pv.data) };
}

describe('model: transformers.js folders, loaded by path', function () {
  this.timeout(300_000);

  for (const { name, fp32 } of CASES) {
    const meta = json(name, 'meta.json') as unknown as CaseMeta;
    describe(`${name} (${meta.family}, ${meta.exporter} opset ${meta.opset})`, () => {
      const processor = hubProcessor(json(name, 'preprocessor_config.json'));

      it("our preprocessing of both photos is the processor's pixel_values, bit for bit", () => {
        for (const [h, w] of photos(name)) {
          const { input, height, width } = networkInput(processor.policy, { normalization: processor.normalization, inChannels: 3 } as never, photo(name, h, w));
          const ref = pixelValues(name, h, w, processor.flipChannels);
          expect([height, width], `${h}x${w}: the network's input size`).to.deep.equal([ref.height, ref.width]);
          const differ = input.filter((v, i) => !Object.is(v, ref.input[i])).length;
          expect(differ, `${h}x${w}: values whose bits differ from the processor's`).to.equal(0);
        }
      });

      if (fp32 !== 'runs') {
        it(`its fp32 file is refused today, naming the op: ${fp32.refused}`, async () => {
          await expectRejects(loadWeights(path(name)), `${path(name, 'onnx', 'model.onnx')}: node '`);
          await expectRejects(loadWeights(path(name)), fp32.refused);
        });
        return;
      }

      let model: DeepLabModel;
      before(async () => {
        model = await loadModel(path(name), { ctx: await testContext() });
      });
      after(() => model?.dispose());

      it('classes from id2label, the input from the processor', () => {
        expect(model.classNames).to.deep.equal(Object.values(json(name, 'config.json').id2label as Record<string, string>));
        expect(model.inputPolicy).to.deep.equal(processor.policy);
      });

      for (const [h, w] of photos(name)) {
        it(`${h}x${w}: forwardToHost(pixel_values) is onnxruntime's output of model.onnx within 1e-4; segment() gives transformers' labels on >= 99.9 % of the pixels`, async () => {
          const { input, height, width } = pixelValues(name, h, w, processor.flipChannels);
          const ref = readNpy(path(name, `logits_${h}x${w}_fp32.npy`));
          const ours = await model.forwardToHost(input, height, width);
          expect(ours.length, "the file's own output size").to.equal(ref.data.length);
          const logits = relativeError(ours, nchwToNhwc(Float32Array.from(ref.data), ref.shape));
          const labels = readNpy(path(name, `labels_${h}x${w}_fp32.npy`));
          const { classes } = await model.segment(photo(name, h, w));
          const agree = classAgreement(classes, labels.data);
          console.log(`      (logits ${logits.toExponential(1)} relative at [${ref.shape.join(',')}], labels ${(100 * agree).toFixed(2)} %)`);
          expectClose(ours, nchwToNhwc(Float32Array.from(ref.data), ref.shape), `${name} ${h}x${w} logits`);
          expect(agree, 'labels').to.be.at.least(0.999);
        });
      }

      // The quantised and half files through the same calls, at the odd photo (both photos of
      // every file against onnxruntime: test/model/onnx-hub-dtypes.test.ts).
      for (const dtype of ['q8', 'fp16'] as const) {
        it(`67x53, dtype '${dtype}': segment() gives transformers' ${dtype} labels on >= 98 % of the pixels`, async () => {
          const half = await loadModel(path(name), { ctx: await testContext(), dtype });
          try {
            const ctx = half.ctx;
            expect(half.precision, 'an fp16 file runs in half precision where the adapter can').to.equal(dtype === 'fp16' && ctx.hasHalf ? 'f16' : 'f32');
            const { classes } = await half.segment(photo(name, 67, 53));
            const agree = classAgreement(classes, readNpy(path(name, `labels_67x53_${dtype}.npy`)).data);
            console.log(`      (${dtype}: labels ${(100 * agree).toFixed(2)} %)`);
            expect(agree, 'labels').to.be.at.least(0.98);
          } finally {
            half.dispose();
          }
        });
      }
    });
  }
});

describe("model: the processors' sizes where the fixtures do not reach", () => {
  const dpt = (changes: Record<string, unknown>) => hubProcessor({ ...json('dpt', 'preprocessor_config.json'), ...changes }).policy;

  it("DPT's keep_aspect_ratio (the scale nearer 1) and ensure_multiple_of (Python's round: halves to even)", () => {
    // 640x480 to 384x384: the height's scale 0.8 is nearer 1 than the width's 0.6, so both take 0.8: 480 -> 384, 640 -> 512.
    const kept = dpt({ size: { height: 384, width: 384 }, keep_aspect_ratio: true, ensure_multiple_of: 32 });
    expect(kept).to.deep.equal({ kind: 'height-width', height: 384, width: 384, filter: 'bicubic', keepAspectRatio: true, multiple: 32, crop: null });
    expect(networkInputSize(kept, 640, 480)).to.deep.equal([384, 512]);
    expect(networkInputSize(kept, 480, 640)).to.deep.equal([512, 384]);
    // 400 / 32 = 12.5 rounds to 12 and 432 / 32 = 13.5 to 14, as Python's round does (Math.round would give 13 and 14).
    expect(networkInputSize(dpt({ size: { height: 400, width: 432 }, ensure_multiple_of: 32 }), 100, 70)).to.deep.equal([384, 448]);
    expectThrows(() => dpt({ size: { shortest_edge: 384 }, keep_aspect_ratio: true }), 'keep_aspect_ratio applies to a size of {"height": h, "width": w} only');
  });

  it('a plain number size is a square for SegFormer, DPT and BEiT, a shortest edge for MobileViT', () => {
    expect(hubProcessor({ image_processor_type: 'SegformerImageProcessor', size: 512 }).policy).to.include({ kind: 'height-width', height: 512, width: 512, filter: 'bilinear' });
    expect(hubProcessor({ feature_extractor_type: 'BeitFeatureExtractor', size: 640 }).policy).to.include({ kind: 'height-width', height: 640, width: 640, filter: 'bicubic' });
    expect(hubProcessor({ image_processor_type: 'MobileViTImageProcessor', size: 288, crop_size: 256 }).policy).to.deep.equal({ kind: 'shortest-edge', size: 288, crop: { height: 256, width: 256 }, filter: 'bicubic' });
    expect(hubProcessor({ image_processor_type: 'SegformerImageProcessor', size: 512 }).normalization, "SegFormer's ImageNet statistics by default").to.equal('imagenet');
    expect(hubProcessor({ image_processor_type: 'SegformerImageProcessor', size: 512, reduce_labels: true }).reduceLabels).to.equal(true);
    expectThrows(() => hubProcessor({ image_processor_type: 'SegformerImageProcessor', size: 512, reduce_labels: true, do_reduce_labels: false }), 'reduce_labels must agree with do_reduce_labels');
  });
});

describe('model: a transformers.js folder\'s dtype, and what it refuses', function () {
  this.timeout(300_000);
  const SEGFORMER = path('segformer-dynamo');
  const made: string[] = [];
  /** A copy of the SegFormer folder, without `drop` and with `changes` merged into its JSON files. */
  const copy = (drop: string[] = [], changes: Record<string, Record<string, unknown>> = {}): string => {
    const dir = mkdtempSync(join(tmpdir(), 'tjs-'));
    made.push(dir);
    cpSync(SEGFORMER, dir, { recursive: true, filter: (src) => !src.endsWith('.npy') && !drop.some((d) => src.endsWith(d)) });
    for (const [file, patch] of Object.entries(changes)) writeFileSync(join(dir, file), JSON.stringify({ ...json('segformer-dynamo', file), ...patch }));
    return dir;
  };
  after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const fileOf = (w: Awaited<ReturnType<typeof loadWeights>>): string => (backboneRecord('onnx').architecture.toJson(w.architecture) as { what: string }).what;

  it("dtype chooses the file as transformers.js' does: fp32 (the default) model.onnx, fp16 model_fp16.onnx, q8 model_quantized.onnx", async () => {
    expect(fileOf(await loadWeights(SEGFORMER))).to.equal(path('segformer-dynamo', 'onnx', 'model.onnx'));
    expect(fileOf(await loadWeights(SEGFORMER, { dtype: 'fp32' }))).to.equal(path('segformer-dynamo', 'onnx', 'model.onnx'));
    expect(fileOf(await loadWeights(SEGFORMER, { dtype: 'fp16' }))).to.equal(path('segformer-dynamo', 'onnx', 'model_fp16.onnx'));
    expect(fileOf(await loadWeights(SEGFORMER, { dtype: 'q8' }))).to.equal(path('segformer-dynamo', 'onnx', 'model_quantized.onnx'));
    // transformers.js runs its fp16 file in half precision: so does the model, where the adapter can.
    expect((await loadWeights(SEGFORMER, { dtype: 'fp16' })).precision).to.equal('f16');
    expect((await loadWeights(SEGFORMER)).precision).to.equal(undefined);
  });

  it('refuses a dtype whose file is absent (naming it and the dtypes there), an unknown dtype, and dtype for other formats', async () => {
    const noFp16 = copy(['model_fp16.onnx']);
    await expectRejects(loadWeights(noFp16, { dtype: 'fp16' }), `${noFp16}: no onnx/model_fp16.onnx for dtype 'fp16' (the folder holds fp32 (onnx/model.onnx), q8 (onnx/model_quantized.onnx))`);
    await expectRejects(loadWeights(SEGFORMER, { dtype: 'int8' as never }), `${SEGFORMER}: dtype must be 'fp32', 'fp16', 'q8', got "int8"`);
    const onnxFile = path('segformer-dynamo', 'onnx', 'model.onnx');
    await expectRejects(loadWeights(onnxFile, { dtype: 'fp32' }), `${onnxFile}: dtype (which of a transformers.js folder's ONNX files runs) does not apply to ONNX weights`);
  });

  it('refuses a folder whose id2label disagrees with the graph, or options its files decide', async () => {
    const six = copy([], { 'config.json': { id2label: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [String(i), `c${i}`])) } });
    await expectRejects(loadWeights(six), `${six}/config.json: id2label names 6 classes, but ${six}/onnx/model.onnx gives 5 channels of class scores`);
    await expectRejects(loadWeights(SEGFORMER, { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }), `${SEGFORMER}: mean, std do not apply to a transformers.js folder`);
    const classifier = copy([], { 'config.json': { architectures: ['SegformerForImageClassification'] } });
    await expectRejects(loadWeights(classifier), `${classifier}/config.json: architectures ["SegformerForImageClassification"] has no semantic segmentation model`);
    const named = copy([], { 'config.json': { architectures: 'SegformerForSemanticSegmentation' } });
    await expectRejects(loadWeights(named), `${named}/config.json: architectures must be a list of model class names, got "SegformerForSemanticSegmentation"`);
  });

  it('a folder missing a part is refused naming each part missing and the dtypes it holds, never as another format (issue 81)', async () => {
    const noOnnx = copy(['model.onnx', 'model_fp16.onnx', 'model_quantized.onnx']);
    await expectRejects(loadWeights(noOnnx), `${noOnnx}: no onnx/model.onnx for dtype 'fp32' (the folder holds no ONNX file)`);
    const onnxFile = copy(['onnx']);
    writeFileSync(join(onnxFile, 'onnx'), '');
    await expectRejects(loadWeights(onnxFile), `${onnxFile}: no onnx/model.onnx for dtype 'fp32' (the folder holds no ONNX file)`);
    const onnxOnly = copy(['config.json', 'preprocessor_config.json']);
    await expectRejects(
      loadWeights(onnxOnly, { dtype: 'q8' }),
      `${onnxOnly}: no config.json, no preprocessor_config.json (a transformers.js folder holds config.json, preprocessor_config.json and onnx/model.onnx; the folder holds fp32 (onnx/model.onnx), fp16 (onnx/model_fp16.onnx), q8 (onnx/model_quantized.onnx))`,
    );
    // A hub folder's config.json of a network we build, with neither its weights nor an ONNX file: both named.
    const mobilevit = copy(['onnx'], { 'config.json': { model_type: 'mobilevit' } });
    await expectRejects(loadWeights(mobilevit), `${mobilevit}: no onnx/model.onnx for dtype 'fp32' (the folder holds no ONNX file; a hub folder of model_type 'mobilevit' holds model.safetensors instead)`);
  });

  it("a processor without image_processor_type is the one transformers takes by model_type: MobileViTV2's, which does not normalise (issue 81)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tjs-'));
    made.push(dir);
    cpSync(path('mobilevitv2'), dir, { recursive: true, filter: (src) => !src.endsWith('.npy') });
    const { image_processor_type: _, ...untyped } = json('mobilevitv2', 'preprocessor_config.json');
    writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify(untyped));
    const [ours, theirs] = [await loadWeights(dir), await loadWeights(path('mobilevitv2'))];
    expect([ours.config.normalization, ours.inputPolicy]).to.deep.equal([theirs.config.normalization, theirs.inputPolicy]);
    expect(ours.config.normalization).to.equal('unit');
  });

  it("exported to ONNX, a folder fed BGR (MobileViT's) writes its file back saying so, and it loads back taking RGB", async () => {
    const w = await loadWeights(path('mobilevit'));
    const arch = (x: typeof w): { reverseChannels?: true } => backboneRecord('onnx').architecture.toJson(x.architecture) as { reverseChannels?: true };
    expect(arch(w).reverseChannels).to.equal(true);
    const dir = copy();
    const file = join(dir, 'mobilevit.onnx');
    exportOnnx(file, w, { height: 64, width: 64 });
    const back = await loadWeights(file);
    expect(arch(back).reverseChannels).to.equal(true);
    expect(arch(await loadWeights(SEGFORMER)).reverseChannels, 'an RGB folder').to.equal(undefined);
    // The same output for the same RGB input.
    const ctx = await testContext();
    const [folder, exported] = [await loadModel(path('mobilevit'), { ctx }), await loadModel(file, { ctx })];
    try {
      const { input, height, width } = pixelValues('mobilevit', 67, 53, true);
      expectClose(await exported.forwardToHost(input, height, width), await folder.forwardToHost(input, height, width), 'the exported file', 1e-6);
    } finally {
      folder.dispose();
      exported.dispose();
    }
  });

  it("a checkpoint of DPT's folder keeps the position embeddings its graph folds when built: exported to ONNX from it, onnxruntime runs it to our output", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tjs-'));
    made.push(dir);
    const model = await loadModel(path('dpt'), { ctx: await testContext() });
    try {
      const ckpt = join(dir, 'dpt.safetensors');
      await model.save(ckpt);
      const file = join(dir, 'dpt.onnx');
      exportOnnx(file, await loadWeights(ckpt), { height: 64, width: 64 });
      const { input, nchw, height, width } = pixelValues('dpt', 67, 53, false);
      const theirs = (await runOnnx(readFileSync(file), { pixel_values: { dims: [1, 3, height, width], data: nchw } })).get('logits')!;
      expectClose(await model.forwardToHost(input, height, width), nchwToNhwc(theirs.data, theirs.dims), 'DPT written back from its checkpoint, in onnxruntime', 1e-5);
    } finally {
      model.dispose();
    }
  });

  it('deeplab segment --model FOLDER [--dtype] labels a photo as segment() does (fp32), as transformers\' q8 pipeline does (q8); an unknown dtype is refused', async () => {
    const dir = copy();
    const [h, w] = [67, 53];
    const img = photo('segformer-dynamo', h, w);
    const file = join(dir, 'photo.png');
    writeRgbPng(file, w, Array.from({ length: h * w }, (_, i) => [img.data[3 * i], img.data[3 * i + 1], img.data[3 * i + 2]] as [number, number, number]));
    const model = await loadModel(SEGFORMER, { ctx: await testContext() });
    try {
      const out = join(dir, 'out');
      const r = await runCli(['segment', file, '--model', SEGFORMER, '--dtype', 'fp32', '--out', out]);
      expect(r.code, messages(r.stderr)).to.equal(0);
      const png = readIndexedPng(readFileSync(join(out, 'photo.png')));
      expect([...png.indices]).to.deep.equal([...(await model.segment(img)).classes]);
    } finally {
      model.dispose();
    }
    const q8 = await runCli(['segment', file, '--model', SEGFORMER, '--dtype', 'q8', '--out', join(dir, 'q8')]);
    expect(q8.code, messages(q8.stderr)).to.equal(0);
    const q8Labels = readNpy(path('segformer-dynamo', `labels_${h}x${w}_q8.npy`));
    expect(classAgreement(readIndexedPng(readFileSync(join(dir, 'q8', 'photo.png'))).indices, q8Labels.data), "q8: transformers' q8 labels").to.be.at.least(0.98);
    const bad = await runCli(['segment', file, '--model', SEGFORMER, '--dtype', 'int4', '--out', join(dir, 'int4')]);
    expect(bad.code).to.not.equal(0);
    expect(messages(bad.stderr)).to.include("--dtype: 'int4' is not one of fp32, fp16, q8");
  });
});
