// `deeplab segment IMAGE...`: one palette PNG of class indices per image (and optionally a
// coloured overlay), a one-line summary per image, and a non-zero exit code if any image failed.
// Over a collection (folders, patterns, a manifest): one shard of it (`--shard I/N`), a rerun
// skipping what an earlier run finished, and a JSON-lines record per input (`--summary`).
import { DATASET_NAMES, type DatasetName } from '../../model/datasets.js';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { RgbImage } from '../../io/image.js';
import type { BandArray } from '../../io/band-image.js';
import { BAND_OPTIONS, bandOptions, overlayBase, readsBands } from '../band-options.js';
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
  DEVICE_OPTION,
  PRECISION_OPTION,
  parseOutputStride,
  parseDevice,
  parsePrecision,
  parseScales,
} from '../args.js';
import { Progress } from '../progress.js';
import { TILE_OPTIONS, tileOptions } from '../tile-option.js';
import { DTYPE_OPTION, SMP_CONFIG_OPTION, openModel, parseDtypeOption, readSmpConfigOption } from './models.js';
import type { SegmentResult } from '../../model/model.js';
import { type OutputPlan, classShares, finishedOutput } from '../finished-outputs.js';
import { noteFasterCpu } from '../device-note.js';
import { readInput } from '../read-input.js';
import { type SegmentInput, collectInputs, isUrl } from '../segment-inputs.js';
import { type Shard, parseShard, shardItems } from '../shard.js';
import { removeStaleTempFiles } from '../stale-temp-files.js';
import { type InputRecord, SummaryFile, countRecords } from '../summary-file.js';

/** Images decoded and sent to the model at a time. */
const CLI_BATCH = 4;

const spec: CommandSpec = {
  name: 'segment',
  summary: "Segment images into the model's classes (palette PNGs of class indices).",
  positionals: [{ name: 'IMAGE', description: "image files, folders (every image below) or quoted patterns ('photos/**/*.jpg')", required: false, variadic: true }],
  options: [
    { name: 'model', kind: 'value', valueName: 'NAME|PATH', description: "registry model (see 'deeplab models') or weights file", defaultText: DEFAULT_MODEL },
    SMP_CONFIG_OPTION,
    DTYPE_OPTION,
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
    {
      name: 'own-size',
      kind: 'flag',
      description: "TF DeepLab zoo files: run each image at its own size, not padded to the export crop (nor shrunk to fit it) as the zoo's frozen graph and demo run it",
    },
    { name: 'dataset', kind: 'value', valueName: 'voc|cityscapes|ade20k|ade20k-tf', description: "the classes (names, colours) of a weights file that names none (VainF's .pth)", defaultText: "the file name's, else by the class count" },
    DEVICE_OPTION,
    PRECISION_OPTION,
    { name: 'scales', kind: 'value', valueName: 'LIST', description: "input scales to average, e.g. 0.5,1,1.5, or 'paper' (0.5..1.75)", defaultText: '1' },
    { name: 'flip', kind: 'flag', description: 'also average in the left-right flipped image' },
    ...TILE_OPTIONS,
    ...BAND_OPTIONS,
    { name: 'manifest', kind: 'value', valueName: 'FILE', description: "also the inputs listed in FILE, one path or http(s) URL a line ('#' a comment; relative paths from FILE's folder)" },
    { name: 'shard', kind: 'value', valueName: 'I/N', description: 'segment only every N-th input from the I-th (I from 0): N runs given 0/N .. N-1/N cover the inputs once' },
    { name: 'summary', kind: 'value', valueName: 'FILE', description: 'write one JSON line per input (input, status, output, classes or error) to FILE instead of text lines' },
    { name: 'json', kind: 'flag', description: 'print one JSON document with all results instead of text lines' },
  ],
  notes: [
    "For each IMAGE writes DIR/<image-name>.png: an 8-bit palette PNG in the model's class colours whose\n" +
      'pixel values are the class indices (VOC models: 0 background ... 20 tvmonitor). Writes are atomic.',
    'Inputs whose outputs are already in DIR, whole and valid, are not segmented again: a run killed part-way\n' +
      'finishes when run again. Images that fail are recorded and the others go on (exit status 1).',
    'Example: deeplab segment photo.jpg --out masks --overlay',
    'Example: deeplab segment --manifest images.txt --shard 3/8 --out masks --summary masks/shard-3.jsonl',
    'Example: deeplab segment aerial.tif --tile 513 --overlap 0.25   (large images: windows of 513x513 pixels, progress per window)',
    'A model of other than 1 or 3 input channels (smp in_channels: RGB+NIR, multispectral) reads each file as bands,\n' +
      'every sample as the file holds it (a TIFF of that many samples, 8 or 16 bits); 16-bit bands need --mean and --std.',
    'Example: deeplab segment scene.tif --model ./my-smp-folder --mean 1200,1100,1000,2500 --std 400,380,420,900',
  ],
};

/**
 * Output paths for every input (all of them, not only a shard's: every shard refuses the same
 * collection alike), refusing before any work two outputs with the same path and an output that
 * would overwrite an input image.
 */
export function planOutputs(inputs: readonly SegmentInput[], outDir: string, withOverlay: boolean): OutputPlan[] {
  const plans = inputs.map(({ source, stem }) => {
    const plan: OutputPlan = { input: source, mask: join(outDir, `${stem}.png`) };
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
  for (const { source } of inputs) {
    if (!isUrl(source) && owner.has(resolve(source))) {
      throw new UsageError(`the output ${source} would overwrite the input image ${source}; choose another --out folder`, 'segment');
    }
  }
  return plans;
}

function checkOutDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new Error(`--out ${dir} exists and is not a folder`);
}

function ensureDir(dir: string, what: string): void {
  checkOutDir(dir);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new Error(`cannot create the ${what} ${dir}: ${(e as Error).message}`);
  }
}

/** The error text, naming the file where the underlying message does not already. */
function imageError(input: string, e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.includes(input) ? message : `${input}: ${message}`;
}

/** "4 images (shard 1/3 of 10): 3 segmented, 1 already done, 0 failed" */
function countLine(records: readonly InputRecord[], total: number, shard: Shard | undefined): string {
  const c = countRecords(records);
  const n = records.length;
  const of = shard ? ` (shard ${shard.index}/${shard.count} of ${total})` : '';
  return `${n} image${n === 1 ? '' : 's'}${of}: ${c.segmented} segmented, ${c['already-done']} already done, ${c.failed} failed`;
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
  const datasetText = optionValue(args, 'dataset');
  if (datasetText !== undefined && !(DATASET_NAMES as readonly string[]).includes(datasetText)) throw new UsageError(`--dataset: '${datasetText}' is not one of ${DATASET_NAMES.join(', ')}`, 'segment');
  const dataset = datasetText as DatasetName | undefined;
  const deviceText = optionValue(args, 'device');
  const device = deviceText ? parseDevice(deviceText) : undefined;
  const precisionText = optionValue(args, 'precision');
  const precision = precisionText ? parsePrecision(precisionText) : undefined;
  const manifest = optionValue(args, 'manifest');
  const shardText = optionValue(args, 'shard');
  const shard = shardText ? parseShard(shardText) : undefined;
  const summaryPath = optionValue(args, 'summary');
  const stats = bandOptions(args);
  if (args.positionals.length === 0 && manifest === undefined) throw new UsageError("'segment' needs IMAGE (files, folders or patterns) or --manifest FILE", 'segment');
  const inputs = collectInputs(args.positionals, manifest, outDir);
  if (inputs.length === 0) throw new UsageError(`--manifest ${manifest}: no inputs in it`, 'segment');
  const allPlans = planOutputs(inputs, outDir, withOverlay);
  const plans = shardItems(allPlans, shard);
  // A collection run (a manifest, a shard, a summary): records go to the summary, not stdout.
  const collection = manifest !== undefined || shard !== undefined || summaryPath !== undefined;
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
    smpConfig: readSmpConfigOption(optionValue(args, 'smp-config')),
    dtype: parseDtypeOption(optionValue(args, 'dtype')),
    dataset,
    ...(slide ? {} : { centerCrop: false }),
    ...(optionFlag(args, 'own-size') ? { ownSize: true } : {}),
    precision,
    device,
    onMessage: (m) => say(`deeplab: ${m}`, process.stderr),
  });
  await noteFasterCpu(model, device, (m) => say(`deeplab: ${m}`, process.stderr));
  const bands = readsBands(model.config.inChannels ?? 3);
  const results: InputRecord[] = [];
  let summary: SummaryFile | undefined;
  try {
    // Created only once the model loaded: a failed load leaves no empty folder behind.
    ensureDir(outDir, 'output folder');
    removeStaleTempFiles(plans.flatMap((p) => [p.mask, p.overlay ?? []]).flat());
    if (summaryPath) summary = new SummaryFile(summaryPath);
    // Started after loading, so images/s and the ETA measure images only. In a pod (stderr no
    // terminal) a collection's progress is a line a minute, not a line a second.
    if (plans.length > 1 && !tiled) {
      progress = new Progress('segment', plans.length, collection ? { plainInterval: 60_000 } : {});
      progress.show();
    }
    // A batch's records are kept until it ends, then written in the inputs' order (a failed
    // decode comes before the batch's segmentations, yet its record keeps its place).
    let pending: InputRecord[] = [];
    const record = (r: InputRecord): void => {
      pending.push(r);
    };
    const flush = (order: readonly OutputPlan[]): void => {
      const byInput = new Map(pending.map((r) => [r.input, r]));
      for (const plan of order) {
        const r = byInput.get(plan.input);
        if (!r) continue;
        results.push(r);
        summary?.write(r);
      }
      pending = [];
    };
    const fail = (plan: OutputPlan, e: unknown): void => {
      const message = imageError(plan.input, e);
      record({ input: plan.input, status: 'failed', error: message });
      say(`deeplab: ${message}`, process.stderr);
      if (debugEnabled() && e instanceof Error && e.stack) say(e.stack, process.stderr);
      progress?.tick(basename(plan.input));
    };
    const outputsOf = (plan: OutputPlan) => ({ output: plan.mask, ...(plan.overlay ? { overlay: plan.overlay } : {}) });
    const finish = (plan: OutputPlan, img: RgbImage | BandArray, seg: SegmentResult): void => {
      try {
        // Encode everything before writing anything: a failure leaves no partial set of files.
        const mask = encodeIndexedPng(seg.classes, seg.width, seg.height, model.palette);
        const overlay = plan.overlay ? encodeRgbPng(overlayPalette(overlayBase(img), seg.classes, model.palette)) : undefined;
        mkdirSync(dirname(plan.mask), { recursive: true });
        // The mask last: a mask on disk means the image's outputs are all there (finished-outputs.ts).
        if (plan.overlay && overlay) writeFileAtomic(plan.overlay, overlay);
        writeFileAtomic(plan.mask, mask);
        const classes = classShares(seg.classes, seg.numClasses, model.classNames);
        record({ input: plan.input, status: 'segmented', ...outputsOf(plan), width: seg.width, height: seg.height, classes });
        if (!asJson && !summary) {
          const outputs = [plan.mask, plan.overlay].filter(Boolean).join(', ');
          const found = Object.entries(classes)
            .map(([name, pct]) => `${name} ${pct.toFixed(1)}%`)
            .join(', ');
          say(`${plan.input} -> ${outputs}  ${seg.width}x${seg.height}  ${found}`, process.stdout);
        }
        progress?.tick(basename(plan.input));
      } catch (e) {
        fail(plan, e);
      }
    };
    // Images go through the network a few at a time (batched where their sizes agree); one
    // that fails to decode or segment is reported and the others go on. Those whose outputs an
    // earlier run finished are recorded from their masks and not segmented again.
    for (let first = 0; first < plans.length; first += CLI_BATCH) {
      const batch = plans.slice(first, first + CLI_BATCH);
      const decoded: { plan: OutputPlan; img: RgbImage | BandArray }[] = [];
      for (const plan of batch) {
        const done = await finishedOutput(plan, model.classNames, !isUrl(plan.input));
        if (done) {
          record({ input: plan.input, status: 'already-done', ...outputsOf(plan), ...done });
          // Said, not silent: a rerun with other options would otherwise keep the old masks unnoticed.
          if (!asJson && !summary) say(`${plan.input} -> ${[plan.mask, plan.overlay].filter(Boolean).join(', ')}  already done (kept; remove it, or use another --out, to segment again)`, process.stdout);
          progress?.tick(basename(plan.input));
          continue;
        }
        try {
          decoded.push({ plan, img: await readInput(plan.input, bands) });
        } catch (e) {
          fail(plan, e);
        }
      }
      let segs: SegmentResult[] | null = null;
      try {
        // Tiled images go one at a time below: their windows are batched instead.
        if (!tiled && decoded.length > 0) segs = await model.segmentBatch(decoded.map((d) => d.img), { scales, flip, slide, ...stats });
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
          const seg = await model.segment(img, tiled ? { tile, overlap, onTileProgress, ...stats } : { scales, flip, slide, ...stats });
          endWindowProgress();
          finish(plan, img, seg);
        } catch (e) {
          endWindowProgress();
          fail(plan, e);
        }
      }
      flush(batch);
    }
  } finally {
    progress?.finish();
    endWindowProgress();
    summary?.close();
    model.dispose();
  }
  const failed = countRecords(results).failed;
  if (asJson) {
    const doc = {
      model: model.name,
      outputStride: model.config.outputStride,
      scales,
      flip,
      ...(tiled ? { tile, overlap } : {}),
      ...(shard ? { shard: `${shard.index}/${shard.count}`, inputs: allPlans.length } : {}),
      counts: countRecords(results),
      images: results,
    };
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  } else if (collection || plans.length > 1) {
    process.stdout.write(`segment: ${countLine(results, allPlans.length, shard)}${summary ? `; summary in ${summary.path}` : ''}\n`);
  }
  if (failed > 0) {
    process.stderr.write(`deeplab: ${failed} of ${plans.length} image${plans.length === 1 ? '' : 's'} failed\n`);
    return 1;
  }
  return 0;
}

export const segmentCommand: Command = { spec, run };
