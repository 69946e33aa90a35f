// `--shard I/N`: one of N workers' part of an ordered list, every N-th item starting at I, so N
// processes or pods given 0/N .. N-1/N cover the list exactly once between them, with no
// coordination beyond the list's order. I counts from 0, as a Kubernetes Indexed Job's
// JOB_COMPLETION_INDEX does.
import { UsageError } from './args.js';

export interface Shard {
  index: number;
  count: number;
}

/** '2/8' -> { index: 2, count: 8 }; anything else is a usage error naming what is wrong. */
export function parseShard(text: string, command = 'segment'): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UsageError(`--shard: '${text}' is not I/N (e.g. 0/4: the first of 4 shards)`, command);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new UsageError(`--shard: '${text}': the number of shards must be at least 1`, command);
  if (!Number.isSafeInteger(index) || index >= count) {
    throw new UsageError(`--shard: '${text}': the index counts from 0 and must be below ${count} (0..${count - 1})`, command);
  }
  return { index, count };
}

/** The items of shard `shard`: positions index, index + count, index + 2 count, ... */
export function shardItems<T>(items: readonly T[], shard: Shard | undefined): T[] {
  if (!shard) return [...items];
  return items.filter((_, i) => i % shard.count === shard.index);
}
