// The --tile N and --overlap F options of segment and eval: sliding-window inference
// (src/model/tiled.ts) for images much larger than the network's input.
import { DEFAULT_OVERLAP, MIN_TILE } from '../model/tiling.js';
import { type OptionSpec, type ParsedArgs, UsageError, optionValue } from './args.js';

export const TILE_OPTIONS: OptionSpec[] = [
  {
    name: 'tile',
    kind: 'value',
    valueName: 'N',
    description: `segment in overlapping windows of N x N image pixels (at least ${MIN_TILE}), each resized for the network as an image is, blended on the GPU`,
  },
  {
    name: 'overlap',
    kind: 'value',
    valueName: 'F',
    description: 'with --tile: the share of a window its neighbour overlaps, 0 <= F < 1',
    defaultText: String(DEFAULT_OVERLAP),
  },
];

export interface TileChoice {
  tile?: number;
  overlap?: number;
}

/**
 * --tile and --overlap, checked: a whole number of at least MIN_TILE pixels and a share in [0, 1);
 * --overlap only with --tile, and --tile not with --scales or --flip.
 */
export function tileOptions(args: ParsedArgs, command: string, averaged: boolean): TileChoice {
  const tileText = optionValue(args, 'tile');
  const overlapText = optionValue(args, 'overlap');
  if (tileText === undefined) {
    if (overlapText !== undefined) throw new UsageError('--overlap needs --tile N (the window size)', command);
    return {};
  }
  const tile = Number(tileText);
  if (!/^\d+$/.test(tileText.trim()) || tile < MIN_TILE) throw new UsageError(`--tile: '${tileText}' is not a whole number of pixels of at least ${MIN_TILE}`, command);
  if (averaged) throw new UsageError('--tile cannot be combined with --scales or --flip (each window is segmented at scale 1)', command);
  if (overlapText === undefined) return { tile, overlap: DEFAULT_OVERLAP };
  const overlap = Number(overlapText);
  if (overlapText.trim() === '' || !Number.isFinite(overlap) || overlap < 0 || overlap >= 1) {
    throw new UsageError(`--overlap: '${overlapText}' is not a share of the tile, at least 0 and below 1 (e.g. 0.25)`, command);
  }
  return { tile, overlap };
}
