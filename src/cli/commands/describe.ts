// `deeplab describe`: the structure of a DeepLabv3 configuration (the paper's ablation knobs:
// cascaded blocks, output stride, multi-grid, ASPP rates, image pooling, atrous or not; and
// DeepLabv3+'s decoder) as a
// per-block summary with totals, or every layer (--layers), or JSON (--json). No weights and
// no GPU: the graph is built with its parameters declared and read off (src/model/analysis/describe.ts).
import { type Command, type CommandSpec, type ParsedArgs, UsageError, formatHelp, optionFlag, optionValue, parseArgs, parsePositiveInt } from '../args.js';
import { BACKBONES, type BackboneName, type DeepLabConfig, paperAsppRates } from '../../model/networks/config.js';
import { allowedOutputStrides, defaultConfig, naturalOutputStride } from '../../model/backbones/config.js';
import { BACKBONE_RECORDS, isBackboneName } from '../../model/backbones/registry.js';
import { type ModelDescription, describeModel } from '../../model/analysis/describe.js';
import { decoderOption, decoderOptionSpec } from '../decoder-option.js';

const spec: CommandSpec = {
  name: 'describe',
  summary: 'Show the layers, strides, atrous rates, map sizes, parameters and FLOPs of a DeepLabv3 configuration.',
  positionals: [],
  options: [
    { name: 'backbone', kind: 'value', valueName: 'NAME', description: `backbone: ${BACKBONES.join(', ')}`, defaultText: 'resnet101' },
    {
      name: 'output-stride',
      kind: 'value',
      valueName: 'N',
      description: 'input size / feature size: 8, 16, ... up to 32 x 2^(blocks-4)',
      defaultText: '16; with --no-atrous the blocks\' own stride',
    },
    { name: 'multi-grid', kind: 'value', valueName: 'A,B,C', description: 'unit rates of the three units of block4 and later blocks', defaultText: '1,1,1' },
    { name: 'blocks', kind: 'value', valueName: 'N', description: 'ResNet blocks, 4..7 (5..7 cascade replicas of block4)', defaultText: '4' },
    {
      name: 'aspp-rates',
      kind: 'value',
      valueName: 'LIST',
      description: "ASPP atrous rates, e.g. 6,12,18,24, or 'none'",
      defaultText: 'the paper\'s 6,12,18 at OS 16, scaled by 16/OS',
    },
    { name: 'no-image-pooling', kind: 'flag', description: "drop ASPP's image-level branch" },
    { name: 'no-atrous', kind: 'flag', description: 'keep every stride (no atrous convolution): OS 32 with 4 blocks, 64..256 with 5..7' },
    decoderOptionSpec('none'),
    { name: 'convention', kind: 'value', valueName: 'paper|torchvision|mmseg', description: "rates inside a dilated block (torchvision: its first unit keeps the previous rate; mmseg: so does it, and a multi-grid gives block4's rates themselves)", defaultText: 'paper (mmseg with --head mmseg, torchvision with --head vainf)' },
    { name: 'head', kind: 'value', valueName: 'torchvision|mmseg|vainf', description: "the head: torchvision's DeepLabHead, mmseg's ASPPHead (512 channels, 128 on resnet18; 3x3 bottleneck) with its deep-stem ResNetV1c, or VainF's DeepLabHead / DeepLabHeadV3Plus (DeepLabV3Plus-Pytorch)", defaultText: 'torchvision (mmseg on mmseg_mobilenet_v2, vainf on vainf_mobilenet_v2)' },
    { name: 'stem', kind: 'value', valueName: 'v1b|v1c', description: 'ResNet stem: one 7x7 conv (v1b) or three 3x3 convs (v1c)', defaultText: 'v1b (v1c with --head mmseg)' },
    { name: 'classes', kind: 'value', valueName: 'N', description: 'output classes', defaultText: '21' },
    { name: 'input', kind: 'value', valueName: 'WxH', description: 'input image size (one number: square)', defaultText: '513x513' },
    { name: 'layers', kind: 'flag', description: 'list every layer, not only the blocks' },
    { name: 'json', kind: 'flag', description: 'print the whole description as JSON' },
  ],
  notes: [
    'Example (the paper\'s Table 3 network): deeplab describe --backbone resnet101 --output-stride 16 --multi-grid 1,2,4 --blocks 7',
    'FLOPs: MACs = convolution multiply-accumulates; conv FLOPs = 2 x MACs; "other" = batch norm, adds,\n' +
      'pools and resizes by a per-element count (see src/model/analysis/flops.ts). torchvision\'s published "GFLOPS"\n' +
      'are MACs of the model with its aux head at 520x520.',
  ],
};

function parseIntList(text: string, option: string): number[] {
  return text.split(',').map((s) => parsePositiveInt(s.trim(), option));
}

function parseInput(text: string): { width: number; height: number } {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--input: '${text}' is not WIDTHxHEIGHT (e.g. 513x513) or one size`, spec.name);
  const width = parsePositiveInt(m[1], '--input');
  return { width, height: m[2] === undefined ? width : parsePositiveInt(m[2], '--input') };
}

/** The configuration the options describe (paper defaults where an option is not given). */
export function describeConfig(args: ParsedArgs): DeepLabConfig {
  const name = optionValue(args, 'backbone') ?? 'resnet101';
  if (!isBackboneName(name)) throw new UsageError(`--backbone: '${name}' is not one of ${BACKBONES.join(', ')}`, spec.name);
  const backbone: BackboneName = name;
  const record = BACKBONE_RECORDS[backbone];
  const atrous = !optionFlag(args, 'no-atrous');
  const osText = optionValue(args, 'output-stride');
  const blocksText = optionValue(args, 'blocks');
  let outputStride = osText === undefined ? undefined : parsePositiveInt(osText, '--output-stride');
  let blocks = blocksText === undefined ? undefined : parsePositiveInt(blocksText, '--blocks');
  if (!atrous) {
    // Without atrous convolution the stride and the block count fix each other.
    if (blocks === undefined && outputStride !== undefined && record.cascadedBlocks) {
      blocks = Math.round(Math.log2(outputStride)) - 1;
      if (2 ** (blocks + 1) !== outputStride || blocks < 4 || blocks > 7) {
        throw new UsageError(`--output-stride: ${outputStride} without atrous convolution is not one of 32, 64, 128, 256 (4..7 blocks)`, spec.name);
      }
    }
    outputStride ??= naturalOutputStride(backbone, blocks ?? 4);
  }
  outputStride ??= Math.min(16, Math.max(...allowedOutputStrides(backbone, blocks ?? 4)));
  const ratesText = optionValue(args, 'aspp-rates');
  const asppRates = ratesText === undefined ? paperAsppRates(outputStride) : ratesText.trim().toLowerCase() === 'none' ? [] : parseIntList(ratesText, '--aspp-rates');
  const multiGridText = optionValue(args, 'multi-grid');
  // A backbone built under one head family alone (mmseg's or VainF's MobileNetV2) takes its record's.
  const head = optionValue(args, 'head') ?? record.defaults.head ?? 'torchvision';
  if (head !== 'torchvision' && head !== 'mmseg' && head !== 'vainf') throw new UsageError(`--head: '${head}' is not torchvision, mmseg or vainf`, spec.name);
  const mmseg = head === 'mmseg';
  // VainF builds on torchvision's ResNets, whose dilated stage's first unit keeps the previous rate.
  const convention = optionValue(args, 'convention') ?? (mmseg ? 'mmseg' : head === 'vainf' ? 'torchvision' : 'paper');
  if (convention !== 'paper' && convention !== 'torchvision' && convention !== 'mmseg') throw new UsageError(`--convention: '${convention}' is not paper, torchvision or mmseg`, spec.name);
  const stem = optionValue(args, 'stem') ?? (mmseg && record.stems.includes('v1c') ? 'v1c' : 'v1b');
  if (stem !== 'v1b' && stem !== 'v1c') throw new UsageError(`--stem: '${stem}' is not v1b or v1c`, spec.name);
  const classes = optionValue(args, 'classes');
  const decoder = decoderOption(args, spec.name);
  try {
    return defaultConfig(backbone, {
      outputStride,
      blocks: blocks as DeepLabConfig['blocks'] | undefined,
      atrous,
      multiGrid: multiGridText === undefined ? undefined : parseIntList(multiGridText, '--multi-grid'),
      asppRates,
      imagePooling: !optionFlag(args, 'no-image-pooling'),
      dilationConvention: convention,
      numClasses: classes === undefined ? undefined : parsePositiveInt(classes, '--classes'),
      decoder,
      head,
      stem,
      ...(mmseg && record.weights.mmseg ? { asppChannels: record.weights.mmseg.headChannels } : {}),
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // An invalid combination of options is a wrong invocation, not a failure.
    throw new UsageError((e as Error).message, spec.name);
  }
}

/** Left-aligned columns (numbers right-aligned), two spaces apart. */
function table(header: string[], rows: string[][], numeric: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const millions = (n: number): string => (n / 1e6).toFixed(3);
const giga = (n: number): string => (n / 1e9).toFixed(3);
const size = (s: number[]): string => s.join('x');

/** Rates as "2,4,8", runs of one rate as "1 x23". */
function ratesText(rates: number[]): string {
  if (rates.length === 0) return '-';
  if (rates.every((r) => r === rates[0]) && rates.length > 3) return `${rates[0]} x${rates.length}`;
  return rates.join(',');
}

export function formatDescription(d: ModelDescription, withLayers: boolean): string {
  const c = d.config;
  const out: string[] = [];
  out.push(
    `${c.backbone}, ${c.blocks} blocks, output stride ${c.outputStride}${c.atrous ? '' : ' (no atrous)'}, multi-grid (${c.multiGrid.join(',')}), ` +
      `ASPP rates (${c.asppRates.join(',') || 'none'})${c.imagePooling ? ' + image pooling' : ''}${c.decoder === 'deeplabv3plus' ? ', DeepLabv3+ decoder (stride 4)' : ''}, ${c.numClasses} classes, ` +
      `${c.dilationConvention} rates; input ${d.input.width}x${d.input.height}\n\n`,
  );
  out.push(
    table(
      ['BLOCK', 'LAYERS', 'STRIDE', 'RATES', 'OUTPUT HxWxC', 'PARAMS (M)', 'GMACs'],
      d.blocks.map((b) => [b.name, String(b.layers), b.outputStride === null ? '-' : String(b.outputStride), ratesText(b.rates), size(b.output), millions(b.params), giga(b.macs)]),
      [false, true, true, false, false, true, true],
    ),
  );
  if (withLayers) {
    out.push('\n');
    out.push(
      table(
        ['LAYER', 'OP', 'KERNEL', 'STRIDE', 'RATE', 'OUTPUT HxWxC', 'PARAMS', 'MFLOPs'],
        d.layers.map((l) => [
          l.name,
          l.op,
          l.kernel ? size(l.kernel) : '-',
          l.stride === null ? '-' : String(l.stride),
          l.rate === null ? '-' : String(l.rate),
          size(l.output),
          String(l.params),
          (l.flops / 1e6).toFixed(2),
        ]),
        [false, false, false, true, true, false, true, true],
      ),
    );
  }
  const t = d.totals;
  out.push(
    `\nTotals: ${t.layers} layers; parameters ${t.params.toLocaleString('en-US')} ` +
      `(${t.trainableParams.toLocaleString('en-US')} without batch-norm statistics); ` +
      `${giga(t.macs)} GMACs = ${giga(t.convFlops)} conv GFLOPs + ${giga(t.otherFlops)} other GFLOPs = ${giga(t.flops)} GFLOPs\n`,
  );
  return out.join('');
}

async function run(args: ParsedArgs, write: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const cfg = describeConfig(args);
  const input = parseInput(optionValue(args, 'input') ?? '513x513');
  const description = describeModel(cfg, input.height, input.width);
  write(optionFlag(args, 'json') ? JSON.stringify(description, null, 2) + '\n' : formatDescription(description, optionFlag(args, 'layers')));
  return 0;
}

/** For src/cli/main.ts's command table: `describe: describeCli`. */
export const describeCli: Command = { spec, run: (args) => run(args) };

/**
 * `deeplab describe ARGS` on its own: parses `argv` (the words after 'describe'), prints the
 * help, the description or a usage error; returns the exit code (0, or 2 for a usage error).
 */
export async function describeCommand(argv: string[], write?: (text: string) => void, writeError: (text: string) => void = (t) => process.stderr.write(t)): Promise<number> {
  try {
    const args = parseArgs(argv, spec);
    if (args.help) {
      (write ?? ((t: string) => process.stdout.write(t)))(formatHelp(spec));
      return 0;
    }
    return await run(args, write);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    writeError(`deeplab: ${e.message}\nRun 'deeplab describe --help' for usage.\n`);
    return 2;
  }
}
