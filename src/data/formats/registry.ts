// Every data-set format's record (format.ts says what a record holds), in the order --format
// lists them and the refusal of an unknown layout names them: adding a format is its record's
// module and one line here. Finding a format by name, and the one refusal of an unknown name,
// live here too.
import { ADE20K } from './ade20k.js';
import { CITYSCAPES } from './cityscapes.js';
import { COCO } from './coco.js';
import { COLOUR } from './colour.js';
import { FOLDERS } from './folders.js';
import type { DatasetFormatRecord } from './format.js';
import { VOC } from './voc.js';

export const DATASET_FORMAT_RECORDS = [VOC, FOLDERS, CITYSCAPES, ADE20K, COLOUR, COCO] as const;

export type DatasetFormat = (typeof DATASET_FORMAT_RECORDS)[number]['name'];

export const DATASET_FORMATS: readonly DatasetFormat[] = DATASET_FORMAT_RECORDS.map((f) => f.name);

/** The formats the page opens from a dropped folder. */
export const PAGE_DATASET_FORMATS: readonly DatasetFormat[] = DATASET_FORMAT_RECORDS.filter((f) => f.page).map((f) => f.name);

export function isDatasetFormat(text: string): text is DatasetFormat {
  return (DATASET_FORMATS as readonly string[]).includes(text);
}

/** The record of a format; an unknown name is an error starting with `what` that names the known ones. */
export function datasetFormat(name: string, what: string): DatasetFormatRecord<DatasetFormat> {
  const found = DATASET_FORMAT_RECORDS.find((f) => f.name === name);
  if (!found) throw new Error(`${what}: unknown format '${name}' (formats: ${DATASET_FORMATS.join(', ')})`);
  return found;
}
