// Line plots as PNG files (benchmark figures, training curves), drawn with pngjs and a tiny
// built-in bitmap font: no plotting dependency for a few lines and labels.
import { PNG } from 'pngjs';

export type Rgb = [number, number, number];

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
  '%': ['##..#', '##..#', '...#.', '..#..', '.#...', '#..##', '#..##'],
  '+': ['.....', '..#..', '..#..', '#####', '..#..', '..#..', '.....'],
  _: ['.....', '.....', '.....', '.....', '.....', '.....', '#####'],
  A: ['.###.', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  B: ['####.', '#...#', '#...#', '####.', '#...#', '#...#', '####.'],
  C: ['.###.', '#...#', '#....', '#....', '#....', '#...#', '.###.'],
  D: ['####.', '#...#', '#...#', '#...#', '#...#', '#...#', '####.'],
  E: ['#####', '#....', '#....', '####.', '#....', '#....', '#####'],
  F: ['#####', '#....', '#....', '####.', '#....', '#....', '#....'],
  G: ['.###.', '#...#', '#....', '#.###', '#...#', '#...#', '.###.'],
  H: ['#...#', '#...#', '#...#', '#####', '#...#', '#...#', '#...#'],
  I: ['.###.', '..#..', '..#..', '..#..', '..#..', '..#..', '.###.'],
  J: ['..###', '...#.', '...#.', '...#.', '...#.', '#..#.', '.##..'],
  K: ['#...#', '#..#.', '#.#..', '##...', '#.#..', '#..#.', '#...#'],
  L: ['#....', '#....', '#....', '#....', '#....', '#....', '#####'],
  M: ['#...#', '##.##', '#.#.#', '#.#.#', '#...#', '#...#', '#...#'],
  N: ['#...#', '#...#', '##..#', '#.#.#', '#..##', '#...#', '#...#'],
  O: ['.###.', '#...#', '#...#', '#...#', '#...#', '#...#', '.###.'],
  P: ['####.', '#...#', '#...#', '####.', '#....', '#....', '#....'],
  Q: ['.###.', '#...#', '#...#', '#...#', '#.#.#', '#..#.', '.##.#'],
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

export interface Series {
  label: string;
  color: Rgb;
  values: number[];
  dash?: [number, number];
}

const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];

export interface Axes {
  yMin: number;
  yMax: number;
  /** Grid step of y (labels every other line) and of x. */
  yStep: number;
  xStep: number;
}

/** Round steps that give about `lines` grid lines over [lo, hi]. */
function niceStep(lo: number, hi: number, lines: number): number {
  const raw = (hi - lo) / lines || 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
}

/** Axes that fit the data: y from 0 (or the minimum, if negative) to the maximum, round steps. */
export function fitAxes(xs: number[], series: Series[]): Axes {
  const ys = series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
  const yMin = Math.min(0, ...ys);
  const yStep = niceStep(yMin, Math.max(...ys, yMin + 1e-9), 10);
  const yMax = Math.ceil(Math.max(...ys, yMin + 1e-9) / yStep) * yStep;
  return { yMin, yMax, yStep, xStep: niceStep(0, Math.max(...xs, 1), 10) };
}

/** Line plot of `series` against `xs` as a PNG file's bytes (axes fitted to the data unless given). */
export function plotPng(xs: number[], series: Series[], title: string, xLabel: string, yLabel: string, axes: Axes = fitAxes(xs, series)): Buffer {
  const W = 900;
  const H = 520;
  const left = 80;
  const right = 250;
  const top = 70;
  const bottom = 70;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const xMax = Math.max(...xs, 1);
  const X = (x: number): number => left + (x / xMax) * plotW;
  const Y = (y: number): number => top + (1 - (y - axes.yMin) / (axes.yMax - axes.yMin)) * plotH;
  const decimals = Math.max(0, -Math.floor(Math.log10(axes.yStep)));
  const c = new Canvas(W, H);
  c.text((W - c.textWidth(title)) / 2, 16, title, BLACK);
  // Grid and ticks: y every yStep (labels every other line), x every xStep.
  const yLines = Math.round((axes.yMax - axes.yMin) / axes.yStep);
  for (let i = 0; i <= yLines; i++) {
    const value = axes.yMin + i * axes.yStep;
    const y = Math.round(Y(value));
    c.line(left, y, left + plotW, y, GRID);
    c.line(left - 5, y, left, y, BLACK);
    if (i % 2 === 0) {
      const label = value.toFixed(decimals);
      c.text(left - 10 - c.textWidth(label), y - GLYPH_H, label, BLACK);
    }
  }
  for (let x = 0; x <= xMax; x += axes.xStep) {
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
    // A series may skip x values (NaN): lines join only consecutive measured points.
    for (let i = 1; i < xs.length; i++) {
      if (!Number.isFinite(s.values[i - 1]) || !Number.isFinite(s.values[i])) continue;
      phase = c.line(X(xs[i - 1]), Y(s.values[i - 1]), X(xs[i]), Y(s.values[i]), s.color, 3, s.dash, phase);
    }
    // A lone point (a series measured once) still shows.
    s.values.forEach((v, i) => {
      if (Number.isFinite(v) && !Number.isFinite(s.values[i - 1]) && !Number.isFinite(s.values[i + 1])) c.rect(X(xs[i]) - 3, Y(v) - 3, 7, 7, s.color);
    });
  }
  series.forEach((s, i) => {
    const y = top + 20 + i * 34;
    const x = left + plotW + 20;
    c.line(x, y, x + 36, y, s.color, 3, s.dash);
    c.text(x + 46, y - GLYPH_H, s.label, s.color);
  });
  return PNG.sync.write(c.png);
}
