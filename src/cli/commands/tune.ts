// `deeplab tune --model NAME [--budget SECONDS]`: times the kernel candidates of a model's layers
// on this machine's adapter and stores the fastest for every later run (src/graph/tune.ts,
// src/gpu/tuning.ts). Prints each layer shape's default and tuned times.
import { DEFAULT_MODEL } from '../../model/loading/registry.js';
import type { TunedLayer } from '../../graph/tune.js';
import {
  type Command,
  type CommandSpec,
  type ParsedArgs,
  optionFlag,
  optionValue,
  PRECISION_OPTION,
  parseOutputStride,
  parsePositiveInt,
  parsePrecision,
} from '../args.js';
import { openModel } from './models.js';

const spec: CommandSpec = {
  name: 'tune',
  summary: "Time the kernel candidates of a model's layers on this adapter and keep the fastest.",
  positionals: [],
  options: [
    { name: 'model', kind: 'value', valueName: 'NAME|PATH', description: "registry model (see 'deeplab models') or weights file", defaultText: DEFAULT_MODEL },
    { name: 'budget', kind: 'value', valueName: 'SECONDS', description: 'stop timing new candidates after this long', defaultText: '60' },
    { name: 'output-stride', kind: 'value', valueName: 'N', description: 'tune the network at output stride 8, 16 or 32', defaultText: "the model's" },
    PRECISION_OPTION,
    { name: 'retune', kind: 'flag', description: 'time every layer again, even those already tuned' },
    { name: 'json', kind: 'flag', description: 'print one JSON document instead of text lines' },
  ],
  notes: [
    'Choices are kept per adapter (and, for a software adapter, per host CPU) under the cache folder\n' +
      '(<cache>/tuning; `deeplab models` prints the cache folder); every run on this adapter then uses them.\n' +
      'DEEPLAB_TUNE=off runs the defaults instead; DEEPLAB_TUNE=full tunes any new layer on its first run.',
  ],
};

function line(t: TunedLayer): string {
  const e = t.entry;
  // Candidates outside their accuracy (f16 sums) are counted as tried, not timed.
  const aside = Object.keys(t.rejected ?? {}).length;
  const tried = aside ? `${e.timed - aside} timed, ${aside} set aside by their accuracy check` : `${e.timed} timed`;
  return `  ${t.shape.padEnd(40)} ${String(t.layers.length).padStart(3)} layer(s)  default ${e.defaultMs.toFixed(3)} ms -> ${e.variant} ${e.ms.toFixed(3)} ms (${(e.defaultMs / e.ms).toFixed(2)}x, ${tried})`;
}

async function run(args: ParsedArgs): Promise<number> {
  const budgetText = optionValue(args, 'budget');
  const budgetMs = budgetText === undefined ? 60_000 : parsePositiveInt(budgetText, '--budget') * 1000;
  const os = optionValue(args, 'output-stride');
  const precision = optionValue(args, 'precision');
  const json = optionFlag(args, 'json');
  const model = await openModel(optionValue(args, 'model') ?? DEFAULT_MODEL, {
    outputStride: os === undefined ? undefined : parseOutputStride(os),
    precision: precision === undefined ? undefined : parsePrecision(precision),
    // Loading compiles the network once: with the defaults, whatever the environment says.
    tune: 'off',
  });
  try {
    await model.ctx.tuning.setMode('cached');
    if (!json) process.stdout.write(`tuning ${model.name} on ${model.ctx.adapterInfo.name} (budget ${budgetMs / 1000} s)\n`);
    const report = await model.tune({ budgetMs, retune: optionFlag(args, 'retune'), onLayer: (t) => !json && process.stdout.write(line(t) + '\n') });
    const where = model.ctx.tuning.location;
    if (json) {
      process.stdout.write(JSON.stringify({ model: model.name, adapter: model.ctx.adapterInfo.name, ...report, store: where }, null, 2) + '\n');
    } else {
      const gain = report.tuned.reduce((a, t) => a + t.entry.defaultMs * t.layers.length, 0) / Math.max(1e-9, report.tuned.reduce((a, t) => a + t.entry.ms * t.layers.length, 0));
      process.stdout.write(
        `tuned ${report.tuned.length} layer shape(s) in ${(report.ms / 1000).toFixed(1)} s` +
          (report.tuned.length ? ` (their kernels ${gain.toFixed(2)}x the defaults' speed)` : '') +
          `; ${report.cached} already tuned` +
          (report.skipped ? `; ${report.skipped} left for lack of time (run again, or raise --budget)` : '') +
          `\nstored in ${where}\n`,
      );
    }
  } finally {
    model.dispose();
  }
  return 0;
}

export const tuneCommand: Command = { spec, run };
