// The --format option of the commands that open a data set (train, eval, data).
import { DATASET_FORMATS, type DatasetFormat, isDatasetFormat } from '../data/dataset.js';
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
