// Damaged TF model-zoo files through the library's loading path (loadWeights on a folder, a
// frozen graph, a tarball) and the command line (`deeplab segment IMAGE --model FILE`): each
// damage class of issue 34 is refused in seconds with one line naming the file and the field,
// never an engine message or an out-of-memory; a float weight stored as int32, a batch norm's
// negative epsilon or variance, and a non-finite weight are refused where weights meet the
// model (src/model/weights/weight-checks.ts); the two valid files (a tarball of several gzip
// members, one with zero padding after its gzip stream) read as the original.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadWeights } from '../../src/model/loading/load-weights.js';
import { FROZEN_GRAPH, tarballFiles, zooVariables } from '../../src/model/loading/tf-zoo-model.js';
import { gunzip } from '../../src/io/gunzip.js';
import { BundleHeaderProto, GraphDefType } from '../../src/model/weights/import/tf-proto.js';
import type { SourceDType } from '../../src/model/weights/import/tensor-map.js';
import { bundleTensorBytes, readBundleIndex } from '../../src/model/weights/import/tf-bundle.js';
import { torchvisionParams } from '../../src/model/weights/torchvision.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { checkBatchNormEpsilon, checkFloatWeight, checkStateDictValues, checkVariance } from '../../src/model/weights/weight-checks.js';
import { type BundleEntryFields, type BundleTensorIn, buildBundle, rawBlock, sstable, varint } from '../import/tf-writers.js';
import { concat } from '../import/builders.js';
import { unclearError } from '../hostile.js';
import { expectRejects, expectThrows } from '../helpers.js';
import { messages, runCli } from '../cli/run-cli.js';
import { sharedPath } from '../shared.js';

const zoo = (...p: string[]): string => sharedPath('fixtures', 'tf-zoo', ...p);
const TINY = 'deeplabv3_tiny_pascal_trainval';
const INDEX = zoo(TINY, 'model.ckpt-5.index');
const DATA = zoo(TINY, 'model.ckpt-5.data-00000-of-00001');
const GRAPH = zoo(TINY, 'frozen_inference_graph.pb');
const TARBALL = zoo('deeplabv3_tiny_pascal_trainval_2018_01_29.tar.gz');
const DATA_NAME = 'model.ckpt-5.data-00000-of-00001';

/** The fixture checkpoint's tensors as the writer takes them (TF dtype, shape, bytes). */
function fixtureTensors(): Map<string, BundleTensorIn> {
  const data = readFileSync(DATA);
  const out = new Map<string, BundleTensorIn>();
  for (const e of readBundleIndex(readFileSync(INDEX), 'index').entries) out.set(e.name, { dtype: e.dtypeEnum, shape: e.shape, bytes: Uint8Array.from(bundleTensorBytes(e, data, 'data')) });
  return out;
}

type GraphObject = { node: Array<{ name: string; op: string; attr: Record<string, { f?: number; tensor?: Record<string, unknown> }> }> };

/** The fixture's frozen graph with `change` applied to its decoded nodes. */
function editedGraph(change: (g: GraphObject) => void): Uint8Array {
  const g = GraphDefType.toObject(GraphDefType.decode(readFileSync(GRAPH)), { longs: Number }) as GraphObject;
  change(g);
  return GraphDefType.encode(GraphDefType.fromObject(g)).finish();
}

function constNode(g: GraphObject, name: string) {
  const n = g.node.find((x) => x.name === name && x.op === 'Const');
  if (!n) throw new Error(`no Const ${name} in the fixture graph`);
  return n;
}

describe('weights meet the model: dtypes and values', () => {
  it('refuses integer float weights naming both dtypes, non-finite values, epsilon <= 0 and negative variances', () => {
    const data = Float32Array.of(1, 2, 3);
    checkFloatWeight('w', { data, sourceDType: 'f16' }, 'f');
    checkFloatWeight('w', { data, sourceDType: 'f64' }, 'f');
    expectThrows(() => checkFloatWeight('conv/weights', { data, sourceDType: 'i32' }, 'f.pb'), /^f\.pb: tensor 'conv\/weights' is stored as int32, but the network needs it as float32/);
    expectThrows(() => checkFloatWeight('w', { data, sourceDType: 'u8' }, 'f'), /stored as uint8/);
    expectThrows(() => checkFloatWeight('w', { data: Float32Array.of(1, NaN), sourceDType: 'f32' }, 'f'), /^f: tensor 'w' holds a value that is not a number at element 1: weights must be finite$/);
    expectThrows(() => checkFloatWeight('w', { data: Float32Array.of(-Infinity) }, 'f'), /holds -infinity at element 0/);
    for (const eps of [0, -1e-3, NaN, Infinity]) expectThrows(() => checkBatchNormEpsilon('bn', eps, 'f'), /^f: batch norm 'bn' has epsilon .*; it must be a positive number$/);
    checkBatchNormEpsilon('bn', 1e-5, 'f');
    expectThrows(() => checkVariance('bn/var', Float32Array.of(1, 0, -0.5), 'f'), /^f: tensor 'bn\/var' \(a batch-norm variance\) is -0\.5 at channel 2; a variance cannot be negative$/);
    // A state dict: counters may be integers, weights may not; running_var not negative.
    const state = new Map([
      ['bn.num_batches_tracked', { shape: [], data: Float32Array.of(3), sourceDType: 'i64' as const }],
      ['bn.running_var', { shape: [2], data: Float32Array.of(1, 2), sourceDType: 'f32' as const }],
    ]);
    checkStateDictValues(state, 'x.pth');
    state.set('bn.running_var', { shape: [2], data: Float32Array.of(1, -2), sourceDType: 'f32' });
    expectThrows(() => checkStateDictValues(state, 'x.pth'), /x\.pth: tensor 'bn\.running_var' \(a batch-norm variance\) is -2/);
  });

  it('a torchvision state dict with an int64 conv weight is refused naming the tensor', () => {
    const state = new Map<string, { shape: number[]; data: Float32Array; sourceDType: SourceDType }>([
      ['backbone.conv1.weight', { shape: [1, 1, 1, 1], data: Float32Array.of(1), sourceDType: 'i64' }],
      ['classifier.0.convs.0.0.weight', { shape: [1, 1, 1, 1], data: Float32Array.of(1), sourceDType: 'f32' }],
      ...[0, 1, 2, 3, 4, 5].map((i): [string, { shape: number[]; data: Float32Array; sourceDType: SourceDType }] => [`backbone.layer3.${i}.conv1.weight`, { shape: [1, 1, 1, 1], data: Float32Array.of(1), sourceDType: 'f32' }]),
    ]);
    expectThrows(() => torchvisionParams(state, defaultConfig('resnet50'), 'tv.pth'), /^tv\.pth: tensor 'backbone\.conv1\.weight' is stored as int64, but the network needs it as float32/);
  });
});

describe('hostile TF zoo files through loadWeights', function () {
  this.timeout(60_000);
  let dir: string;
  let tensors: Map<string, BundleTensorIn>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hostile-zoo-'));
    tensors = fixtureTensors();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A zoo folder: the fixture's graph (or `graph`), and a checkpoint rebuilt with `entry` applied. */
  function folder(label: string, opts: { graph?: Uint8Array; entry?: (name: string, f: BundleEntryFields) => BundleEntryFields; bytes?: (name: string, t: BundleTensorIn) => BundleTensorIn; index?: Uint8Array } = {}): string {
    const f = join(dir, label);
    mkdirSync(f);
    const ts = new Map([...tensors].map(([k, t]) => [k, opts.bytes ? opts.bytes(k, t) : t]));
    const { index, data } = buildBundle(ts, 262144, opts.entry);
    writeFileSync(join(f, 'model.ckpt-5.index'), opts.index ?? index);
    writeFileSync(join(f, DATA_NAME), data);
    writeFileSync(join(f, FROZEN_GRAPH), opts.graph ?? readFileSync(GRAPH));
    return f;
  }

  /** Loads `path`, which must fail naming it, the field `problem` matches, in one line. */
  async function refused(path: string, problem: RegExp): Promise<void> {
    // The message says it was refused where the file states a size, before allocating it.
    const err = await expectRejects(() => loadWeights(path), problem, path);
    expect(unclearError(err, path), path).to.equal(null);
    expect((err as Error).message, path).to.not.contain('\n');
  }

  it('a frozen graph Const stating [2^31] (or 2^53 + 2, or negative) with one float_val is refused, not allocated', async () => {
    const conv = 'MobilenetV2/Conv/weights';
    for (const [label, dims] of [['huge', [2 ** 31]], ['huger', [2 ** 53 + 2]], ['negative', [3, 3, -3, -32]]] as const) {
      const path = join(dir, `${label}.pb`);
      writeFileSync(path, editedGraph((g) => (constNode(g, conv).attr.value.tensor = { dtype: 1, tensor_shape: { dim: dims.map((size) => ({ size })) }, float_val: [1] })));
      await refused(path, label === 'huge' ? /Const 'MobilenetV2\/Conv\/weights': float_val of 1 values broadcast to tensor_shape \[2147483648\] would bring/ : /Const 'MobilenetV2\/Conv\/weights': tensor_shape \[.*\] (is a bad shape|has more elements than can be counted)/);
    }
  });

  it('a graph Const of DT_INT32 holding a float32 kernel is refused naming the tensor and both dtypes', async () => {
    const path = join(dir, 'int32.pb');
    writeFileSync(path, editedGraph((g) => (constNode(g, 'MobilenetV2/Conv/weights').attr.value.tensor!.dtype = 3)));
    await refused(path, /tensor 'MobilenetV2\/Conv\/weights' is stored as int32, but the network needs it as float32/);
  });

  it('a bundle entry with negative dimensions or DT_INT32, an SSTable key length of 2^40, are refused naming the field', async () => {
    const conv = 'MobilenetV2/Conv/weights';
    await refused(
      folder('negative-dims', { entry: (n, f) => (n === conv ? { ...f, shape: { dim: [3, 3, -3, -32].map((size) => ({ size })) } } : f) }),
      /'MobilenetV2\/Conv\/weights': shape \[3,3,-3,-32\] is a bad shape: dimension 2 is -3/,
    );
    await refused(folder('int32', { entry: (n, f) => (n === conv ? { ...f, dtype: 3 } : f) }), /tensor 'MobilenetV2\/Conv\/weights' is stored as int32, but the network needs it as float32/);
    // A data block whose second entry claims a 2^40-byte key (the block's CRC right).
    const header = BundleHeaderProto.encode({ num_shards: 1, version: { producer: 1 } }).finish();
    const entries = concat([[0, 0, header.length], header, [0, ...varint(2 ** 40), 4], new Uint8Array(8)]);
    await refused(folder('key-length', { index: sstable([rawBlock(entries, [0])]) }), /data block 0: entry at \d+: key length 1099511627776 is more than the \d+ the data allows/);
  });

  it("a batch norm's negative epsilon (in the graph) or variance (in the bundle), and a NaN weight, are refused naming it", async () => {
    const eps = editedGraph((g) => {
      const bn = g.node.find((n) => n.name === 'MobilenetV2/Conv/BatchNorm/FusedBatchNorm' || n.name === 'MobilenetV2/Conv/BatchNorm/FusedBatchNormV3')!;
      bn.attr.epsilon.f = -1e-3;
    });
    await refused(folder('negative-eps', { graph: eps }), /batch norm 'MobilenetV2\/Conv\/BatchNorm' has epsilon -0\.001\d*; it must be a positive number/);
    const negate = (name: string, value: number) => (k: string, t: BundleTensorIn) => (k === name ? { ...t, bytes: new Uint8Array(new Float32Array(t.bytes.length / 4).fill(value).buffer) } : t);
    await refused(folder('negative-variance', { bytes: negate('MobilenetV2/Conv/BatchNorm/moving_variance', -1) }), /tensor 'MobilenetV2\/Conv\/BatchNorm\/moving_variance' \(a batch-norm variance\) is -1 at channel 0/);
    await refused(folder('nan', { bytes: negate('aspp0/weights', NaN) }), /tensor 'aspp0\/weights' holds a value that is not a number at element 0/);
  });

  it('gzip: a tarball of several members and one padded with 512 zero bytes read as the original; a wrong length is refused', async () => {
    const original = readFileSync(TARBALL);
    const tar = gunzip(original, 'tarball');
    const cuts = [0, 4096, tar.length >> 1, tar.length];
    const members = concat(cuts.slice(1).map((end, i) => new Uint8Array(gzipSync(tar.subarray(cuts[i], end)))));
    const padded = concat([original, new Uint8Array(512)]);
    const reference = zooVariables(tarballFiles(original, 'original')).variables;
    for (const [label, bytes] of [['three members', members], ['512 zero bytes after', padded]] as const) {
      const vars = zooVariables(tarballFiles(bytes, label)).variables;
      expect([...vars.keys()], label).to.deep.equal([...reference.keys()]);
      for (const [k, t] of reference) expect(Buffer.compare(Buffer.from(vars.get(k)!.data.buffer), Buffer.from(t.data.buffer)), `${label}: ${k}`).to.equal(0);
    }
    // ISIZE changed with the CRC left right: refused (the trailer's length is checked too).
    const badLength = Uint8Array.from(original);
    badLength[badLength.length - 4] ^= 0x01;
    const path = join(dir, 'length.tar.gz');
    writeFileSync(path, badLength);
    await refused(path, /damaged gzip data \(the member inflates to \d+ bytes, its trailer says \d+ mod 2\^32\)/);
  });

  describe('through deeplab segment @slow', () => {
    it('refuses each damage class with one line naming the file and the field', async () => {
      const image = sharedPath('data', 'voc-sample', 'JPEGImages', '2007_000033.jpg');
      const huge = join(dir, 'cli-huge.pb');
      writeFileSync(huge, editedGraph((g) => (constNode(g, 'MobilenetV2/Conv/weights').attr.value.tensor = { dtype: 1, tensor_shape: { dim: [{ size: 2 ** 31 }] }, float_val: [1] })));
      const int32 = join(dir, 'cli-int32.pb');
      writeFileSync(int32, editedGraph((g) => (constNode(g, 'MobilenetV2/Conv/weights').attr.value.tensor!.dtype = 3)));
      const cases: Array<[string, RegExp]> = [
        [huge, /broadcast to tensor_shape \[2147483648\]/],
        [int32, /'MobilenetV2\/Conv\/weights' is stored as int32, but the network needs it as float32/],
        [folder('cli-negative-dims', { entry: (n, f) => (n === 'aspp0/weights' ? { ...f, shape: { dim: [1, 1, -8, -16].map((size) => ({ size })) } } : f) }), /'aspp0\/weights': shape \[1,1,-8,-16\] is a bad shape/],
      ];
      for (const [model, problem] of cases) {
        const r = await runCli(['segment', image, '--out', join(dir, 'out'), '--model', model]);
        const lines = messages(r.stderr).trim().split('\n');
        expect(r.code, model).to.equal(1);
        expect(lines, model).to.have.length(1);
        expect(lines[0], model).to.match(new RegExp(`^deeplab: cannot load model: ${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
        expect(lines[0], model).to.match(problem);
        expect(unclearError(new Error(lines[0].replace('deeplab: cannot load model: ', '')), model), model).to.equal(null);
      }
    });
  });
});
