// Kernel choices measured on this adapter: for each kernel family with choices (the
// convolutions and their gradients, the batched matmul, the bilinear resize), which candidate
// ran fastest at each layer shape and precision.
//
// Choices are stored per adapter identity (vendor, architecture, device, description, and for
// a software adapter the host CPU behind it: the same lavapipe is a different machine on
// another host) and per tuning key: the family, the layer's shape and its precision (the
// program's storage type and the narrowest accumulation its candidates may use), so a choice
// measured in f32 is never applied to a half-precision program, nor the other way round. Each
// carries a checksum of the candidate names, so a change to the candidate space or the shader's
// version makes old choices unused instead of wrong. Where they live is the tune store's
// business (tune-store.ts: files under the cache folder in Node, IndexedDB in the browser).
//
// Modes: 'off' (adapter-class defaults only), 'cached' (stored choices where there are any:
// the default), 'full' (also time the candidates of layers not yet tuned when a program is
// compiled, within a time budget, and store the result). DEEPLAB_TUNE sets the default mode.
import { type TuneStore, hostDescription, openTuneStore } from './tune-store.js';

export type TuneMode = 'off' | 'cached' | 'full';
export const TUNE_MODES: readonly TuneMode[] = ['off', 'cached', 'full'];

/** A float type of tensors (storage) or of sums (accumulation). */
export type FloatType = 'f32' | 'f16';

/**
 * A layer's precision as its tuning key holds it: the storage type of the program's float
 * tensors, and the narrowest type its candidates may accumulate in (f16 only where storage is).
 */
export interface Precision {
  storage: FloatType;
  accumulate: FloatType;
}

/** What a choice is stored under: the kernel family, the layer's shape and its precision. */
export interface TuneKey {
  /** The family's name in the store, e.g. 'conv2d'. */
  kernel: string;
  /** What changes which candidate is fastest, e.g. 'm4096.ci32.co64.g1.k3x3.s1.d1'. */
  shape: string;
  precision: Precision;
}

/** 'f32.acc32', 'f16.acc16': the precision part of a stored key. */
export function precisionName(p: Precision): string {
  return `${p.storage}.acc${p.accumulate.slice(1)}`;
}

/** The store's name of a key: 'conv2d/m4096.ci32.co64.g1.k3x3.s1.d1/f16.acc16'. */
export function tuneKeyName(key: TuneKey): string {
  return `${key.kernel}/${key.shape}/${precisionName(key.precision)}`;
}

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

/**
 * The stored record's layout. 2: keys hold the layer's precision. A record of another version
 * (1: keys without it) is ignored, and replaced at the next save.
 */
const RECORD_VERSION = 2;

interface TuneRecord {
  version: typeof RECORD_VERSION;
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
    if (!record || record.version !== RECORD_VERSION || JSON.stringify(record.adapter) !== JSON.stringify(this.identity) || typeof record.entries !== 'object') return;
    for (const [key, e] of Object.entries(record.entries ?? {})) {
      if (e && typeof e.variant === 'string' && typeof e.checksum === 'string') this.entries.set(key, e);
    }
  }

  /** The stored choice for a layer shape in its precision, unless the mode is 'off' or the candidates changed. */
  choice(key: TuneKey, checksum: string): string | undefined {
    if (this.mode === 'off') return undefined;
    const e = this.entries.get(tuneKeyName(key));
    return e && e.checksum === checksum ? e.variant : undefined;
  }

  /** Whether a layer shape's choice is stored for these candidates and was not cut short by a budget. */
  settled(key: TuneKey, checksum: string, candidates: number): boolean {
    const e = this.entries.get(tuneKeyName(key));
    return !!e && e.checksum === checksum && (e.settled ?? e.timed === candidates);
  }

  entry(key: TuneKey): TuneEntry | undefined {
    return this.entries.get(tuneKeyName(key));
  }

  record(key: TuneKey, entry: TuneEntry): void {
    this.entries.set(tuneKeyName(key), entry);
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
    const record: TuneRecord = { version: RECORD_VERSION, adapter: this.identity, entries: Object.fromEntries(this.entries) };
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
