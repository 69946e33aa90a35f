// What a user paints in the demo's teach mode, made from a window's ground truth.

export interface Stroke {
  class: number;
  radius: number;
  points: [number, number][];
}

/** A user's strokes: along every 4th row, one per run of one class (a pixel short of each end), radius 1. */
export function strokesFrom(labels: Uint8Array, width: number, height: number): Stroke[] {
  const strokes: Stroke[] = [];
  for (let y = 2; y < height - 1; y += 4) {
    for (let x = 0; x < width; ) {
      const c = labels[y * width + x];
      let end = x;
      while (end + 1 < width && labels[y * width + end + 1] === c) end++;
      // Rows above and below must agree too, as the brush covers them.
      const steady = (px: number) => labels[(y - 1) * width + px] === c && labels[(y + 1) * width + px] === c;
      if (c !== 255 && end - x >= 4 && steady(x + 1) && steady(end - 1)) strokes.push({ class: c, radius: 1, points: [[x + 1, y], [end - 1, y]] });
      x = end + 1;
    }
  }
  return strokes;
}
