// The model registry as data: weights/registry.json validates, the registry API serves exactly
// its models (the same ones the registry held when it was code), and a broken registry file is
// refused with an error naming the file, the model and the field.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL, REGISTRY, REGISTRY_FILE, findModel } from '../../src/model/loading/registry.js';
import { parseRegistry } from '../../src/model/loading/registry-data.js';

// dist/test/model/ -> the repository root.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function registryOnDisk(): { defaultModel: string; models: Record<string, unknown>[] } {
  return JSON.parse(readFileSync(`${ROOT}${REGISTRY_FILE}`, 'utf8'));
}

/** A copy of the registry file's contents with one model (by index) changed. */
function withModel(index: number, change: (model: Record<string, unknown>) => void): unknown {
  const data = registryOnDisk();
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
    // name, file, hash (full or prefix) and network, as they were before the move to data.
    const before: [string, string, string, string, number][] = [
      ['mobilenetv2-pascal-257', 'deeplabv3_257_mv_gpu.tflite', '68a539782c2c6a72f8aac3724600124a85ed977162b44e84cbae5db717c933c6', 'mobilenet_v2', 8],
      ['mobilenetv2-pascal-513', 'tf-deeplabv3-mnv2-pascal-trainval-513', '', 'mobilenet_v2', 8],
      ['resnet50-coco', 'deeplabv3_resnet50_coco-cd0a2569.pth', 'cd0a2569', 'resnet50', 8],
      ['resnet101-coco', 'deeplabv3_resnet101_coco-586e9e4e.pth', '586e9e4e', 'resnet101', 8],
      ['mobilenetv3-large-coco', 'deeplabv3_mobilenet_v3_large-fc3c493d.pth', 'fc3c493d', 'mobilenet_v3_large', 16],
    ];
    expect(REGISTRY.map((e) => e.name)).to.deep.equal(before.map((b) => b[0]));
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
    // Fields that are null in the file are absent from the entry, as before.
    expect(findModel('mobilenetv2-pascal-513')).to.not.have.any.keys('url', 'sha256', 'sha256Prefix');
    expect(findModel('resnet50-coco')).to.not.have.any.keys('sha256', 'licence');
    expect(() => findModel('resnet-34')).to.throw(/unknown model 'resnet-34'\. Known models: mobilenetv2-pascal-257, /);
  });

  it('refuses a model with a missing field, naming the file, the model and the field', () => {
    const broken = withModel(0, (m) => delete m.sha256);
    expect(() => parseRegistry(broken, REGISTRY_FILE)).to.throw(
      "weights/registry.json, model 'mobilenetv2-pascal-257': field 'sha256' is missing",
    );
    const noName = withModel(2, (m) => delete m.name);
    expect(() => parseRegistry(noName, REGISTRY_FILE)).to.throw("weights/registry.json, models[2]: field 'name' is missing");
  });

  it('refuses mistyped, misspelt and contradictory fields', () => {
    const cases: [unknown, RegExp][] = [
      [withModel(2, (m) => (m.numClasses = '21')), /model 'resnet50-coco': field 'numClasses' must be a positive integer, got string "21"/],
      [withModel(2, (m) => (m.network = { backbone: 'resnet34', outputStride: 8 })), /model 'resnet50-coco', field 'network': field 'backbone' must be one of/],
      [withModel(4, (m) => ((m.network as Record<string, unknown>).outputStride = 12)), /field 'outputStride' must be one of 8, 16, 32, got number 12/],
      [withModel(0, (m) => (m.inputSize = [257])), /field 'inputSize' must be \[height, width\]/],
      [withModel(0, (m) => (m.sha256 = 'ABC')), /field 'sha256' must be 64 lower-case hex digits or null/],
      [withModel(0, (m) => ((m.sha265 = m.sha256), delete m.sha256)), /unknown field 'sha265'/],
      [withModel(0, (m) => (m.format = 'onnx')), /field 'format' must be one of "tflite", "npy-dir", "pth", "safetensors"/],
      [withModel(0, (m) => (m.url = 'http://example.com/x.tflite')), /field 'url' must be an https address/],
      [withModel(0, (m) => (m.fileName = '../x.tflite')), /field 'fileName' must be a plain file or folder name/],
      [withModel(0, (m) => (m.licence = '')), /field 'licence' must be a non-empty string, got string ""/],
      [withModel(0, (m) => (m.sha256 = null)), /a model with a download 'url' needs 'sha256' or 'sha256Prefix'/],
      [withModel(2, (m) => (m.sha256Prefix = 'deadbeef')), /'sha256Prefix' deadbeef is not part of fileName/],
      [withModel(1, (m) => (m.url = 'https://example.com/weights')), /an 'npy-dir' model is a folder/],
      [withModel(3, (m) => (m.name = 'resnet50-coco')), /model 'resnet50-coco': name resnet50-coco is used by two models/],
      [{ ...registryOnDisk(), defaultModel: 'resnet-34' }, /defaultModel 'resnet-34' is not one of the models/],
      [{ ...registryOnDisk(), models: [] }, /field 'models' must be a non-empty array/],
      [[], /weights\/registry\.json: must hold a JSON object, got an array/],
    ];
    for (const [data, message] of cases) {
      expect(() => parseRegistry(data, REGISTRY_FILE), String(message)).to.throw(message);
    }
  });
});
