// Every environment variable the project reads, in one place: each one's name, type, default and
// what it does, and one clear error for a bad value. Nothing else reads `process.env`
// (test/util/flags.test.ts checks that); code asks `readFlag('DEEPLAB_TUNE')` for a typed value.
//
// A flag is read when it is used, not once at start-up, so a test (or the CLI parent for its
// child) that sets a variable sees it take effect. An unset or blank variable is its default. In
// the browser, where there is no environment, every flag is its default.

/** What a flag's text may be, and what it becomes. */
interface FlagSpec<T> {
  /** What it does (one sentence, for CONTRIBUTING.md's table). */
  description: string;
  /** Who reads it. */
  readBy: 'library' | 'cli' | 'bench' | 'tests' | 'demo';
  /** The value when unset, in words. */
  defaultText: string;
  /** The accepted values, in words (for the error and the table). */
  valuesText: string;
  default: T;
  /** The value of non-empty text, or undefined when the text is not one. */
  parse(text: string): T | undefined;
}

function path<D extends string | undefined = undefined>(description: string, readBy: FlagSpec<unknown>['readBy'], defaultText: string, fallback?: D): FlagSpec<string | D> {
  return { description, readBy, defaultText, valuesText: 'a folder or file path', default: fallback as D, parse: (text) => text };
}

function choice<const V extends string>(values: readonly V[], fallback: V, description: string, readBy: FlagSpec<unknown>['readBy']): FlagSpec<V> {
  const quoted = values.map((v) => `'${v}'`);
  return {
    description,
    readBy,
    defaultText: fallback,
    valuesText: `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`,
    default: fallback,
    parse: (text) => values.find((v) => v === text),
  };
}

const TRUE = ['1', 'true', 'on', 'yes'];
const FALSE = ['0', 'false', 'off', 'no'];

function boolean(description: string, readBy: FlagSpec<unknown>['readBy']): FlagSpec<boolean> {
  return {
    description,
    readBy,
    defaultText: 'off',
    valuesText: `${TRUE.join(', ')} (on) or ${FALSE.join(', ')} (off)`,
    default: false,
    parse: (text) => (TRUE.includes(text.toLowerCase()) ? true : FALSE.includes(text.toLowerCase()) ? false : undefined),
  };
}

function integer<D extends number | undefined>(min: number, fallback: D, defaultText: string, description: string, readBy: FlagSpec<unknown>['readBy']): FlagSpec<number | D> {
  return {
    description,
    readBy,
    defaultText,
    valuesText: `a whole number, at least ${min}`,
    default: fallback,
    parse: (text) => {
      const n = Number(text);
      return /^\s*-?\d+\s*$/.test(text) && Number.isSafeInteger(n) && n >= min ? n : undefined;
    },
  };
}

/** The flags, by variable name. */
export const FLAGS = {
  DEEPLAB_WEIGHTS_DIR: path('A folder of weight files, searched before the cache folder (nothing is downloaded for what it holds).', 'library', 'unset'),
  DEEPLAB_CACHE_DIR: path('The folder for downloaded weights and stored kernel tuning.', 'library', "the platform's cache folder (src/util/cache-dir.ts)"),
  XDG_CACHE_HOME: path('On Linux and other Unix, the cache folder holds deeplab-webgpu (an absolute path only).', 'library', '~/.cache'),
  LOCALAPPDATA: path('On Windows, the cache folder is deeplab-webgpu\\Cache inside it.', 'library', '~\\AppData\\Local'),
  DEEPLAB_TUNE: choice(
    ['off', 'cached', 'full'],
    'cached',
    "Kernel choices: 'off' (the adapter class's defaults), 'cached' (those stored by an earlier tuning for this adapter), 'full' (also time and store the candidates of layers not yet tuned).",
    'library',
  ),
  DEEPLAB_SPLIT_K: choice(['auto', 'never', 'always'], 'auto', 'Split-K convolutions: where the heuristic or tuner says, never, or wherever one applies.', 'library'),
  DEEPLAB_SUBGROUPS: choice(['on', 'off'], 'on', "Kernels that use the adapter's subgroup operations where it offers them.", 'library'),
  DEEPLAB_SUBGROUP_MATRIX: choice(['on', 'off'], 'on', "Convolutions on the adapter's subgroup matrices (tensor cores) where Dawn offers them.", 'library'),
  DEEPLAB_DEVICE_LIMITS: choice(
    ['adapter', 'default'],
    'adapter',
    "The device's limits: all the adapter offers, or WebGPU's defaults (8 storage buffers, 128 MiB bindings, 256 invocations; what Safari and phones may give).",
    'library',
  ),
  DEEPLAB_HOST_POLL: choice(
    ['backoff', 'spin'],
    'backoff',
    "How the CLI, the tests and backOffHostPolling() let dawn.node poll while the host waits for the GPU: at once for 2 ms (20 ms until a context is on a software adapter), then once a millisecond ('backoff'), or at once throughout, a core busy ('spin').",
    'library',
  ),
  DEEPLAB_DEBUG: boolean('The CLI prints the stack of an error and runs in one process, showing Dawn\'s start-up warnings.', 'cli'),
  DEEPLAB_CLI_CHILD: {
    description: "Internal: set by the CLI in the child it runs, whose stderr it filters ('tty' when that stderr is a terminal).",
    readBy: 'cli',
    defaultText: 'unset (not the child)',
    valuesText: "'tty' or 'pipe'",
    default: undefined,
    parse: (text: string): 'tty' | 'pipe' | undefined => (text === 'tty' || text === 'pipe' ? text : undefined),
  } satisfies FlagSpec<'tty' | 'pipe' | undefined>,
  DEEPLAB_CLI_COLUMNS: integer(1, undefined, 'unset', "Internal: the width of the CLI parent's terminal, for its child's progress lines.", 'cli'),
  DEEPLAB_CHROMIUM: path('The Chromium or Chrome executable the browser tests and the browser benchmark drive.', 'tests', '/usr/bin/chromium', '/usr/bin/chromium'),
  DEEPLAB_FIREFOX: path('The Firefox executable the browser tests drive.', 'tests', '/usr/bin/firefox-esr', '/usr/bin/firefox-esr'),
  DEEPLAB_CHROMIUM_FLAGS: {
    description: "Chromium flags (space-separated) that choose the page's WebGPU adapter, in place of SwiftShader's.",
    readBy: 'bench',
    defaultText: '--use-webgpu-adapter=swiftshader',
    valuesText: 'flags separated by spaces',
    default: undefined,
    parse: (text: string): string[] | undefined => text.trim().split(/\s+/),
  } satisfies FlagSpec<string[] | undefined>,
  DEEPLAB_PYTHON: path('The Python with PyTorch and transformers that the PyTorch round-trip test runs docs/ddp_train.py with (skipped where it has none).', 'tests', 'python3', 'python3'),
  DEEPLAB_SMP_PYTHON: path("The Python with torch and segmentation_models_pytorch that the smp round-trip test runs smp with (skipped while unset; scripts/smp/README.md makes one).", 'tests', 'unset (the test is skipped)'),
  DEEPLAB_TF_PYTHON: path("The Python with tensorflow (or tensorflow-cpu) whose tf.lite.Interpreter the TF Lite export tests run scripts/tflite/tflite_run.py with (skipped where it cannot import tensorflow).", 'tests', 'python3', 'python3'),
  DEEPLAB_SHARED_DIR: path('The team\'s shared folder of weights, fixtures and data that tests and benchmarks read.', 'tests', '../shared beside the project root'),
  TEST_SEED: integer(0, undefined, 'fresh each run (printed)', 'The seed of the tests\' random inputs: replays a run.', 'tests'),
  TEST_TIMINGS: path('A file the test run appends one JSON line to per test file (its wall time and CPU time) and to the start and end of each mocha run (the speed of the host: test/host-speed.ts); scripts/test-timings.mjs tabulates them.', 'tests', 'unset (not recorded)'),
  HOSTILE_SEED: integer(0, 16, '16', 'The seed of the damaged files the hostile-input tests make.', 'tests'),
  HOSTILE_VERBOSE: boolean('The hostile-input tests list every error message they saw, with its count.', 'tests'),
  PARITY_VERBOSE: boolean("The gradient parity tests print each tensor's relative error.", 'tests'),
  PARITY_NO_FUSE: boolean('The training parity test compiles without fusing layers.', 'tests'),
  CAMERA_FRAMES: integer(1, 1000, '1000', 'Frames the camera soak test runs (at least its census window).', 'tests'),
  TEST_SAMPLE_FAULT: {
    description: 'Internal: set by the sample-pool and training tests for the sample worker that dies on purpose (test/data/dying-sample-worker.ts).',
    readBy: 'tests',
    defaultText: 'unset (no fault)',
    valuesText: 'a JSON object',
    default: undefined,
    parse: (text: string): object | undefined => {
      try {
        const value: unknown = JSON.parse(text);
        return typeof value === 'object' && value !== null ? value : undefined;
      } catch {
        return undefined;
      }
    },
  } satisfies FlagSpec<object | undefined>,
  XDG_RUNTIME_DIR: path("The Vulkan loader's runtime folder; a private one under the temporary folder is made when unset.", 'library', 'a folder under the temporary folder'),
} as const;

export type FlagName = keyof typeof FLAGS;
export type FlagValue<K extends FlagName> = (typeof FLAGS)[K]['default'] | NonNullable<ReturnType<(typeof FLAGS)[K]['parse']>>;

/** The variable's text as set, or undefined (no environment in a browser). */
function envText(name: string): string | undefined {
  return typeof process === 'undefined' ? undefined : process.env[name];
}

/** A flag's value: its default when unset or blank; an error naming the variable, the text and what it may be otherwise. */
export function readFlag<K extends FlagName>(name: K): FlagValue<K> {
  const spec = FLAGS[name] as FlagSpec<FlagValue<K>>;
  const text = envText(name);
  if (text === undefined || text.trim() === '') return spec.default;
  const value = spec.parse(text);
  if (value === undefined) throw new Error(`environment variable ${name} must be ${spec.valuesText}, got '${text}'`);
  return value;
}

/** Whether the variable is set (to anything but blank text). */
export function flagIsSet(name: FlagName): boolean {
  const text = envText(name);
  return text !== undefined && text.trim() !== '';
}

/**
 * Sets flags to the given text (undefined: unset) and returns what puts back the text they had:
 * for tests that exercise a flag.
 */
export function setFlags(values: Partial<Record<FlagName, string | undefined>>): () => void {
  const saved = Object.keys(values).map((name) => [name, process.env[name]] as const);
  const put = (name: string, text: string | undefined): void => {
    if (text === undefined) delete process.env[name];
    else process.env[name] = text;
  };
  for (const [name, text] of Object.entries(values)) put(name, text);
  return () => {
    for (const [name, text] of saved) put(name, text);
  };
}

/** Runs `fn` with flags set as setFlags sets them, then puts them back. */
export async function withFlags<T>(values: Partial<Record<FlagName, string | undefined>>, fn: () => T | Promise<T>): Promise<T> {
  const restore = setFlags(values);
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** The flags as a Markdown table (CONTRIBUTING.md lists them so). */
export function flagTable(): string {
  const rows = Object.entries(FLAGS).map(([name, s]) => `| \`${name}\` | ${s.readBy} | ${s.valuesText} | ${s.defaultText} | ${s.description} |`);
  return ['| variable | read by | values | default | what it does |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}
