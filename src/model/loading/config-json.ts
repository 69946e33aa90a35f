// A model folder's JSON config (config.json, preprocessor_config.json, an smpConfig file) read
// under the readers' rules (src/io/reader-rules.ts): its size capped before it is read, parsed
// (V8's JSON.parse does not recurse, so nesting costs no stack), and any failure one line naming
// the file. What the values mean is the caller's to check, through checkConfigInt and excerpt.
import { FILE_LIMITS } from '../../io/reader-rules.js';
import type { FileSet } from './formats/format.js';

/** The JSON value of `bytes`; `what` names the file in errors. */
export function parseConfigJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${what}: not valid JSON (${(e as Error).message.slice(0, 120)})`, { cause: e });
  }
}

/** The folder's file `name` (which must be there) as JSON, read with the config files' cap. */
export function readConfigJson(files: FileSet, name: string): unknown {
  return parseConfigJson(files.read(name, FILE_LIMITS.config), `${files.what}/${name}`);
}

/** A JSON value as an object of fields, or an error naming the file. */
export function configObject(json: unknown, what: string): Record<string, unknown> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${what}: not a JSON object`);
  return json as Record<string, unknown>;
}
