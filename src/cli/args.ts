// A small command-line parser of our own: each command declares its options and positionals
// once, and the same declaration drives parsing, validation and the `--help` text, so the
// help can never list an option the parser does not accept (or the other way round).
import { DEVICE_CHOICES, type DeviceChoice, type Precision } from '../model/loading/options.js';
// From the options' own module, not model.js: the CLI's entry reads this module before it
// knows whether the engine is needed at all (main.ts).
import { PAPER_SCALES } from '../model/segment-options.js';
import { closest } from '../util/closest.js';
import { readFlag } from '../util/flags.js';

export { closest };

/** A mistake in how the command was called: reported with a hint, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help the user should read ('' for the top level). */
    readonly command = '',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Long name without the dashes: 'out' for --out. */
  name: string;
  /** A flag takes no value; a value option takes exactly one (`--out DIR` or `--out=DIR`). */
  kind: 'flag' | 'value';
  /** Placeholder shown in the help: DIR, N, NAME|PATH. */
  valueName?: string;
  description: string;
  /** Shown in the help as "(default: ...)". */
  defaultText?: string;
}

export interface CommandSpec {
  /** 'segment'; the usage line reads `deeplab segment ...`. */
  name: string;
  summary: string;
  /** Positional arguments: name for the help, whether at least one / more than one are taken. */
  positionals: { name: string; description: string; required: boolean; variadic: boolean }[];
  options: OptionSpec[];
  /** Extra paragraphs for the help (examples, notes). */
  notes?: string[];
}

export interface ParsedArgs {
  positionals: string[];
  /** Flags map to true, value options to their (last given) value; absent options are missing. */
  options: Map<string, string | true>;
  /** --help / -h was given: the caller prints the help and does nothing else. */
  help: boolean;
}

function unknownOption(arg: string, spec: CommandSpec): UsageError {
  const names = spec.options.map((o) => `--${o.name}`);
  const guess = arg.startsWith('--') ? closest(arg, names) : undefined;
  const hint = guess ? ` (did you mean ${guess}?)` : '';
  return new UsageError(`unknown option '${arg}' for '${spec.name}'${hint}; valid options: ${[...names, '--help'].join(', ')}`, spec.name);
}

/**
 * Parses `argv` (the words after the command name). Options may come before, between or after
 * positionals; `--` ends option parsing (so a file named `--x.png` can still be given).
 */
export function parseArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) throw unknownOption(arg, spec);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const opt = spec.options.find((o) => o.name === name);
    if (!opt) throw unknownOption(eq < 0 ? arg : arg.slice(0, eq), spec);
    if (opt.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`option --${name} of '${spec.name}' takes no value (got '${arg}')`, spec.name);
      options.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) value = argv[++i];
    if (value === undefined || value === '') {
      throw new UsageError(`option --${name} of '${spec.name}' needs a value: --${name} ${opt.valueName ?? 'VALUE'}`, spec.name);
    }
    options.set(name, value);
  }
  if (!help) checkPositionals(positionals, spec);
  return { positionals, options, help };
}

function checkPositionals(positionals: string[], spec: CommandSpec): void {
  const required = spec.positionals.filter((p) => p.required);
  if (positionals.length < required.length) {
    const missing = required[positionals.length].name;
    throw new UsageError(`'${spec.name}' needs ${missing}`, spec.name);
  }
  const variadic = spec.positionals.some((p) => p.variadic);
  if (!variadic && positionals.length > spec.positionals.length) {
    const extra = positionals[spec.positionals.length];
    const accepted = spec.positionals.length ? `only ${spec.positionals.map((p) => p.name).join(' ')}` : 'no arguments';
    throw new UsageError(`unexpected argument '${extra}': '${spec.name}' takes ${accepted}`, spec.name);
  }
}

/** The `deeplab <cmd> --help` text. */
export function formatHelp(spec: CommandSpec): string {
  const posUsage = spec.positionals.map((p) => {
    const word = p.variadic ? `${p.name}...` : p.name;
    return p.required ? word : `[${word}]`;
  });
  const lines = [`Usage: deeplab ${[spec.name, ...posUsage, spec.options.length ? '[options]' : ''].filter(Boolean).join(' ')}`, '', spec.summary];
  if (spec.positionals.length) {
    lines.push('', 'Arguments:');
    for (const p of spec.positionals) lines.push(`  ${p.name.padEnd(24)} ${p.description}`);
  }
  lines.push('', 'Options:');
  const rows = [...spec.options.map((o) => ({ left: `--${o.name}${o.valueName ? ` ${o.valueName}` : ''}`, o })), { left: '-h, --help', o: undefined }];
  for (const { left, o } of rows) {
    const text = o ? o.description + (o.defaultText ? ` (default: ${o.defaultText})` : '') : 'show this help';
    lines.push(`  ${left.padEnd(24)} ${text}`);
  }
  for (const note of spec.notes ?? []) lines.push('', note);
  return lines.join('\n') + '\n';
}

// --- value parsers shared by the commands ---------------------------------------------------

/** `--scales paper` (the paper's six scales) or a comma list of positive numbers. */
export function parseScales(text: string): number[] {
  if (text.trim().toLowerCase() === 'paper') return [...PAPER_SCALES];
  const parts = text.split(',').map((s) => s.trim());
  const scales = parts.map(Number);
  const bad = parts.find((s, i) => s === '' || !Number.isFinite(scales[i]) || scales[i] <= 0);
  if (bad !== undefined) {
    throw new UsageError(`--scales: '${bad}' in '${text}' is not a positive number (give e.g. 0.5,1,1.5 or 'paper')`);
  }
  return scales;
}

export const OUTPUT_STRIDES: readonly number[] = [8, 16, 32];

export function parseOutputStride(text: string): number {
  const n = Number(text);
  if (!OUTPUT_STRIDES.includes(n)) throw new UsageError(`--output-stride: '${text}' is not one of ${OUTPUT_STRIDES.join(', ')}`);
  return n;
}

export const PRECISIONS: readonly Precision[] = ['f32', 'f16'];

export function parsePrecision(text: string): Precision {
  if (!PRECISIONS.includes(text as Precision)) throw new UsageError(`--precision: '${text}' is not one of ${PRECISIONS.join(', ')}`);
  return text as Precision;
}

/** The --device option of the commands that run a network. */
export const DEVICE_OPTION = {
  name: 'device',
  kind: 'value',
  valueName: 'auto|webgpu|cpu',
  description: "where the network runs: WebGPU, the CPU (onnxruntime-node: faster than a software adapter), or auto: WebGPU where an adapter exists, else the CPU",
  defaultText: 'auto',
} as const;

export function parseDevice(text: string): DeviceChoice {
  if (!(DEVICE_CHOICES as readonly string[]).includes(text)) throw new UsageError(`--device: '${text}' is not one of ${DEVICE_CHOICES.join(', ')}`);
  return text as DeviceChoice;
}

/** The --precision option of the commands that run a network. */
export const PRECISION_OPTION = {
  name: 'precision',
  kind: 'value',
  valueName: 'f32|f16',
  description: 'store activations and weights in f16 (adapters with shader-f16)',
  defaultText: 'f32',
} as const;

export function parsePositiveInt(text: string, option: string): number {
  return parseInteger(text, option, 1, 'a positive integer');
}

export function parseNonNegativeInt(text: string, option: string): number {
  return parseInteger(text, option, 0, 'a non-negative integer');
}

function parseInteger(text: string, option: string, min: number, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${option}: '${text}' is not ${what}`);
  return n;
}

/** Typed accessors over ParsedArgs.options. */
export function optionValue(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function optionFlag(args: ParsedArgs, name: string): boolean {
  return args.options.get(name) === true;
}

/** A subcommand: its declaration and what it does; run returns the exit code. */
export interface Command {
  spec: CommandSpec;
  run(args: ParsedArgs): Promise<number>;
}

/** DEEPLAB_DEBUG on: errors also print their stack. */
export function debugEnabled(): boolean {
  return readFlag('DEEPLAB_DEBUG');
}
