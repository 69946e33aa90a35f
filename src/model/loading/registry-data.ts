// The registry's data format (weights/registry.json) and its validation. Every field must be
// present (null where a model has no value), and a missing, mistyped or unknown field is an
// error naming the file and the model, so a typo in the data never turns into a model that is
// downloaded unchecked or built with the wrong network.
import { type BackboneName, BACKBONE_NAMES } from '../networks/backbone-names.js';
import type { WeightFormatName } from './formats/names.js';
import { REGISTRY_FORMATS, weightFormat } from './formats/registry.js';

export type { WeightFormatName as WeightFormat } from './formats/names.js';
export type { BackboneName as Backbone } from '../networks/backbone-names.js';

/** Datasets whose class names and colours the package knows (src/model/datasets.ts). */
export type ClassSetName = 'voc' | 'cityscapes' | 'ade20k' | 'ade20k-tf';

/** A published accuracy: the mean IoU and how it was measured. */
export interface PublishedScore {
  mIoU: number;
  /** The split and protocol (e.g. 'Cityscapes val, single scale'). */
  evaluation: string;
}

export interface RegistryEntry {
  name: string;
  description: string;
  format: WeightFormatName;
  /** File (or folder, for npy-dir) name looked up in DEEPLAB_WEIGHTS_DIR and the cache. */
  fileName: string;
  /** Official download address; absent where only a local copy can be used. */
  url?: string;
  /** Full sha256 of the file, where published. */
  sha256?: string;
  /** First hex digits of the sha256 carried in the file name (torchvision's and mmseg's convention). */
  sha256Prefix?: string;
  /** Full sha384 of the file, where that is what was published (and no sha256). */
  sha384?: string;
  /** The file's size in bytes, where known: a download of another size is refused before hashing. */
  size?: number;
  /**
   * A folder model's files, each downloaded from its own address into the folder `fileName`
   * (a Hugging Face hub repository: config.json, preprocessor_config.json, the weights).
   */
  files?: RegistryFile[];
  /** What a user should know that the other fields do not say (why a file has no checksum). */
  note?: string;
  /** Folders holding the same weights in another form (a converted .npy folder, the unpacked tarball), also accepted locally. */
  localCopies?: string[];
  /** mmseg models: the mmseg config the file was trained with (DeepLabv3 or DeepLabv3+), which fixes its dilations and test pipeline. */
  mmsegConfig?: string;
  /** The dataset whose class names and colours the model predicts (when the file names none). */
  classSet?: ClassSetName;
  /** The accuracy its source publishes. */
  published?: PublishedScore;
  /** The network that reads it. */
  backbone: BackboneName;
  /** Fixed input size of the graph ([height, width]) or null for "the image's own size". */
  inputSize: [number, number] | null;
  outputStride: number;
  numClasses: number;
  dataset: string;
  /** Upstream project the weights come from (set for every entry of weights/registry.json). */
  source?: string;
  /** Licence of the weights as stated by their source; absent where the project has no record of it. */
  licence?: string;
}

/** One file of a folder model: its name in the folder, its address, and its checks where known. */
export interface RegistryFile {
  name: string;
  url: string;
  size?: number;
  sha256?: string;
}

export interface RegistryData {
  defaultModel: string;
  models: RegistryEntry[];
}

const CLASS_SETS: readonly ClassSetName[] = ['voc', 'cityscapes', 'ade20k', 'ade20k-tf'];
const OUTPUT_STRIDES: readonly number[] = [8, 16, 32];
const TOP_FIELDS = ['defaultModel', 'models'];
const MODEL_FIELDS = [
  'name', 'description', 'source', 'licence', 'format', 'fileName', 'localCopies', 'url', 'files', 'size', 'sha256', 'sha256Prefix', 'sha384', 'note',
  'network', 'mmsegConfig', 'inputSize', 'numClasses', 'dataset', 'classSet', 'published',
];
const PUBLISHED_FIELDS = ['mIoU', 'evaluation'];
const FILE_FIELDS = ['name', 'url', 'size', 'sha256'];
const NETWORK_FIELDS = ['backbone', 'outputStride'];

type Fields = Record<string, unknown>;

function shown(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Reads and checks one object's fields; every error says where (file and model). */
class FieldReader {
  constructor(
    private readonly fields: Fields,
    private readonly where: string,
  ) {}

  fail(message: string): never {
    throw new Error(`${this.where}: ${message}`);
  }

  /** Refuses fields the format does not know (a misspelt optional field would otherwise vanish). */
  onlyKnown(known: readonly string[]): void {
    const unknown = Object.keys(this.fields).filter((k) => !known.includes(k));
    if (unknown.length) this.fail(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${known.join(', ')})`);
  }

  get(key: string): unknown {
    if (!Object.hasOwn(this.fields, key)) this.fail(`field '${key}' is missing`);
    return this.fields[key];
  }

  string(key: string): string {
    const v = this.get(key);
    if (typeof v !== 'string' || v.trim() === '') this.fail(`field '${key}' must be a non-empty string, got ${shown(v)}`);
    return v;
  }

  /** A string, or null where the model has no value; never absent. */
  stringOrNull(key: string): string | null {
    return this.get(key) === null ? null : this.string(key);
  }

  matching(key: string, pattern: RegExp, what: string): string {
    const v = this.string(key);
    if (!pattern.test(v)) this.fail(`field '${key}' must be ${what}, got ${shown(v)}`);
    return v;
  }

  matchingOrNull(key: string, pattern: RegExp, what: string): string | null {
    return this.get(key) === null ? null : this.matching(key, pattern, what);
  }

  oneOf<T extends string | number>(key: string, allowed: readonly T[]): T {
    const v = this.get(key);
    if (!allowed.includes(v as T)) this.fail(`field '${key}' must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${shown(v)}`);
    return v as T;
  }

  positiveInt(key: string): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(`field '${key}' must be a positive integer, got ${shown(v)}`);
    return v;
  }

  object(key: string): FieldReader {
    const v = this.get(key);
    if (!isFields(v)) this.fail(`field '${key}' must be an object, got ${shown(v)}`);
    return new FieldReader(v, `${this.where}, field '${key}'`);
  }
}

function isFields(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readInputSize(r: FieldReader): [number, number] | null {
  const v = r.get('inputSize');
  if (v === null) return null;
  const ok = Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number' && Number.isInteger(n) && n > 0);
  if (!ok) r.fail(`field 'inputSize' must be [height, width] (positive integers) or null, got ${shown(v)}`);
  return [v[0], v[1]];
}

/** A folder model's files: plain names, https addresses, a size and sha256 or null each. */
function readFiles(r: FieldReader, what: string): RegistryFile[] | null {
  const v = r.get('files');
  if (v === null) return null;
  if (!Array.isArray(v) || v.length === 0) r.fail(`field 'files' must be null or a non-empty list of files, got ${shown(v)}`);
  return (v as unknown[]).map((f, i) => {
    if (!isFields(f)) r.fail(`files[${i}] must be an object, got ${shown(f)}`);
    const fr = new FieldReader(f as Fields, `${what}, files[${i}]`);
    fr.onlyKnown(FILE_FIELDS);
    const file: RegistryFile = { name: fr.matching('name', /^(?!\.\.?$)[^/\\]+$/, 'a plain file name (no path)'), url: readUrl(fr) ?? fr.fail("field 'url' must be an https address, got null") };
    if (fr.get('size') !== null) file.size = fr.positiveInt('size');
    const sha256 = fr.matchingOrNull('sha256', /^[0-9a-f]{64}$/, '64 lower-case hex digits or null');
    if (sha256 !== null) file.sha256 = sha256;
    return file;
  });
}

function readUrl(r: FieldReader): string | null {
  const url = r.stringOrNull('url');
  if (url === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    r.fail(`field 'url' is not a valid URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'https:') r.fail(`field 'url' must be an https address, got ${JSON.stringify(url)}`);
  return url;
}

function readModel(value: unknown, index: number, file: string): RegistryEntry {
  const at = `${file}, models[${index}]`;
  if (!isFields(value)) throw new Error(`${at}: must be an object, got ${shown(value)}`);
  // The name first, so every later error can say which model it is about.
  const name = new FieldReader(value, at).matching('name', /^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes');
  const r = new FieldReader(value, `${file}, model '${name}'`);
  r.onlyKnown(MODEL_FIELDS);

  const format = r.oneOf('format', REGISTRY_FORMATS);
  const fileName = r.matching('fileName', /^(?!\.\.?$)[^/\\]+$/, 'a plain file or folder name (no path)');
  const url = readUrl(r);
  const sha256 = r.matchingOrNull('sha256', /^[0-9a-f]{64}$/, '64 lower-case hex digits or null');
  const sha256Prefix = r.matchingOrNull('sha256Prefix', /^[0-9a-f]{8,63}$/, '8 to 63 lower-case hex digits or null');
  const sha384 = r.matchingOrNull('sha384', /^[0-9a-f]{96}$/, '96 lower-case hex digits or null');
  if ([sha256, sha256Prefix, sha384].filter((h) => h !== null).length > 1) r.fail("give one of 'sha256', 'sha256Prefix' and 'sha384', not several");
  if (sha256Prefix !== null && !fileName.includes(sha256Prefix)) {
    r.fail(`'sha256Prefix' ${sha256Prefix} is not part of fileName ${fileName} (the prefix is the one the file name carries)`);
  }
  const size = r.get('size') === null ? null : r.positiveInt('size');
  const copies = r.get('localCopies');
  if (copies !== null && (!Array.isArray(copies) || copies.length === 0 || !copies.every((c) => typeof c === 'string' && /^(?!\.\.?$)[^/\\]+$/.test(c)))) {
    r.fail(`field 'localCopies' must be null or a non-empty list of plain folder names, got ${shown(copies)}`);
  }
  if (format === 'npy-dir' && (url !== null || sha256 !== null || sha256Prefix !== null || sha384 !== null || size !== null)) {
    // A folder is neither downloaded nor hashed: such values would be silently ignored.
    r.fail("an 'npy-dir' model is a folder: 'url', 'size', 'sha256', 'sha256Prefix' and 'sha384' must be null");
  }
  const files = readFiles(r, `${file}, model '${name}'`);
  const note = r.stringOrNull('note');
  if (files !== null) {
    if (weightFormat(format).read.kind !== 'folder') r.fail(`'files' are for a folder format, not a '${format}' model`);
    if (url !== null || sha256 !== null || sha256Prefix !== null || sha384 !== null || size !== null) {
      r.fail("a model of 'files' is checked file by file: 'url', 'size', 'sha256', 'sha256Prefix' and 'sha384' must be null");
    }
    // A file downloaded unchecked is allowed only where the entry says why.
    const unchecked = files.filter((f) => f.size === undefined && f.sha256 === undefined);
    if (unchecked.length && note === null) r.fail(`files ${unchecked.map((f) => f.name).join(', ')} have neither 'size' nor 'sha256': the 'note' must say why`);
  }

  // A TF zoo tarball whose checksum was never published is still checked: every block and every
  // tensor of its checkpoint carries a CRC-32C that the reader verifies.
  if (url !== null && sha256 === null && sha256Prefix === null && sha384 === null && format !== 'tf-zoo') {
    r.fail("a model with a download 'url' needs 'sha256', 'sha256Prefix' or 'sha384', so that the download is checked");
  }

  const network = r.object('network');
  network.onlyKnown(NETWORK_FIELDS);
  const entry: RegistryEntry = {
    name,
    description: r.string('description'),
    format,
    fileName,
    backbone: network.oneOf('backbone', BACKBONE_NAMES),
    inputSize: readInputSize(r),
    outputStride: network.oneOf('outputStride', OUTPUT_STRIDES),
    numClasses: r.positiveInt('numClasses'),
    dataset: r.string('dataset'),
    source: r.string('source'),
  };
  const licence = r.stringOrNull('licence');
  const mmsegConfig = r.matchingOrNull(
    'mmsegConfig',
    /^deeplabv3(plus)?_(r(18|50|101)b?|m-v2)-d(8|16-mg124)_[\w-]+$/,
    "an mmseg DeepLabv3 or DeepLabv3+ config name ('deeplabv3_r50-d8_512x1024_40k_cityscapes', 'deeplabv3plus_m-v2-d8_512x512_160k_ade20k') or null",
  );
  if (mmsegConfig !== null && format !== 'pth') r.fail(`'mmsegConfig' is for mmseg's .pth files, not a '${format}' model`);
  if (mmsegConfig !== null) {
    // The config name fixes the backbone and the output stride: the network fields must agree.
    const [, net, depth, stride] = /^deeplabv3(?:plus)?_(r(\d+)b?|m-v2)-d(\d+)/.exec(mmsegConfig)!;
    const [backbone, title] = net === 'm-v2' ? ['mmseg_mobilenet_v2', 'a MobileNetV2'] : [`resnet${depth}`, `a ResNet-${depth}`];
    if (backbone !== entry.backbone) r.fail(`'mmsegConfig' ${mmsegConfig} is ${title}, but network.backbone is ${entry.backbone}`);
    if (Number(stride) !== entry.outputStride) r.fail(`'mmsegConfig' ${mmsegConfig} runs at output stride ${stride}, but network.outputStride is ${entry.outputStride}`);
  }
  const classSet = r.get('classSet') === null ? null : r.oneOf('classSet', CLASS_SETS);
  const published = r.get('published') === null ? null : r.object('published');
  if (url !== null) entry.url = url;
  if (copies !== null) entry.localCopies = [...(copies as string[])];
  if (files !== null) entry.files = files;
  if (note !== null) entry.note = note;
  if (size !== null) entry.size = size;
  if (sha256 !== null) entry.sha256 = sha256;
  if (sha256Prefix !== null) entry.sha256Prefix = sha256Prefix;
  if (sha384 !== null) entry.sha384 = sha384;
  if (licence !== null) entry.licence = licence;
  if (mmsegConfig !== null) entry.mmsegConfig = mmsegConfig;
  if (classSet !== null) entry.classSet = classSet;
  if (published !== null) {
    published.onlyKnown(PUBLISHED_FIELDS);
    const mIoU = published.get('mIoU');
    if (typeof mIoU !== 'number' || !(mIoU > 0 && mIoU <= 100)) published.fail(`field 'mIoU' must be a percentage in (0, 100], got ${shown(mIoU)}`);
    entry.published = { mIoU: mIoU as number, evaluation: published.string('evaluation') };
  }
  return entry;
}

/**
 * Validates the parsed contents of a registry file (`file` is only used in error messages) and
 * returns its models in the form the rest of the package reads.
 */
export function parseRegistry(data: unknown, file: string): RegistryData {
  if (!isFields(data)) throw new Error(`${file}: must hold a JSON object, got ${shown(data)}`);
  const top: FieldReader = new FieldReader(data, file);
  top.onlyKnown(TOP_FIELDS);
  const list = top.get('models');
  if (!Array.isArray(list) || list.length === 0) top.fail(`field 'models' must be a non-empty array, got ${shown(list)}`);
  const models = list.map((m, i) => readModel(m, i, file));

  for (const key of ['name', 'fileName'] as const) {
    const seen = new Set<string>();
    for (const m of models) {
      if (seen.has(m[key])) throw new Error(`${file}, model '${m.name}': ${key} ${m[key]} is used by two models`);
      seen.add(m[key]);
    }
  }
  const files = new Set(models.map((m) => m.fileName));
  for (const m of models) {
    for (const c of m.localCopies ?? []) if (files.has(c)) throw new Error(`${file}, model '${m.name}': local copy ${c} is another model's fileName`);
  }
  const defaultModel = top.string('defaultModel');
  if (!models.some((m) => m.name === defaultModel)) {
    top.fail(`defaultModel '${defaultModel}' is not one of the models (${models.map((m) => m.name).join(', ')})`);
  }
  return { defaultModel, models };
}
