// The --format and --coco-classes options of the commands that open a data set (train, eval, data).
import { COCO_CLASS_SETS, type CocoClasses, DATASET_FORMATS, type DatasetFormat, isCocoClasses, isDatasetFormat } from '../data/dataset.js';
import { type OptionSpec, type ParsedArgs, UsageError, optionValue } from './args.js';

export const FORMAT_OPTION: OptionSpec = {
  name: 'format',
  kind: 'value',
  valueName: 'F',
  description: `data set format: ${DATASET_FORMATS.join(', ')}`,
  defaultText: "recognised from the folder's layout",
};

/** --format's value, checked; undefined when not given. */
export function formatOption(args: ParsedArgs, command: string): DatasetFormat | undefined {
  const text = optionValue(args, 'format');
  if (text === undefined) return undefined;
  if (!isDatasetFormat(text)) throw new UsageError(`--format: '${text}' is not one of ${DATASET_FORMATS.join(', ')}`, command);
  return text;
}

export const COCO_CLASSES_OPTION: OptionSpec = {
  name: 'coco-classes',
  kind: 'value',
  valueName: 'SET',
  description: "a coco data set's classes: 'file' (background, then the file's categories in id order) or 'voc' (torchvision's 21-class VOC subset; other categories become background)",
  defaultText: 'file',
};

/** --coco-classes' value, checked; undefined when not given. */
export function cocoClassesOption(args: ParsedArgs, command: string): CocoClasses | undefined {
  const text = optionValue(args, 'coco-classes');
  if (text === undefined) return undefined;
  if (!isCocoClasses(text)) throw new UsageError(`--coco-classes: '${text}' is not one of ${COCO_CLASS_SETS.join(', ')}`, command);
  return text;
}
