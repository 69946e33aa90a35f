// `deeplab segment IMAGE...`: one palette PNG of class indices per image (and optionally a
// coloured overlay), a one-line summary per image, and a non-zero exit code if any image failed.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { type RgbImage, readImage } from '../../io/image.js';
import { overlayPalette } from '../../io/overlay.js';
import { encodeRgbPng } from '../../io/png-rgb.js';
import { encodeIndexedPng } from '../../io/png-indexed.js';
import { writeFileAtomic } from '../../util/write-atomic.js';
import { DEFAULT_MODEL } from '../../model/loading/registry.js';
import {
  type Command,
  type CommandSpec,
  type ParsedArgs,
  UsageError,
  debugEnabled,
  optionFlag,
  optionValue,
  PRECISION_OPTION,
  parseOutputStride,
  parsePrecision,
  parseScales,
} from '../args.js';
import { Progress } from '../progress.js';
import { TILE_OPTIONS, tileOptions } from '../tile-option.js';
import { openModel } from './models.js';
import type { SegmentResult } from '../../model/model.js';
import { classesFound } from '../../model/result-views.js';

/** Images decoded and sent to the model at a time. */
const CLI_BATCH = 4;

const spec: CommandSpec = {
  name: 'segment',
  summary: "Segment images into the model's classes (palette PNGs of class indices).",
  positionals: [{ name: 'IMAGE', description: 'PNG or JPEG files', required: true, variadic: true }],
  options: [
    { name: 'model', kind: 'value', valueName: 'NAME|PATH', description: "registry model (see 'deeplab models') or weights file", defaultText: DEFAULT_MODEL },
    { name: 'out', kind: 'value', valueName: 'DIR', description: 'output folder, created if needed', defaultText: '.' },
    { name: 'overlay', kind: 'flag', description: 'also write DIR/<image-name>_overlay.png, the classes blended over the photo' },
    {
      name: 'whole',
      kind: 'flag',
      description:
        "models that slide windows as their reference does (mmseg's 769x769 Cityscapes models): run the whole image at once instead; " +
        "hub models whose processor centre-crops (a Hugging Face folder): segment the whole image, not the crop",
    },
    { name: 'output-stride', kind: 'value', valueName: 'N', description: 'run the network at output stride 8, 16 or 32', defaultText: "the model's" },
    PRECISION_OPTION,
    { name: 'scales', kind: 'value', valueName: 'LIST', description: "input scales to average, e.g. 0.5,1,1.5, or 'paper' (0.5..1.75)", defaultText: '1' },
    { name: 'flip', kind: 'flag', description: 'also average in the left-right flipped image' },
    ...TILE_OPTIONS,
    { name: 'json', kind: 'flag', description: 'print one JSON document with all results instead of text lines' },
  ],
  notes: [
    "For each IMAGE writes DIR/<image-name>.png: an 8-bit palette PNG in the model's class colours whose\n" +
      'pixel values are the class indices (VOC models: 0 background ... 20 tvmonitor). Writes are atomic.',
    'Example: deeplab segment photo.jpg --out masks --overlay',
    'Example: deeplab segment aerial.tif --tile 513 --overlap 0.25   (large images: windows of 513x513 pixels, progress per window)',
  ],
};

export interface OutputPlan {
  input: string;
  mask: string;
  overlay?: string;
}

/**
 * Output paths for every input, refusing (before any work) two outputs with the same path and
 * an output that would overwrite an input image.
 */
export function planOutputs(inputs: readonly string[], outDir: string, withOverlay: boolean): OutputPlan[] {
  const plans = inputs.map((input) => {
    const stem = basename(input, extname(input));
    const plan: OutputPlan = { input, mask: join(outDir, `${stem}.png`) };
    if (withOverlay) plan.overlay = join(outDir, `${stem}_overlay.png`);
    return plan;
  });
  const owner = new Map<string, string>();
  for (const p of plans) {
    for (const out of [p.mask, p.overlay]) {
      if (!out) continue;
      const key = resolve(out);
      const other = owner.get(key);
      if (other !== undefined) {
        throw new UsageError(`'${other}' and '${p.input}' would both be written to ${out}; segment them into different --out folders`, 'segment');
      }
      owner.set(key, p.input);
    }
  }
  for (const input of inputs) {
    if (owner.has(resolve(input))) {
      throw new UsageError(`the output ${input} would overwrite the input image ${input}; choose another --out folder`, 'segment');
    }
  }
  return plans;
}

function checkOutDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`--out ${dir} exists and is not a folder`);
}

function ensureOutDir(dir: string): void {
  checkOutDir(dir);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`cannot create the output folder ${dir}: ${(e as Error).message}`);
  }
}

interface ImageResult {
  input: string;
  output?: string;
  overlay?: string;
  width?: number;
  height?: number;
  classes?: Record<string, number>;
  error?: string;
}

/** The error text, naming the file where the underlying message does not already. */
/**
 * Refuses inputs that are not files before the model is loaded and compiled: a mistyped name
 * should not cost a compile. (Files that are no image are found when decoded, image by image.)
 */
function checkInputsExist(inputs: readonly string[]): void {
  const bad = inputs.map((input) => [input, !existsSync(input) ? 'no such file' : !statSync(input).isFile() ? 'not a file' : ''] as const).filter(([, why]) => why);
  if (bad.length > 0) throw new UsageError(bad.map(([input, why]) => `${input}: ${why}`).join('; '), 'segment');
}

function imageError(input: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.includes(input) ? message : `${input}: ${message}`;
}

async function run(args: ParsedArgs): Promise<number> {
  const outDir = optionValue(args, 'out') ?? '.';
  const withOverlay = optionFlag(args, 'overlay');
  const asJson = optionFlag(args, 'json');
  const scalesText = optionValue(args, 'scales');
  const scales = scalesText ? parseScales(scalesText) : [1];
  const flip = optionFlag(args, 'flip');
  const slide = !optionFlag(args, 'whole');
  const { tile, overlap } = tileOptions(args, 'segment', flip || scales.length !== 1 || scales[0] !== 1);
  const tiled = tile !== undefined;
  const strideText = optionValue(args, 'output-stride');
  const outputStride = strideText ? parseOutputStride(strideText) : undefined;
  const precisionText = optionValue(args, 'precision');
  const precision = precisionText ? parsePrecision(precisionText) : undefined;
  const plans = planOutputs(args.positionals, outDir, withOverlay);
  checkInputsExist(args.positionals);
  checkOutDir(outDir);

  let progress: Progress | null = null;
  // Tiled: the windows of the image being segmented (instead of the images).
  let windowProgress: Progress | null = null;
  const endWindowProgress = (): void => {
    windowProgress?.finish();
    windowProgress = null;
  };
  const say = (line: string, stream: NodeJS.WriteStream) => {
    progress?.clear();
    windowProgress?.clear();
    stream.write(line + '\n');
  };
  const model = await openModel(optionValue(args, 'model') ?? DEFAULT_MODEL, {
    outputStride,
    ...(slide ? {} : { centerCrop: false }),
    precision,
    onMessage: (m) => say(`deeplab: ${m}`, process.stderr),
  });
  const results: ImageResult[] = [];
  try {
    // Created only once the model loaded: a failed load leaves no empty folder behind.
    ensureOutDir(outDir);
    // Started after loading, so images/s and the ETA measure images only.
    if (plans.length > 1 && !tiled) {
      progress = new Progress('segment', plans.length);
      progress.show();
    }
    const fail = (plan: OutputPlan, e: unknown): void => {
      const message = imageError(plan.input, e);
      results.push({ input: plan.input, error: message });
      say(`deeplab: ${message}`, process.stderr);
      if (debugEnabled() && e instanceof Error && e.stack) say(e.stack, process.stderr);
      progress?.tick(basename(plan.input));
    };
    const finish = (plan: OutputPlan, img: RgbImage, seg: SegmentResult): void => {
      try {
        // Encode everything before writing anything: a failure leaves no partial set of files.
        const mask = encodeIndexedPng(seg.classes, seg.width, seg.height, model.palette);
        const overlay = plan.overlay ? encodeRgbPng(overlayPalette(img, seg.classes, model.palette)) : undefined;
        writeFileAtomic(plan.mask, mask);
        if (plan.overlay && overlay) writeFileAtomic(plan.overlay, overlay);
        const shares = classesFound(seg, model.classNames).map((c) => [c.name, 100 * c.share] as const);
        results.push({
          input: plan.input,
          output: plan.mask,
          ...(plan.overlay ? { overlay: plan.overlay } : {}),
          width: seg.width,
          height: seg.height,
          classes: Object.fromEntries(shares.map(([name, pct]) => [name, Math.round(pct * 1000) / 1000])),
        });
        if (!asJson) {
          const outputs = [plan.mask, plan.overlay].filter(Boolean).join(', ');
          const found = shares.map(([name, pct]) => `${name} ${pct.toFixed(1)}%`).join(', ');
          say(`${plan.input} -> ${outputs}  ${seg.width}x${seg.height}  ${found}`, process.stdout);
        }
        progress?.tick(basename(plan.input));
      } catch (e) {
        fail(plan, e);
      }
    };
    // Images go through the network a few at a time (batched where their sizes agree); one
    // that fails to decode or segment is reported and the others go on.
    for (let first = 0; first < plans.length; first += CLI_BATCH) {
      const decoded: { plan: OutputPlan; img: RgbImage }[] = [];
      for (const plan of plans.slice(first, first + CLI_BATCH)) {
        try {
          decoded.push({ plan, img: await readImage(plan.input) });
        } catch (e) {
          fail(plan, e);
        }
      }
      let segs: SegmentResult[] | null = null;
      try {
        // Tiled images go one at a time below: their windows are batched instead.
        if (!tiled) segs = await model.segmentBatch(decoded.map((d) => d.img), { scales, flip, slide });
      } catch {
        // Retried one by one below, so the error names its image.
      }
      for (const [k, { plan, img }] of decoded.entries()) {
        if (segs) {
          finish(plan, img, segs[k]);
          continue;
        }
        try {
          let ticked = 0;
          const onTileProgress = (done: number, total: number): void => {
            windowProgress ??= new Progress(`segment ${basename(plan.input)}`, total, { unit: 'win' });
            for (; ticked < done; ticked++) windowProgress.tick();
          };
          const seg = await model.segment(img, tiled ? { tile, overlap, onTileProgress } : { scales, flip, slide });
          endWindowProgress();
          finish(plan, img, seg);
        } catch (e) {
          endWindowProgress();
          fail(plan, e);
        }
      }
    }
  } finally {
    progress?.finish();
    endWindowProgress();
    model.dispose();
  }
  const failed = results.filter((r) => r.error).length;
  if (asJson) {
    const doc = { model: model.name, outputStride: model.config.outputStride, scales, flip, ...(tiled ? { tile, overlap } : {}), images: results };
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  }
  if (failed > 0) {
    process.stderr.write(`deeplab: ${failed} of ${plans.length} image${plans.length === 1 ? '' : 's'} failed\n`);
    return 1;
  }
  return 0;
}

export const segmentCommand: Command = { spec, run };
