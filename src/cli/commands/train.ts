// `deeplab train --data DIR --model NAME|PATH --out DIR ...`: fine-tunes a model on a labelled
// data set (VOC layout or image/label folders) on the GPU, or trains a DeepLabv3 on a
// torchvision classification backbone (--backbone-weights FILE), with the paper's protocol (random
// scale 0.5-2, crop, flip; poly learning rate; SGD with momentum). See src/train/run.ts for
// what lands in the output folder.
import { DEFAULT_MODEL } from '../../model/loading/registry.js';
import { CLASSIFICATION_BACKBONES, type ClassificationBackbone } from '../../model/weights/torchvision-classification.js';
import { TRAINING_LOSSES, type TrainingLoss } from '../../train/loss-choice.js';
import { type RunOptions, runTraining } from '../../train/run.js';
import { noteTrainingDevice } from '../device-note.js';
import { type Command, type CommandSpec, type ParsedArgs, UsageError, optionFlag, optionValue, parseDevice, parseNonNegativeInt, parseOutputStride, parsePositiveInt } from '../args.js';
import { COCO_CLASSES_OPTION, FORMAT_OPTION, cocoClassesOption, formatOption } from '../format-option.js';
import { decoderOption, decoderOptionSpec } from '../decoder-option.js';
import { type InterruptSignal, SIGNAL_EXIT_CODE, onInterrupt } from '../interrupts.js';
import { Progress } from '../progress.js';

const spec: CommandSpec = {
  name: 'train',
  summary: 'Fine-tune a model, or a new DeepLabv3 on a torchvision classification backbone, on a labelled data set (VOC, image/label folders, Cityscapes, ADE20K, colour masks, COCO) on the GPU.',
  positionals: [],
  options: [
    { name: 'data', kind: 'value', valueName: 'DIR', description: 'data set: a VOC folder, or images/<split>/, labels/<split>/ and classes.json, Cityscapes, ADE20K, colour masks, COCO (required)' },
    FORMAT_OPTION,
    COCO_CLASSES_OPTION,
    { name: 'model', kind: 'value', valueName: 'NAME|PATH', description: 'weights to start from (a new classifier is made for other classes)', defaultText: DEFAULT_MODEL },
    {
      name: 'backbone-weights',
      kind: 'value',
      valueName: 'FILE',
      description: "start instead from a torchvision classification checkpoint (.pth or .safetensors: resnet50, resnet101 or mobilenet_v3_large): its backbone, a new DeepLabv3 head initialised as PyTorch does, its classification head dropped",
    },
    { name: 'backbone', kind: 'value', valueName: 'NAME', description: `the network --backbone-weights holds: ${CLASSIFICATION_BACKBONES.join(', ')}`, defaultText: "read from the file's tensors" },
    { name: 'out', kind: 'value', valueName: 'DIR', description: 'output folder: log.jsonl, latest/best.safetensors, curves, confusion matrices (required)' },
    { name: 'train-split', kind: 'value', valueName: 'NAME', description: 'training split', defaultText: 'train' },
    { name: 'val-split', kind: 'value', valueName: 'NAME', description: 'validation split', defaultText: 'val' },
    { name: 'steps', kind: 'value', valueName: 'N', description: 'optimizer steps', defaultText: '1000' },
    { name: 'batch', kind: 'value', valueName: 'B', description: 'images per optimizer step', defaultText: '8' },
    { name: 'accumulate', kind: 'value', valueName: 'K', description: 'micro-batches per step (gradient accumulation): B/K images per pass', defaultText: '1' },
    { name: 'crop', kind: 'value', valueName: 'C', description: 'square training crop', defaultText: '321' },
    { name: 'lr', kind: 'value', valueName: 'X', description: 'base learning rate of the poly schedule', defaultText: '0.005 x min(1, (B/8)^2)' },
    { name: 'warmup', kind: 'value', valueName: 'N', description: 'steps of linear learning-rate warm-up', defaultText: 'min(50, steps / 10)' },
    { name: 'head-lr', kind: 'value', valueName: 'M', description: "learning-rate multiplier of the head's parameters", defaultText: '1' },
    { name: 'output-stride', kind: 'value', valueName: 'N', description: 'output stride to train at', defaultText: '16' },
    decoderOptionSpec("the model's own: none for the released models"),
    { name: 'freeze-bn', kind: 'flag', description: 'keep batch norms in inference mode (their scale and shift still learn)' },
    { name: 'freeze-backbone', kind: 'flag', description: 'train only the head (ASPP, decoder and classifier)' },
    { name: 'hard-pixels', kind: 'value', valueName: 'K', description: 'the loss over only the K % of valid pixels with the largest loss (hard-example mining)', defaultText: '100' },
    { name: 'loss', kind: 'value', valueName: 'L', description: `the training loss: ${TRAINING_LOSSES.join(', ')} (bce: a binary model's; dice: smp's soft Dice; a sum weighs its terms 1:1)`, defaultText: 'ce' },
    { name: 'repeat-classes', kind: 'value', valueName: 'NAMES', description: "bootstrapping: images holding any of these classes (comma-separated) appear --repeat-factor times per epoch" },
    { name: 'repeat-factor', kind: 'value', valueName: 'N', description: 'how often such an image appears per epoch', defaultText: '2' },
    { name: 'no-dropout', kind: 'flag', description: "leave out the heads' dropout (on by default, as in PyTorch and TF)" },
    { name: 'class-weights', kind: 'flag', description: 'weight the loss by median-frequency balancing of the training labels (helps rare classes)' },
    { name: 'eval-every', kind: 'value', valueName: 'N', description: 'validate every N steps (and after the last)', defaultText: 'after the last step' },
    { name: 'eval-limit', kind: 'value', valueName: 'N', description: 'validate on the first N images of the split' },
    { name: 'workers', kind: 'value', valueName: 'N', description: 'threads that decode and augment training samples (0: the main thread)', defaultText: 'cores - 1, at most 8' },
    { name: 'seed', kind: 'value', valueName: 'S', description: 'seed of the sample order, augmentation and new classifier', defaultText: '0' },
    { name: 'resume', kind: 'flag', description: 'continue from OUT/latest.safetensors (the same losses as a run never stopped)' },
    {
      name: 'device',
      kind: 'value',
      valueName: 'auto|webgpu|cpu',
      description: "where the run trains: 'webgpu', 'cpu' (ONNX Runtime, onnxruntime-node) or 'auto' (WebGPU where there is an adapter, a software one included, else the CPU); a run resumes on either",
      defaultText: 'auto',
    },
    {
      name: 'device-loss',
      kind: 'value',
      valueName: 'WHAT',
      description: "when the GPU device is lost: 'recover' (a new device continues from the last step's state, which is read back after every step) or 'fail' (stop, naming the step)",
      defaultText: 'recover',
    },
  ],
  notes: [
    'Ctrl-C, or SIGINT or SIGTERM sent to the process (kill -INT PID), saves OUT/latest.safetensors after the step under way and exits (status 130, 143 for SIGTERM; a second one quits at once); a loss that turns NaN, a checkpoint that cannot be written, or a lost GPU device with --device-loss fail stops the run, naming the step, and leaves the last checkpoint as it was for --resume. By default a lost GPU device is replaced and the run goes on with the losses of one never interrupted.',
    'At each validation log.jsonl gets valPerClassIoU (percent by class name; null: a class in neither the ground truth nor\n' +
      'the predictions), and OUT/confusion.json (pixel counts, rows = ground truth, columns = prediction) and\n' +
      'OUT/confusion.png (the heat map, rows normalised) are rewritten; confusion-best.json/.png belong to best.safetensors.',
    'Example: deeplab train --data ../shared/data/camvid --model mobilenetv2-pascal-257 --out runs/camvid --steps 600 --batch 8 --crop 321',
    "From ImageNet weights: deeplab train --data ../shared/data/camvid --backbone-weights resnet50-0676ba61.pth --out runs/camvid-r50 --output-stride 16 (ASPP rates follow the stride: 6,12,18 at 16 for a ResNet; no auxiliary head)",
    'DeepLabv3+: add --decoder deeplabv3plus (the decoder starts afresh; checkpoints carry it, so segment, eval and --resume rebuild it).',
  ],
};

function intOption(args: ParsedArgs, name: string, dflt: number): number {
  const text = optionValue(args, name);
  return text === undefined ? dflt : parsePositiveInt(text, `--${name}`);
}

function numberOption(args: ParsedArgs, name: string): number | undefined {
  const text = optionValue(args, name);
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0) throw new UsageError(`--${name} must be a non-negative number, got '${text}'`, 'train');
  return v;
}

/**
 * 0.005 at batch 8 and above, quadratically less for smaller batches (0.00125 at 4). Measured on
 * CamVid from the VOC MobileNetV2 weights (batch-norm folded), batch 8, crop 321, 600 steps:
 * 0.01 loses most of what the network knew in its first steps (29.4 val mIoU for width 1, 18.8
 * for width 0.5) while 0.005 with 50 warm-up steps reaches 55 and 0.002 reaches 52; in PyTorch
 * 0.01 at batch 4 collapses to one predicted class within 20 steps.
 */
export function defaultLearningRate(batch: number): number {
  return 0.005 * Math.min(1, (batch / 8) ** 2);
}

/** Linear warm-up over the first 50 steps (a tenth of a short run): the new classifier's first gradients are large. */
export function defaultWarmup(steps: number): number {
  return Math.min(50, Math.floor(steps / 10));
}

/** --hard-pixels K (percent, 0 < K <= 100) as a fraction. */
function hardPixelsOption(args: ParsedArgs): number | undefined {
  const text = optionValue(args, 'hard-pixels');
  if (text === undefined) return undefined;
  const k = Number(text);
  if (text.trim() === '' || !(k > 0 && k <= 100)) throw new UsageError(`--hard-pixels must be a percentage in (0, 100], got '${text}'`, 'train');
  return k / 100;
}

/** --loss L, one of TRAINING_LOSSES. */
function lossOption(args: ParsedArgs): TrainingLoss | undefined {
  const text = optionValue(args, 'loss');
  if (text === undefined) return undefined;
  if (!(TRAINING_LOSSES as readonly string[]).includes(text)) throw new UsageError(`--loss must be one of ${TRAINING_LOSSES.join(', ')}, got '${text}'`, 'train');
  return text as TrainingLoss;
}

/** --model, or --backbone-weights (with --backbone): one of the two, the default model when neither. */
function startingWeightsOptions(args: ParsedArgs): Pick<RunOptions, 'model' | 'backboneWeights' | 'backbone'> {
  const model = optionValue(args, 'model');
  const backboneWeights = optionValue(args, 'backbone-weights');
  const backbone = optionValue(args, 'backbone');
  if (backbone !== undefined && !CLASSIFICATION_BACKBONES.includes(backbone as ClassificationBackbone)) {
    throw new UsageError(`--backbone: '${backbone}' is not one of ${CLASSIFICATION_BACKBONES.join(', ')}`, 'train');
  }
  if (backboneWeights === undefined) {
    if (backbone !== undefined) throw new UsageError('--backbone names the network of --backbone-weights FILE, which was not given', 'train');
    return { model: model ?? DEFAULT_MODEL };
  }
  if (model !== undefined) throw new UsageError('give --model or --backbone-weights, not both', 'train');
  return { backboneWeights, ...(backbone ? { backbone: backbone as ClassificationBackbone } : {}) };
}

async function run(args: ParsedArgs): Promise<number> {
  const deviceText = optionValue(args, 'device');
  const data = optionValue(args, 'data');
  const out = optionValue(args, 'out');
  if (!data) throw new UsageError("'train' needs --data DIR", 'train');
  if (!out) throw new UsageError("'train' needs --out DIR", 'train');
  const batch = intOption(args, 'batch', 8);
  const steps = intOption(args, 'steps', 1000);
  const strideText = optionValue(args, 'output-stride');
  const evalEveryText = optionValue(args, 'eval-every');
  const format = formatOption(args, 'train');
  const cocoClasses = cocoClassesOption(args, 'train');
  const o: RunOptions = {
    data,
    ...(format ? { format } : {}),
    ...(cocoClasses ? { cocoClasses } : {}),
    out,
    ...startingWeightsOptions(args),
    trainSplit: optionValue(args, 'train-split'),
    valSplit: optionValue(args, 'val-split'),
    steps,
    batch,
    accumulate: intOption(args, 'accumulate', 1),
    crop: intOption(args, 'crop', 321),
    lr: numberOption(args, 'lr') ?? defaultLearningRate(batch),
    warmup: numberOption(args, 'warmup') ?? defaultWarmup(steps),
    headLrMultiplier: numberOption(args, 'head-lr'),
    outputStride: strideText ? parseOutputStride(strideText) : 16,
    decoder: decoderOption(args, 'train'),
    freezeBackbone: optionFlag(args, 'freeze-backbone'),
    classWeights: optionFlag(args, 'class-weights'),
    dropout: !optionFlag(args, 'no-dropout'),
    hardPixels: hardPixelsOption(args),
    repeatClasses: optionValue(args, 'repeat-classes')?.split(',').map((c) => c.trim()),
    repeatFactor: intOption(args, 'repeat-factor', 2),
    evalEvery: evalEveryText ? parsePositiveInt(evalEveryText, '--eval-every') : 0,
    evalLimit: optionValue(args, 'eval-limit') ? intOption(args, 'eval-limit', 0) : undefined,
    seed: optionValue(args, 'seed') ? Number(optionValue(args, 'seed')) : 0,
    workers: optionValue(args, 'workers') === undefined ? undefined : parseNonNegativeInt(optionValue(args, 'workers')!, '--workers'),
    resume: optionFlag(args, 'resume'),
    ...(deviceText ? { device: parseDevice(deviceText) } : {}),
  };
  if (optionFlag(args, 'freeze-bn')) o.freezeBn = true;
  const loss = lossOption(args);
  if (loss) o.loss = loss;
  const deviceLoss = optionValue(args, 'device-loss');
  if (deviceLoss !== undefined) {
    if (deviceLoss !== 'recover' && deviceLoss !== 'fail') throw new UsageError(`--device-loss must be 'recover' or 'fail', got '${deviceLoss}'`, 'train');
    o.deviceLoss = deviceLoss;
  }
  if (o.lr <= 0) throw new UsageError(`--lr must be positive, got ${o.lr}`, 'train');
  // Ctrl-C, or SIGINT or SIGTERM sent to this process: save latest after the step and stop.
  let stoppedBy: InterruptSignal | undefined;
  const removeInterruptHandler = onInterrupt((signal, count) => {
    if (count > 1) process.exit(SIGNAL_EXIT_CODE[signal]); // a second one does not wait
    stoppedBy = signal;
    process.stderr.write(`\ndeeplab: ${signal === 'SIGINT' ? 'interrupt' : signal}: saving latest.safetensors after this step (Ctrl-C again to quit now)\n`);
  });
  let progress: Progress | undefined;
  try {
    const summary = await runTraining(o, {
      say: (m) => process.stderr.write(`deeplab: ${m}\n`),
      onStart: (s) => noteTrainingDevice(s, o.device, (m) => process.stderr.write(`deeplab: ${m}\n`)),
      shouldStop: () => stoppedBy !== undefined,
      onStep: (r) => {
        progress ??= new Progress('train', o.steps - r.step + 1, { unit: 'step' });
        const val = r.valMIoU !== undefined ? `  val mIoU ${r.valMIoU.toFixed(2)}` : '';
        progress.tick(`step ${r.step}  loss ${r.loss.toFixed(4)}  lr ${r.lr.toExponential(2)}  ${r.imagesPerSecond.toFixed(2)} img/s${val}`);
      },
    });
    progress?.finish();
    const best = summary.bestMIoU === null ? '' : `, best validation mIoU ${summary.bestMIoU.toFixed(2)}`;
    const memory = summary.activationBytes ? `; ${(summary.activationBytes / 2 ** 20).toFixed(0)} MiB of planned activations and gradients per pass` : '';
    process.stdout.write(`${summary.interrupted ? 'stopped' : 'trained'} ${summary.steps} steps in ${summary.seconds.toFixed(0)} s${best}${memory}; outputs in ${out}\n`);
    return summary.interrupted ? SIGNAL_EXIT_CODE[stoppedBy ?? 'SIGINT'] : 0;
  } finally {
    removeInterruptHandler();
  }
}

export const trainCommand: Command = { spec, run };
