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
// with src/util/plot.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { plotPng } from '../src/util/plot.js';
import { benchArgs } from './common.js';

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

// ------------------------------------------------------------------------------ main

function parseArgs(argv: string[]): { size: number; maxRate: number; out: string } {
  const args = benchArgs('bench:valid-weights', argv, [], ['--map', '--max-rate', '--out']);
  const positive = (flag: string, dflt: number): number => {
    const n = args.count(flag, dflt);
    if (n < 1) throw new Error(`bench:valid-weights: ${flag} must be a positive integer, got ${n}`);
    return n;
  };
  const here = dirname(fileURLToPath(import.meta.url));
  // dist/bench/valid-weights.js -> <root>/bench/results
  return { size: positive('--map', 65), maxRate: positive('--max-rate', 64), out: args.value('--out') ?? join(here, '..', '..', 'bench', 'results') };
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
      { yMin: 0, yMax: 1, yStep: 0.1, xStep: 8 },
    ),
  );
  console.log(`\nwrote ${json}\nwrote ${png}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
