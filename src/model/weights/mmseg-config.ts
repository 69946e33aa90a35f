// What an mmseg checkpoint's state dict cannot tell, read from where mmseg records it: the config
// text saved in the checkpoint's meta (0.x `config`, 1.x `cfg`: the training config as Python
// source), else the config's name (in the file name: `deeplabv3_r101-d16-mg124_512x1024_40k_
// cityscapes_...`), else the dataset's conventions (from the class count).
//
// The config text is read as the Python literals it is (src/util/python-literal.ts), never run,
// in every layout mmcv 1.x and mmengine have written it (one line per item with trailing commas
// since mmengine 0.8, keys sorted since 0.10, or a config file's own text with its variables);
// the fields are looked up where mmseg keeps them (`model.backbone`, `model.test_cfg`, the test
// pipeline's Resize) and each is checked for its type and range, the message naming the field.

import type { SlideWindows } from '../loading/options.js';
import { mmsegMobilenetV2Plan } from '../networks/mmseg-mobilenet-v2.js';
import { type PyValue, parsePythonLiterals, pyRepr } from '../../util/python-literal.js';
import { CONFIG_LIMITS } from '../../io/reader-rules.js';

export type { SlideWindows };

/** The architecture and test-time settings of an mmseg DeepLabv3 beyond its state dict. */
export interface MmsegSettings {
  /** 8 (mmseg's D8: strides 1,2,1,1, dilations 1,1,2,4) or 16 (D16: strides 1,2,2,1, dilations 1,1,1,2). */
  outputStride: number;
  /** multi_grid of layer4 (the dilations themselves, e.g. [1,2,4]), or null for none. */
  multiGrid: number[] | null;
  /** The ASPP head's dilations after the leading 1: [12,24,36] at D8, [6,12,18] at D16. */
  asppRates: number[];
  /** The heads' align_corners: true for the 769x769 Cityscapes configs. */
  alignCorners: boolean;
  /** The test pipeline's keep-ratio Resize scale, (long side, short side): (2048, 1024) for Cityscapes. */
  testScale: [number, number];
  /** test_cfg mode 'slide' (windows), or null for 'whole'. */
  slide: SlideWindows | null;
}

type Dict = Map<string, PyValue>;

/** A field's value, read: its path (for messages) and what it holds. */
interface Field {
  path: string;
  value: PyValue;
}

/** The dict at `key` of `dict`, if it is one. */
function dictAt(dict: Dict | undefined, key: string): Dict | undefined {
  const v = dict?.get(key);
  return v?.type === 'dict' ? v.entries : undefined;
}

function field(dict: Dict | undefined, path: string, key: string): Field | undefined {
  const value = dict?.get(key);
  return value === undefined ? undefined : { path: `${path}.${key}`, value };
}

function refuse(f: Field, expected: string): never {
  throw new Error(`mmseg config: ${f.path} is ${pyRepr(f.value)}, not ${expected}`);
}

/** A whole number in [1, max]. */
function count(f: Field, max: number): number {
  const v = f.value;
  if (v.type !== 'number' || !v.integer || !(v.value >= 1 && v.value <= max)) refuse(f, `a whole number from 1 to ${max}`);
  return v.value;
}

/** A tuple or list of whole numbers in [1, max] (at most 16 of them). */
function counts(f: Field, max: number): number[] {
  const v = f.value;
  if ((v.type !== 'tuple' && v.type !== 'list') || v.items.length > 16) refuse(f, `a tuple of whole numbers from 1 to ${max}`);
  return v.items.map((value, i) => count({ path: `${f.path}[${i}]`, value }, max));
}

function bool(f: Field): boolean {
  if (f.value.type !== 'bool') refuse(f, 'True or False');
  return f.value.value;
}

function str(f: Field | undefined): string | undefined {
  return f?.value.type === 'string' ? f.value.value : undefined;
}

/** Strides, dilations and multi-grid rates: the readers' bound on a rate (src/io/reader-rules.ts). */
const MAX_RATE = CONFIG_LIMITS.rate;
/** Window sides and test scales, in pixels: the same bound (a window is a rate's kin there). */
const MAX_SIDE = CONFIG_LIMITS.rate;

/** A square window size given as N or (N, N). */
function square(f: Field): number {
  if (f.value.type === 'number') return count(f, MAX_SIDE);
  const t = counts(f, MAX_SIDE);
  if (t.length !== 2) refuse(f, 'N or (N, N)');
  if (t[0] !== t[1]) throw new Error(`mmseg config: ${f.path} ${pyRepr(f.value)} is not square (sliding windows here are square)`);
  return t[0];
}

/** The output stride mmseg's MobileNetV2 `strides` give (the stem's 2 times its seven layers'), checked against its `dilations`. */
function mobilenetV2OutputStride(strides: number[], dilations: number[] | undefined): number {
  const os = 2 * strides.reduce((a, b) => a * b, 1);
  const plan = [8, 16, 32].includes(os) ? mmsegMobilenetV2Plan(os) : undefined;
  if (!plan || plan.strides.join() !== strides.join()) {
    throw new Error(`mmseg config: MobileNetV2 strides (${strides.join(', ')}) are none of mmseg's D8, D16 or D32 (D8: ${mmsegMobilenetV2Plan(8).strides.join(', ')})`);
  }
  if (dilations && dilations.join() !== plan.dilations.join()) {
    throw new Error(`mmseg config: MobileNetV2 dilations (${dilations.join(', ')}) with strides (${strides.join(', ')}) are not D${os}'s (${plan.dilations.join(', ')})`);
  }
  return os;
}

/** The output stride mmseg's per-stage strides give (the stem reaches 4), checked against its dilations. */
function outputStrideOf(strides: number[], dilations: number[] | undefined): number {
  if (strides.length === 7) return mobilenetV2OutputStride(strides, dilations);
  const os = 4 * strides.slice(1).reduce((a, b) => a * b, 1);
  const expected: Record<number, number[]> = { 8: [1, 1, 2, 4], 16: [1, 1, 1, 2], 32: [1, 1, 1, 1] };
  const want = expected[os];
  if (!want || strides[0] !== 1) throw new Error(`mmseg config: backbone strides (${strides.join(', ')}) give no output stride of 8, 16 or 32`);
  if (dilations && dilations.join() !== want.join()) {
    throw new Error(`mmseg config: backbone dilations (${dilations.join(', ')}) with strides (${strides.join(', ')}) are not mmseg's D${os} (${want.join(', ')})`);
  }
  return os;
}

/** The backbone's type and depth as the config names them (e.g. 'ResNetV1c', 101). */
export interface MmsegBackboneConfig {
  type?: string;
  depth?: number;
}

/** Settings found in a config text (fields it does not give are absent). */
export function settingsFromConfigText(text: string): Partial<MmsegSettings> & { backbone: MmsegBackboneConfig } {
  const root = parsePythonLiterals(text, 'mmseg config');
  const out: Partial<MmsegSettings> & { backbone: MmsegBackboneConfig } = { backbone: {} };
  // 0.x and 1.x keep the network in `model`; a bare text may hold its parts at the top.
  const model = dictAt(root, 'model');
  const part = (key: string): [Dict | undefined, string] => (dictAt(model, key) ? [dictAt(model, key), `model.${key}`] : [dictAt(root, key), key]);
  const [backbone, bPath] = part('backbone');
  if (backbone) {
    const depth = field(backbone, bPath, 'depth');
    out.backbone = { type: str(field(backbone, bPath, 'type')), depth: depth && count(depth, 1000) };
    const strides = field(backbone, bPath, 'strides');
    const dilations = field(backbone, bPath, 'dilations');
    if (strides) out.outputStride = outputStrideOf(counts(strides, MAX_RATE), dilations && counts(dilations, MAX_RATE));
    const grid = field(backbone, bPath, 'multi_grid');
    if (grid) out.multiGrid = grid.value.type === 'none' ? null : counts(grid, MAX_RATE);
    else if (strides) out.multiGrid = null;
  }
  const [head, hPath] = part('decode_head');
  if (head) {
    const dilations = field(head, hPath, 'dilations');
    if (dilations) {
      const rates = counts(dilations, MAX_RATE);
      if (rates[0] !== 1) throw new Error(`mmseg config: ASPP dilations (${rates.join(', ')}) do not start with the 1x1 branch's 1`);
      out.asppRates = rates.slice(1);
    }
    const align = field(head, hPath, 'align_corners');
    if (align) out.alignCorners = bool(align);
  }
  // 1.x (and late 0.x) in the model; early 0.x at the top (1.x's top-level test_cfg is its TestLoop).
  const [test, tPath] = part('test_cfg');
  const mode = str(field(test, tPath, 'mode'));
  if (mode === 'whole') out.slide = null;
  else if (mode === 'slide') {
    const crop = field(test, tPath, 'crop_size');
    const stride = field(test, tPath, 'stride');
    if (!crop || !stride) throw new Error(`mmseg config: ${tPath} mode 'slide' without a crop_size and stride: ${pyRepr({ type: 'dict', entries: test! })}`);
    out.slide = { crop: square(crop), stride: square(stride) };
  }
  const scale = testScaleOf(root);
  if (scale) out.testScale = scale;
  return out;
}

/** The test pipeline mmseg's inference runs: 0.x `data.test.pipeline`, 1.x `test_pipeline` (or its dataloader's). */
function testPipeline(root: Dict): Field | undefined {
  const test = dictAt(dictAt(root, 'data'), 'test');
  return field(test, 'data.test', 'pipeline') ?? field(root, '', 'test_pipeline') ?? field(dictAt(dictAt(root, 'test_dataloader'), 'dataset'), 'test_dataloader.dataset', 'pipeline');
}

/**
 * The keep-ratio scale (long, short) of the test pipeline's Resize: 1.x `Resize(scale=...)`, 0.x
 * `MultiScaleFlipAug(img_scale=...)` around `Resize(keep_ratio=True)` (the first scale of several).
 * A Resize to an exact size (keep_ratio=False) is refused: segment() resizes keeping the ratio.
 */
function testScaleOf(root: Dict): [number, number] | undefined {
  const pipeline = testPipeline(root);
  if (!pipeline) return undefined;
  const steps = pipeline.value.type === 'list' || pipeline.value.type === 'tuple' ? pipeline.value.items : [];
  for (const [i, step] of steps.entries()) {
    if (step.type !== 'dict') continue;
    const path = `${pipeline.path.replace(/^\./, '')}[${i}]`;
    const type = str(field(step.entries, path, 'type'));
    if (type !== 'Resize' && type !== 'MultiScaleFlipAug') continue;
    const inner = field(step.entries, path, 'transforms')?.value;
    const resizes = [step, ...(inner?.type === 'list' ? inner.items : [])].filter((t) => t.type === 'dict' && str(field(t.entries, path, 'type')) === 'Resize');
    for (const r of resizes) {
      const keep = r.type === 'dict' ? field(r.entries, path, 'keep_ratio') : undefined;
      if (keep && !bool(keep)) throw new Error(`mmseg config: ${path}'s Resize has keep_ratio=False (an exact size); segment() resizes keeping the ratio`);
    }
    let scale = field(step.entries, path, 'scale') ?? field(step.entries, path, 'img_scale');
    if (!scale || scale.value.type === 'none') continue;
    // Several scales (multi-scale testing): the first.
    if (scale.value.type === 'list' && scale.value.items[0]?.type === 'tuple') scale = { path: `${scale.path}[0]`, value: scale.value.items[0] };
    const sides = counts(scale, MAX_SIDE);
    if (sides.length !== 2) refuse(scale, 'a (width, height) pair');
    return [Math.max(...sides), Math.min(...sides)];
  }
  return undefined;
}

/** The datasets of mmseg's zoo, by a word of their config names, with their test conventions. */
const DATASET_TESTS: { word: RegExp; classes: number[]; testScale: [number, number]; slide: SlideWindows | null }[] = [
  { word: /pascal_context/, classes: [59, 60], testScale: [520, 520], slide: { crop: 480, stride: 320 } },
  { word: /cityscapes/, classes: [19], testScale: [2048, 1024], slide: null },
  { word: /ade20k/, classes: [150], testScale: [2048, 512], slide: null },
  { word: /voc12/, classes: [21], testScale: [2048, 512], slide: null },
  { word: /coco[-_]stuff/, classes: [171, 182], testScale: [2048, 512], slide: null },
];

/** Settings a config name (or a file name that holds one) implies. */
export function settingsFromName(name: string): Partial<MmsegSettings> {
  const out: Partial<MmsegSettings> = {};
  const n = name.toLowerCase();
  if (/-d16-mg124/.test(n)) Object.assign(out, { outputStride: 16, multiGrid: [1, 2, 4], asppRates: [6, 12, 18] });
  else if (/-d8(?![\d])/.test(n)) Object.assign(out, { outputStride: 8, multiGrid: null, asppRates: [12, 24, 36] });
  const dataset = DATASET_TESTS.find((d) => d.word.test(n));
  if (dataset) Object.assign(out, { testScale: dataset.testScale, slide: dataset.slide, alignCorners: false });
  // Cityscapes' 769x769 configs resize to (2049, 1025), slide 769 windows every 513 pixels, align corners.
  if (dataset?.word.source === 'cityscapes' && /769x769/.test(n)) Object.assign(out, { testScale: [2049, 1025], slide: { crop: 769, stride: 513 }, alignCorners: true });
  return out;
}

/** What a model of `numClasses` classes most likely was tested with, when nothing else says. */
export function settingsFromClassCount(numClasses: number): Partial<MmsegSettings> {
  const dataset = DATASET_TESTS.find((d) => d.classes.includes(numClasses));
  return dataset ? { testScale: dataset.testScale, slide: dataset.slide } : {};
}

/** mmseg's DeepLabv3 config defaults (configs/_base_/models/deeplabv3_r50-d8.py): D8, whole, no align corners. */
export const MMSEG_DEFAULTS: MmsegSettings = {
  outputStride: 8,
  multiGrid: null,
  asppRates: [12, 24, 36],
  alignCorners: false,
  testScale: [2048, 512],
  slide: null,
};

/** The first source that gives each field, in order, over mmseg's defaults. */
export function resolveSettings(...sources: Partial<MmsegSettings>[]): MmsegSettings {
  const out = { ...MMSEG_DEFAULTS };
  const keys = Object.keys(MMSEG_DEFAULTS) as (keyof MmsegSettings)[];
  for (const key of keys) {
    const found = sources.find((s) => s[key] !== undefined);
    if (found) (out as Record<string, unknown>)[key] = found[key];
  }
  // A multi-grid network without a stated ASPP gets the rates of its stride (the paper's: 6,12,18 at 16).
  if (!sources.some((s) => s.asppRates !== undefined) && out.outputStride === 16) out.asppRates = [6, 12, 18];
  return out;
}
