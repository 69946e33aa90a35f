// A share of a user's strokes held out of teaching, to judge the steps by: fineTune keeps the step
// whose loss on them is lowest. A stroke is a connected run of pixels painted one class
// (4-neighbours); whole strokes are held out, never scattered pixels, whose neighbours trained on
// would make them easy. Each class keeps at least one stroke to train on, so a class painted once
// is never held out.
import { hashSeed } from '../util/random.js';

/** A label map's strokes: the component of each painted pixel (-1 where unpainted), and each component's class. */
export function strokeComponents(labels: Uint8Array, width: number, height: number, unlabelled: number): { component: Int32Array; classes: number[] } {
  const component = new Int32Array(labels.length).fill(-1);
  const classes: number[] = [];
  const stack: number[] = [];
  for (let start = 0; start < labels.length; start++) {
    const c = labels[start];
    if (c === unlabelled || component[start] >= 0) continue;
    const id = classes.length;
    classes.push(c);
    component[start] = id;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      const visit = (q: number): void => {
        if (component[q] < 0 && labels[q] === c) {
          component[q] = id;
          stack.push(q);
        }
      };
      if (x > 0) visit(p - 1);
      if (x + 1 < width) visit(p + 1);
      if (y > 0) visit(p - width);
      if (y + 1 < height) visit(p + width);
    }
  }
  return { component, classes };
}

/**
 * The strokes split in two: `train` keeps the strokes taught on, `heldOut` those held out (each
 * the unlabelled value elsewhere). Per class, round(share x strokes) strokes are held out, chosen
 * by `seed`, leaving at least one; `heldOut` is null where none is (share 0, or one stroke a class).
 */
export function splitStrokes(labels: Uint8Array, width: number, height: number, share: number, seed: number, unlabelled: number): { train: Uint8Array; heldOut: Uint8Array | null } {
  if (!(share >= 0 && share < 1)) throw new Error(`holdOut must be a share in [0, 1), got ${share}`);
  if (share === 0) return { train: labels, heldOut: null };
  const { component, classes } = strokeComponents(labels, width, height, unlabelled);
  const held = new Uint8Array(classes.length);
  const byClass = new Map<number, number[]>();
  classes.forEach((c, id) => byClass.set(c, [...(byClass.get(c) ?? []), id]));
  let any = false;
  for (const [c, ids] of byClass) {
    const n = Math.min(ids.length - 1, Math.round(share * ids.length));
    // The strokes of a class ordered by a hash of (seed, class, stroke): the first n are held out.
    const order = [...ids].sort((a, b) => hashSeed(seed, c, a) - hashSeed(seed, c, b) || a - b);
    for (const id of order.slice(0, n)) held[id] = 1;
    any ||= n > 0;
  }
  if (!any) return { train: labels, heldOut: null };
  const train = new Uint8Array(labels.length).fill(unlabelled);
  const heldOut = new Uint8Array(labels.length).fill(unlabelled);
  for (let p = 0; p < labels.length; p++) {
    const id = component[p];
    if (id < 0) continue;
    (held[id] ? heldOut : train)[p] = labels[p];
  }
  return { train, heldOut };
}
