// A table looked up by a key that came from a file or an option (a config's `resample`, an ONNX
// node's op type, a TF node's op, a checkpoint's dtype, a split's name): only the table's own
// keys count, so that `__proto__`, `constructor` or `toString` finds nothing where a plain
// `table[key]` would find Object.prototype's member and pass it on as an entry.

/** `table[key]` where `key` is one of the table's own keys, else undefined (also for a key that is no string or number). */
export function ownValue<T>(table: Readonly<Record<string | number, T>>, key: unknown): T | undefined {
  if (typeof key !== 'string' && typeof key !== 'number') return undefined;
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
