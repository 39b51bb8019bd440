/**
 * Entry fast path: an accept-only validator for entrySchema (schema.ts), several times faster than
 * zod's safeParse. {@link fastEntry} returns a fresh copy of an entry it is certain satisfies the
 * schema, and `undefined` otherwise; codec.ts then falls back to zod, which decides and writes the
 * error messages. So the one hard rule is soundness: it never accepts what zod rejects, and what it
 * returns is what zod returns (the same members in the same key order, in fresh objects and arrays).
 *
 * It is built from the zod schemas themselves: the key order and which keys are optional come from
 * their shapes (read once at load), and every value rule from the constants and predicates that the
 * schemas also use (text.ts, schema.ts, hj212.ts). Only the mapping of a field to its rule is
 * written here; if a schema gains or loses a field, loading this module throws. The differential
 * test (test/core/entry-fast.test.ts) checks fastEntry against zod on generated entries.
 *
 * Conservative by design: anything unusual returns `undefined` and is left to zod: objects whose
 * prototype is not Object.prototype (including null-prototype objects and class instances), arrays
 * with holes or accessor elements, accessor or non-enumerable members, unknown keys (`__proto__`
 * among them) and enumerable inherited ones, optional members given as `undefined` (buildEntry
 * drops those through zod), and -0.
 * See contracts-free-ledger/SPEC.md#entries.
 */
import type { z } from 'zod';
import {
  CASE_ID_TEXT,
  ENTRY_TYPES,
  ENTRY_VERSION,
  FILE_NAME_TEXT,
  HEX_32,
  MAX_MEDIA_TYPE_LENGTH,
  MEDIA_TYPE,
  NOTE_TEXT,
  RECORD_SCHEMA_ID_TEXT,
  SOURCE_TEXT,
  SUBMITTER,
  digestMetaSchema,
  documentMetaSchema,
  entrySchema,
  recordMetaSchema,
  sha256DigestSchema,
  sm3DigestSchema,
  type Digest,
  type Entry,
  type EntryType,
  type MetaOf,
} from './schema.js';
import {
  HJ212_CRC_VARIANT,
  HJ212_DIGITS_8,
  HJ212_MN,
  HJ212_PARSER_VERSION,
  HJ212_PEER,
  HJ212_POLLUTANT,
  HJ212_QN,
  HJ212_ST,
  HJ212_WARNING,
  MAX_HJ212_FLAG,
  MAX_HJ212_POLLUTANTS,
  MAX_HJ212_VERSION,
  MAX_HJ212_WARNINGS,
  MIN_HJ212_WARNINGS,
  hj212MetaSchema,
} from './hj212.js';
import { isReceivedAt, isRfc3339, isText, type TextRule } from './text.js';

/**
 * A Reader returns the parsed form of a value that certainly satisfies its rule (the value itself
 * for a primitive, a fresh copy for an object or array), or `undefined` when it cannot say so.
 * No schema value is `undefined`, so `undefined` is free to mean "ask zod". `json` is true when
 * the value is straight from `JSON.parse` (no reviver): then every object is a plain object of
 * enumerable data properties and every array is dense, so property descriptors need no check.
 */
type Reader = (value: unknown, json: boolean) => unknown;

/** Text of `rule` (textSchema): well-formed, no controls, min..max code points. contracts-free-ledger/SPEC.md#entries. */
function text(rule: TextRule): Reader {
  return (v) => (typeof v === 'string' && isText(v, rule) ? v : undefined);
}

/** A string matching `re` (z.string().regex), at most `maxLength` UTF-16 units (z.string().max). */
function pattern(re: RegExp, maxLength = Number.POSITIVE_INFINITY): Reader {
  return (v) => (typeof v === 'string' && v.length <= maxLength && re.test(v) ? v : undefined);
}

/** An integer 0..max (z.int().min(0).max(max)); -0, which zod keeps as -0, is left to zod. */
function integer(max: number): Reader {
  return (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max && !Object.is(v, -0) ? v : undefined);
}

/** Exactly `want` (z.literal). */
function literal(want: string | number): Reader {
  return (v) => (v === want ? v : undefined);
}

const boolean: Reader = (v) => (typeof v === 'boolean' ? v : undefined);

/** Receive time, see isReceivedAt (receivedAtSchema). contracts-free-ledger/SPEC.md#entries. */
const receivedAt: Reader = (v) => (typeof v === 'string' && isReceivedAt(v) ? v : undefined);

/** Data time, see isRfc3339 (dataTimeSchema). contracts-free-ledger/SPEC.md#entries. */
const dataTime: Reader = (v) => (typeof v === 'string' && isRfc3339(v) ? v : undefined);

/** `Object.prototype.__lookupGetter__` (ECMAScript Annex B): the getter of a property, own or inherited. */
const lookupGetter = (Object.prototype as { __lookupGetter__?: unknown }).__lookupGetter__;

/**
 * hasGetter reports whether the own element `i` of `a` is read through a getter: through
 * `__lookupGetter__` where the platform has it (several times cheaper than a property descriptor
 * for an array element). A setter-only element reads as undefined, which no item rule accepts.
 */
const hasGetter: (a: readonly unknown[], i: number) => boolean =
  typeof lookupGetter === 'function'
    ? (a, i) => (lookupGetter as (this: object, key: number) => unknown).call(a, i) !== undefined
    : (a, i) => {
        const d = Object.getOwnPropertyDescriptor(a, i);
        return d !== undefined && !('value' in d);
      };

/**
 * An array of min..max items (z.array().min().max()): a plain array whose elements are own data
 * properties (no holes, no accessors). Other own properties of the array are ignored, as zod
 * ignores them (it reads the indexes only); the output is a fresh array without them.
 */
function array(min: number, max: number, item: Reader): Reader {
  return (v, json) => {
    if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) return undefined;
    const n = v.length;
    if (n < min || n > max) return undefined;
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      if (!json && (!Object.hasOwn(v, i) || hasGetter(v, i))) return undefined; // a hole, an accessor
      const x = item(v[i], json);
      if (x === undefined) return undefined;
      out.push(x);
    }
    return out;
  };
}

/** The zod side of a strict object schema: its shape. */
interface Shaped {
  readonly shape: Readonly<Record<string, z.ZodType>>;
}

/**
 * Builds the output object from the parsed members in shape order (`undefined`: absent), with one
 * named store per key (several times faster than a loop of keyed stores). Written by hand per
 * schema; {@link object} checks at load that it writes every shape key, in shape order.
 */
type Build = (x: readonly unknown[]) => Record<string, unknown>;

/**
 * object builds the reader of a strict object schema (z.strictObject) from `readers`, one per key
 * of its shape, and `build`: the output has the present keys in shape order (zod's order), absent
 * optional keys left out. It walks the keys with `for…in`, as zod's strict check does, and gives
 * up on any key that is not in the shape (`__proto__` included), an accessor, an `undefined`
 * member, a missing required key, a shape key that is not enumerable or inherited (zod would read
 * it: it tests `key in input`), and a prototype other than Object.prototype. Non-enumerable and
 * symbol keys outside the shape are ignored, as zod ignores them; the output does not have them.
 * Throws at load if `readers` or `build` do not match the shape's keys and order.
 */
function object(name: string, schema: Shaped, readers: Readonly<Record<string, Reader>>, build: Build): Reader {
  const keys = Object.keys(schema.shape);
  const extra = Object.keys(readers).filter((k) => !Object.hasOwn(schema.shape, k));
  const missing = keys.filter((k) => !Object.hasOwn(readers, k));
  const probe = Object.entries(build(keys));
  if (extra.length > 0 || missing.length > 0 || probe.length !== keys.length || probe.some(([k, v], i) => k !== keys[i] || v !== k)) {
    throw new Error(
      `core: fast.ts is out of step with the ${name} schema: shape keys ${keys.join(',')}; ` +
        `readers ${Object.keys(readers).join(',')}; build writes ${probe.map(([k, v]) => `${k}=${String(v)}`).join(',')}`,
    );
  }
  const fields = keys.map((k) => readers[k] as Reader);
  const index = new Map(keys.map((k, i) => [k, i]));
  // Optional in zod's sense: the key may be absent (`.optional()` accepts undefined).
  const required = keys.map((k) => !(schema.shape[k] as z.ZodType).safeParse(undefined).success);
  /** A packed array of `undefined`, one per key: the members read, copied per call. */
  const none: readonly unknown[] = keys.map(() => undefined);
  const n = keys.length;
  return (v, json) => {
    if (typeof v !== 'object' || v === null || Object.getPrototypeOf(v) !== Object.prototype) return undefined;
    const o = v as Record<string, unknown>;
    const x = none.slice();
    // for…in meets what zod's strict check meets: every enumerable key, own or inherited. Each
    // must be a shape key, and own: the descriptor is undefined for an inherited one, and in
    // JSON mode fastEntry has checked that Object.prototype has no enumerable keys.
    for (const k in o) {
      const i = index.get(k);
      if (i === undefined) return undefined;
      let m: unknown;
      if (json) {
        m = o[k];
      } else {
        const d = Object.getOwnPropertyDescriptor(o, k);
        if (d === undefined || !('value' in d)) return undefined;
        m = d.value;
      }
      const p = (fields[i] as Reader)(m, json);
      if (p === undefined) return undefined;
      x[i] = p;
    }
    for (let i = 0; i < n; i++) {
      if (x[i] !== undefined) continue;
      // Not met by for…in: fine if optional and really absent (zod tests `key in input`).
      if (required[i] === true || (keys[i] as string) in o) return undefined;
    }
    return build(x);
  };
}

// The rules of each field, by schema: contracts-free-ledger/SPEC.md#entries, and for hj212
// metadata contracts-free-ledger/SPEC.md#hj-212-entries.

/** Each digest algorithm of digestSchema: sha256 (`c2sp` logs) and sm3 (`gm` logs). */
const sha256Digest = object('sha256 digest', sha256DigestSchema, { alg: literal('sha256'), hex: pattern(HEX_32) }, (x) => ({ alg: x[0], hex: x[1] }));
const sm3Digest = object('sm3 digest', sm3DigestSchema, { alg: literal('sm3'), hex: pattern(HEX_32) }, (x) => ({ alg: x[0], hex: x[1] }));
const digest: Reader = (v, json) => sha256Digest(v, json) ?? sm3Digest(v, json);

const mediaType = pattern(MEDIA_TYPE, MAX_MEDIA_TYPE_LENGTH);
const size = integer(Number.MAX_SAFE_INTEGER);

/** document and digest metadata have the same keys, in the same order (checked at load). */
const buildFileMeta: Build = (x) => {
  const o: Record<string, unknown> = {};
  if (x[0] !== undefined) o.name = x[0];
  if (x[1] !== undefined) o.mediaType = x[1];
  if (x[2] !== undefined) o.size = x[2];
  if (x[3] !== undefined) o.caseId = x[3];
  if (x[4] !== undefined) o.note = x[4];
  return o;
};
const fileMeta = { name: text(FILE_NAME_TEXT), mediaType, size, caseId: text(CASE_ID_TEXT), note: text(NOTE_TEXT) };

const META: { readonly [T in EntryType]: Reader } = {
  record: object(
    'record meta',
    recordMetaSchema,
    { caseId: text(CASE_ID_TEXT), source: text(SOURCE_TEXT), dataTime, schema: text(RECORD_SCHEMA_ID_TEXT), note: text(NOTE_TEXT) },
    (x) => {
      const o: Record<string, unknown> = {};
      if (x[0] !== undefined) o.caseId = x[0];
      if (x[1] !== undefined) o.source = x[1];
      if (x[2] !== undefined) o.dataTime = x[2];
      if (x[3] !== undefined) o.schema = x[3];
      if (x[4] !== undefined) o.note = x[4];
      return o;
    },
  ),
  document: object('document meta', documentMetaSchema, fileMeta, buildFileMeta),
  digest: object('digest meta', digestMetaSchema, fileMeta, buildFileMeta),
  hj212: object(
    'hj212 meta',
    hj212MetaSchema,
    {
      mn: pattern(HJ212_MN),
      st: pattern(HJ212_ST),
      cn: pattern(HJ212_DIGITS_8),
      qn: pattern(HJ212_QN),
      dataTime,
      pollutants: array(0, MAX_HJ212_POLLUTANTS, pattern(HJ212_POLLUTANT)),
      crc: object('hj212 crc', hj212MetaSchema.shape.crc, { ok: boolean, variant: pattern(HJ212_CRC_VARIANT) }, (x) => ({ ok: x[0], variant: x[1] })),
      flag: integer(MAX_HJ212_FLAG),
      version: integer(MAX_HJ212_VERSION),
      pnum: pattern(HJ212_DIGITS_8),
      pno: pattern(HJ212_DIGITS_8),
      peer: pattern(HJ212_PEER),
      parserVersion: pattern(HJ212_PARSER_VERSION),
      warnings: array(MIN_HJ212_WARNINGS, MAX_HJ212_WARNINGS, pattern(HJ212_WARNING)),
    },
    (x) => {
      const o: Record<string, unknown> = {};
      if (x[0] !== undefined) o.mn = x[0];
      if (x[1] !== undefined) o.st = x[1];
      if (x[2] !== undefined) o.cn = x[2];
      if (x[3] !== undefined) o.qn = x[3];
      if (x[4] !== undefined) o.dataTime = x[4];
      if (x[5] !== undefined) o.pollutants = x[5];
      if (x[6] !== undefined) o.crc = x[6];
      if (x[7] !== undefined) o.flag = x[7];
      if (x[8] !== undefined) o.version = x[8];
      if (x[9] !== undefined) o.pnum = x[9];
      if (x[10] !== undefined) o.pno = x[10];
      if (x[11] !== undefined) o.peer = x[11];
      if (x[12] !== undefined) o.parserVersion = x[12];
      if (x[13] !== undefined) o.warnings = x[13];
      return o;
    },
  ),
};

/** One entry reader per type, over that variant of entrySchema (keys in its order). */
const ENTRY: ReadonlyMap<unknown, Reader> = new Map(
  ENTRY_TYPES.map((type) => {
    const variant = entrySchema.options.find((o) => o.shape.type.value === type);
    if (variant === undefined) throw new Error(`core: fast.ts: entrySchema has no ${type} variant`);
    const reader = object(
      `${type} entry`,
      variant,
      { v: literal(ENTRY_VERSION), digest, submitter: pattern(SUBMITTER), receivedAt, type: literal(type), meta: META[type] },
      (x) => ({ v: x[0], digest: x[1], submitter: x[2], receivedAt: x[3], type: x[4], meta: x[5] }),
    );
    return [type, reader] as const;
  }),
);
if (ENTRY.size !== entrySchema.options.length) throw new Error('core: fast.ts is out of step with entrySchema (entry types)');

/**
 * fastEntry returns a validated copy of `value` if it certainly satisfies entrySchema, else
 * `undefined` (then ask zod: `undefined` does not mean invalid). The copy equals zod's output,
 * key order included, and shares no object or array with `value`. Pass `fromJson` only for a value
 * straight from `JSON.parse` without a reviver (decodeEntry): it skips the property descriptor
 * checks that such a value passes by construction.
 * See contracts-free-ledger/SPEC.md#entries.
 */
export function fastEntry(value: unknown, fromJson = false): Entry | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  // Objects inherit nothing enumerable (zod's for…in would meet it), so for…in lists own keys only.
  for (const _ in Object.prototype) return undefined;
  const d = Object.getOwnPropertyDescriptor(value, 'type');
  const reader = d === undefined ? undefined : ENTRY.get(d.value);
  if (reader === undefined) return undefined;
  return reader(value, fromJson) as Entry | undefined;
}

/**
 * fastMeta returns a validated copy of `value` if it certainly satisfies the metadata schema of
 * entry type `type` (metaSchemas[type]), else `undefined` (then ask zod). For request bodies
 * (src/http/routes/entries.ts), whose metadata is validated before it becomes an entry.
 * See contracts-free-ledger/SPEC.md#entries.
 */
export function fastMeta<T extends EntryType>(type: T, value: unknown): MetaOf<T> | undefined {
  return META[type](value, false) as MetaOf<T> | undefined;
}

/** fastDigest returns a validated copy of `value` if it certainly satisfies digestSchema, else `undefined` (then ask zod). */
export function fastDigest(value: unknown): Digest | undefined {
  return digest(value, false) as Digest | undefined;
}
