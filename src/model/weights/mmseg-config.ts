// What an mmseg checkpoint's state dict cannot tell, read from where mmseg records it: the config
// text saved in the checkpoint's meta (0.x `config`, 1.x `cfg`: the training config as Python
// source), else the config's name (in the file name: `deeplabv3_r101-d16-mg124_512x1024_40k_
// cityscapes_...`), else the dataset's conventions (from the class count).
//
// The config text is read, never run: a small scanner finds `name=dict(...)` blocks by their
// balanced brackets and splits their top-level `key=value` fields; the values used here are
// numbers, tuples of numbers, booleans and quoted strings.

import type { SlideWindows } from '../loading/options.js';
import { mmsegMobilenetV2Plan } from '../networks/mmseg-mobilenet-v2.js';

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

/** The index just past the bracket that closes the one at `open` (quotes respected), or -1. */
function closingBracket(text: string, open: number): number {
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) return -1;
      i = end;
    } else if (pairs[c]) {
      stack.push(pairs[c]);
    } else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return i + 1;
    }
  }
  return -1;
}

/** The text inside the first `<name>=dict(...)` or `<name> = dict(...)` at or after `from`. */
export function dictBlock(text: string, name: string, from = 0): string | undefined {
  const re = new RegExp(`(?<![\\w.])${name}\\s*=\\s*dict\\(`, 'g');
  re.lastIndex = from;
  const m = re.exec(text);
  if (!m) return undefined;
  const open = m.index + m[0].length - 1;
  const end = closingBracket(text, open);
  return end < 0 ? undefined : text.slice(open + 1, end - 1);
}

/** The top-level `key=value` fields of a dict(...) body, values as written. */
export function dictFields(body: string): Map<string, string> {
  const fields = new Map<string, string>();
  let depth = 0;
  let start = 0;
  const take = (end: number) => {
    const part = body.slice(start, end).trim();
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "'" || c === '"') {
      const end = body.indexOf(c, i + 1);
      if (end < 0) break;
      i = end;
    } else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      take(i);
      start = i + 1;
    }
  }
  take(body.length);
  return fields;
}

/** A Python tuple or list of integers, e.g. "(1, 12, 24, 36)". */
function intTuple(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const m = /^[([]\s*([\d\s,]*)[)\]]$/.exec(v);
  if (!m) return undefined;
  const items = m[1].split(',').map((s) => s.trim()).filter((s) => s !== '');
  return items.map(Number);
}

function bool(v: string | undefined): boolean | undefined {
  return v === 'True' ? true : v === 'False' ? false : undefined;
}

function str(v: string | undefined): string | undefined {
  const m = v === undefined ? null : /^['"](.*)['"]$/.exec(v);
  return m ? m[1] : undefined;
}

/** A square window size given as N or (N, N). */
function square(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const t = intTuple(v);
  if (!t || t.length !== 2) return undefined;
  if (t[0] !== t[1]) throw new Error(`mmseg config: ${what} ${v} is not square (sliding windows here are square)`);
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
  const out: Partial<MmsegSettings> & { backbone: MmsegBackboneConfig } = { backbone: {} };
  const backbone = dictBlock(text, 'backbone');
  if (backbone !== undefined) {
    const f = dictFields(backbone);
    out.backbone = { type: str(f.get('type')), depth: f.has('depth') ? Number(f.get('depth')) : undefined };
    const strides = intTuple(f.get('strides'));
    if (strides) out.outputStride = outputStrideOf(strides, intTuple(f.get('dilations')));
    const grid = f.get('multi_grid');
    if (grid !== undefined) out.multiGrid = grid === 'None' ? null : (intTuple(grid) ?? null);
    else if (strides) out.multiGrid = null;
  }
  const head = dictBlock(text, 'decode_head');
  if (head !== undefined) {
    const f = dictFields(head);
    const dilations = intTuple(f.get('dilations'));
    if (dilations) {
      if (dilations[0] !== 1) throw new Error(`mmseg config: ASPP dilations (${dilations.join(', ')}) do not start with the 1x1 branch's 1`);
      out.asppRates = dilations.slice(1);
    }
    const align = bool(f.get('align_corners'));
    if (align !== undefined) out.alignCorners = align;
  }
  const test = dictBlock(text, 'test_cfg');
  if (test !== undefined) {
    const f = dictFields(test);
    const mode = str(f.get('mode'));
    if (mode === 'whole') out.slide = null;
    else if (mode === 'slide') {
      const crop = square(f.get('crop_size'), 'test_cfg crop_size');
      const stride = square(f.get('stride'), 'test_cfg stride');
      if (crop === undefined || stride === undefined) throw new Error(`mmseg config: test_cfg 'slide' without a crop_size and stride: ${test.trim()}`);
      out.slide = { crop, stride };
    }
  }
  const scale = testScaleOf(text);
  if (scale) out.testScale = scale;
  return out;
}

/** The keep-ratio scale of the test pipeline: `img_scale=` (0.x MultiScaleFlipAug) or `scale=` (1.x Resize). */
function testScaleOf(text: string): [number, number] | undefined {
  const m = /(?<![\w.])test_pipeline\s*=\s*\[/.exec(text);
  if (!m) return undefined;
  const open = m.index + m[0].length - 1;
  const end = closingBracket(text, open);
  const pipeline = text.slice(open, end < 0 ? undefined : end);
  const s = /(?<![\w])(?:img_)?scale\s*=\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)/.exec(pipeline);
  return s ? [Number(s[1]), Number(s[2])] : undefined;
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
