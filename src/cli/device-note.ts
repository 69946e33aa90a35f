// The CLI's note where 'auto' kept a model on a software adapter (lavapipe, SwiftShader: a CPU
// emulating a GPU) and the CPU device would run it faster: measured once per adapter and model
// (one pass of the network at its own size on each device), said with the figures, and kept in
// the cache folder so later runs say nothing.
import { dirname, join } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { hasCpuRuntime } from '../model/devices/cpu/cpu-runtime.js';
import { DeepLabModel } from '../model/model.js';
import type { DeviceChoice } from '../model/loading/options.js';
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

/**
 * Says once (per adapter and model) how much faster `--device cpu` runs `model` than the software
 * adapter 'auto' chose, where it does; nothing where the device was asked for, the adapter is a
 * GPU, or no CPU runtime is installed.
 */
export async function noteFasterCpu(model: DeepLabModel, choice: DeviceChoice | undefined, say: (line: string) => void): Promise<void> {
  if ((choice ?? 'auto') !== 'auto' || model.deviceName !== 'webgpu' || !model.ctx.isSoftware || !hasCpuRuntime()) return;
  const path = join(cacheDirectory(), NOTES_FILE);
  const notes = readNotes(path);
  const adapter = model.ctx.adapterInfo.name;
  const key = `${adapter} | ${model.name}`;
  if (notes[key]) return;
  const cpu = await DeepLabModel.fromWeights(model.loadedWeights, { device: 'cpu' });
  let note: DeviceNote;
  try {
    note = { webgpuMs: await passMs(model), cpuMs: await passMs(cpu), runtime: cpu.deviceLabel, date: new Date().toISOString() };
  } finally {
    cpu.dispose();
  }
  const ratio = note.webgpuMs / note.cpuMs;
  if (ratio > 1) {
    say(
      `${adapter} is a software adapter (the CPU emulating a GPU): a pass of ${model.name} takes ${note.webgpuMs.toFixed(0)} ms on it ` +
        `and ${note.cpuMs.toFixed(0)} ms on the ${note.runtime}, ${ratio.toFixed(1)}x faster: add --device cpu (said once; measured into ${path})`,
    );
  }
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, new TextEncoder().encode(JSON.stringify({ ...notes, [key]: note }, null, 2) + '\n'));
  } catch {
    // Not kept: the note comes again next time, nothing worse.
  }
}
