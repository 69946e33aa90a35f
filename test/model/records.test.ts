// Every backbone record and every weights format record, enumerated: a record added to either
// list is tested here by being listed. Each backbone builds a small graph, describes, normalises
// like the model's CPU path, is recognised from its own parameters in every weights source it
// names, and exports or refuses export naming why; each format loads a model from bytes (or a
// folder's files) and refuses a truncated copy with an error naming the file.
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { storedState } from '../../src/graph/params.js';
import { INPUT_NORMALIZATIONS, inputNormalization } from '../../src/io/input-normalization.js';
import { BACKBONE_NAMES } from '../../src/model/networks/backbone-names.js';
import { BACKBONE_RECORDS, backboneRecord, backboneRecords } from '../../src/model/backbones/registry.js';
import { describeModel, layerGroup } from '../../src/model/analysis/describe.js';
import { normalizeInput } from '../../src/model/input-policy.js';
import { checkpointContents } from '../../src/model/loading/checkpoint-contents.js';
import { checkpointModel } from '../../src/model/loading/checkpoint-schema.js';
import type { FileSet, WeightFormatRecord } from '../../src/model/loading/formats/format.js';
import { WEIGHT_FORMAT_NAMES } from '../../src/model/loading/formats/names.js';
import { WEIGHT_EXTENSIONS, WEIGHT_FORMATS, detectWeightFormat, formatOfName, looksLikeWeightsPath, weightFormat, weightFormats } from '../../src/model/loading/formats/registry.js';
import { type LoadedWeights, loadedNetwork } from '../../src/model/loading/loaded-weights.js';
import { detectWeightFormat as pageWeightFormat, weightsFromBytes } from '../../src/model/loading/weights-from-bytes.js';
import type { DeepLabConfig } from '../../src/model/networks/config.js';
import { defaultConfig } from '../../src/model/backbones/config.js';
import { defaultClassSet } from '../../src/model/voc.js';
import { buildDeepLab, isBackboneParam } from '../../src/model/backbones/network.js';
import { safetensorsBytes } from '../../src/model/weights/import/safetensors.js';
import { mmsegNetwork } from '../../src/model/weights/mmseg.js';
import { vainfNetwork } from '../../src/model/weights/vainf.js';
import { detectClassificationBackbone } from '../../src/model/weights/torchvision-classification.js';
import { torchvisionStateDict } from '../../src/model/weights/torchvision-export.js';
import { detectTorchvisionBackbone } from '../../src/model/weights/torchvision.js';
import { expectThrows, randomRgbImage, rng } from '../helpers.js';
import { writeSmpFolder } from './smp-fixture.js';
import { sharedPath } from '../shared.js';
import { writeOnnx } from '../../src/graph/onnx/write.js';
import { defaultOnnxArchitecture } from '../../src/model/networks/onnx-network.js';

const SIZE = { height: 33, width: 41 };

/** A state dict holding `cfg`'s graph's parameters under their own names (shapes as ours: recognisers read keys). */
function stateOf(cfg: DeepLabConfig): Map<string, { shape: number[]; data: Float32Array }> {
  const graph = buildDeepLab(cfg, SIZE);
  return new Map(storedState(graph).map((v) => [v.name, { shape: [...v.shape], data: new Float32Array(v.shape.reduce((a, b) => a * b, 1)) }]));
}

/** Weights of zeros for a config, enough for what export reads. */
function zeroWeights(cfg: DeepLabConfig): LoadedWeights {
  const params = stateOf(cfg);
  return {
    name: `${cfg.backbone}-zeros`,
    config: cfg,
    inputPolicy: { kind: 'fixed', height: SIZE.height, width: SIZE.width },
    ...loadedNetwork(cfg),
    params,
    probeSize: [SIZE.width, SIZE.height],
    classes: defaultClassSet(cfg.numClasses),
  };
}

describe('model: every backbone record', function () {
  this.timeout(60_000);

  it('one record per name, each under its own name', () => {
    expect(Object.keys(BACKBONE_RECORDS).sort()).to.deep.equal([...BACKBONE_NAMES].sort());
    for (const name of BACKBONE_NAMES) expect(BACKBONE_RECORDS[name].name).to.equal(name);
  });

  it('an unknown backbone is refused in one place, naming the known ones, and never builds', () => {
    const known = new RegExp(`unknown backbone 'resnet34' \\(expected one of ${BACKBONE_NAMES.join(', ')}\\)`);
    expectThrows(() => backboneRecord('resnet34'), known);
    expectThrows(() => defaultConfig('resnet34' as never), known);
    const cfg = { ...defaultConfig('resnet101'), backbone: 'resnet34' } as unknown as DeepLabConfig;
    expectThrows(() => buildDeepLab(cfg, SIZE), /backbone 'resnet34' is not one of resnet18, resnet50, resnet101, mobilenet_v2, mobilenet_v3_large/);
  });

  for (const record of backboneRecords()) {
    describe(`${record.name} (${record.title})`, () => {
      const cfg = (): DeepLabConfig => defaultConfig(record.name);

      it('builds its reference configuration at a small size, its parameters its own', () => {
        const graph = buildDeepLab(cfg(), SIZE);
        const logits = graph.outputs.get('logits');
        expect(logits?.shape).to.deep.equal([1, SIZE.height, SIZE.width, cfg().numClasses]);
        const owned = storedState(graph).filter((v) => record.ownsParam(v.name));
        expect(owned.length, 'backbone parameters').to.be.greaterThan(0);
        for (const v of owned) expect(isBackboneParam(v.name), v.name).to.equal(true);
        // Every output stride it says it runs at builds (four blocks, atrous).
        for (let os = 8; os <= record.naturalOutputStride(4); os *= 2) {
          const g = buildDeepLab(defaultConfig(record.name, { outputStride: os }), SIZE);
          expect(g.outputs.get('logits')?.shape[3], `OS ${os}`).to.equal(cfg().numClasses);
        }
      });

      it("describes: its layers grouped by its record's rules, with parameters and MACs", () => {
        const d = describeModel(cfg(), SIZE.height, SIZE.width);
        expect(d.totals.params).to.be.greaterThan(0);
        expect(d.totals.macs).to.be.greaterThan(0);
        // Every layer one of its rules matches is in the group the rule names.
        let grouped = 0;
        for (const l of d.layers) {
          for (const [re, group] of record.describeGroups) {
            const m = re.exec(l.name);
            if (!m) continue;
            expect(layerGroup(l.name), l.name).to.equal(group(m));
            grouped++;
            break;
          }
        }
        if (record.describeGroups.length > 0) expect(grouped, 'layers its rules group').to.be.greaterThan(0);
        expect(d.blocks.some((b) => b.name === 'backbone' || b.name.startsWith('block') || b.name === 'stem'), 'backbone groups').to.equal(true);
      });

      it('normalises as its record says, through the one table of normalisations', () => {
        const c = cfg();
        expect(c.normalization).to.equal(record.normalization);
        const n = INPUT_NORMALIZATIONS[record.normalization];
        const img = randomRgbImage(5, 3, 11);
        const input = normalizeInput({ kind: 'fixed', height: 3, width: 5 }, c, img);
        expect([...input]).to.deep.equal([...n.normalize(img)]);
        // (x / 255 - mean) / std per channel, within float32 rounding of the reference's steps.
        for (let i = 0; i < img.data.length; i++) {
          const want = (img.data[i] / 255 - n.mean[i % 3]) / n.std[i % 3];
          expect(Math.abs(input[i] - want), `value ${i}`).to.be.below(1e-5);
        }
      });

      it('is recognised from its own parameters in every weights source it names', () => {
        const sources = Object.keys(record.weights);
        expect(sources.length, 'weights sources').to.be.greaterThan(0);
        if (record.weights.torchvision) expect(detectTorchvisionBackbone(stateOf(cfg()))).to.equal(record.name);
        if (record.weights.torchvisionClassification) {
          const { filePrefix, headPrefix } = record.weights.torchvisionClassification;
          const file = new Map<string, { shape: number[]; data: Float32Array }>();
          for (const [k, t] of stateOf(cfg())) if (k.startsWith('backbone.')) file.set(filePrefix + k.slice('backbone.'.length), t);
          file.set(`${headPrefix}weight`, { shape: [2, 2], data: new Float32Array(4) });
          expect(detectClassificationBackbone(file)).to.equal(record.name);
        }
        if (record.weights.mmseg) {
          const mmseg = defaultConfig(record.name, { head: 'mmseg', stem: record.stems.includes('v1c') ? 'v1c' : record.stems[0], dilationConvention: 'mmseg', asppRates: [12, 24, 36], asppChannels: record.weights.mmseg.headChannels });
          expect(mmsegNetwork(stateOf(mmseg)).backbone).to.equal(record.name);
        }
        if (record.weights.vainf) {
          for (const decoder of ['none', 'deeplabv3plus'] as const) {
            const vainf = defaultConfig(record.name, { head: 'vainf', decoder });
            expect(vainfNetwork(stateOf(vainf))).to.deep.include({ backbone: record.name, decoder });
          }
        }
        if (record.weights.transformers) expect(stateOf(cfg()).has(record.weights.transformers.stem), 'the stem a BGR flip reverses').to.equal(true);
        if (record.weights.tf) {
          const { scope } = record.weights.tf;
          expect([...stateOf(cfg()).keys()].filter((k) => record.ownsParam(k)).every((k) => k.startsWith(`${scope}/`))).to.equal(true);
          expect(stateOf(cfg()).has(`${record.weights.tf.stem}/weights`), 'the stem its architecture is read from').to.equal(true);
        }
        // No other record's recogniser takes its parameters.
        for (const other of backboneRecords()) {
          if (other === record) continue;
          if (record.weights.torchvision) expect(other.weights.torchvision?.holds(stateOf(cfg())) ?? false, other.name).to.equal(false);
        }
      });

      it("keeps its architecture in our checkpoints' metadata under its own key, and reads it back", () => {
        const { architecture } = record;
        const w = zeroWeights(cfg());
        const { tensors, metadata } = checkpointContents(w);
        const fixed = checkpointContents(zeroWeights(defaultConfig('resnet50'))).metadata;
        if (architecture.metadataKey !== undefined) {
          expect(Object.keys(fixed), 'a key of every checkpoint').to.not.include(architecture.metadataKey);
          expect(JSON.parse(metadata[architecture.metadataKey])).to.deep.equal(architecture.toJson(w.architecture));
        } else {
          expect(Object.keys(metadata).sort()).to.deep.equal(Object.keys(fixed).sort());
        }
        const back = checkpointModel(w.name, `${w.name}.safetensors`, { tensors, metadata }, {});
        expect(architecture.toJson(back.architecture)).to.deep.equal(architecture.toJson(architecture.default));
        expect(architecture.toJson(architecture.fromJson(architecture.toJson(architecture.default), 'default'))).to.deep.equal(architecture.toJson(architecture.default));
      });

      it("exports to torchvision's state dict, or refuses naming why", () => {
        const w = zeroWeights(cfg());
        if (record.export.torchvision) {
          const state = torchvisionStateDict(w, w.params);
          expect([...state.keys()].filter((k) => !k.endsWith('.num_batches_tracked')).sort()).to.deep.equal([...w.params.keys()].sort());
        } else {
          const why = record.export.why;
          expect(why.length).to.be.greaterThan(20);
          expectThrows(() => torchvisionStateDict(w, w.params), why.slice(0, 40));
        }
      });
    });
  }
});

/** A folder on disk as a FileSet. */
function diskFiles(dir: string): FileSet {
  return { names: readdirSync(dir), read: (n) => readFileSync(join(dir, n)), what: dir };
}

/** A FileSet with one file cut to half its length. */
function withTruncated(files: FileSet, victim: string): FileSet {
  return { ...files, read: (n) => (n === victim ? files.read(n).subarray(0, files.read(n).length >> 1) : files.read(n)) };
}

/**
 * Bytes of each file format and the files of each folder format; `model` where they hold a whole
 * network (the TF zoo fixture is a tiny model of the zoo's layout, read as tensors only).
 */
type Sample = ({ bytes: Uint8Array; source: string } | { files: FileSet; victim: string }) & { model?: false };

function sampleOf(format: WeightFormatRecord): Sample {
  const zoo = sharedPath('fixtures', 'tf-zoo');
  switch (format.name) {
    case 'tflite':
      return { bytes: readFileSync(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite')), source: 'deeplabv3_257_mv_gpu.tflite' };
    case 'pth':
      return { bytes: readFileSync(sharedPath('fixtures', 'torchvision', 'deeplabv3_mobilenet_v3_large_random.pth')), source: 'mv3_random.pth' };
    case 'tf-zoo':
      return { bytes: readFileSync(join(zoo, 'deeplabv3_tiny_pascal_trainval_2018_01_29.tar.gz')), source: 'tiny.tar.gz', model: false };
    case 'tf-graph':
      return { bytes: readFileSync(join(zoo, 'deeplabv3_tiny_pascal_trainval', 'frozen_inference_graph.pb')), source: 'frozen_inference_graph.pb', model: false };
    case 'safetensors': {
      // Our own checkpoint, of the TF Lite model.
      const tfl = readFileSync(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'));
      const w = weightsFromBytes(tfl, 'tflite', 'mv2-257');
      const { tensors, metadata } = checkpointContents(w);
      return { bytes: safetensorsBytes(tensors, metadata), source: 'mv2-257.safetensors' };
    }
    case 'tf-folder':
      return { files: diskFiles(join(zoo, 'deeplabv3_tiny_pascal_trainval')), victim: 'model.ckpt-5.index', model: false };
    case 'hf-hub':
      return { files: diskFiles(sharedPath('fixtures', 'hf', 'deeplabv3-mobilevit-xx-small')), victim: 'model.safetensors' };
    case 'smp':
      return { files: diskFiles(writeSmpFolder('deeplabv3plus-mobilenet_v2').dir), victim: 'model.safetensors' };
    case 'npy-dir':
      return { files: diskFiles(sharedPath('weights', 'tf-deeplabv3-mnv2-pascal-trainval-513')), victim: 'MobilenetV2_Conv_Conv2D.npy' };
    case 'transformers-js': {
      // SegFormer (dynamo), its onnx/ subfolder's files named as the loader lists them.
      const dir = 'test/fixtures/hub-onnx/segformer-dynamo';
      const files = diskFiles(dir);
      return { files: { ...files, names: [...files.names, ...readdirSync(join(dir, 'onnx')).map((n) => `onnx/${n}`)] }, victim: 'onnx/model.onnx' };
    }
    case 'onnx':
      // The ONNX record's own small network, written as a file.
      return { bytes: writeOnnx(defaultOnnxArchitecture().model), source: 'small.onnx' };
  }
}

describe('model: every weights format record', function () {
  this.timeout(120_000);

  it('one record per name; one list of extensions, each ending one format', () => {
    expect(Object.keys(WEIGHT_FORMATS).sort()).to.deep.equal([...WEIGHT_FORMAT_NAMES].sort());
    for (const name of WEIGHT_FORMAT_NAMES) expect(WEIGHT_FORMATS[name].name).to.equal(name);
    expect(new Set(WEIGHT_EXTENSIONS).size, 'an extension claimed twice').to.equal(WEIGHT_EXTENSIONS.length);
    for (const f of weightFormats()) {
      for (const ext of f.extensions) {
        expect(formatOfName(`dir/model${ext.toUpperCase()}`)?.name, ext).to.equal(f.name);
        expect(looksLikeWeightsPath(`model${ext}`), ext).to.equal(true);
      }
    }
    expect(looksLikeWeightsPath('model.ckpt-30000')).to.equal(true);
    expect(looksLikeWeightsPath('mobilenetv2-pascal-257')).to.equal(false);
    expectThrows(() => weightFormat('keras'), /unknown weights format 'keras' \(expected one of tflite, pth/);
  });

  it('a file of no format is refused with its first bytes', () => {
    expectThrows(() => detectWeightFormat(new TextEncoder().encode('not weights at all'), 'notes.txt'), /notes\.txt: not a weights file we know \(expected TF Lite, .*; first bytes 6e 6f 74/);
  });

  for (const format of weightFormats()) {
    describe(`${format.name} (${format.title})`, () => {
      it('loads from bytes (or a folder\'s files), and refuses a truncated copy naming the file', () => {
        const sample = sampleOf(format);
        const { read } = format;
        let refuse: () => unknown;
        let victim: string;
        if ('bytes' in sample) {
          if (read.kind !== 'file') throw new Error(`${format.name}: a file sample for a folder format`);
          if (read.sniff) expect(detectWeightFormat(sample.bytes, 'unnamed').name, 'told by its first bytes').to.equal(format.name);
          expect(read.tensors(sample.bytes, sample.source).size, 'tensors').to.be.greaterThan(0);
          if (sample.model !== false) expect(weightsFromBytes(sample.bytes, format.name, sample.source, {}, sample.source).params.size).to.be.greaterThan(0);
          const cut = sample.bytes.subarray(0, sample.bytes.length >> 1);
          refuse = sample.model === false ? () => read.tensors(cut, sample.source) : () => weightsFromBytes(cut, format.name, sample.source, {}, sample.source);
          victim = sample.source;
        } else {
          if (read.kind !== 'folder') throw new Error(`${format.name}: a folder sample for a file format`);
          expect(read.recognise(sample.files)).to.equal(true);
          const ctx = { name: format.name, source: sample.files.what, opts: {}, hints: {} };
          expect(read.tensors(sample.files).size, 'tensors').to.be.greaterThan(0);
          if (sample.model !== false) expect(read.load(sample.files, ctx).params.size).to.be.greaterThan(0);
          const cut = withTruncated(sample.files, sample.victim);
          refuse = sample.model === false ? () => read.tensors(cut) : () => read.load(cut, ctx);
          victim = sample.victim;
        }
        const e = expectThrows(refuse, victim);
        expect(e).to.not.be.instanceOf(TypeError);
        expect(e).to.not.be.instanceOf(RangeError);
      });

      it('its mappings are sources a backbone record has, or our checkpoints', () => {
        expect(format.mappings.length).to.be.greaterThan(0);
        for (const m of format.mappings) {
          if (m === 'ours') continue;
          expect(backboneRecords().some((r) => r.weights[m] !== undefined), `a backbone with source ${m}`).to.equal(true);
        }
      });
    });
  }

  it('the page has exactly the file formats that say so', () => {
    const page = weightFormats().filter((f) => f.page);
    // One file's bytes, or a model folder's files handed over together (src/browser/hub-files.ts).
    expect(page.filter((f) => f.read.kind === 'folder').map((f) => f.name)).to.deep.equal(['smp', 'transformers-js', 'hf-hub']);
    // Sniffing for the page never answers a format it lacks.
    const pb = readFileSync(join(sharedPath('fixtures', 'tf-zoo'), 'deeplabv3_tiny_pascal_trainval', 'frozen_inference_graph.pb'));
    expect(detectWeightFormat(pb, 'graph.pb').name).to.equal('tf-graph');
    expectThrows(() => detectWeightFormat(pb, 'graph.pb', { page: true }), /graph\.pb: not a weights file we know/);
    // The page's entry (src/browser/load.ts) detects among the page's formats.
    expectThrows(() => pageWeightFormat(pb, 'graph.pb'), /graph\.pb: not a weights file we know/);
    const tflite = readFileSync(sharedPath('weights', 'deeplabv3_257_mv_gpu.tflite'));
    expect(pageWeightFormat(tflite, 'model')).to.equal('tflite');
  });
});

// The normalisations themselves: one record each, refusing an unknown name.
describe('io: input normalisations', () => {
  it('each is its mean and std on [0,1], and an unknown name is refused naming the known ones', () => {
    const r = rng();
    for (const n of Object.values(INPUT_NORMALIZATIONS)) {
      const img = { width: 1, height: 1, data: Uint8Array.from([0, 1, 2].map(() => Math.floor(r() * 256))) };
      const out = n.normalize(img);
      for (let c = 0; c < 3; c++) expect(Math.abs(out[c] - (img.data[c] / 255 - n.mean[c]) / n.std[c])).to.be.below(1e-5);
    }
    const names = Object.keys(INPUT_NORMALIZATIONS).map((k) => `'${k}'`);
    expect(names).to.include.members(["'imagenet'", "'imagenet_255'", "'minus_one_one'", "'unit'", "'unit_f32'", "'minus_one_one_f32'"]);
    expectThrows(() => inputNormalization('none'), `normalization must be ${names.join(' or ')}, got 'none'`);
  });
});
