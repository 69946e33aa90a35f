// Kernel choices measured on this adapter: for each kernel family with choices (today the GEMM
// convolution's tiles, lanes and split-K), which candidate ran fastest at each layer shape.
//
// Choices are stored per adapter identity (vendor, architecture, device, description, and for
// a software adapter the host CPU behind it: the same lavapipe is a different machine on
// another host) and per layer shape, with a checksum of the candidate names, so a change to the
// candidate space or the shader's version makes old choices unused instead of wrong. Where
// they live is the tune store's business (tune-store.ts: files under the cache folder in
// Node, IndexedDB in the browser).
//
// Modes: 'off' (adapter-class defaults only), 'cached' (stored choices where there are any:
// the default), 'full' (also time the candidates of layers not yet tuned when a program is
// compiled, within a time budget, and store the result). DEEPLAB_TUNE sets the default mode.
import { type TuneStore, hostDescription, openTuneStore } from './tune-store.js';

export type TuneMode = 'off' | 'cached' | 'full';
export const TUNE_MODES: readonly TuneMode[] = ['off', 'cached', 'full'];

export interface AdapterIdentity {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The host CPU, for software adapters ('' for GPUs). */
  host: string;
}

/** One layer shape's measurement. */
export interface TuneEntry {
  /** The fastest candidate's name. */
  variant: string;
  ms: number;
  /** The adapter-class default's time, for the record (tuned vs untuned). */
  defaultMs: number;
  /** Candidates timed, or set aside untimed by their accuracy check. */
  timed: number;
  /** Of the candidate names (see `candidateChecksum`). */
  checksum: string;
  /**
   * The layer's timing ended by its own rule (every candidate, or the tuner's patience) rather
   * than a budget: it is not timed again. Absent (older records): settled when every candidate
   * was timed.
   */
  settled?: boolean;
}

interface TuneRecord {
  version: 1;
  adapter: AdapterIdentity;
  entries: Record<string, TuneEntry>;
}

/** FNV-1a, 32 bits, as 8 hex digits: short stable ids for names and identities (not security). */
export function fnv1a(text: string, seed = 0x811c9dc5): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Changes when the candidate space or the shaders behind it do (`version`: see `sourcesVersion`): old choices then go unused. */
export function candidateChecksum(version: string, names: readonly string[]): string {
  const text = `${version}:${names.join(',')}`;
  return fnv1a(text) + fnv1a(text, 0x01234567);
}

export function adapterIdentity(info: { vendor: string; architecture: string; device: string; description: string }, software: boolean): AdapterIdentity {
  return { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description, host: software ? hostDescription() : '' };
}

export function tuneModeFrom(value: string | undefined, what: string): TuneMode {
  const mode = value ?? 'cached';
  if (!TUNE_MODES.includes(mode as TuneMode)) throw new Error(`${what} must be 'off', 'cached' or 'full', got '${mode}'`);
  return mode as TuneMode;
}

export class KernelTuning {
  private entries = new Map<string, TuneEntry>();
  private dirty = false;
  private recordedHere = 0;
  /** How long tuning a graph may take (src/graph/tune.ts), in milliseconds. */
  budgetMs = 60_000;
  /** A layer's tuning stops after this many candidates in a row no faster than its best. */
  patience = Infinity;
  /** Tune once: layer shapes a budget does not reach keep their default for good (src/graph/tune.ts). */
  once = false;

  private constructor(
    readonly identity: AdapterIdentity,
    /** The store's id for this adapter. */
    readonly id: string,
    public mode: TuneMode,
    private readonly store: TuneStore | null,
  ) {}

  /** The choices stored for this adapter (none when the mode is 'off' or nothing was stored). */
  static async open(identity: AdapterIdentity, mode: TuneMode, store: TuneStore | null = openTuneStore()): Promise<KernelTuning> {
    const id = fnv1a(JSON.stringify(identity)) + fnv1a(JSON.stringify(identity), 0x01234567);
    const tuning = new KernelTuning(identity, id, mode, store);
    if (mode !== 'off' && store) await tuning.reload();
    return tuning;
  }

  /** Changes the mode, reading the stored choices if the old mode had not. */
  async setMode(mode: TuneMode): Promise<void> {
    tuneModeFrom(mode, 'tune');
    const load = this.mode === 'off' && mode !== 'off';
    this.mode = mode;
    if (load) await this.reload();
  }

  /** Where the choices are kept, for messages. */
  get location(): string {
    return this.store ? this.store.where(this.id) : '(not stored)';
  }

  /** Reads the stored choices again; a record for another adapter or of another version is ignored. */
  async reload(): Promise<void> {
    if (!this.store) return;
    const record = (await this.store.load(this.id)) as Partial<TuneRecord> | undefined;
    this.entries.clear();
    if (!record || record.version !== 1 || JSON.stringify(record.adapter) !== JSON.stringify(this.identity) || typeof record.entries !== 'object') return;
    for (const [key, e] of Object.entries(record.entries ?? {})) {
      if (e && typeof e.variant === 'string' && typeof e.checksum === 'string') this.entries.set(key, e);
    }
  }

  private key(kernel: string, shape: string): string {
    return `${kernel}/${shape}`;
  }

  /** The stored choice for a layer shape, unless the mode is 'off' or the candidates changed. */
  choice(kernel: string, shape: string, checksum: string): string | undefined {
    if (this.mode === 'off') return undefined;
    const e = this.entries.get(this.key(kernel, shape));
    return e && e.checksum === checksum ? e.variant : undefined;
  }

  /** Whether a layer shape's choice is stored for these candidates and was not cut short by a budget. */
  settled(kernel: string, shape: string, checksum: string, candidates: number): boolean {
    const e = this.entries.get(this.key(kernel, shape));
    return !!e && e.checksum === checksum && (e.settled ?? e.timed === candidates);
  }

  entry(kernel: string, shape: string): TuneEntry | undefined {
    return this.entries.get(this.key(kernel, shape));
  }

  record(kernel: string, shape: string, entry: TuneEntry): void {
    this.entries.set(this.key(kernel, shape), entry);
    this.dirty = true;
    this.recordedHere++;
  }

  /** Choices recorded through this object (tuned or settled here, not read from the store). */
  get recorded(): number {
    return this.recordedHere;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Writes what was measured since the last save. */
  async save(): Promise<void> {
    if (!this.dirty || !this.store) return;
    const record: TuneRecord = { version: 1, adapter: this.identity, entries: Object.fromEntries(this.entries) };
    await this.store.save(this.id, record);
    this.dirty = false;
  }

  /** Forgets every stored choice of this adapter (memory and store). */
  async clear(): Promise<void> {
    this.entries.clear();
    this.dirty = true;
    await this.save();
  }
}
