// Which format a data-set folder is in: every format record's layout rules (format.ts), tried
// from the highest priority down, the first that matches deciding. A folder no rule matches is
// refused naming every layout looked for.
import type { FileAccess } from '../files/file-access.js';
import { nodeFiles } from '../files/node-files.js';
import { DATASET_FORMAT_RECORDS, type DatasetFormat } from './registry.js';

/** "neither A nor B, nor C, D or E". */
function neither(layouts: readonly string[]): string {
  const [first, second, ...rest] = layouts;
  if (second === undefined) return `not ${first}`;
  const last = rest.length > 1 ? `${rest.slice(0, -1).join(', ')} or ${rest[rest.length - 1]}` : rest[0];
  return `neither ${first} nor ${second}${last === undefined ? '' : `, nor ${last}`}`;
}

/** The format of the folder `dir`, among those the page opens with `page`. */
export function detectFormat(dir: string, files: FileAccess = nodeFiles, o: { page?: boolean } = {}): DatasetFormat {
  const formats = DATASET_FORMAT_RECORDS.filter((f) => !o.page || f.page);
  const rules = formats.flatMap((f) => f.recognise.map((rule) => ({ name: f.name, rule }))).sort((a, b) => b.rule.priority - a.rule.priority);
  const found = rules.find(({ rule }) => rule.matches(files, dir));
  if (found) return found.name;
  throw new Error(`data set ${dir}: ${neither(formats.map((f) => f.layout))}`);
}
