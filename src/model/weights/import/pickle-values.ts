// The values of the unpickler (pickle.ts): its opcode names, Python's tuples, longs and decimal
// integers as JavaScript holds them, and a short Python-like picture of a value for messages.

/** Opcode byte -> name, for error messages and the dispatch below. */
export const OPCODE_NAMES: Readonly<Record<number, string>> = {
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

export const MAX_PROTOCOL = 5;

export function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

/** Little-endian two's complement integer of any length (LONG1 / LONG4), in linear time. */
export function decodeLong(bytes: Uint8Array): number | bigint {
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
export const DECIMAL = /^[0-9]{1,15}$/;

/** Python refuses decimal integers longer than this (sys.int_info.default_max_str_digits). */
export const MAX_DECIMAL_DIGITS = 4300;

export function decodeDecimal(s: string): number | bigint {
  const v = BigInt(s);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** True for the frozen arrays this unpickler uses for Python tuples. */
export function isPickleTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}
