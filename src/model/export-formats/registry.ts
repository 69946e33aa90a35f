// Every export format's record (format.ts says what a record holds), in the order `--format`
// lists them, the first the default: adding a format is its record's module and one line here.
import type { ExportFormatRecord } from './format.js';
import { HF } from './hf.js';
import { ONNX } from './onnx.js';
import { SAFETENSORS } from './safetensors.js';
import { SMP_EXPORT } from './smp.js';
import { TFLITE_EXPORT } from './tflite.js';
import { TRANSFORMERS_JS_EXPORT } from './transformers-js.js';

export const EXPORT_FORMAT_RECORDS = [SAFETENSORS, ONNX, HF, SMP_EXPORT, TRANSFORMERS_JS_EXPORT, TFLITE_EXPORT] as const;

export type ExportFormat = (typeof EXPORT_FORMAT_RECORDS)[number]['name'];

/** The record of a format's name, or undefined. */
export function exportFormat(name: string): ExportFormatRecord<ExportFormat> | undefined {
  return EXPORT_FORMAT_RECORDS.find((f) => f.name === name);
}
