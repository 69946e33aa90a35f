// TF DeepLab's model-zoo formats against ../shared/fixtures/tf-zoo (its README says how they were
// made): the tensor bundle, the frozen graph and the tarball read to exactly the checksummed
// values; damaged and cut files are refused naming the file and the entry; batch norm folded on
// load reproduces TensorFlow's own logits of the fixture network; and a whole MobileNetV2 zoo
// tarball (written here from the .npy weights, with optimizer slots) loads as the network.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../../src/graph/builder.js';
import { compile } from '../../src/graph/compile.js';
import type { Value } from '../../src/graph/ir.js';
import { Program } from '../../src/graph/program.js';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { datasetClassSet } from '../../src/model/datasets.js';
import { tarballFiles, tfZooModel, zooVariables } from '../../src/model/loading/tf-zoo-model.js';
import { detectWeightFormat, weightsFromBytes } from '../../src/model/loading/weights-from-bytes.js';
import { conv, TF_NAMING } from '../../src/model/networks/layers.js';
import { crc32c, maskCrc } from '../../src/model/weights/import/crc32c.js';
import { readNpy } from '../../src/model/weights/import/npy.js';
import { readTar } from '../../src/model/weights/import/tar.js';
import { bundleTensorBytes, readBundleIndex, readTfCheckpoint } from '../../src/model/weights/import/tf-bundle.js';
import { readFrozenGraph } from '../../src/model/weights/import/tf-graph.js';
import { foldTfVariables, foldedNames } from '../../src/model/weights/tf-checkpoint.js';
import { tfMobilenetV2Params } from '../../src/model/weights/tf-weights.js';
import { expectClose, expectRejects, relativeError, rng, testContext, expectThrows } from '../helpers.js';
import { messages, runCli } from '../cli/run-cli.js';
import { sharedPath } from '../shared.js';
import { type BundleTensorIn, buildBundle, buildTar } from './tf-writers.js';
import { withFlags } from '../../src/util/flags.js';

const zoo = (...p: string[]): string => sharedPath('fixtures', 'tf-zoo', ...p);
const TINY = 'deeplabv3_tiny_pascal_trainval';
const INDEX = zoo(TINY, 'model.ckpt-5.index');
const DATA = zoo(TINY, 'model.ckpt-5.data-00000-of-00001');
const GRAPH = zoo(TINY, 'frozen_inference_graph.pb');
const TARBALL = zoo('deeplabv3_tiny_pascal_trainval_2018_01_29.tar.gz');

interface ManifestTensor {
  dtype: string;
  shape: number[];
  offset: number;
  size: number;
  crc32c_masked: number;
  sha256: string;
}
const manifest = JSON.parse(readFileSync(zoo('manifest.json'), 'utf8'));
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const DTYPES: Record<string, string> = { float32: 'f32', float16: 'f16', bfloat16: 'bf16', float64: 'f64', int32: 'i32', uint8: 'u8', bool: 'bool', int64: 'i64' };

describe('TF DeepLab zoo: readers', () => {
  it("crc32c is CRC-32C (Castagnoli) and masks as TensorFlow's", () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).to.equal(0xe3069283);
    const t = manifest.checkpoint.tensors['MobilenetV2/Conv/BatchNorm/beta'] as ManifestTensor;
    expect(maskCrc(crc32c(readFileSync(DATA).subarray(t.offset, t.offset + t.size)))).to.equal(t.crc32c_masked);
  });

  it("the bundle lists exactly the manifest's 4,060 tensors, every one with its dtype, shape, place and sha256", () => {
    const index = readBundleIndex(readFileSync(INDEX), 'model.ckpt-5.index');
    expect(index.header).to.deep.equal({ numShards: 1, endianness: 0, producer: 1 });
    expect(index.blocks.map((b) => [b.offset, b.size, b.entries, b.restarts])).to.deep.equal(
      manifest.checkpoint.data_blocks.map((b: { offset: number; size: number; entries: number; restarts: number }) => [b.offset, b.size, b.entries, b.restarts]),
    );
    expect(index.entries.length).to.equal(4060);
    const data = readFileSync(DATA);
    const fillers = createHash('sha256');
    let checked = 0;
    for (const e of index.entries) {
      const bytes = bundleTensorBytes(e, data, 'data');
      const t = manifest.checkpoint.tensors[e.name] as ManifestTensor | undefined;
      if (!t) {
        expect(e.name, 'a tensor the manifest does not list').to.match(/^filler\/layer_\d{4}\/BatchNorm\/moving_variance\/ExponentialMovingAverage$/);
        fillers.update(bytes);
        continue;
      }
      expect(e.dtype, e.name).to.equal(DTYPES[t.dtype]);
      expect([e.shape, e.offset, e.size, e.crc32c], e.name).to.deep.equal([t.shape, t.offset, t.size, t.crc32c_masked]);
      expect(sha256(bytes), e.name).to.equal(t.sha256);
      checked++;
    }
    expect(checked).to.equal(manifest.checkpoint.tensors_count ?? Object.keys(manifest.checkpoint.tensors).length);
    expect(fillers.digest('hex')).to.equal(manifest.checkpoint.fillers.sha256_of_concatenated_bytes_in_key_order);
    // Decoded values: f16, bf16, f64, ints and bools come out as their f32 values.
    const all = readTfCheckpoint({ index: readFileSync(INDEX), indexName: 'index', shard: () => ({ bytes: data, name: 'data' }) });
    expect([...all.get('extra/bool')!.data].every((v) => v === 0 || v === 1)).to.equal(true);
    expect(all.get('global_step')!.data[0]).to.equal(5);
    expect(all.get('filler/layer_0042/BatchNorm/moving_variance/ExponentialMovingAverage')!.data[0]).to.equal(42);
    expect(all.get('extra/large')!.shape).to.deep.equal([384, 256]);
  });

  it('a flipped byte in a tensor, a data block or the footer, and a cut file, are refused naming the file and the entry', async () => {
    const index = readFileSync(INDEX);
    const data = readFileSync(DATA);
    const read = (i: Uint8Array, d: Uint8Array) => readTfCheckpoint({ index: i, indexName: 'model.ckpt-5.index', shard: () => ({ bytes: d, name: 'model.ckpt-5.data-00000-of-00001' }) });
    const t = manifest.checkpoint.tensors['aspp0/weights'] as ManifestTensor;
    const flipped = Uint8Array.from(data);
    flipped[t.offset + 7] ^= 0x10;
    await expectRejects(() => read(index, flipped), /^model\.ckpt-5\.data-00000-of-00001: 'aspp0\/weights' is damaged \(CRC-32C of its bytes/);
    await expectRejects(() => read(index, data.subarray(0, data.length - 100)), /^model\.ckpt-5\.data-00000-of-00001: 'logits\/semantic\/weights\/Momentum' \(bytes \d+\.\.\d+\) runs past the end of the file .*truncated/);
    const badBlock = Uint8Array.from(index);
    badBlock[1000] ^= 0x01;
    await expectRejects(() => read(badBlock, data), /^model\.ckpt-5\.index: the data block 0 at byte 0 is damaged \(CRC-32C/);
    await expectRejects(() => read(index.subarray(0, index.length - 10), data), /^model\.ckpt-5\.index: not a TensorFlow checkpoint index .*truncated/);
    await expectRejects(() => read(index.subarray(0, 200_000), data), /^model\.ckpt-5\.index: not a TensorFlow checkpoint index/);
  });

  it('cut or scrambled indexes, graphs and tarballs fail with an error naming the file, never a crash', () => {
    const r = rng();
    const files: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
      ['model.ckpt-5.index', readFileSync(INDEX), (b) => readBundleIndex(b, 'model.ckpt-5.index')],
      ['frozen_inference_graph.pb', readFileSync(GRAPH), (b) => readFrozenGraph(b, 'frozen_inference_graph.pb')],
      ['tiny.tar.gz', readFileSync(TARBALL), (b) => readTar(b, 'tiny.tar.gz')],
    ];
    for (const [name, bytes, read] of files) {
      let refused = 0;
      for (let trial = 0; trial < 60; trial++) {
        const damaged = trial % 2 === 0 ? bytes.subarray(0, Math.floor(r() * bytes.length)) : Uint8Array.from(bytes);
        if (trial % 2 === 1) for (let k = 0; k < 4; k++) damaged[Math.floor(r() * damaged.length)] = Math.floor(r() * 256);
        try {
          read(damaged);
        } catch (e) {
          expect(e, `${name}, trial ${trial}`).to.be.instanceOf(Error);
          expect((e as Error).message, `${name}, trial ${trial}`).to.match(new RegExp(`^${name.replace(/\./g, '\\.')}: `));
          expect(e, `${name}, trial ${trial}: ${(e as Error).message}`).to.not.be.instanceOf(TypeError);
          refused++;
        }
      }
      expect(refused, `${name}: damaged copies refused`).to.be.greaterThan(20);
    }
  });

  it("the frozen graph's Consts are the manifest's (sha256 of every value, strings as text), with the batch-norm epsilons", () => {
    const g = readFrozenGraph(readFileSync(GRAPH), 'frozen_inference_graph.pb');
    expect(g.nodes.length).to.equal(manifest.graph.nodes);
    const consts = manifest.graph.const_nodes as Record<string, { dtype: string; shape: number[]; sha256?: string; values?: string[] }>;
    expect([...g.consts.keys(), ...g.strings.keys()].sort()).to.deep.equal(Object.keys(consts).sort());
    for (const [name, c] of Object.entries(consts)) {
      if (c.dtype === 'string') expect(g.strings.get(name), name).to.deep.equal(c.values);
      else {
        expect(g.consts.get(name)!.shape, name).to.deep.equal(c.shape);
        expect(sha256(g.bytes.get(name)!), name).to.equal(c.sha256);
      }
    }
    expect(g.bnEpsilon.get('MobilenetV2/Conv')).to.equal(Math.fround(1e-3));
    expect(g.bnEpsilon.get('concat_projection')).to.equal(Math.fround(1e-5));
    // The 32 weight Consts equal the checkpoint's variables.
    const ckpt = readTfCheckpoint({ index: readFileSync(INDEX), indexName: 'index', shard: () => ({ bytes: readFileSync(DATA), name: 'data' }) });
    const weights = Object.entries(manifest.graph.const_nodes as Record<string, { weight: boolean }>).filter(([, c]) => c.weight);
    expect(weights.length).to.equal(32);
    for (const [name] of weights) expect([...g.consts.get(name)!.data], name).to.deep.equal([...ckpt.get(name)!.data]);
  });

  it("the tarball holds the zoo's layout, and a tarball, its folder, a prefix and the graph alone give the same folded weights", async () => {
    const members = readTar(readFileSync(TARBALL), 'tarball');
    expect([...members.keys()].sort()).to.deep.equal(manifest.tarball.members.filter((m: string) => m.includes('/')).sort());
    for (const [name, bytes] of members) expect(sha256(bytes), name).to.equal(manifest.files[name.split('/')[1]].sha256);
    const fromTarball = zooVariables(tarballFiles(readFileSync(TARBALL), 'tarball'));
    expect([...fromTarball.variables.keys()].some((k) => k.endsWith('/Momentum') || k === 'global_step'), 'optimizer slots skipped').to.equal(false);
    const folded = foldTfVariables(fromTarball.variables, fromTarball.epsilon, 'tarball');
    const fromGraph = zooVariables({ names: ['frozen_inference_graph.pb'], read: () => readFileSync(GRAPH), what: 'graph' });
    const foldedGraph = foldTfVariables(fromGraph.variables, fromGraph.epsilon, 'graph');
    expect([...folded.keys()].sort()).to.deep.equal([...foldedGraph.keys()].sort());
    for (const [k, t] of folded) expect([...t.data], k).to.deep.equal([...foldedGraph.get(k)!.data]);
    await expectRejects(() => readTar(readFileSync(TARBALL).subarray(0, 200_000), 'cut.tar.gz'), /^cut\.tar\.gz: damaged or truncated gzip data/);
    // A wrong CRC-32 in gzip's trailer (what a flipped byte in the data gives) is refused too.
    const badCrc = Uint8Array.from(readFileSync(TARBALL));
    badCrc[badCrc.length - 8] ^= 0x01;
    expectThrows(() => readTar(badCrc, 'crc.tar.gz'), /^crc\.tar\.gz: damaged gzip data \(CRC-32 [0-9a-f]{8}, the trailer says [0-9a-f]{8}\)$/);
    await expectRejects(() => zooVariables({ names: ['model.ckpt-5.index'], read: () => readFileSync(INDEX), what: 'dir' }), /^dir: model\.ckpt-5\.data-00000-of-00001 is missing/);
  });

  it("a zoo file of a network not built here (Xception-71's, with the Dense Prediction Cell) is refused naming its scopes and the networks that are", () => {
    const t = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)), sourceDType: 'f32' as const });
    const variables = new Map([
      ['xception_71/entry_flow/conv1_1/weights', t([3, 3, 3, 32])],
      ['dense_prediction_cell/branch0/weights', t([1, 1, 8, 4])],
      ['logits/semantic/weights', t([1, 1, 4, 19])],
      ['global_step', t([])],
    ]);
    expectThrows(
      () => tfZooModel('x71', { variables, epsilon: () => 1e-3, from: 'x71.tar.gz' }, {}),
      /^x71 \(x71\.tar\.gz\): its variables are under xception_71, dense_prediction_cell, logits \(and a Dense Prediction Cell head, which is not built\): not a TF DeepLab network built here \(.*MobileNetV2.*Xception-65.*MobileNetV3-Large.*\)$/,
    );
  });
});

/** A TF SAME conv of the toy with TF's names (its weights and folded bias). */
function toyConv(b: GraphBuilder, x: Value, scope: string, kernel: number, cout: number, opts: { stride?: number; dilation?: number; depthwise?: boolean; activation?: 'relu' | 'relu6' } = {}): Value {
  return conv(
    b,
    x,
    { name: scope, kernel, cout, stride: opts.stride, dilation: opts.dilation, groups: opts.depthwise ? x.shape[3] : 1, padding: 'same', bias: true, activation: opts.activation },
    TF_NAMING,
  );
}

describe("TF DeepLab zoo: batch norm folded on load gives TensorFlow's logits", function () {
  this.timeout(300_000);

  it('the fixture network (conv, rate-2 depthwise, residual, image pooling, aspp0, projection, logits) from the tarball', async () => {
    // The toy's layers as TF DeepLab's graph has them (its README), on the 33x33 network input.
    const b = new GraphBuilder();
    const image = b.input('image', [1, 33, 33, 3]);
    const stem = toyConv(b, image, 'MobilenetV2/Conv', 3, 8, { stride: 2, activation: 'relu6' });
    let h = toyConv(b, stem, 'MobilenetV2/expanded_conv/depthwise', 3, 8, { dilation: 2, depthwise: true, activation: 'relu6' });
    h = toyConv(b, h, 'MobilenetV2/expanded_conv/project', 1, 8);
    const features = b.addValues('MobilenetV2/expanded_conv/add', h, stem);
    const pooled = toyConv(b, b.globalAvgPool('AvgPool2D', features), 'image_pooling', 1, 16, { activation: 'relu' });
    const up = b.resize('ResizeBilinear', pooled, 17, 17, 'align_corners');
    const aspp0 = toyConv(b, features, 'aspp0', 1, 16, { activation: 'relu' });
    const projected = toyConv(b, b.concat('concat', [up, aspp0]), 'concat_projection', 1, 16, { activation: 'relu' });
    b.output('logits', toyConv(b, projected, 'logits/semantic', 1, 5));
    const graph = b.build();

    const zooVars = zooVariables(tarballFiles(readFileSync(TARBALL), 'tarball'));
    const params = tfMobilenetV2Params(graph, foldTfVariables(zooVars.variables, zooVars.epsilon, 'tarball'), foldedNames, 'tarball');
    const input = readNpy(zoo('reference', 'network_input.npy'));
    const ref = readNpy(zoo('reference', 'logits.npy'));
    const program = await Program.create(await testContext(), compile(graph, { mode: 'inference' }), params, 'tf toy');
    try {
      const logits = (await program.run({ image: input.data })).get('logits') as Float32Array;
      console.log(`      logits/semantic/BiasAdd: relative error ${relativeError(logits, ref.data).toExponential(2)}`);
      expectClose(logits, ref.data, 'toy logits');
    } finally {
      program.dispose();
    }
  });
});

describe('TF DeepLab zoo: a MobileNetV2 zoo tarball loads as the network', function () {
  this.timeout(300_000);
  let dir: string;
  const npyDir = sharedPath('weights', 'tf-deeplabv3-mnv2-pascal-trainval-513');

  /** The checkpoint of the .npy weights: each BN the identity (gamma 1, mean 0, variance 1 - eps), beta the folded bias; Momentum slots and global_step as the zoo's. */
  function checkpointOfNpy(): Map<string, BundleTensorIn> {
    const vars = JSON.parse(readFileSync(zoo('deeplab_mnv2_variables.json'), 'utf8')).variables as Record<string, { dtype: string; shape: number[]; eps?: number; npy?: string }>;
    const npy = (name: string) => readNpy(join(npyDir, `${name}.npy`));
    const out = new Map<string, BundleTensorIn>();
    const f32 = (shape: number[], data: Float32Array): BundleTensorIn => ({ dtype: 1, shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    for (const [name, v] of Object.entries(vars)) {
      const n = v.shape.reduce((a, c) => a * c, 1);
      if (name === 'global_step') out.set(name, { dtype: 9, shape: [], bytes: new Uint8Array(BigInt64Array.of(30000n).buffer) });
      else if (name.endsWith('/Momentum')) out.set(name, f32(v.shape, new Float32Array(n)));
      else if (name.endsWith('/gamma')) out.set(name, f32(v.shape, new Float32Array(n).fill(1)));
      else if (name.endsWith('/moving_mean')) out.set(name, f32(v.shape, new Float32Array(n)));
      else if (name.endsWith('/moving_variance')) out.set(name, f32(v.shape, new Float32Array(n).fill(1 - v.eps!)));
      else if (name.endsWith('/beta') || name.endsWith('/biases')) out.set(name, f32(v.shape, npy(v.npy!).data));
      else if (name.endsWith('/depthwise_weights')) out.set(name, f32(v.shape, npy(v.npy!).data)); // [1,H,W,C] and [H,W,C,1] share an order
      else {
        // OHWI -> HWIO
        const t = npy(v.npy!);
        const [o, kh, kw, i] = t.shape;
        const hwio = new Float32Array(t.data.length);
        for (let a = 0; a < o; a++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let c = 0; c < i; c++) hwio[((y * kw + x) * i + c) * o + a] = t.data[((a * kh + y) * kw + x) * i + c];
        out.set(name, f32(v.shape, hwio));
      }
    }
    return out;
  }

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tf-zoo-'));
    const { index, data } = buildBundle(checkpointOfNpy());
    const folder = join(dir, 'deeplabv3_mnv2_pascal_trainval');
    mkdirSync(folder);
    writeFileSync(join(folder, 'model.ckpt-30000.index'), index);
    writeFileSync(join(folder, 'model.ckpt-30000.data-00000-of-00001'), data);
    writeFileSync(
      join(dir, 'deeplabv3_mnv2_pascal_trainval_2018_01_29.tar.gz'),
      buildTar(new Map([['deeplabv3_mnv2_pascal_trainval/model.ckpt-30000.index', index], ['deeplabv3_mnv2_pascal_trainval/model.ckpt-30000.data-00000-of-00001', data]])),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the tarball, its folder and the model.ckpt prefix load the weights of the .npy folder (437 tensors, Momentum slots skipped)', async () => {
    const reference = await loadWeights(npyDir);
    const sources = [
      join(dir, 'deeplabv3_mnv2_pascal_trainval_2018_01_29.tar.gz'),
      join(dir, 'deeplabv3_mnv2_pascal_trainval'),
      join(dir, 'deeplabv3_mnv2_pascal_trainval', 'model.ckpt-30000'),
      join(dir, 'deeplabv3_mnv2_pascal_trainval', 'model.ckpt-30000.index'),
    ];
    for (const source of sources) {
      const w = await loadWeights(source);
      expect(w.config, source).to.deep.include({ backbone: 'mobilenet_v2', numClasses: 21, outputStride: 8 });
      // No graph here: the zoo's VOC export crop, padded to as the zoo's graphs pad.
      expect(w.inputPolicy, source).to.deep.equal({ kind: 'pad-to-crop', height: 513, width: 513 });
      expect([...w.params.keys()].sort(), source).to.deep.equal([...reference.params.keys()].sort());
      // Folding the identity batch norm (variance 1 - eps, plus eps) leaves each weight within float32 rounding.
      for (const [k, t] of reference.params) expect(relativeError(w.params.get(k)!.data, t.data), `${source}: ${k}`).to.be.lessThan(1e-6);
    }
  });

  it("the tarball's bytes alone (the browser's load) are recognised and give the same weights", async () => {
    const bytes = readFileSync(join(dir, 'deeplabv3_mnv2_pascal_trainval_2018_01_29.tar.gz'));
    expect(detectWeightFormat(bytes, 'model')).to.equal('tf-zoo');
    const w = weightsFromBytes(bytes, 'tf-zoo', 'model');
    const fromPath = await loadWeights(join(dir, 'deeplabv3_mnv2_pascal_trainval_2018_01_29.tar.gz'));
    for (const [k, t] of fromPath.params) expect(relativeError(w.params.get(k)!.data, t.data), k).to.equal(0);
    // A registry entry's classes must fit the logits.
    await expectRejects(() => weightsFromBytes(bytes, 'tf-zoo', 'model', {}, 'model.tar.gz', { classes: datasetClassSet('cityscapes') }), /^model\.tar\.gz: model: classes: 19 class names for a model with 21 classes/);
  });

  it('deeplab segment takes a model.ckpt prefix as --model', async () => {
    const out = join(dir, 'masks');
    const image = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
    const r = await runCli(['segment', image, '--model', join(dir, 'deeplabv3_mnv2_pascal_trainval', 'model.ckpt-30000'), '--out', out]);
    expect(r.code, messages(r.stderr)).to.equal(0);
    expect(readFileSync(join(out, '2007_000033.png')).subarray(1, 4).toString()).to.equal('PNG');
  });

  it("the registry's 513 model refuses a tarball that is not the published one", async () => {
    const weights = mkdtempSync(join(tmpdir(), 'tf-zoo-registry-'));
    const cache = mkdtempSync(join(tmpdir(), 'tf-zoo-cache-'));
    try {
      writeFileSync(join(weights, 'deeplabv3_mnv2_pascal_trainval_2018_01_29.tar.gz'), readFileSync(join(dir, 'deeplabv3_mnv2_pascal_trainval_2018_01_29.tar.gz')));
      await withFlags({ DEEPLAB_WEIGHTS_DIR: weights, DEEPLAB_CACHE_DIR: cache }, () =>
        expectRejects(loadWeights('mobilenetv2-pascal-513'), /sha256 [0-9a-f]{64} does not match 2b7fe434.* for model mobilenetv2-pascal-513/),
      );
    } finally {
      rmSync(weights, { recursive: true, force: true });
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
