// The training step on the CPU (bench part `train`, engine 'ours-cpu'): the Trainer on the CPU
// device (ONNX Runtime's CPU provider, onnxruntime-node) beside PyTorch on the same CPU with the
// same number of threads (bench/torch_peer.py --serve-train, torchvision's DeepLabv3-ResNet-50),
// the two stepping in turns, one step each a round (bench/settle.ts), so a host busy with other
// work slows both alike. Each step is timed host to host (the batch in host memory to the loss in
// host memory), by wall clock and by the process's CPU time; peak memory is each one's resident
// set at its highest over what it held before its trainer was made.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { type Interface, createInterface } from 'node:readline';
import { ROOT } from './model.js';
import { type SettleOptions, type Settled, measureSettled, spread } from './settle.js';
import { randomBatch, benchSteps } from './train.js';
import type { LoadedWeights } from '../src/model/loading/load-weights.js';
import { cpuRuntime } from '../src/model/devices/cpu/cpu-runtime.js';
import { cpuTrainingDevice } from '../src/model/devices/cpu/cpu-training.js';
import { Trainer } from '../src/train/trainer.js';

/** torchvision's model for each training case of ours; a case without one has no PyTorch row. */
const TORCH_MODELS: Record<string, string> = { resnet50: 'resnet50-os16' };

export interface CpuTrainOptions {
  batch: number;
  crop: number;
  repeats: number;
  settle: SettleOptions;
  /** Threads each engine runs (ONNX Runtime's intra-op threads, torch.set_num_threads). */
  threads: number;
}

/** One engine's figures: wall-clock timing, CPU time per step (median), first step, peak memory. */
export interface CpuEngineRow extends Settled {
  engine: string;
  firstRunMs: number;
  cpuMedianMs: number;
  cpuSamplesMs: number[];
  peakBytes: number;
  firstLoss: number;
}

export interface CpuTrainRow {
  ours: CpuEngineRow;
  torch: CpuEngineRow | { error: string };
  threads: number;
}

/** PyTorch stepping on demand in a child process (null, with why, where it cannot start). */
class TorchSteps {
  private constructor(
    private readonly child: ChildProcess,
    private readonly lines: AsyncIterator<string>,
    private readonly reader: Interface,
    readonly engine: string,
  ) {}

  static async start(model: string, o: CpuTrainOptions, python = 'python3'): Promise<TorchSteps | string> {
    const probe = spawnSync(python, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
    if (probe.error || probe.status !== 0) return `${python} cannot import torch and torchvision here (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()})`;
    const args = ['bench/torch_peer.py', '--serve-train', '--model', model, '--batch', String(o.batch), '--crop', String(o.crop), '--threads', String(o.threads)];
    const child = spawn(python, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const reader = createInterface({ input: child.stdout! });
    const lines = reader[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done) return 'torch_peer.py --serve-train ended before it was ready';
    const ready = JSON.parse(first.value) as { engine: string; threads: number };
    return new TorchSteps(child, lines, reader, `${ready.engine} (${ready.threads} threads)`);
  }

  async step(): Promise<{ wallMs: number; cpuMs: number; loss: number; peakRssBytes: number }> {
    this.child.stdin!.write('step\n');
    const line = await this.lines.next();
    if (line.done) throw new Error('torch_peer.py --serve-train ended mid-run');
    return JSON.parse(line.value);
  }

  close(): void {
    this.reader.close();
    this.child.stdin!.end();
  }
}

/** The process's resident set, bytes. */
const rss = (): number => process.memoryUsage().rss;

/**
 * Ours on the CPU and (for the cases torchvision has) PyTorch on the CPU, the same batch shape,
 * SGD settings and threads, stepping in turns after each's first step.
 */
export async function benchCpuTrain(caseName: string, weights: LoadedWeights, o: CpuTrainOptions): Promise<CpuTrainRow> {
  const batch = randomBatch(weights, { ...o, repeats: o.repeats, settle: o.settle });
  const runtime = await cpuRuntime();
  const before = rss();
  const t0 = performance.now();
  const trainer = await Trainer.create(cpuTrainingDevice(runtime, { intraOpNumThreads: o.threads, interOpNumThreads: 1 }), weights, {
    batch: o.batch, crop: o.crop, baseLr: 1e-3, momentum: 0.9, weightDecay: 1e-4, steps: benchSteps({ ...o }) + 1000, ignoreIndex: 255, dropout: false,
  });
  const model = TORCH_MODELS[caseName];
  const torch = model ? await TorchSteps.start(model, o) : `no PyTorch model of ${caseName} (torchvision has no DeepLabv3 on TF DeepLab's MobileNetV2)`;
  try {
    let peak = rss();
    const oursCpu: number[] = [];
    const torchCpu: number[] = [];
    let torchPeak = 0;
    const ours = async (): Promise<{ ms: number; loss: number }> => {
      const c = process.cpuUsage();
      const t = performance.now();
      const r = await trainer.train([batch]);
      const ms = performance.now() - t;
      const u = process.cpuUsage(c);
      oursCpu.push((u.user + u.system) / 1000);
      peak = Math.max(peak, rss());
      return { ms, loss: r.loss };
    };
    const first = await ours();
    const firstRunMs = performance.now() - t0;
    const engines = [async () => (await ours()).ms];
    let torchFirst: { ms: number; loss: number } | null = null;
    if (typeof torch !== 'string') {
      const t1 = performance.now();
      const r = await torch.step();
      torchFirst = { ms: performance.now() - t1, loss: r.loss };
      engines.push(async () => {
        const s = await torch.step();
        torchCpu.push(s.cpuMs);
        torchPeak = s.peakRssBytes;
        return s.wallMs;
      });
    }
    oursCpu.length = 0;
    const [oursTimed, torchTimed] = await measureSettled(engines, o.repeats, o.settle);
    const tail = (xs: number[]): number[] => xs.slice(-o.repeats);
    const row = (engine: string, timed: Settled, firstMs: number, cpu: number[], peakBytes: number, loss: number): CpuEngineRow => ({
      engine, ...timed, firstRunMs: firstMs, cpuMedianMs: spread(tail(cpu)).medianMs, cpuSamplesMs: tail(cpu), peakBytes, firstLoss: loss,
    });
    return {
      threads: o.threads,
      ours: row(`ours on ${runtime.name} (${o.threads} threads)`, oursTimed, firstRunMs, oursCpu, peak - before, first.loss),
      torch: typeof torch === 'string' ? { error: torch } : row(torch.engine, torchTimed, torchFirst!.ms, torchCpu, torchPeak, torchFirst!.loss),
    };
  } finally {
    if (typeof torch !== 'string') torch.close();
    trainer.dispose();
  }
}
