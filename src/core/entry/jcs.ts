/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for JSON values supplied by callers: a strict check
 * that the value is plain JSON, then the `canonicalize` package (keys sorted by UTF-16 code
 * units, ECMAScript number formatting, minimal string escaping, no whitespace).
 * See contracts-free-ledger/SPEC.md#entries.
 */
import canonicalize from 'canonicalize';
import { LedgerError, badInput } from '../errors.js';
import { utf8 } from '../bytes.js';

/**
 * Deepest nesting of arrays and objects accepted in a JSON record. Deeper values are rejected
 * (not truncated) so that no verifier needs an unusual recursion limit to recompute a digest.
 */
export const MAX_JSON_DEPTH = 128;

const LONE_SURROGATE = /\p{Cs}/u;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const proto: unknown = Object.getPrototypeOf(value);
  const ctor = proto !== null && typeof proto === 'object' ? (proto as { constructor?: { name?: unknown } }).constructor : undefined;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'object';
}

function checkString(s: string, path: string): void {
  const m = LONE_SURROGATE.exec(s);
  if (m !== null) badInput(`${path}: lone surrogate at offset ${m.index}, want well-formed Unicode`);
}

/**
 * checkJson walks `value` and throws INPUT_INVALID, naming the path, for anything RFC 8785
 * cannot represent exactly: undefined, functions, symbols, bigints, NaN/±Infinity, lone
 * surrogates, sparse arrays, non-plain objects (Date, Map, class instances, …), symbol keys,
 * accessor or non-enumerable properties, cycles, and nesting deeper than MAX_JSON_DEPTH.
 */
function checkJson(value: unknown, path: string, depth: number, ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      checkString(value, path);
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) badInput(`${path}: got ${value}, want a finite number`);
      return;
    case 'object':
      break;
    default:
      badInput(`${path}: got ${typeof value}, want a JSON value`);
  }
  if (value === null) return;
  if (depth >= MAX_JSON_DEPTH) badInput(`${path}: nesting deeper than ${MAX_JSON_DEPTH}`);
  if (ancestors.has(value)) badInput(`${path}: circular reference`);
  ancestors.add(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) badInput(`${path}: got ${describe(value)}, want a plain array`);
    const keys = Reflect.ownKeys(value);
    // Own keys of a plain dense array: the indexes 0..length-1, then "length".
    if (keys.length !== value.length + 1) badInput(`${path}: sparse array or array with extra properties`);
    for (let i = 0; i < value.length; i++) {
      const d = Object.getOwnPropertyDescriptor(value, i);
      if (d === undefined || !('value' in d)) badInput(`${child(path, i)}: missing or accessor element`);
      checkJson(d.value, child(path, i), depth + 1, ancestors);
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) badInput(`${path}: got ${describe(value)}, want a plain object`);
    for (const key of Reflect.ownKeys(value)) {
      if (typeof key === 'symbol') badInput(`${path}: symbol key ${String(key)}, want string keys`);
      const at = child(path, key);
      checkString(key, `${at} (key)`);
      const d = Object.getOwnPropertyDescriptor(value, key);
      if (d === undefined || !('value' in d) || d.enumerable !== true) badInput(`${at}: accessor or non-enumerable property`);
      checkJson(d.value, at, depth + 1, ancestors);
    }
  }
  ancestors.delete(value);
}

/**
 * canonicalJsonText returns the RFC 8785 canonical JSON text of `value`.
 * Requires: `value` is plain JSON (see {@link canonicalJson}); otherwise throws INPUT_INVALID
 * naming the offending path under `what`. See contracts-free-ledger/SPEC.md#entries.
 */
export function canonicalJsonText(value: unknown, what = 'value'): string {
  checkJson(value, what, 0, new Set());
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (cause) {
    throw new LedgerError('INPUT_INVALID', `${what}: not representable in RFC 8785 JSON`, { cause });
  }
  if (typeof text !== 'string') throw new Error('core: bad math: canonicalize returned no text for a checked value');
  return text;
}

/**
 * canonicalJson returns the UTF-8 bytes of the RFC 8785 (JCS) canonical form of a JSON value.
 * Requires: `value` is plain JSON: null, booleans, finite numbers, well-formed strings, dense plain
 * arrays and plain objects (prototype Object.prototype or null) with enumerable data properties,
 * no cycles, at most MAX_JSON_DEPTH deep. Anything else (undefined, functions, NaN, Infinity,
 * bigint, Date, Map, class instances, …) is INPUT_INVALID, never silently dropped or converted.
 * Numbers beyond 2^53 must already be exact doubles: pass big integers as decimal strings.
 * See contracts-free-ledger/SPEC.md#entries.
 *
 * @example
 * ```ts
 * fromUtf8(canonicalJson({ b: [1e30, 0.1], a: 'x' })); // '{"a":"x","b":[1e+30,0.1]}'
 * ```
 */
export function canonicalJson(value: unknown): Uint8Array {
  return utf8(canonicalJsonText(value));
}

/**
 * CanonicalJson is a JSON value checked and canonicalized once (RFC 8785), kept as its UTF-8
 * bytes: a request validator makes one, and the log stores and hashes exactly those bytes instead
 * of canonicalizing the same value a second time (benchmark scenario 3). Made only by
 * {@link CanonicalJson.of}, so its bytes are always the canonical form of a checked value.
 * See contracts-free-ledger/SPEC.md#entries.
 */
export class CanonicalJson {
  /** The UTF-8 bytes of the RFC 8785 canonical form. */
  readonly bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  /** CanonicalJson.of checks and canonicalizes `value` as {@link canonicalJson} does (INPUT_INVALID naming the path under `what`). */
  static of(value: unknown, what = 'value'): CanonicalJson {
    return new CanonicalJson(utf8(canonicalJsonText(value, what)));
  }
}
