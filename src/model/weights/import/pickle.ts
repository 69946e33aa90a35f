// A minimal, safe unpickler for what torch.save writes (protocols 2 to 5, plus the simple
// protocol 0/1 opcodes). It never executes anything: GLOBAL / STACK_GLOBAL only look names up
// in a caller-supplied table, and persistent ids go to a caller-supplied callback.
//
// Python values become: None -> null, bool -> boolean, int -> number (bigint beyond 2^53),
// float -> number, str -> string, bytes/bytearray -> Uint8Array, list -> array,
// tuple -> frozen array, dict -> Map, set/frozenset -> Set; globals -> whatever the table holds.
import { PickleInput } from './pickle-input.js';
import { appendItems, buildObject, setItems } from './pickle-objects.js';
import { DECIMAL, MAX_DECIMAL_DIGITS, MAX_PROTOCOL, OPCODE_NAMES, decodeDecimal, decodeLong, tuple } from './pickle-values.js';

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

class Unpickler {
  private readonly input: PickleInput;
  private stack: unknown[] = [];
  private readonly marks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();

  constructor(
    private readonly buf: Uint8Array,
    private readonly opts: UnpickleOptions,
  ) {
    this.input = new PickleInput(buf, opts.what ?? 'pickle');
  }

  private fail(msg: string): never {
    return this.input.fail(msg);
  }

  /** fail(), for the helpers that fill containers and objects (pickle-objects.ts). */
  private readonly failAt = (msg: string): never => this.fail(msg);

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

  /** An INT / LONG argument, within Python's limit on decimal digits (no quadratic parse). */
  private decimal(s: string): number | bigint {
    if (s.length > MAX_DECIMAL_DIGITS + 1) this.fail(`decimal integer of ${s.length} digits is too long`);
    return decodeDecimal(s);
  }

  /** The decimal argument of GET / PUT (protocol 0). */
  private memoKey(): number {
    const s = this.input.line();
    if (!DECIMAL.test(s)) this.fail(`bad memo key ${JSON.stringify(s.slice(0, 20))}`);
    return Number(s);
  }

  /** Where the next opcode starts: after STOP once run() has returned. */
  get position(): number {
    return this.input.pos;
  }

  run(): unknown {
    const buf = this.buf;
    while (this.input.pos < buf.length) {
      this.input.opStart = this.input.pos;
      const op = buf[this.input.pos++];
      switch (op) {
        case 0x80: { // PROTO
          const v = this.input.u8();
          if (v > MAX_PROTOCOL) this.fail(`unsupported pickle protocol ${v}`);
          break;
        }
        case 0x95: // FRAME: framing is only a read-ahead hint
          this.input.u64();
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
        case 0x4a: this.push(this.input.i32()); break; // BININT
        case 0x4b: this.push(this.input.u8()); break; // BININT1
        case 0x4d: this.push(this.input.u16()); break; // BININT2
        case 0x8a: this.push(decodeLong(this.input.take(this.input.u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = this.input.i32();
          if (n < 0) this.fail('negative LONG4 length');
          this.push(decodeLong(this.input.take(n)));
          break;
        }
        case 0x47: { // BINFLOAT: big-endian double
          this.push(this.input.f64be());
          break;
        }
        case 0x49: { // INT (protocol 0): also encodes booleans as 00 / 01
          const s = this.input.line();
          if (s === '00') this.push(false);
          else if (s === '01') this.push(true);
          else if (/^[+-]?\d+$/.test(s)) this.push(this.decimal(s));
          else this.fail(`bad INT argument ${JSON.stringify(s)}`);
          break;
        }
        case 0x4c: { // LONG (protocol 0)
          const s = this.input.line().replace(/L$/, '');
          if (!/^[+-]?\d+$/.test(s)) this.fail(`bad LONG argument ${JSON.stringify(s)}`);
          this.push(this.decimal(s));
          break;
        }
        case 0x46: { // FLOAT (protocol 0)
          const v = Number(this.input.line());
          if (Number.isNaN(v)) this.fail('bad FLOAT argument');
          this.push(v);
          break;
        }
        // --- strings and bytes ---
        case 0x58: this.push(this.input.str(this.input.u32())); break; // BINUNICODE
        case 0x8c: this.push(this.input.str(this.input.u8())); break; // SHORT_BINUNICODE
        case 0x8d: this.push(this.input.str(this.input.u64())); break; // BINUNICODE8
        case 0x42: this.push(new Uint8Array(this.input.take(this.input.u32()))); break; // BINBYTES
        case 0x43: this.push(new Uint8Array(this.input.take(this.input.u8()))); break; // SHORT_BINBYTES
        case 0x8e: this.push(new Uint8Array(this.input.take(this.input.u64()))); break; // BINBYTES8
        case 0x96: this.push(new Uint8Array(this.input.take(this.input.u64()))); break; // BYTEARRAY8
        case 0x54: this.push(new Uint8Array(this.input.take(this.input.i32()))); break; // BINSTRING (py2 str as bytes)
        case 0x55: this.push(new Uint8Array(this.input.take(this.input.u8()))); break; // SHORT_BINSTRING
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
          appendItems(this.top(), [v], this.failAt);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark();
          appendItems(this.top(), items, this.failAt);
          break;
        }
        case 0x7d: this.push(new Map()); break; // EMPTY_DICT
        case 0x64: { // DICT
          const m = new Map();
          setItems(m, this.popMark(), this.failAt);
          this.push(m);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop();
          const k = this.pop();
          setItems(this.top(), [k, v], this.failAt);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark();
          setItems(this.top(), items, this.failAt);
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
        case 0x68: this.push(this.getMemo(this.input.u8())); break; // BINGET
        case 0x6a: this.push(this.getMemo(this.input.u32())); break; // LONG_BINGET
        case 0x67: this.push(this.getMemo(this.memoKey())); break; // GET
        case 0x71: this.memo.set(this.input.u8(), this.top()); break; // BINPUT
        case 0x72: this.memo.set(this.input.u32(), this.top()); break; // LONG_BINPUT
        case 0x70: this.memo.set(this.memoKey(), this.top()); break; // PUT
        case 0x94: this.memo.set(this.memo.size, this.top()); break; // MEMOIZE
        // --- objects (through the caller's table only) ---
        case 0x63: { // GLOBAL
          const module = this.input.line();
          this.push(this.global(module, this.input.line()));
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
          buildObject(this.top(), state, this.failAt);
          break;
        }
        case 0x51: // BINPERSID
        case 0x50: { // PERSID
          const pid = op === 0x51 ? this.pop() : this.input.line();
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
