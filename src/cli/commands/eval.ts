// `deeplab eval --voc DIR`: mIoU of a model on a PASCAL VOC split (the devkit's protocol, see
// src/eval/voc.ts), printed as a per-class table and optionally written as JSON.
import { hasOtherFirst, shiftedPastOther } from '../../eval/class-alignment.js';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { openDataset } from '../../data/dataset.js';
import { confusionJson } from '../../eval/metrics.js';
import { type VocScores, evaluateVoc, formatScoresTable } from '../../eval/voc.js';
import { writeFileAtomic } from '../../util/write-atomic.js';
import { DEFAULT_MODEL } from '../../model/loading/registry.js';
import {
  type Command,
  type CommandSpec,
  type ParsedArgs,
  UsageError,
  optionFlag,
  optionValue,
  DEVICE_OPTION,
  PRECISION_OPTION,
  parseOutputStride,
  parseDevice,
  parsePrecision,
  parsePositiveInt,
  parseScales,
} from '../args.js';
import { COCO_CLASSES_OPTION, FORMAT_OPTION, cocoClassesOption, formatOption } from '../format-option.js';
import { noteFasterCpu } from '../device-note.js';
import { Progress } from '../progress.js';
import { TILE_OPTIONS, tileOptions } from '../tile-option.js';
import { DTYPE_OPTION, SMP_CONFIG_OPTION, openModel, parseDtypeOption, readSmpConfigOption } from './models.js';

const spec: CommandSpec = {
  name: 'eval',
  summary: 'Evaluate a model on a labelled split (VOC, image/label folders, Cityscapes, ADE20K, colour masks): per-class IoU, mIoU, pixel accuracy.',
  positionals: [],
  options: [
    { name: 'voc', kind: 'value', valueName: 'DIR', description: 'VOC2012 folder with JPEGImages/, SegmentationClass/, ImageSets/Segmentation/' },
    { name: 'split', kind: 'value', valueName: 'NAME', description: 'ImageSets/Segmentation/<NAME>.txt lists the image ids', defaultText: 'val' },
    { name: 'model', kind: 'value', valueName: 'NAME|PATH', description: "registry model (see 'deeplab models') or weights file", defaultText: DEFAULT_MODEL },
    SMP_CONFIG_OPTION,
    DTYPE_OPTION,
    { name: 'output-stride', kind: 'value', valueName: 'N', description: 'run the network at output stride 8, 16 or 32', defaultText: "the model's" },
    DEVICE_OPTION,
    PRECISION_OPTION,
    { name: 'scales', kind: 'value', valueName: 'LIST', description: "input scales to average, e.g. 0.5,1,1.5, or 'paper' (0.5..1.75)", defaultText: '1' },
    { name: 'flip', kind: 'flag', description: 'also average in the left-right flipped image' },
    ...TILE_OPTIONS,
    { name: 'json', kind: 'value', valueName: 'FILE', description: 'also write the scores as JSON (values in percent) with the confusion matrix (pixel counts, rows = ground truth)' },
    { name: 'limit', kind: 'value', valueName: 'N', description: 'evaluate only the first N images of the split' },
    { name: 'data', kind: 'value', valueName: 'DIR', description: 'any data set: a VOC folder, or images/<split>/, labels/<split>/ and classes.json (its ignore index is used), Cityscapes, ADE20K, colour masks, COCO' },
    FORMAT_OPTION,
    COCO_CLASSES_OPTION,
  ],
  notes: [
    'mIoU averages the classes present in the ground truth or the prediction; mIoU21 averages all 21\n' +
      '(an absent class counts 0). Ground-truth value 255 is ignored.',
    "--json's confusion: {classes, rows: 'ground truth', columns: 'prediction', ignoreIndex, counts}, counts[gt][pred] in\n" +
      'pixels, ignored pixels not counted.',
    'Example: deeplab eval --voc VOCdevkit/VOC2012 --split val --scales paper --flip --json scores.json',
  ],
};

/** The JSON document `--json FILE` writes. */
export function scoresJson(
  scores: VocScores,
  meta: { model: string; split: string; outputStride: number; scales: number[]; flip: boolean; precision?: string; tile?: number; overlap?: number },
): Record<string, unknown> {
  return {
    model: meta.model,
    split: meta.split,
    images: scores.images,
    mIoU: scores.mIoU,
    mIoU21: scores.mIoU21,
    pixelAccuracy: scores.pixelAccuracy,
    perClass: scores.perClass,
    dicePerClass: scores.dicePerClass,
    confusion: confusionJson(scores.matrix, scores.classNames),
    outputStride: meta.outputStride,
    scales: meta.scales,
    flip: meta.flip,
    ...(meta.tile !== undefined ? { tile: meta.tile, overlap: meta.overlap } : {}),
    precision: meta.precision ?? 'f32',
    seconds: scores.seconds,
  };
}

async function run(args: ParsedArgs): Promise<number> {
  const vocDir = optionValue(args, 'voc');
  const dataDir = optionValue(args, 'data');
  if (!vocDir && !dataDir) throw new UsageError("'eval' needs --voc DIR (a VOC2012 folder) or --data DIR (any labelled data set)", 'eval');
  if (vocDir && dataDir) throw new UsageError("'eval' takes --data or --voc, not both", 'eval');
  const format = formatOption(args, 'eval');
  const cocoClasses = cocoClassesOption(args, 'eval');
  if (vocDir && cocoClasses) throw new UsageError("'eval --voc' reads the VOC format; --coco-classes needs --data DIR (a coco data set)", 'eval');
  if (vocDir && format && format !== 'voc') throw new UsageError(`'eval --voc' reads the VOC format; give --data DIR --format ${format} instead`, 'eval');
  const split = optionValue(args, 'split') ?? 'val';
  const scalesText = optionValue(args, 'scales');
  const scales = scalesText ? parseScales(scalesText) : [1];
  const flip = optionFlag(args, 'flip');
  const { tile, overlap } = tileOptions(args, 'eval', flip || scales.length !== 1 || scales[0] !== 1);
  const strideText = optionValue(args, 'output-stride');
  const outputStride = strideText ? parseOutputStride(strideText) : undefined;
  const deviceText = optionValue(args, 'device');
  const device = deviceText ? parseDevice(deviceText) : undefined;
  const precisionText = optionValue(args, 'precision');
  const precision = precisionText ? parsePrecision(precisionText) : undefined;
  const limitText = optionValue(args, 'limit');
  const limit = limitText ? parsePositiveInt(limitText, '--limit') : undefined;
  const jsonPath = optionValue(args, 'json');
  if (jsonPath) {
    // Checked now rather than after a long evaluation whose result could not be saved.
    const parent = dirname(jsonPath);
    if (!existsSync(parent) || !statSync(parent).isDirectory()) throw new Error(`--json ${jsonPath}: the folder ${parent} does not exist`);
  }

  const dataset = openDataset((dataDir ?? vocDir)!, split, { format, cocoClasses });
  const all = dataset.items.map((it) => ({ id: it.id, imagePath: it.imagePath, gtPath: it.labelPath }));
  const items = limit ? all.slice(0, limit) : all;
  let progress: Progress | null = null;
  const model = await openModel(optionValue(args, 'model') ?? DEFAULT_MODEL, {
    outputStride,
    smpConfig: readSmpConfigOption(optionValue(args, 'smp-config')),
    dtype: parseDtypeOption(optionValue(args, 'dtype')),
    precision,
    device,
    onMessage: (m) => process.stderr.write(`deeplab: ${m}\n`),
  });
  await noteFasterCpu(model, device, (m) => process.stderr.write(`deeplab: ${m}\n`));
  let scores: VocScores;
  try {
    process.stdout.write(
      `model ${model.name}${model.precision === 'f16' ? ' (f16)' : ''}, split ${split} (${items.length} of ${all.length} images), output stride ${model.config.outputStride}, ` +
        `scales ${scales.join(',')}${flip ? ', flipped' : ''}${tile !== undefined ? `, tiles ${tile}x${tile} overlapping ${overlap}` : ''}\n`,
    );
    progress = new Progress('eval', items.length);
    progress.show();
    const bar = progress;
    // TF DeepLab's ADE20K models put 'other' before the data set's 150 classes.
    const otherFirst = hasOtherFirst(model.classNames, dataset.classes.names) && dataset.ignoreIndex > model.numClasses;
    if (model.numClasses !== dataset.classes.names.length && !otherFirst) {
      throw new Error(`${model.name} has ${model.numClasses} classes but the data set ${dataset.dir} has ${dataset.classes.names.length}`);
    }
    if (otherFirst) process.stderr.write(`deeplab: ${model.name}'s class 0 is 'other': the data set's classes are its 1..${model.numClasses - 1}, as TF DeepLab evaluates them\n`);
    const readLabel = otherFirst ? shiftedPastOther(dataset.readLabel, dataset.ignoreIndex) : dataset.readLabel;
    scores = await evaluateVoc(model, items, { scales, flip, tile, overlap, ignoreIndex: dataset.ignoreIndex, readLabel, onImage: (_i, _n, id) => bar.tick(id) });
  } finally {
    progress?.finish();
    model.dispose();
  }
  process.stdout.write(formatScoresTable(scores, model.classNames));
  if (jsonPath) {
    const doc = scoresJson(scores, { model: model.name, split, outputStride: model.config.outputStride, scales, flip, precision: model.precision, tile, overlap });
    writeFileAtomic(jsonPath, new TextEncoder().encode(JSON.stringify(doc, null, 2) + '\n'));
    process.stdout.write(`scores written to ${jsonPath}\n`);
  }
  return 0;
}

export const evalCommand: Command = { spec, run };
