// The CLI's note where 'auto' kept a model on a software adapter (lavapipe, SwiftShader: a CPU
// emulating a GPU) and the CPU device would run it faster: measured once per adapter and model
// (one pass of the network at its own size on each device; for `deeplab train`, a training step
// on each), said with the figures, and kept in the cache folder so later runs say nothing.
import { dirname, join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import type { GpuContext } from '../gpu/context.js';
import { cpuRuntime, hasCpuRuntime } from '../model/devices/cpu/cpu-runtime.js';
import { cpuTrainingDevice } from '../model/devices/cpu/cpu-training.js';
import type { TrainingDevice } from '../model/devices/training.js';
import type { LoadedWeights } from '../model/loading/load-weights.js';
import { DeepLabModel } from '../model/model.js';
import type { DeviceChoice } from '../model/loading/options.js';
import { Trainer } from '../train/trainer.js';
import { cacheDirectory } from '../util/cache-dir.js';
import { writeFileAtomic } from '../util/write-atomic.js';

const NOTES_FILE = 'device-notes.json';

interface DeviceNote {
  webgpuMs: number;
  cpuMs: number;
  runtime: string;
  date: string;
}

function readNotes(path: string): Record<string, DeviceNote> {
  try {
    const notes = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return typeof notes === 'object' && notes !== null && !Array.isArray(notes) ? (notes as Record<string, DeviceNote>) : {};
  } catch {
    return {};
  }
}

/** The fastest of two passes of `model` at its own size on a zero image, in ms. */
async function passMs(model: DeepLabModel): Promise<number> {
  const [h, w] = model.networkSize(...model.loadedWeights.probeSize);
  const input = new Float32Array(h * w * (model.config.inChannels ?? 3));
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    const start = performance.now();
    await model.forwardToHost(input, h, w);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** The figures of `key` measured by `measure` once (kept in the cache folder), or the kept ones; null where they cannot be kept. */
async function measuredOnce(key: string, measure: () => Promise<DeviceNote>): Promise<{ note: DeviceNote; path: string; fresh: boolean }> {
  const path = join(cacheDirectory(), NOTES_FILE);
  const notes = readNotes(path);
  if (notes[key]) return { note: notes[key], path, fresh: false };
  const note = await measure();
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, new TextEncoder().encode(JSON.stringify({ ...notes, [key]: note }, null, 2) + '\n'));
  } catch {
    // Not kept: the note comes again next time, nothing worse.
  }
  return { note, path, fresh: true };
}

/**
 * Says once (per adapter and model) how much faster `--device cpu` runs `model` than the software
 * adapter 'auto' chose, where it does; nothing where the device was asked for, the adapter is a
 * GPU, or no CPU runtime is installed.
 */
export async function noteFasterCpu(model: DeepLabModel, choice: DeviceChoice | undefined, say: (line: string) => void): Promise<void> {
  if ((choice ?? 'auto') !== 'auto' || model.deviceName !== 'webgpu' || !model.ctx.isSoftware || !hasCpuRuntime()) return;
  const adapter = model.ctx.adapterInfo.name;
  const { note, path, fresh } = await measuredOnce(`${adapter} | ${model.name}`, async () => {
    const cpu = await DeepLabModel.fromWeights(model.loadedWeights, { device: 'cpu' });
    try {
      return { webgpuMs: await passMs(model), cpuMs: await passMs(cpu), runtime: cpu.deviceLabel, date: new Date().toISOString() };
    } finally {
      cpu.dispose();
    }
  });
  const ratio = note.webgpuMs / note.cpuMs;
  if (fresh && ratio > 1) {
    say(
      `${adapter} is a software adapter (the CPU emulating a GPU): a pass of ${model.name} takes ${note.webgpuMs.toFixed(0)} ms on it ` +
        `and ${note.cpuMs.toFixed(0)} ms on the ${note.runtime}, ${ratio.toFixed(1)}x faster: add --device cpu (said once; measured into ${path})`,
    );
  }
}

/** The second of two steps of a trainer of `weights` on `device`, one image at the crop, in ms (the first compiles). */
async function stepMs(device: GpuContext | TrainingDevice, weights: LoadedWeights, crop: number): Promise<number> {
  const trainer = await Trainer.create(device, weights, { batch: 1, crop, baseLr: 1e-6, steps: 2, ignoreIndex: 255, dropout: false });
  try {
    const batch = { images: new Float32Array(crop * crop * (weights.config.inChannels ?? 3)), labels: new Uint32Array(crop * crop) };
    await trainer.train([batch]);
    const start = performance.now();
    await trainer.train([batch]);
    return performance.now() - start;
  } finally {
    trainer.dispose();
  }
}

/** The crop the training note measures at: the run's, at most this (a step at a large crop on a software adapter takes minutes). */
const NOTE_CROP = 129;

/**
 * Says once (per adapter, model and crop) which of the software adapter 'auto' chose and the CPU
 * trains `weights` faster, and by how much: a step of one image at the run's crop (at most 129) on
 * each. Nothing where the device was asked for, the adapter is a GPU, or no CPU runtime is
 * installed; nothing is trained by it.
 */
export async function noteTrainingDevice(start: { weights: LoadedWeights; crop: number; ctx: GpuContext | null }, choice: DeviceChoice | undefined, say: (line: string) => void): Promise<void> {
  const { ctx, weights } = start;
  if ((choice ?? 'auto') !== 'auto' || !ctx?.isSoftware || !hasCpuRuntime()) return;
  const crop = Math.min(start.crop, NOTE_CROP);
  const adapter = ctx.adapterInfo.name;
  const { note, path, fresh } = await measuredOnce(`${adapter} | ${weights.name} | training at ${crop}`, async () => {
    const runtime = await cpuRuntime();
    return { webgpuMs: await stepMs(ctx, weights, crop), cpuMs: await stepMs(cpuTrainingDevice(runtime), weights, crop), runtime: `CPU (${runtime.name})`, date: new Date().toISOString() };
  });
  if (!fresh) return;
  const ratio = note.webgpuMs / note.cpuMs;
  const faster = ratio > 1 ? `the ${note.runtime} is ${ratio.toFixed(1)}x faster: add --device cpu` : `${adapter} is ${(1 / ratio).toFixed(1)}x faster than the ${note.runtime}`;
  say(
    `${adapter} is a software adapter (the CPU emulating a GPU): a training step of ${weights.name} (one ${crop}x${crop} crop) takes ${note.webgpuMs.toFixed(0)} ms on it ` +
      `and ${note.cpuMs.toFixed(0)} ms on the ${note.runtime}; ${faster} (said once; measured into ${path})`,
  );
}
