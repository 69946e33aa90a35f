// `deeplab data DIR`: what a data set holds and what is wrong with it, before a training run
// finds out: its format, images and sizes, each class's share of the pixels, the ignored share,
// the problems training would stop on (images that do not decode, unreadable labels, colour
// masks where ids were expected, size mismatches) and the warnings (empty classes). No GPU.
import { formatReport, inspectDataset } from '../../data/inspect.js';
import { type Command, type CommandSpec, type ParsedArgs, optionFlag, optionValue } from '../args.js';
import { COCO_CLASSES_OPTION, FORMAT_OPTION, cocoClassesOption, formatOption } from '../format-option.js';

const spec: CommandSpec = {
  name: 'data',
  summary: 'Check a labelled data set: format, images and sizes, class pixel shares, problems (no GPU).',
  positionals: [{ name: 'DIR', description: 'the data set folder', required: true, variadic: false }],
  options: [
    FORMAT_OPTION,
    COCO_CLASSES_OPTION,
    { name: 'split', kind: 'value', valueName: 'NAME', description: 'the split to read', defaultText: 'train' },
    { name: 'json', kind: 'flag', description: 'print {"format","split","images","sizes","classes":[{"name","pixels"}],"ignoredPixels","problems","warnings"} as JSON' },
  ],
  notes: [
    'Every image is decoded and every label read as training reads them. Problems are what training would stop on (an image that does not decode, an unreadable label, a label not of its image\'s size); warnings are what it runs with (a class with no pixels in the split).',
    'The format is found from the folders (and, with classes.json, from whether the label PNGs are RGB colour masks or class ids); --format overrides it.',
    'Exit status: 0 when no problem was found (warnings alone included), 1 when there are problems (they are all listed) or the folder cannot be opened.',
    'Example: deeplab data ../shared/data/camvid --split val',
  ],
};

async function run(args: ParsedArgs): Promise<number> {
  const dir = args.positionals[0];
  const split = optionValue(args, 'split') ?? 'train';
  const report = await inspectDataset(dir, split, { format: formatOption(args, 'data'), cocoClasses: cocoClassesOption(args, 'data') });
  process.stdout.write(optionFlag(args, 'json') ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, dir));
  return report.problems.length ? 1 : 0;
}

export const dataCommand: Command = { spec, run };
