// The paper's Fig. 4: how a 3x3 atrous filter degenerates as its rate approaches the map size.
//
//   npm run bench:valid-weights -- [--map 65] [--max-rate 64] [--out DIR]
//
// Definition (paper Sec. 3.3 / Fig. 4, "normalized count of valid weights"): a 3x3 filter at
// rate r is applied with "same" padding (pad = r) at every position of a 65x65 map; a weight
// (tap) is valid when it falls inside the map, not on padding. For each rate the figure plots,
// for k = 1, 4 and 9, the fraction of output positions at which exactly k of the 9 weights are
// valid. We also report the mean of (valid taps)/9 over the positions, and the whole histogram
// (a position can have 1, 2, 3, 4, 6 or 9 valid taps: rows and columns are independent).
//
// Writes bench/results/valid-weights.json and a plot, bench/results/valid-weights.png, drawn
// here with pngjs and a tiny built-in bitmap font.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';

// ------------------------------------------------------------------------------ counting

export interface ValidWeightStats {
  rate: number;
  /** histogram[k] = fraction of output positions where exactly k taps are valid (k = 0..kernel²). */
  histogram: number[];
  /** Mean over positions of (valid taps) / kernel². */
  meanNormalized: number;
}

/** Valid-tap statistics of a kernel x kernel filter at `rate` on a size x size map, pad = rate * (kernel-1)/2. */
export function validWeightStats(size: number, rate: number, kernel = 3): ValidWeightStats {
  for (const [name, v] of [['size', size], ['rate', rate], ['kernel', kernel]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`validWeightStats: ${name} must be a positive integer, got ${v}`);
  }
  if (kernel % 2 !== 1) throw new Error(`validWeightStats: kernel must be odd for "same" padding, got ${kernel}`);
  const half = (kernel - 1) / 2;
  const taps = kernel * kernel;
  const counts = new Array<number>(taps + 1).fill(0);
  let validSum = 0;
  // "Same" padding with stride 1: output position (y, x) centres the filter on input (y, x).
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let valid = 0;
      for (let ky = -half; ky <= half; ky++) {
        for (let kx = -half; kx <= half; kx++) {
          const iy = y + ky * rate;
          const ix = x + kx * rate;
          if (iy >= 0 && iy < size && ix >= 0 && ix < size) valid++;
        }
      }
      counts[valid]++;
      validSum += valid;
    }
  }
  const positions = size * size;
  return { rate, histogram: counts.map((c) => c / positions), meanNormalized: validSum / (positions * taps) };
}

export interface ValidWeightsRow {
  rate: number;
  /** Fractions of positions with exactly 1, 4 and 9 valid weights (the paper's three curves). */
  one: number;
  four: number;
  nine: number;
  meanNormalized: number;
  histogram: number[];
}

export function validWeightsTable(size: number, maxRate: number): ValidWeightsRow[] {
  const rows: ValidWeightsRow[] = [];
  for (let rate = 1; rate <= maxRate; rate++) {
    const s = validWeightStats(size, rate, 3);
    rows.push({ rate, one: s.histogram[1], four: s.histogram[4], nine: s.histogram[9], meanNormalized: s.meanNormalized, histogram: s.histogram });
  }
  return rows;
}

// ------------------------------------------------------------------------------ drawing

type Rgb = [number, number, number];

/** 5x7 glyphs, '#' = ink. Upper case, digits and the punctuation the plot needs. */
const FONT: Record<string, string[]> = {
  '0': ['.###.', '#...#', '#..##', '#.#.#', '##..#', '#...#', '.###.'],
  '1': ['..#..', '.##..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  '2': ['.###.', '#...#', '....#', '...#.', '..#..', '.#...', '#####'],
  '3': ['####.', '....#', '....#', '.###.', '....#', '....#', '####.'],
  '4': ['...#.', '..##.', '.#.#.', '#..#.', '#####', '...#.', '...#.'],
  '5': ['#####', '#....', '####.', '....#', '....#', '#...#', '.###.'],
  '6': ['..##.', '.#...', '#....', '####.', '#...#', '#...#', '.###.'],
  '7': ['#####', '....#', '...#.', '..#..', '.#...', '.#...', '.#...'],
  '8': ['.###.', '#...#', '#...#', '.###.', '#...#', '#...#', '.###.'],
  '9': ['.###.', '#...#', '#...#', '.####', '....#', '...#.', '.##..'],
  '.': ['.....', '.....', '.....', '.....', '.....', '.##..', '.##..'],
  ',': ['.....', '.....', '.....', '.....', '.##..', '..#..', '.#...'],
  ':': ['.....', '.##..', '.##..', '.....', '.##..', '.##..', '.....'],
  '/': ['....#', '....#', '...#.', '..#..', '.#...', '#....', '#....'],
  '(': ['...#.', '..#..', '.#...', '.#...', '.#...', '..#..', '...#.'],
  ')': ['.#...', '..#..', '...#.', '...#.', '...#.', '..#..', '.#...'],
  '-': ['.....', '.....', '.....', '#####', '.....', '.....', '.....'],
  '=': ['.....', '.....', '#####', '.....', '#####', '.....', '.....'],
  ' ': ['.....', '.....', '.....', '.....', '.....', '.....', '.....'],
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['####.', '#...#', '#...#', '#...#', '#...#', '#...#', '####.'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.###.'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  R: ['####.', '#...#', '#...#', '####.', '#.#..', '#..#.', '#...#'],
  S: ['.####', '#....', '#....', '.###.', '....#', '....#', '####.'],
  T: ['#####', '..#..', '..#..', '..#..', '..#..', '..#..', '..#..'],
  U: ['#...#', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  V: ['#...#', '#...#', '#...#', '#...#', '#...#', '.#.#.', '..#..'],
  W: ['#...#', '#...#', '#...#', '#.#.#', '#.#.#', '#.#.#', '.#.#.'],
  X: ['#...#', '#...#', '.#.#.', '..#..', '.#.#.', '#...#', '#...#'],
  Y: ['#...#', '#...#', '.#.#.', '..#..', '..#..', '..#..', '..#..'],
  Z: ['#####', '....#', '...#.', '..#..', '.#...', '#....', '#####'],
};
const GLYPH_W = 5;
const GLYPH_H = 7;

/** An RGBA canvas with the few primitives a line plot needs. */
class Canvas {
  readonly png: PNG;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.png = new PNG({ width, height });
    this.png.data.fill(255); // opaque white
  }

  set(x: number, y: number, [r, g, b]: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 4;
    this.png.data[i] = r;
    this.png.data[i + 1] = g;
    this.png.data[i + 2] = b;
    this.png.data[i + 3] = 255;
  }

  rect(x0: number, y0: number, w: number, h: number, c: Rgb): void {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) this.set(x, y, c);
  }

  /** A line `thickness` pixels wide; `dash` = [on, off] lengths in pixels, or none. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1, dash?: [number, number], phase = 0): number {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const lo = -Math.floor((thickness - 1) / 2);
    for (let s = 0; s <= steps; s++) {
      if (dash && (phase + s) % (dash[0] + dash[1]) >= dash[0]) continue;
      const x = Math.round(x0 + ((x1 - x0) * s) / steps);
      const y = Math.round(y0 + ((y1 - y0) * s) / steps);
      this.rect(x + lo, y + lo, thickness, thickness, c);
    }
    return phase + steps;
  }

  /** Text with its top-left corner at (x, y), glyphs scaled by `scale`. Returns the width drawn. */
  text(x: number, y: number, s: string, c: Rgb, scale = 2): number {
    const advance = (GLYPH_W + 1) * scale;
    [...s.toUpperCase()].forEach((ch, i) => {
      const glyph = FONT[ch];
      if (!glyph) throw new Error(`plot font has no glyph for '${ch}'`);
      glyph.forEach((row, gy) => {
        for (let gx = 0; gx < GLYPH_W; gx++) if (row[gx] === '#') this.rect(x + i * advance + gx * scale, y + gy * scale, scale, scale, c);
      });
    });
    return s.length * advance - scale;
  }

  textWidth(s: string, scale = 2): number {
    return s.length * (GLYPH_W + 1) * scale - scale;
  }
}

interface Series {
  label: string;
  color: Rgb;
  values: number[];
  dash?: [number, number];
}

const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];

/** Line plot of `series` against `xs` (y in [0, 1]) as a PNG file's bytes. */
export function plotPng(xs: number[], series: Series[], title: string, xLabel: string, yLabel: string): Buffer {
  const W = 900;
  const H = 520;
  const left = 80;
  const right = 250;
  const top = 70;
  const bottom = 70;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const xMax = Math.max(...xs);
  const X = (x: number): number => left + (x / xMax) * plotW;
  const Y = (y: number): number => top + (1 - y) * plotH;
  const c = new Canvas(W, H);
  c.text((W - c.textWidth(title)) / 2, 16, title, BLACK);
  // Grid and ticks: y every 0.1 (labels every 0.2), x every 8.
  for (let i = 0; i <= 10; i++) {
    const y = Math.round(Y(i / 10));
    c.line(left, y, left + plotW, y, GRID);
    c.line(left - 5, y, left, y, BLACK);
    if (i % 2 === 0) {
      const label = (i / 10).toFixed(1);
      c.text(left - 10 - c.textWidth(label), y - GLYPH_H, label, BLACK);
    }
  }
  for (let x = 0; x <= xMax; x += 8) {
    const px = Math.round(X(x));
    c.line(px, top, px, top + plotH, GRID);
    c.line(px, top + plotH, px, top + plotH + 5, BLACK);
    c.text(px - c.textWidth(String(x)) / 2, top + plotH + 12, String(x), BLACK);
  }
  c.line(left, top, left, top + plotH, BLACK, 2);
  c.line(left, top + plotH, left + plotW, top + plotH, BLACK, 2);
  c.text(left + (plotW - c.textWidth(xLabel)) / 2, H - 30, xLabel, BLACK);
  c.text(left - 60, top - 30, yLabel, BLACK);
  // Curves, then the legend (a line sample and the label per series).
  for (const s of series) {
    let phase = 0;
    for (let i = 1; i < xs.length; i++) phase = c.line(X(xs[i - 1]), Y(s.values[i - 1]), X(xs[i]), Y(s.values[i]), s.color, 3, s.dash, phase);
  }
  series.forEach((s, i) => {
    const y = top + 20 + i * 34;
    const x = left + plotW + 20;
    c.line(x, y, x + 36, y, s.color, 3, s.dash);
    c.text(x + 46, y - GLYPH_H, s.label, s.color);
  });
  return PNG.sync.write(c.png);
}

// ------------------------------------------------------------------------------ main

function parseArgs(argv: string[]): { size: number; maxRate: number; out: string } {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, dflt: number): number => {
    const text = value(flag);
    if (text === undefined) return dflt;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: '${text}' is not a positive integer`);
    return n;
  };
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/bench/valid-weights.js -> <root>/bench/results
  return { size: int('--map', 65), maxRate: int('--max-rate', 64), out: value('--out') ?? join(here, '..', '..', 'bench', 'results') };
}

function main(): void {
  const { size, maxRate, out } = parseArgs(process.argv.slice(2));
  const rows = validWeightsTable(size, maxRate);
  const pct = (v: number): string => (100 * v).toFixed(2).padStart(7);
  console.log(`Valid weights of a 3x3 filter on a ${size}x${size} map, "same" padding (pad = rate)`);
  console.log('fraction of output positions with exactly 1 / 4 / 9 valid weights, and mean valid/9 (%)\n');
  console.log(' rate   1 valid  4 valid  9 valid   mean/9');
  for (const r of rows) console.log(`${String(r.rate).padStart(5)}  ${pct(r.one)}  ${pct(r.four)}  ${pct(r.nine)}  ${pct(r.meanNormalized)}`);
  mkdirSync(out, { recursive: true });
  const json = join(out, 'valid-weights.json');
  writeFileSync(
    json,
    JSON.stringify(
      {
        definition:
          'For each atrous rate r, a 3x3 filter with pad r at every position of a size x size map: one, four, nine = fraction ' +
          'of positions where exactly 1, 4, 9 of the 9 weights fall inside the map (paper Fig. 4); meanNormalized = mean of ' +
          'valid/9; histogram[k] = fraction with exactly k valid weights.',
        size,
        kernel: 3,
        rows,
      },
      null,
      2,
    ) + '\n',
  );
  const png = join(out, 'valid-weights.png');
  const xs = rows.map((r) => r.rate);
  writeFileSync(
    png,
    plotPng(
      xs,
      [
        { label: 'EXACTLY 1 VALID', color: [214, 39, 40], values: rows.map((r) => r.one) },
        { label: 'EXACTLY 4 VALID', color: [44, 160, 44], values: rows.map((r) => r.four) },
        { label: 'EXACTLY 9 VALID', color: [31, 119, 180], values: rows.map((r) => r.nine) },
        { label: 'MEAN VALID / 9', color: [120, 120, 120], values: rows.map((r) => r.meanNormalized), dash: [8, 6] },
      ],
      `VALID WEIGHTS OF A 3X3 FILTER ON A ${size}X${size} MAP (PAD = RATE)`,
      'ATROUS RATE',
      'FRACTION OF OUTPUT POSITIONS',
    ),
  );
  console.log(`\nwrote ${json}\nwrote ${png}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
