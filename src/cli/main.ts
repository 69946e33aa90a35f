#!/usr/bin/env node
// The `deeplab` command: dispatches to its subcommands (segment, models, eval, train, data, ...). Exit codes: 0 success,
// 1 a failure while working (bad image, bad weights, GPU error), 2 a wrong invocation.
// Errors print one line, `deeplab: <message>`; DEEPLAB_DEBUG=1 adds the stack.
//
// A command's module is loaded only when that command runs: the engine behind them takes most
// of a second of CPU to load, which the parent of a GPU command (it only filters its child's
// stderr), --version and a mistyped command name need not pay.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { backOffHostPolling } from '../gpu/host-poll.js';
import { isFilteredChild, runFilteredChild } from './dawn-warnings.js';
import { receiveForwardedInterrupts } from './interrupts.js';
import { type Command, UsageError, closest, debugEnabled, formatHelp, parseArgs } from './args.js';

/** The commands that create a GPU device (and so hear from Dawn). */
const GPU_COMMANDS = new Set(['segment', 'eval', 'train', 'tune']);

/** Each command's module, loaded when asked for (in the order the help lists them). */
const COMMANDS: Record<string, () => Promise<Command>> = {
  segment: async () => (await import('./commands/segment.js')).segmentCommand,
  models: async () => (await import('./commands/models.js')).modelsCommand,
  eval: async () => (await import('./commands/eval.js')).evalCommand,
  describe: async () => (await import('./commands/describe.js')).describeCli,
  train: async () => (await import('./commands/train.js')).trainCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  tune: async () => (await import('./commands/tune.js')).tuneCommand,
  data: async () => (await import('./commands/data.js')).dataCommand,
};

function version(): string {
  // dist/src/cli/main.js -> the package root three folders up.
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function globalHelp(): Promise<string> {
  const commands = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  const rows = commands.map((c) => `  ${c.spec.name.padEnd(10)} ${c.spec.summary}`);
  return [
    'Usage: deeplab <command> [options]',
    '',
    'DeepLabv3 semantic segmentation on WebGPU.',
    '',
    'Commands:',
    ...rows,
    '',
    'Options:',
    '  -h, --help   show this help (deeplab <command> --help for a command)',
    '  --version    print the version',
    '',
    'Environment: DEEPLAB_WEIGHTS_DIR (folder of already downloaded weights), DEEPLAB_CACHE_DIR,',
    'DEEPLAB_TUNE=off|cached|full (kernel choices measured on this adapter; default cached),',
    'DEEPLAB_DEBUG=1 (stack traces, and the GPU driver\'s own start-up messages).',
    '',
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(await globalHelp());
    return 2;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(await globalHelp());
    return 0;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, first) ? await COMMANDS[first]() : undefined;
  if (!command) {
    const names = Object.keys(COMMANDS);
    const what = first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`;
    const guess = first.startsWith('-') ? undefined : closest(first, names);
    throw new UsageError(`${what}${guess ? ` (did you mean '${guess}'?)` : ''}; commands: ${names.join(', ')}`);
  }
  const args = parseArgs(rest, command.spec);
  if (args.help) {
    process.stdout.write(formatHelp(command.spec));
    return 0;
  }
  // The command owns this process: Dawn's polling need not keep a core busy while it waits.
  if (GPU_COMMANDS.has(first)) backOffHostPolling();
  return command.run(args);
}

function report(e: unknown, commandName: string | undefined): number {
  // A bad DEEPLAB_DEBUG is itself the error being reported: no stacks then.
  let debug = false;
  try {
    debug = debugEnabled();
  } catch {
    // reported below, as the error that stopped the command
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`deeplab: ${message}\n`);
  if (e instanceof UsageError) {
    const cmd = e.command || (commandName && Object.hasOwn(COMMANDS, commandName) ? commandName : '');
    process.stderr.write(`Run 'deeplab ${cmd ? `${cmd} ` : ''}--help' for usage.\n`);
    return 2;
  }
  // The stack of the error and of what caused it (wrappers add context, the cause has the origin).
  for (let err: unknown = e; debug && err instanceof Error; err = err.cause) {
    if (err.stack) process.stderr.write(`${err === e ? '' : 'caused by: '}${err.stack}\n`);
  }
  return 1;
}

const argv = process.argv.slice(2);
// Commands that touch the GPU run in a child whose stderr drops Dawn's start-up warnings
// (dawn-warnings.ts); DEEPLAB_DEBUG=1 keeps one process and shows them.
const usesGpu = argv[0] !== undefined && GPU_COMMANDS.has(argv[0]) && !argv.includes('--help') && !argv.includes('-h');
/** The command, in a filtered child or here; a bad environment variable fails it as any error does. */
function start(): Promise<number> {
  try {
    if (isFilteredChild()) receiveForwardedInterrupts();
    return usesGpu && !debugEnabled() && !isFilteredChild() ? runFilteredChild(fileURLToPath(import.meta.url), argv) : main(argv);
  } catch (e) {
    return Promise.reject(e);
  }
}
start().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = report(e, argv[0]);
  },
);
