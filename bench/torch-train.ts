// PyTorch's training step beside ours (bench part `train`): bench/torch_peer.py --train, run as a
// child process where python3 can import torch, on the device a user would pick (CUDA where
// there is one, else the CPU). Where it cannot run, the row says why instead of a time.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './model.js';
import type { SettleOptions } from './settle.js';

/** torchvision's model for each training case of ours; a case without one is not timed. */
const TORCH_MODELS: Record<string, string> = { resnet50: 'resnet50-os16' };

export type TorchTrainResult =
  | { version: string; device: string; medianMs: number; p25Ms: number; p75Ms: number; samplesMs: number[]; warmupRounds: number; settled: boolean; firstRunMs: number }
  | { error: string };

/**
 * `python` is the interpreter (tests name a stand-in). Never throws for PyTorch's sake: a missing
 * torch, a failed run or an unreadable report comes back as `error`.
 */
export function torchTrainStep(caseName: string, o: { batch: number; crop: number; heavyRepeats: number; settle: SettleOptions }, python = 'python3'): TorchTrainResult {
  const model = TORCH_MODELS[caseName];
  if (!model) return { error: `no PyTorch model of ${caseName} (torchvision has no DeepLabv3 on TF DeepLab's MobileNetV2)` };
  const probe = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim().split('\n').pop();
    return { error: `${python} cannot import torch and torchvision here (${why})` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'torch-train-'));
  try {
    const out = join(dir, 'train.json');
    const args = [
      'bench/torch_peer.py', '--train', '--model', model, '--batch', String(o.batch), '--crop', String(o.crop), '--repeats', String(o.heavyRepeats),
      '--warmup', String(o.settle.minRounds), '--warmup-budget', String(o.settle.budgetMs / 1000), '--out', out,
    ];
    const run = spawnSync(python, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
    if (run.status !== 0) return { error: `torch_peer.py --train failed (${run.signal ?? `exit ${run.status}`}): ${run.stderr.trim().split('\n').slice(-3).join(' ')}` };
    let row;
    try {
      row = JSON.parse(readFileSync(out, 'utf8')).results[0];
    } catch (e) {
      return { error: `torch_peer.py --train wrote no readable report: ${(e as Error).message}` };
    }
    if (typeof row?.medianMs !== 'number') return { error: `torch_peer.py --train reported no time: ${JSON.stringify(row)}` };
    const { medianMs, p25Ms, p75Ms, samplesMs, warmupRounds, settled, firstRunMs } = row;
    return { version: row.engine, device: row.device, medianMs, p25Ms, p75Ms, samplesMs, warmupRounds, settled, firstRunMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
