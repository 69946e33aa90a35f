// ONNX export of every network family we build (issue 19, item 5): the file onnxruntime-node
// runs gives our logits (CPU interpreter) on the parity inputs to 1e-4, and the reference
// framework's own logits where a fixture exists at that size; the metadata says how to prepare
// the input; `deeplab export --format onnx` writes it.
import { expect } from 'chai';
import { backboneRecord } from '../../src/model/backbones/registry.js';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opDef } from '../../src/graph/ops/registry.js';
import { permuteAxes } from '../../src/graph/onnx/lower.js';
import { type ModelProto, decodeModel } from '../../src/graph/onnx/proto.js';
import { type LoadedWeights, loadWeights } from '../../src/model/loading/load-weights.js';
import { BACKBONES, type DeepLabConfig } from '../../src/model/networks/config.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { buildDeepLab } from '../../src/model/backbones/network.js';
import { VOC_CLASSES } from '../../src/model/voc.js';
import { defaultOnnxSize, exportOnnx } from '../../src/model/onnx-export.js';
import { adaptWeights } from '../../src/train/adapt.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { runCli } from '../cli/run-cli.js';
import { expectClose, relativeError } from '../helpers.js';
import { NHWC_TO_NCHW, type NchwTensor, runOnnx, runOursNchw } from '../onnx-runtime.js';
import { sharedPath } from '../shared.js';

const TFLITE_257 = sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite');
const TFLITE_FIXTURES = sharedPath('fixtures', 'tflite');
const TV = sharedPath('fixtures', 'torchvision');
const MV3 = `${TV}/deeplabv3_mobilenet_v3_large_random.pth`;
const R50 = `${TV}/deeplabv3_resnet50_random_fp16.pth`;

/** The parity input of the torchvision fixtures (NCHW, normalised), or its top-left h x w crop. */
function torchvisionInput(h?: number, w?: number): NchwTensor {
  const t = readNpy(`${TV}/input_97x129.npy`);
  const [n, c, fh, fw] = t.shape;
  if (h === undefined || w === undefined) return { dims: [...t.shape], data: t.data };
  const data = new Float32Array(n * c * h * w);
  for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) data.set(t.data.subarray((k * fh + y) * fw, (k * fh + y) * fw + w), (k * h + y) * w);
  return { dims: [n, c, h, w], data };
}

/** An NHWC .npy (TF Lite's inputs and logits) as NCHW. */
function nhwcNpyAsNchw(path: string): NchwTensor {
  const t = readNpy(path);
  return permuteAxes(t.data, t.shape, NHWC_TO_NCHW);
}

function metadataOf(model: ModelProto): Record<string, string> {
  return Object.fromEntries(model.metadata_props.map((p) => [p.key, p.value]));
}

describe('model: ONNX export, run by onnxruntime-node', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'deeplab-onnx-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * Exports `w` at the image's size, runs the file in onnxruntime and our graph on the CPU,
   * and checks the logits agree; returns onnxruntime's logits and the decoded file.
   */
  async function exportAndCompare(w: LoadedWeights, image: NchwTensor, file: string): Promise<{ logits: NchwTensor; model: ModelProto }> {
    const [, , height, width] = image.dims;
    const path = join(dir, file);
    exportOnnx(path, w, { height, width, source: 'test fixture' });
    const bytes = readFileSync(path);
    const model = decodeModel(bytes);
    const logits = (await runOnnx(bytes, { image })).get('logits')!;
    const ours = runOursNchw(w.buildGraph({ height, width }), w.params, image).get('logits')!;
    expect(logits.dims).to.deep.equal([1, w.config.numClasses, height, width]);
    expect(ours.dims).to.deep.equal(logits.dims);
    console.log(`      ${w.config.backbone} ${width}x${height}: onnxruntime vs ours, relative error ${relativeError(logits.data, ours.data).toExponential(2)}`);
    expectClose(logits.data, ours.data, `${w.config.backbone} logits`);
    // Standard ONNX: opset 17, one input 'image' and one output 'logits', both NCHW.
    expect(model.opset_import.map((o) => o.version)).to.deep.equal([17]);
    expect(model.ir_version).to.equal(8);
    const dims = (v: ModelProto['graph']['input'][number]) => v.type.tensor_type.shape.dim.map((d) => d.dim_value);
    expect(model.graph.input.map((v) => v.name)).to.deep.equal(['image']);
    expect(dims(model.graph.input[0])).to.deep.equal([1, 3, height, width]);
    expect(model.graph.output.map((v) => v.name)).to.deep.equal(['logits']);
    expect(dims(model.graph.output[0])).to.deep.equal([1, w.config.numClasses, height, width]);
    return { logits, model };
  }

  it('every op of every network configuration we build has an ONNX rule', () => {
    const variants: Partial<DeepLabConfig>[] = [{}, { outputStride: 16 }, { imagePooling: false }, { asppRates: [6, 12, 18] }, { decoder: 'deeplabv3plus' }, { decoder: 'deeplabv3plus', outputStride: 16 }];
    // torchvision's auxiliary FCN head; ResNet's cascaded blocks and the network without atrous convolution.
    const torchvisionOnly: Partial<DeepLabConfig>[] = [{ aux: true }];
    const resnetOnly: Partial<DeepLabConfig>[] = [{ blocks: 7, outputStride: 16, multiGrid: [1, 2, 4], dilationConvention: 'paper' }, { atrous: false, outputStride: 32 }];
    // mmseg's heads on its deep-stem ResNets (D8, and D16 with multi-grid 1,2,4 where block4 has three units).
    const mmseg: Partial<DeepLabConfig>[] = [{ head: 'mmseg', stem: 'v1c', dilationConvention: 'mmseg', asppChannels: 32, aux: true }];
    const mmsegGrid: Partial<DeepLabConfig>[] = [{ head: 'mmseg', stem: 'v1c', dilationConvention: 'mmseg', asppChannels: 32, outputStride: 16, multiGrid: [1, 2, 4], asppRates: [6, 12, 18] }];
    let graphs = 0;
    for (const backbone of BACKBONES) {
      const bottleneck = backbone === 'resnet50' || backbone === 'resnet101';
      const extra = [
        // torchvision's head on the backbones that take it (not a whole network's own, not smp's encoders').
        ...(backboneRecord(backbone).network.kind === 'whole' || !(backboneRecord(backbone).heads ?? ['torchvision']).includes('torchvision') ? [] : torchvisionOnly),
        ...(bottleneck ? [...resnetOnly, ...mmsegGrid] : []),
        ...(backbone.startsWith('resnet') ? mmseg : []),
      ];
      // A decoder sits only where the record says (not on MobileViT's own head).
      const own = variants.filter((v) => !v.decoder || backboneRecord(backbone).decoder);
      for (const v of [...own, ...extra]) {
        const g = buildDeepLab(defaultConfig(backbone, v), { height: 65, width: 49 });
        const missing = g.nodes.filter((n) => !opDef(n.op).onnx).map((n) => `${n.name} (${n.op.type})`);
        expect(missing, `${backbone} ${JSON.stringify(v)}`).to.deep.equal([]);
        graphs++;
      }
    }
    const noDecoder = BACKBONES.filter((b) => !backboneRecord(b).decoder).length;
    expect(graphs).to.equal(BACKBONES.length * variants.length - noDecoder * variants.filter((v) => v.decoder).length + 4 * torchvisionOnly.length + 2 * (resnetOnly.length + mmsegGrid.length) + 3 * mmseg.length);
  });

  describe('whole networks against onnxruntime and the references @slow', () => {
    it("TF MobileNetV2 (TF Lite 257): TF Lite's parity input gives our logits and TF Lite's", async () => {
      const w = await loadWeights(TFLITE_257);
      expect(defaultOnnxSize(w)).to.deep.equal({ height: 257, width: 257 });
      const image = nhwcNpyAsNchw(`${TFLITE_FIXTURES}/2007_000033_input257.npy`);
      const { logits, model } = await exportAndCompare(w, image, 'mobilenet_v2.onnx');
      const tflite = nhwcNpyAsNchw(`${TFLITE_FIXTURES}/2007_000033_logits257.npy`);
      console.log(`      onnxruntime vs TF Lite: relative error ${relativeError(logits.data, tflite.data).toExponential(2)}`);
      expectClose(logits.data, tflite.data, "TF Lite's logits");
      // Depthwise convolutions are grouped Convs, ReLU6 a Clip, the final upsample an align_corners Resize.
      const nodes = model.graph.node;
      const attr = (n: (typeof nodes)[number], name: string) => n.attribute.find((a) => a.name === name);
      expect(nodes.some((n) => n.op_type === 'Conv' && (attr(n, 'group')?.i ?? 1) > 1)).to.equal(true);
      expect(nodes.filter((n) => n.op_type === 'Clip').length).to.be.greaterThan(30);
      const last = nodes[nodes.length - 1];
      expect(last.op_type).to.equal('Resize');
      expect(new TextDecoder().decode(attr(last, 'coordinate_transformation_mode')!.s)).to.equal('align_corners');
      const meta = metadataOf(model);
      expect(meta).to.include({ model: 'deeplabv3_257_mv_gpu.tflite', source: 'test fixture', backbone: 'mobilenet_v2', input: 'image', input_layout: 'NCHW', color_order: 'RGB', output: 'logits' });
      expect(JSON.parse(meta.mean)).to.deep.equal([0.5, 0.5, 0.5]);
      expect(JSON.parse(meta.std)).to.deep.equal([0.5, 0.5, 0.5]);
      expect(Number(meta.scale)).to.be.closeTo(1 / 255, 1e-12);
      expect(JSON.parse(meta.input_shape)).to.deep.equal([1, 3, 257, 257]);
      expect(meta.preprocessing).to.match(/resized to 257x257 .*x \/ 127\.5 - 1/);
      expect(JSON.parse(meta.classes)).to.deep.equal([...VOC_CLASSES]);
      expect(JSON.parse(meta.class_colors)[15]).to.deep.equal([192, 128, 128]);
      expect(JSON.parse(meta.config)).to.include({ backbone: 'mobilenet_v2', outputStride: 8, resizeMode: 'align_corners' });
    });

    it("torchvision MobileNetV3-Large: the parity input gives our logits and torchvision's", async () => {
      const w = await loadWeights(MV3);
      const image = torchvisionInput();
      const { logits, model } = await exportAndCompare(w, image, 'mobilenet_v3_large.onnx');
      const torch = readNpy(`${TV}/deeplabv3_mobilenet_v3_large_out.npy`);
      expect(torch.shape).to.deep.equal(logits.dims);
      console.log(`      onnxruntime vs torchvision: relative error ${relativeError(logits.data, torch.data).toExponential(2)}`);
      expectClose(logits.data, torch.data, "torchvision's logits");
      const types = new Set(model.graph.node.map((n) => n.op_type));
      for (const t of ['Conv', 'BatchNormalization', 'HardSwish', 'HardSigmoid', 'Mul', 'Add', 'GlobalAveragePool', 'Concat', 'Resize']) expect(types, t).to.include(t);
      const meta = metadataOf(model);
      expect(JSON.parse(meta.mean)).to.deep.equal([0.485, 0.456, 0.406]);
      expect(JSON.parse(meta.std)).to.deep.equal([0.229, 0.224, 0.225]);
      expect(meta.preprocessing).to.match(/resized to 129x97 .*\(x \/ 255 - mean\) \/ std/);
      expect(meta.preprocessing).to.match(/short side to 520/);
    });

    it('torchvision ResNet-50 (a crop of the parity input, for time): our logits @extended', async () => {
      const w = await loadWeights(R50);
      expect(defaultOnnxSize(w)).to.deep.equal({ height: 520, width: 520 });
      const { model } = await exportAndCompare(w, torchvisionInput(41, 53), 'resnet50.onnx');
      const types = new Set(model.graph.node.map((n) => n.op_type));
      for (const t of ['Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'Add', 'GlobalAveragePool', 'Concat', 'Resize']) expect(types, t).to.include(t);
      // Every weight and statistic is an initializer, conv weights as OIHW.
      const inits = new Map(model.graph.initializer.map((t) => [t.name, t.dims]));
      for (const name of w.params.keys()) expect(inits.has(name), name).to.equal(true);
      expect(inits.get('backbone.conv1.weight')).to.deep.equal([64, 3, 7, 7]);
    });

    it('DeepLabv3+ (torchvision MobileNetV3-Large with a new decoder): the stride-4 branch and its concat export, to our logits', async () => {
      const { weights: w } = adaptWeights(await loadWeights(MV3), { decoder: 'deeplabv3plus', seed: 3 });
      expect(w.config.decoder).to.equal('deeplabv3plus');
      const { model } = await exportAndCompare(w, torchvisionInput(49, 65), 'mobilenet_v3_large_plus.onnx');
      // ASPP's concat and the decoder's (upsampled ASPP output beside the stride-4 features).
      expect(model.graph.node.filter((n) => n.op_type === 'Concat').length).to.equal(2);
      const inits = new Set(model.graph.initializer.map((t) => t.name));
      for (const name of w.params.keys()) expect(inits.has(name), name).to.equal(true);
      expect([...w.params.keys()].some((n) => n.startsWith('decoder.'))).to.equal(true);
      expect(JSON.parse(metadataOf(model).config)).to.include({ decoder: 'deeplabv3plus' });
      expect(model.doc_string).to.match(/^DeepLabv3\+ \(mobilenet_v3_large\)/);
    });
  });

  it('deeplab export --format onnx writes the file at --size; bad options and unwritable paths leave nothing', async () => {
    const out = join(dir, 'cli.onnx');
    const r = await runCli(['export', '--model', MV3, '--format', 'onnx', '--out', out, '--size', '65x49']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/wrote .*cli\.onnx: mobilenet_v3_large DeepLabv3, 21 classes, input 'image' \[1,3,49,65\], output 'logits' \[1,21,49,65\]/);
    const model = decodeModel(readFileSync(out));
    expect(metadataOf(model).source).to.equal(MV3);
    const image = torchvisionInput(49, 65);
    expect((await runOnnx(readFileSync(out), { image })).get('logits')!.dims).to.deep.equal([1, 21, 49, 65]);

    const wrongName = await runCli(['export', '--model', MV3, '--format', 'onnx', '--out', join(dir, 'x.safetensors')]);
    expect(wrongName.code).to.equal(2);
    expect(wrongName.stderr).to.match(/--out must name a \.onnx file for --format onnx/);
    const badFormat = await runCli(['export', '--model', MV3, '--format', 'coreml', '--out', join(dir, 'x.mlmodel')]);
    expect(badFormat.code).to.equal(2);
    expect(badFormat.stderr).to.match(/--format: 'coreml' is not one of safetensors, onnx, hf, smp, transformers-js, tflite/);
    const badSize = await runCli(['export', '--model', MV3, '--format', 'onnx', '--out', join(dir, 'y.onnx'), '--size', '64x']);
    expect(badSize.code).to.equal(2);
    expect(badSize.stderr).to.match(/--size: '64x' is not one size/);
    const sizeWithoutOnnx = await runCli(['export', '--model', MV3, '--out', join(dir, 'z.safetensors'), '--size', '64']);
    expect(sizeWithoutOnnx.code).to.equal(2);
    expect(sizeWithoutOnnx.stderr).to.match(/--size applies to --format onnx or tflite only/);
    const missingDir = join(dir, 'no-such-dir', 'm.onnx');
    const unwritable = await runCli(['export', '--model', MV3, '--format', 'onnx', '--out', missingDir, '--size', '33']);
    expect(unwritable.code).to.equal(1);
    expect(unwritable.stderr).to.match(/cannot write .*no-such-dir\/m\.onnx/);
    expect(existsSync(missingDir)).to.equal(false);
    // Nothing half-written: no temporary files, and no file from the refused calls.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') || /^[xyz]\./.test(f))).to.deep.equal([]);
  });
});
