// A copy of CamVid with a few images per split, for training tests (lavapipe is slow).
import { cpSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StepRecord } from '../../src/train/run.js';
import { sharedPath } from '../shared.js';

export const CAMVID = sharedPath('data', 'camvid');

/** A copy of CamVid in `dir` with the first `perSplit` images of train and val (a run validates on all of val). */
export function smallCamvid(dir: string, perSplit: number): string {
  const root = join(dir, 'camvid-small');
  for (const split of ['train', 'val']) {
    mkdirSync(join(root, 'images', split), { recursive: true });
    mkdirSync(join(root, 'labels', split), { recursive: true });
    for (const f of readdirSync(join(CAMVID, 'images', split)).sort().slice(0, perSplit)) {
      cpSync(join(CAMVID, 'images', split, f), join(root, 'images', split, f));
      const label = f.replace(/\.jpg$/, '.png');
      cpSync(join(CAMVID, 'labels', split, label), join(root, 'labels', split, label));
    }
  }
  cpSync(join(CAMVID, 'classes.json'), join(root, 'classes.json'));
  return root;
}

/** The records of a run's log.jsonl. */
export const readRunLog = (out: string): StepRecord[] =>
  readFileSync(join(out, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as StepRecord);
