// The model registry as data: weights/registry.json validates, the registry API serves exactly
// its models (the same ones the registry held when it was code), and a broken registry file is
// refused with an error naming the file, the model and the field.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL, REGISTRY, REGISTRY_FILE, findModel } from '../../src/model/loading/registry.js';
import { parseRegistry } from '../../src/model/loading/registry-data.js';
import { entryHints } from '../../src/model/loading/load-weights.js';
import { expectThrows } from '../helpers.js';

// dist/test/model/ -> the repository root.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function registryOnDisk(): { defaultModel: string; models: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(`${ROOT}${REGISTRY_FILE}`, 'utf8'));
}

/** A copy of the registry file's contents with one model (by index or name) changed. */
function withModel(which: number | string, change: (model: Record<string, unknown>) => void): unknown {
  const data = registryOnDisk();
  const index = typeof which === 'number' ? which : data.models.findIndex((m) => m.name === which);
  change(data.models[index]);
  return data;
}

describe('model: registry data (weights/registry.json)', () => {
  it('validates, and the registry API serves exactly its models', () => {
    const parsed = parseRegistry(registryOnDisk(), REGISTRY_FILE);
    expect(REGISTRY).to.deep.equal(parsed.models);
    expect(DEFAULT_MODEL).to.equal(parsed.defaultModel);
  });

  it('holds the models the code-based registry held, each found by name', () => {
    // name, file, hash (full or prefix) and network, as they were before the move to data; the
    // 513 model is now the zoo tarball, its converted .npy folder still accepted as a local copy.
    const before: [string, string, string, string, number][] = [
      ['mobilenetv2-pascal-257', 'deeplabv3_257_mv_gpu.tflite', '68a539782c2c6a72f8aac3724600124a85ed977162b44e84cbae5db717c933c6', 'mobilenet_v2', 8],
      ['mobilenetv2-pascal-513', 'deeplabv3_mnv2_pascal_trainval_2018_01_29.tar.gz', '2b7fe43461c2d9d56b3ed6baed5547fc066361ba12ab84c8e85f0c31914c034f', 'mobilenet_v2', 8],
      ['resnet50-coco', 'deeplabv3_resnet50_coco-cd0a2569.pth', 'cd0a2569', 'resnet50', 8],
      ['resnet101-coco', 'deeplabv3_resnet101_coco-586e9e4e.pth', '586e9e4e', 'resnet101', 8],
      ['mobilenetv3-large-coco', 'deeplabv3_mobilenet_v3_large-fc3c493d.pth', 'fc3c493d', 'mobilenet_v3_large', 16],
    ];
    const names = REGISTRY.map((e) => e.name);
    expect(before.map((b) => names.indexOf(b[0])).every((i, k, all) => i >= 0 && (k === 0 || i > all[k - 1])), 'in their old order').to.equal(true);
    expect(DEFAULT_MODEL).to.equal('mobilenetv2-pascal-257');
    for (const [name, fileName, hash, backbone, outputStride] of before) {
      const e = findModel(name);
      expect(e.name).to.equal(name);
      expect(e.fileName, name).to.equal(fileName);
      expect(e.sha256 ?? e.sha256Prefix ?? '', name).to.equal(hash);
      expect(e.backbone, name).to.equal(backbone);
      expect(e.outputStride, name).to.equal(outputStride);
      expect(e.numClasses, name).to.equal(21);
      expect(e.source, name).to.be.a('string');
      if (e.url !== undefined) expect(new URL(e.url).protocol, name).to.equal('https:');
    }
    expect(findModel('mobilenetv2-pascal-513').localCopies).to.include('tf-deeplabv3-mnv2-pascal-trainval-513');
    // Fields that are null in the file are absent from the entry, as before.
    expect(findModel('resnet50-coco')).to.not.have.any.keys('sha256', 'licence', 'mmsegConfig', 'localCopies');
    expectThrows(() => findModel('resnet-34'), /unknown model 'resnet-34'\. Known models: mobilenetv2-pascal-257, /);
  });

  it("holds mmseg's DeepLabv3 zoo files and TF's MobileNetV2 tarballs with their addresses, checks and scores", () => {
    const mmseg = REGISTRY.filter((e) => e.mmsegConfig);
    const required = [
      'deeplabv3_r50-d8_512x1024_80k_cityscapes', 'deeplabv3_r101-d8_512x1024_80k_cityscapes',
      'deeplabv3_r50-d8_769x769_80k_cityscapes', 'deeplabv3_r101-d8_769x769_80k_cityscapes',
      'deeplabv3_r50-d8_512x512_160k_ade20k', 'deeplabv3_r101-d8_512x512_160k_ade20k',
      'deeplabv3_r50-d8_512x512_40k_voc12aug', 'deeplabv3_r101-d8_512x512_20k_voc12aug',
    ];
    expect(mmseg.map((e) => e.mmsegConfig)).to.include.members(required);
    for (const e of mmseg) {
      const config = e.mmsegConfig!;
      // The zoo serves each config under its folder: configs/deeplabv3, deeplabv3plus or mobilenet_v2.
      const folder = config.includes('_m-v2-') ? 'mobilenet_v2' : config.split('_')[0];
      expect(e.url, e.name).to.equal(`https://download.openmmlab.com/mmsegmentation/v0.5/${folder}/${config}/${e.fileName}`);
      expect(e.fileName, e.name).to.match(new RegExp(`^${config}_\\d{8}_\\d{6}-${e.sha256Prefix}\\.pth$`));
      expect(e.format, e.name).to.equal('pth');
      expect(e.published!.mIoU, e.name).to.be.within(e.backbone === 'mmseg_mobilenet_v2' ? 30 : 40, 82);
      if (config.includes('pascal_context')) {
        // Pascal Context has no class set here: its files' meta names the classes.
        expect(e.classSet, e.name).to.equal(undefined);
        expect(e.numClasses, e.name).to.equal(config.endsWith('_59') ? 59 : 60);
        continue;
      }
      const classSet = config.endsWith('cityscapes') ? 'cityscapes' : config.endsWith('ade20k') ? 'ade20k' : 'voc';
      expect(e.classSet, e.name).to.equal(classSet);
      expect(e.numClasses, e.name).to.equal({ cityscapes: 19, ade20k: 150, voc: 21 }[classSet]);
    }
    expect(findModel('mmseg-r50-d8-cityscapes-512x1024').published).to.deep.equal({ mIoU: 79.32, evaluation: 'Cityscapes val, single scale (mmsegmentation)' });
    const tf = REGISTRY.filter((e) => e.format === 'tf-zoo');
    expect(tf.map((e) => e.fileName)).to.have.members([
      'deeplabv3_mnv2_pascal_trainval_2018_01_29.tar.gz',
      'deeplabv3_mnv2_pascal_train_aug_2018_01_29.tar.gz',
      'deeplabv3_mnv2_cityscapes_train_2018_02_05.tar.gz',
      'deeplabv3_pascal_train_aug_2018_01_04.tar.gz',
      'deeplabv3_pascal_trainval_2018_01_04.tar.gz',
      'deeplabv3_cityscapes_train_2018_02_06.tar.gz',
      'deeplabv3_xception_ade20k_train_2018_05_29.tar.gz',
      'deeplabv3_mnv2_ade20k_train_2018_12_03.tar.gz',
      'deeplab_mnv3_large_cityscapes_trainfine_2019_11_15.tar.gz',
      'deeplab_mnv3_small_cityscapes_trainfine_2019_11_15.tar.gz',
    ]);
    // TF DeepLab's Xception-65 zoo (model_zoo.md): single-scale OS 16 scores where the zoo gives one.
    const xception = Object.fromEntries(tf.filter((e) => e.backbone === 'xception_65').map((e) => [e.name, [e.published!.mIoU, e.numClasses, e.classSet ?? null, e.outputStride]]));
    expect(xception).to.deep.equal({
      'xception65-pascal-trainaug-513': [82.2, 21, 'voc', 16],
      'xception65-pascal-trainval-513': [87.8, 21, 'voc', 16],
      'xception65-cityscapes': [78.79, 19, 'cityscapes', 16],
      'xception65-ade20k-513': [45.65, 151, 'ade20k-tf', 16],
    });
    for (const e of tf) expect(e.url, e.name).to.equal(`https://storage.googleapis.com/download.tensorflow.org/models/${e.fileName}`);
    expect(findModel('mobilenetv2-pascal-trainaug-513')).to.include({ size: 23882985 });
    expect(findModel('mobilenetv2-pascal-trainaug-513').sha384).to.have.length(96);
    expect(findModel('mobilenetv2-cityscapes')).to.include({ numClasses: 19, classSet: 'cityscapes' });
    // TF's ADE20K models: 'other' first, then SceneParsing's 150.
    expect(entryHints(findModel('xception65-ade20k-513')).classes!.names.slice(0, 3)).to.deep.equal(['other', 'wall', 'building']);
    // The MobileNetV3 Cityscapes models (model_zoo.md): output stride 32, single scale.
    const mnv3 = Object.fromEntries(tf.filter((e) => e.backbone.startsWith('mobilenet_v3_')).map((e) => [e.name, [e.backbone, e.published!.mIoU, e.numClasses, e.classSet, e.outputStride]]));
    expect(mnv3).to.deep.equal({
      'mobilenetv3-large-cityscapes': ['mobilenet_v3_large_seg', 72.41, 19, 'cityscapes', 32],
      'mobilenetv3-small-cityscapes': ['mobilenet_v3_small_seg', 68.99, 19, 'cityscapes', 32],
    });
    // The ADE20K MobileNetV2 (model_zoo.md): DeepLabv3+ at 257x257, OS 16, 151 classes.
    expect(findModel('mobilenetv2-ade20k-257')).to.deep.include({ backbone: 'mobilenet_v2', outputStride: 16, inputSize: [257, 257], numClasses: 151, classSet: 'ade20k-tf', published: { mIoU: 32.04, evaluation: 'ADE20K val, output stride 16, single scale (the model zoo; pixel accuracy 75.41 %)' } });
    // What an entry adds to its file when loaded: mmseg's test pipeline from its config name, its classes.
    const hints = entryHints(findModel('mmseg-r101-d8-cityscapes-769x769'));
    expect(hints.mmseg).to.deep.include({ outputStride: 8, testScale: [2049, 1025], slide: { crop: 769, stride: 513 }, alignCorners: true });
    expect(hints.classes!.names[0]).to.equal('road');
    expect(entryHints(findModel('mmseg-r101-d16-mg124-cityscapes-512x1024')).mmseg).to.deep.include({ outputStride: 16, multiGrid: [1, 2, 4], asppRates: [6, 12, 18], slide: null });
    expect(entryHints(findModel('mmseg-r50-d8-ade20k-512x512')).classes!.names).to.have.length(150);
    // DeepLabv3+ and MobileNetV2 entries, with mmseg's published scores.
    expect(findModel('mmseg-v3plus-r18-d8-cityscapes-512x1024')).to.deep.include({ backbone: 'resnet18', sha256Prefix: 'cff257fe', published: { mIoU: 76.89, evaluation: 'Cityscapes val, single scale (mmsegmentation)' } });
    expect(findModel('mmseg-v3plus-m-v2-d8-ade20k-512x512')).to.deep.include({ backbone: 'mmseg_mobilenet_v2', numClasses: 150, published: { mIoU: 34.02, evaluation: 'ADE20K val, single scale (mmsegmentation)' } });
    expect(entryHints(findModel('mmseg-v3plus-r101-d8-pascal-context-480x480')).mmseg).to.deep.include({ testScale: [520, 520], slide: { crop: 480, stride: 320 } });
    expect(entryHints(findModel('mmseg-m-v2-d8-cityscapes-512x1024')).mmseg).to.deep.include({ outputStride: 8, asppRates: [12, 24, 36], testScale: [2048, 1024] });
  });

  it("holds the four hub models, each file at the hub's address, unchecked files explained", () => {
    const hub: [string, string, string, number][] = [
      ['mobilevit-xx-small-voc', 'apple/deeplabv3-mobilevit-xx-small', 'mobilevit', 16],
      ['mobilevit-x-small-voc', 'apple/deeplabv3-mobilevit-x-small', 'mobilevit', 16],
      ['mobilevit-small-voc', 'apple/deeplabv3-mobilevit-small', 'mobilevit', 16],
      ['mobilenetv2-hf-voc-513', 'google/deeplabv3_mobilenet_v2_1.0_513', 'mobilenet_v2', 8],
    ];
    for (const [name, repo, backbone, outputStride] of hub) {
      const e = findModel(name);
      expect(e.format, name).to.equal('hf-hub');
      expect([e.backbone, e.outputStride], name).to.deep.equal([backbone, outputStride]);
      expect(e.source, name).to.contain(repo);
      expect(e.files!.map((f) => f.name), name).to.include.members(['config.json', 'preprocessor_config.json']);
      for (const f of e.files!) expect(f.url, name).to.equal(`https://huggingface.co/${repo}/resolve/main/${f.name}`);
      if (e.files!.some((f) => f.size === undefined && f.sha256 === undefined)) expect(e.note, name).to.match(/no size or sha256/);
    }
  });

  it('refuses a model with a missing field, naming the file, the model and the field', () => {
    const broken = withModel(0, (m) => delete m.sha256);
    expectThrows(() => parseRegistry(broken, REGISTRY_FILE), "weights/registry.json, model 'mobilenetv2-pascal-257': field 'sha256' is missing");
    const noName = withModel(2, (m) => delete m.name);
    expectThrows(() => parseRegistry(noName, REGISTRY_FILE), "weights/registry.json, models[2]: field 'name' is missing");
  });

  it('refuses mistyped, misspelt and contradictory fields', () => {
    const cases: [unknown, RegExp][] = [
      [withModel('resnet50-coco', (m) => (m.numClasses = '21')), /model 'resnet50-coco': field 'numClasses' must be a positive integer, got string "21"/],
      [withModel('resnet50-coco', (m) => (m.network = { backbone: 'resnet34', outputStride: 8 })), /model 'resnet50-coco', field 'network': field 'backbone' must be one of/],
      [withModel('mobilenetv3-large-coco', (m) => ((m.network as Record<string, unknown>).outputStride = 12)), /field 'outputStride' must be one of 8, 16, 32, got number 12/],
      [withModel(0, (m) => (m.inputSize = [257])), /field 'inputSize' must be \[height, width\]/],
      [withModel(0, (m) => (m.sha256 = 'ABC')), /field 'sha256' must be 64 lower-case hex digits or null/],
      [withModel(0, (m) => ((m.sha265 = m.sha256), delete m.sha256)), /unknown field 'sha265'/],
      [withModel(0, (m) => (m.format = 'keras')), /field 'format' must be one of "tflite", "pth", "tf-zoo", "safetensors", "onnx", "hf-hub", "npy-dir"/],
      [withModel(0, (m) => (m.url = 'http://example.com/x.tflite')), /field 'url' must be an https address/],
      [withModel(0, (m) => (m.fileName = '../x.tflite')), /field 'fileName' must be a plain file or folder name/],
      [withModel(0, (m) => (m.licence = '')), /field 'licence' must be a non-empty string, got string ""/],
      [withModel(0, (m) => (m.sha256 = null)), /a model with a download 'url' needs 'sha256', 'sha256Prefix' or 'sha384'/],
      [withModel(0, (m) => (m.sha384 = 'a'.repeat(96))), /give one of 'sha256', 'sha256Prefix' and 'sha384', not several/],
      [withModel('resnet50-coco', (m) => (m.sha256Prefix = 'deadbeef')), /'sha256Prefix' deadbeef is not part of fileName/],
      [withModel('mobilenetv2-pascal-513', (m) => ((m.format = 'npy-dir'), (m.url = 'https://example.com/weights'))), /an 'npy-dir' model is a folder/],
      [withModel('resnet101-coco', (m) => (m.name = 'resnet50-coco')), /model 'resnet50-coco': name resnet50-coco is used by two models/],
      [withModel('mmseg-r50-d8-ade20k-512x512', (m) => ((m.network as Record<string, unknown>).backbone = 'resnet101')), /'mmsegConfig' deeplabv3_r50-d8_512x512_160k_ade20k is a ResNet-50, but network\.backbone is resnet101/],
      [withModel('mmseg-r50-d8-ade20k-512x512', (m) => (m.mmsegConfig = 'pspnet_r50-d8')), /field 'mmsegConfig' must be an mmseg DeepLabv3 or DeepLabv3\+ config name/],
      [withModel('mmseg-r50-d8-ade20k-512x512', (m) => (m.classSet = 'coco')), /field 'classSet' must be one of "voc", "cityscapes", "ade20k"/],
      [withModel('mmseg-r50-d8-ade20k-512x512', (m) => (m.published = { mIoU: 142 })), /field 'mIoU' must be a percentage/],
      [withModel('mobilenetv2-pascal-513', (m) => (m.localCopies = ['deeplabv3_257_mv_gpu.tflite'])), /local copy deeplabv3_257_mv_gpu\.tflite is another model's fileName/],
      [withModel('mobilevit-xx-small-voc', (m) => (m.note = null)), /model 'mobilevit-xx-small-voc': files config\.json, preprocessor_config\.json, pytorch_model\.bin have neither 'size' nor 'sha256': the 'note' must say why/],
      [withModel('mobilevit-xx-small-voc', (m) => (m.format = 'pth')), /'files' are for a folder format, not a 'pth' model/],
      [withModel('mobilevit-xx-small-voc', (m) => (m.url = 'https://huggingface.co/x')), /a model of 'files' is checked file by file/],
      [withModel('mobilevit-xx-small-voc', (m) => ((m.files as Record<string, unknown>[])[0].url = 'http://huggingface.co/x')), /files\[0\]: field 'url' must be an https address/],
      [withModel('mobilevit-xx-small-voc', (m) => ((m.files as Record<string, unknown>[])[1].name = '../x.json')), /files\[1\]: field 'name' must be a plain file name/],
      [{ ...registryOnDisk(), defaultModel: 'resnet-34' }, /defaultModel 'resnet-34' is not one of the models/],
      [{ ...registryOnDisk(), models: [] }, /field 'models' must be a non-empty array/],
      [[], /weights\/registry\.json: must hold a JSON object, got an array/],
    ];
    for (const [data, message] of cases) {
      expectThrows(() => parseRegistry(data, REGISTRY_FILE), message, String(message));
    }
  });
});
