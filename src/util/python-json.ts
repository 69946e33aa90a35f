// JSON as Python's json.dump(o, indent=2) writes it, for files a Python library reads back and
// compares byte for byte: `floats` (keys whose values Python holds as float) written with a decimal
// point ("mlp_ratio": 2.0, not 2), where JavaScript has no float/int distinction to go by.

/** `o` indented by 2, the named float keys' whole values with ".0", and a final newline where `newline`. */
export function pythonJson(o: unknown, floats: readonly string[], opts: { newline: boolean }): Uint8Array {
  const text = floats.length ? JSON.stringify(o, null, 2).replace(new RegExp(`^(\\s*"(?:${floats.join('|')})": )(-?\\d+)(,?)$`, 'gm'), '$1$2.0$3') : JSON.stringify(o, null, 2);
  return new TextEncoder().encode(opts.newline ? `${text}\n` : text);
}
