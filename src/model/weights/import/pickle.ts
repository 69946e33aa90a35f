// A minimal, safe unpickler for what torch.save writes (protocols 2 to 5, plus the simple
// protocol 0/1 opcodes). It never executes anything: GLOBAL / STACK_GLOBAL only look names up
// in a caller-supplied table, and persistent ids go to a caller-supplied callback.
//
// Python values become: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
// float -> number, str -> string, bytes/bytearray -> Uint8Array, list -> array,
// tuple -> frozen array, dict -> Map, set/frozenset -> Set; globals -> whatever the table holds.
import { checkRange } from '../../../io/byte-cursor.js';

export interface UnpickleOptions {
  /**
   * 'module.name' -> the value GLOBAL pushes. Values that REDUCE / NEWOBJ call must be plain
   * functions; they receive the Python call's positional arguments.
   */
  globals: Readonly<Record<string, unknown>>;
  /** Resolves persistent ids (BINPERSID / PERSID); without it such an id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Names the source in error messages (e.g. 'model.pth: data.pkl'). */
  what?: string;
}

/** Opcode byte -> name, for error messages and the dispatch below. */
const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1',
  0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const MAX_PROTOCOL = 5;

function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

/** Little-endian two's complement integer of any length (LONG1 / LONG4), in linear time. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let hex = '';
  for (let i = bytes.length - 1; i >= 0; i--) hex += bytes[i].toString(16).padStart(2, '0');
  let v = BigInt(`0x${hex}`);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * A short Python-like picture of an unpickled value for error messages: strings quoted,
 * tuples in parentheses, containers and objects by kind, never "[object Object]".
 */
export function pickleRepr(v: unknown, depth = 0): string {
  if (v === null) return 'None';
  if (v === undefined) return '(nothing)';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'function') return `<callable ${v.name || 'global'}>`;
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (v instanceof Map) return `dict(${v.size} items)`;
  if (v instanceof Set) return `set(${v.size} items)`;
  if (Array.isArray(v)) {
    if (depth > 1) return isPickleTuple(v) ? '(...)' : '[...]';
    const items = v.slice(0, 6).map((x) => pickleRepr(x, depth + 1));
    if (v.length > 6) items.push('...');
    return isPickleTuple(v) ? `(${items.join(', ')}${v.length === 1 ? ',' : ''})` : `[${items.join(', ')}]`;
  }
  const ctor = (v as object).constructor?.name;
  return `<${ctor && ctor !== 'Object' ? ctor : 'object'}>`;
}

/** A memo key or similar decimal argument of a protocol 0 opcode. */
const DECIMAL = /^[0-9]{1,15}$/;

class Unpickler {
  private pos = 0;
  private stack: unknown[] = [];
  private readonly marks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;
  private readonly what: string;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private opStart = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly opts: UnpickleOptions,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.what = opts.what ?? 'pickle';
  }

  private fail(msg: string): never {
    throw new Error(`${this.what}: ${msg} at offset ${this.opStart}`);
  }

  private take(n: number): Uint8Array {
    checkRange(this.pos, n, this.buf.length, `an argument of ${n} bytes`, `${this.what}: truncated pickle at offset ${this.opStart}`, 'the pickle');
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  private u8(): number {
    return this.take(1)[0];
  }
  private u16(): number {
    const p = this.pos;
    this.take(2);
    return this.view.getUint16(p, true);
  }
  private u32(): number {
    const p = this.pos;
    this.take(4);
    return this.view.getUint32(p, true);
  }
  private i32(): number {
    const p = this.pos;
    this.take(4);
    return this.view.getInt32(p, true);
  }
  private u64(): number {
    const p = this.pos;
    this.take(8);
    const v = this.view.getBigUint64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is too large`);
    return Number(v);
  }
  /** A newline-terminated ASCII argument (protocol 0 style and GLOBAL). */
  private line(): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('truncated pickle (unterminated line argument)');
    const s = new TextDecoder('latin1').decode(this.buf.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  private str(n: number): string {
    const bytes = this.take(n);
    try {
      return this.utf8.decode(bytes);
    } catch {
      return this.fail('invalid UTF-8 in a string');
    }
  }

  private push(v: unknown): void {
    this.stack.push(v);
  }
  private pop(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }
  private popMark(): unknown[] {
    const items = this.stack;
    const prev = this.marks.pop();
    if (!prev) this.fail('no MARK on the stack');
    this.stack = prev;
    return items;
  }
  private getMemo(i: number): unknown {
    if (!this.memo.has(i)) this.fail(`memo key ${i} was never stored`);
    return this.memo.get(i);
  }

  private global(module: string, name: string): unknown {
    const key = `${module}.${name}`;
    if (!Object.prototype.hasOwnProperty.call(this.opts.globals, key)) {
      const shown = /^[\w.]+$/.test(key) ? key : JSON.stringify(key);
      this.fail(`unsupported global ${shown} (not in the allowed table)`);
    }
    return this.opts.globals[key];
  }

  private call(fn: unknown, args: unknown, opName: string): unknown {
    if (typeof fn !== 'function') this.fail(`${opName} on a value that is not callable`);
    if (!Array.isArray(args)) this.fail(`${opName} arguments are not a tuple`);
    try {
      return (fn as (...a: unknown[]) => unknown)(...(args as unknown[]));
    } catch (e) {
      return this.fail(`${opName} failed: ${(e as Error).message}`);
    }
  }

  private setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) this.fail('SETITEM(S) on a value that is not a dict');
    if (items.length % 2 !== 0) this.fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1]);
  }

  private appendItems(target: unknown, items: unknown[]): void {
    if (!Array.isArray(target) || Object.isFrozen(target)) this.fail('APPEND(S) on a value that is not a list');
    for (const it of items) (target as unknown[]).push(it); // no spread: a list can be long
  }

  /** An INT / LONG argument, within Python's limit on decimal digits (no quadratic parse). */
  private decimal(s: string): number | bigint {
    if (s.length > MAX_DECIMAL_DIGITS + 1) this.fail(`decimal integer of ${s.length} digits is too long`);
    return decodeDecimal(s);
  }

  /** The decimal argument of GET / PUT (protocol 0). */
  private memoKey(): number {
    const s = this.line();
    if (!DECIMAL.test(s)) this.fail(`bad memo key ${JSON.stringify(s.slice(0, 20))}`);
    return Number(s);
  }

  /** BUILD: __setstate__ when the object has one, else copy a (dict, slots) state onto it. */
  private build(obj: unknown, state: unknown): void {
    if (obj !== null && typeof obj === 'object' && typeof (obj as { __setstate__?: unknown }).__setstate__ === 'function') {
      try {
        (obj as { __setstate__(s: unknown): void }).__setstate__(state);
      } catch (e) {
        this.fail(`BUILD failed: ${(e as Error).message}`);
      }
      return;
    }
    if (state === null) return;
    const parts = Array.isArray(state) && Object.isFrozen(state) && state.length === 2 ? state : [state];
    for (const part of parts) {
      if (part === null) continue;
      if (!(part instanceof Map) || obj === null || typeof obj !== 'object' || !Object.isExtensible(obj)) {
        this.fail(`BUILD of ${pickleRepr(obj)} with state ${pickleRepr(part)}: a state this unpickler cannot apply`);
      }
      for (const [k, v] of part as Map<unknown, unknown>) {
        if (typeof k !== 'string') this.fail('BUILD state has a non-string attribute name');
        // defineProperty, not assignment, so a key like "__proto__" cannot touch the prototype.
        try {
          Object.defineProperty(obj, k, { value: v, writable: true, enumerable: true, configurable: true });
        } catch {
          this.fail(`BUILD cannot set attribute ${JSON.stringify(k)} of ${pickleRepr(obj)}`);
        }
      }
    }
  }

  /** Where the next opcode starts: after STOP once run() has returned. */
  get position(): number {
    return this.pos;
  }

  run(): unknown {
    const buf = this.buf;
    while (this.pos < buf.length) {
      this.opStart = this.pos;
      const op = buf[this.pos++];
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8();
          if (v > MAX_PROTOCOL) this.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: // FRAME: framing is only a read-ahead hint
          this.u64();
          break;
        case 0x2e: // STOP
          return this.pop();
        case 0x28: // MARK
          this.marks.push(this.stack);
          this.stack = [];
          break;
        case 0x30: // POP
          if (this.stack.length === 0) this.popMark(); // popping a bare mark
          else this.stack.pop();
          break;
        case 0x31: // POP_MARK
          this.popMark();
          break;
        case 0x32: // DUP
          this.push(this.top());
          break;
        // --- scalars ---
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(this.i32()); break; // BININT
        case 0x4b: this.push(this.u8()); break; // BININT1
        case 0x4d: this.push(this.u16()); break; // BININT2
        case 0x8a: this.push(decodeLong(this.take(this.u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.i32();
          if (n < 0) this.fail('negative LONG4 length');
          this.push(decodeLong(this.take(n)));
          break;
        }
        case 0x47: { // BINFLOAT: big-endian double
          const p = this.pos;
          this.take(8);
          this.push(this.view.getFloat64(p, false));
          break;
        }
        case 0x49: { // INT (protocol 0): also encodes booleans as 00 / 01
          const s = this.line();
          if (s === '00') this.push(false);
          else if (s === '01') this.push(true);
          else if (/^[+-]?\d+$/.test(s)) this.push(this.decimal(s));
          else this.fail(`bad INT argument ${JSON.stringify(s)}`);
          break;
        }
        case 0x4c: { // LONG (protocol 0)
          const s = this.line().replace(/L$/, '');
          if (!/^[+-]?\d+$/.test(s)) this.fail(`bad LONG argument ${JSON.stringify(s)}`);
          this.push(this.decimal(s));
          break;
        }
        case 0x46: { // FLOAT (protocol 0)
          const v = Number(this.line());
          if (Number.isNaN(v)) this.fail('bad FLOAT argument');
          this.push(v);
          break;
        }
        // --- strings and bytes ---
        case 0x58: this.push(this.str(this.u32())); break; // BINUNICODE
        case 0x8c: this.push(this.str(this.u8())); break; // SHORT_BINUNICODE
        case 0x8d: this.push(this.str(this.u64())); break; // BINUNICODE8
        case 0x42: this.push(new Uint8Array(this.take(this.u32()))); break; // BINBYTES
        case 0x43: this.push(new Uint8Array(this.take(this.u8()))); break; // SHORT_BINBYTES
        case 0x8e: this.push(new Uint8Array(this.take(this.u64()))); break; // BINBYTES8
        case 0x96: this.push(new Uint8Array(this.take(this.u64()))); break; // BYTEARRAY8
        case 0x54: this.push(new Uint8Array(this.take(this.i32()))); break; // BINSTRING (py2 str as bytes)
        case 0x55: this.push(new Uint8Array(this.take(this.u8()))); break; // SHORT_BINSTRING
        // --- containers ---
        case 0x29: this.push(tuple([])); break; // EMPTY_TUPLE
        case 0x74: this.push(tuple(this.popMark())); break; // TUPLE
        case 0x85: this.push(tuple([this.pop()])); break; // TUPLE1
        case 0x86: { // TUPLE2
          const b = this.pop();
          this.push(tuple([this.pop(), b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.pop();
          const b = this.pop();
          this.push(tuple([this.pop(), b, c]));
          break;
        }
        case 0x5d: this.push([]); break; // EMPTY_LIST
        case 0x6c: this.push(this.popMark()); break; // LIST
        case 0x61: { // APPEND
          const v = this.pop();
          this.appendItems(this.top(), [v]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          this.appendItems(this.top(), items);
          break;
        }
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x64: { // DICT
          const m = new Map();
          this.setItems(m, this.popMark());
          this.push(m);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }
        case 0x8f: this.push(new Set()); break; // EMPTY_SET
        case 0x90: { // ADDITEMS
          const items = this.popMark();
          const s = this.top();
          if (!(s instanceof Set)) this.fail('ADDITEMS on a value that is not a set');
          for (const it of items) (s as Set<unknown>).add(it);
          break;
        }
        case 0x91: this.push(new Set(this.popMark())); break; // FROZENSET
        // --- memo ---
        case 0x68: this.push(this.getMemo(this.u8())); break; // BINGET
        case 0x6a: this.push(this.getMemo(this.u32())); break; // LONG_BINGET
        case 0x67: this.push(this.getMemo(this.memoKey())); break; // GET
        case 0x71: this.memo.set(this.u8(), this.top()); break; // BINPUT
        case 0x72: this.memo.set(this.u32(), this.top()); break; // LONG_BINPUT
        case 0x70: this.memo.set(this.memoKey(), this.top()); break; // PUT
        case 0x94: this.memo.set(this.memo.size, this.top()); break; // MEMOIZE
        // --- objects (through the caller's table only) ---
        case 0x63: { // GLOBAL
          const module = this.line();
          this.push(this.global(module, this.line()));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          this.push(this.global(module as string, name as string));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop();
          const fn = this.pop();
          this.push(this.call(fn, args, 'REDUCE'));
          break;
        }
        case 0x81: { // NEWOBJ: cls.__new__(cls, *args), modelled as a call
          const args = this.pop();
          const cls = this.pop();
          this.push(this.call(cls, args, 'NEWOBJ'));
          break;
        }
        case 0x92: { // NEWOBJ_EX: only without keyword arguments
          const kwargs = this.pop();
          const args = this.pop();
          const cls = this.pop();
          if (!(kwargs instanceof Map) || kwargs.size > 0) this.fail('NEWOBJ_EX with keyword arguments is not supported');
          this.push(this.call(cls, args, 'NEWOBJ_EX'));
          break;
        }
        case 0x62: { // BUILD
          const state = this.pop();
          this.build(this.top(), state);
          break;
        }
        case 0x51: // BINPERSID
        case 0x50: { // PERSID
          const pid = op === 0x51 ? this.pop() : this.line();
          if (!this.opts.persistentLoad) this.fail('persistent id found but no persistent_load was given');
          try {
            this.push(this.opts.persistentLoad!(pid));
          } catch (e) {
            this.fail(`persistent_load failed: ${(e as Error).message}`);
          }
          break;
        }
        case 0x98: // READONLY_BUFFER: no-op on an in-band buffer
          this.top();
          break;
        default: {
          const name = OPCODE_NAMES[op] ?? 'unknown';
          this.fail(`unsupported pickle opcode ${name} (0x${op.toString(16).padStart(2, '0')})`);
        }
      }
    }
    return this.fail('truncated pickle (no STOP opcode)');
  }
}

/** Python refuses decimal integers longer than this (sys.int_info.default_max_str_digits). */
const MAX_DECIMAL_DIGITS = 4300;

function decodeDecimal(s: string): number | bigint {
  const v = BigInt(s);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Unpickles `buf` (one pickle, up to its STOP opcode). */
export function unpickle(buf: Uint8Array, opts: UnpickleOptions): unknown {
  return new Unpickler(buf, opts).run();
}

/**
 * Unpickles the pickle that starts `buf` and says where it ends: for streams of several pickles
 * one after another (PyTorch's legacy checkpoint format).
 */
export function unpickleOne(buf: Uint8Array, opts: UnpickleOptions): { value: unknown; end: number } {
  const u = new Unpickler(buf, opts);
  const value = u.run();
  return { value, end: u.position };
}

/** True for the frozen arrays this unpickler uses for Python tuples. */
export function isPickleTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}
