// A new class list that names classes the model knows: the new classifier's rows of those classes
// (its output channels) are the old classifier's, so that teaching a new class (the model's classes and one more) starts
// from a model that still segments the old ones as it did. A new class with a parent (the model's
// class on most of its painted pixels, teach-data.ts) starts as a copy of the parent's row, its
// bias ln 2 lower: half the parent's odds everywhere, so the model labels every pixel as before
// and the first steps only have to tell the two apart (as Cermelli et al. 2020 start a new class
// from the background's classifier). Other new rows start afresh.
import type { HostParams } from '../graph/params.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import type { Adapted } from './adapt.js';

/** The axis of the classes: the one where `was` has `from` entries and `now` has `to`, every other the same; -1 where there is none. */
function classAxis(was: readonly number[], now: readonly number[], from: number, to: number): number {
  if (was.length !== now.length) return -1;
  return was.findIndex((n, a) => n === from && now[a] === to && was.every((m, b) => b === a || m === now[b]));
}

/**
 * `adapted` (adaptWeights' new classifier) with, in each parameter made afresh that has an axis
 * of the classes (a conv's output channels, whatever its layout; its bias), the entries of the
 * classes `current` has by the same name copied from `current`, and those of each new class in
 * `parents` (its index to its parent's in `current`) copied from its parent's, the bias less ln 2.
 */
export function keepKnownClasses(current: LoadedWeights, adapted: Adapted, parents: ReadonlyMap<number, number> = new Map()): LoadedWeights {
  const oldNames = current.classes.names;
  const newNames = adapted.weights.classes.names;
  const known = newNames.map((name, j) => [oldNames.indexOf(name), j]).filter(([i]) => i >= 0);
  const pairs = [...known, ...[...parents].map(([child, parent]) => [parent, child])];
  if (pairs.length === 0) return adapted.weights;
  const params: HostParams = new Map(adapted.weights.params);
  for (const name of adapted.reinitialised) {
    const was = current.params.get(name);
    const now = params.get(name);
    const axis = was && now ? classAxis(was.shape, now.shape, oldNames.length, newNames.length) : -1;
    if (axis < 0) continue;
    const outer = now!.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = now!.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const from = was!.data as Float32Array;
    const data = Float32Array.from(now!.data as Float32Array);
    for (let o = 0; o < outer; o++) {
      for (const [i, j] of pairs) data.set(from.subarray((o * oldNames.length + i) * inner, (o * oldNames.length + i + 1) * inner), (o * newNames.length + j) * inner);
    }
    // A bias (the class axis alone): a child at half its parent's odds.
    if (now!.shape.length === 1) for (const child of parents.keys()) data[child] -= Math.LN2;
    params.set(name, { shape: [...now!.shape], data });
  }
  return { ...adapted.weights, params };
}
