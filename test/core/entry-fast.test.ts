/**
 * The entry fast path (src/core/entry/fast.ts) against zod: whenever fastEntry accepts a value,
 * zod accepts it too and returns the same thing (same members, same key order, fresh objects);
 * on valid entries the fast path is actually taken. Plus the shared rule helpers it relies on
 * (isText, hasLoneSurrogate, isReceivedAt, isRfc3339) against independent reference versions.
 * See contracts-free-ledger/SPEC.md#entries.
 */
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ENTRY_TYPES,
  MAX_ENTRY_SIZE,
  MAX_HJ212_POLLUTANTS,
  buildEntry,
  decodeEntry,
  encodeEntry,
  entrySchema,
  textSchema,
  type Entry,
  type EntryType,
  type NewEntryInput,
  type TextRule,
} from '../../src/core/entry/index.js';
import { fastEntry } from '../../src/core/entry/fast.js';
import { CASE_ID_TEXT, FILE_NAME_TEXT, NOTE_TEXT, RECORD_SCHEMA_ID_TEXT, SOURCE_TEXT } from '../../src/core/entry/schema.js';
import { LONE_SURROGATE, codePointLength, hasLoneSurrogate, isReceivedAt, isRfc3339, isText } from '../../src/core/entry/text.js';
import { fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { isLedgerError } from '../../src/core/errors.js';
import { readVectors } from '../vectors/walk.js';

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Every object and array reachable from `v` (own enumerable or not, getters not run). */
function objectsIn(v: unknown, out = new Set<object>()): Set<object> {
  if (typeof v !== 'object' || v === null || out.has(v)) return out;
  out.add(v);
  for (const key of Reflect.ownKeys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key);
    if (d !== undefined && 'value' in d) objectsIn(d.value, out);
  }
  return out;
}

let fastAccepted = 0;
let fastTried = 0;

/**
 * The differential check: when fastEntry accepts `value`, zod accepts it with a JSON-identical
 * (and deep strictly equal) output, and the fast result shares no object with the input.
 * Returns whether the fast path accepted.
 */
function checkAgainstZod(value: unknown, fromJson: boolean): boolean {
  const fast = fastEntry(value, fromJson);
  const zod = entrySchema.safeParse(value);
  fastTried++;
  if (fast === undefined) return false;
  fastAccepted++;
  if (!zod.success) throw new Error(`fastEntry accepted what zod rejects: ${zod.error.message}`);
  expect(JSON.stringify(fast)).toBe(JSON.stringify(zod.data));
  expect(fast).toStrictEqual(zod.data);
  const inputs = objectsIn(value);
  for (const o of objectsIn(fast)) expect(inputs.has(o)).toBe(false);
  return true;
}

/** The same value as JSON.parse gives it (getters run, undefined members dropped, -0 → 0, NaN → null). */
function viaJson(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : JSON.parse(text);
}

// ---------------------------------------------------------------------------------------------
// Arbitraries: valid entries of every type, every optional field sometimes present, and text at
// the length limits (in ASCII, CJK and astral characters).

const ASCII_UNITS = ['a', 'Z', '0', ' ', '"', '\\', '/', '.', '-', '~'];
const WIDE_UNITS = ['衡', '环', '罚', '〔', '〕', '号', 'é', '\u00a0', '\u2028', '\ufeff', '😀', '𠀀', '\u{10ffff}'];

/** Text of exactly `n` code points drawn from `units`. */
function textOfLength(n: number, units: readonly string[]): fc.Arbitrary<string> {
  return fc.array(fc.constantFrom(...units), { minLength: n, maxLength: n }).map((u) => u.join(''));
}

/** Valid text for `rule`: short mixed text, or exactly max code points (TAB/LF sometimes, if multiline). */
function validTextArb(rule: TextRule): fc.Arbitrary<string> {
  const units = [...ASCII_UNITS, ...WIDE_UNITS, ...(rule.multiline === true ? ['\t', '\n'] : [])];
  return fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 1, max: Math.min(rule.max, 24) }).chain((n) => textOfLength(n, units)) },
    { weight: 1, arbitrary: textOfLength(rule.max, units) },
    { weight: 1, arbitrary: fc.constantFrom('x', '衡环罚〔2026〕12号', '😀'.repeat(rule.max), '衡'.repeat(rule.max), 'a'.repeat(rule.max)) },
  );
}

const dateArb = fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
const receivedAtArb = fc.oneof(dateArb.map((d) => d.toISOString()), fc.constantFrom('2024-02-29T12:00:00.000Z', '2000-02-29T23:59:59.999Z', '0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'));
const dataTimeArb = fc
  .tuple(dateArb, fc.option(fc.stringMatching(/^[0-9]{1,9}$/), { nil: undefined }), fc.oneof(fc.constant('Z'), fc.stringMatching(/^[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]$/)))
  .map(([d, frac, offset]) => d.toISOString().slice(0, 19) + (frac === undefined ? '' : `.${frac}`) + offset);
const digestArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ({ alg: 'sha256' as const, hex: toHex(b) }));
const mediaTypeArb = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,30}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,30}$/),
  fc.constantFrom('application/pdf', `a/${'b'.repeat(125)}`, 'application/vnd.ms-excel.sheet.macroEnabled.12'),
);
const sizeArb = fc.oneof(fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const submitterArb = fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), fc.constant('k'.repeat(64)));

const fileMeta = {
  name: validTextArb(FILE_NAME_TEXT),
  mediaType: mediaTypeArb,
  size: sizeArb,
  caseId: validTextArb(CASE_ID_TEXT),
  note: validTextArb(NOTE_TEXT),
};

const metaArbs: { readonly [T in EntryType]: fc.Arbitrary<unknown> } = {
  record: fc.record(
    { caseId: validTextArb(CASE_ID_TEXT), source: validTextArb(SOURCE_TEXT), dataTime: dataTimeArb, schema: validTextArb(RECORD_SCHEMA_ID_TEXT), note: validTextArb(NOTE_TEXT) },
    { requiredKeys: [], noNullPrototype: true },
  ),
  document: fc.record(fileMeta, { requiredKeys: ['name', 'mediaType', 'size'], noNullPrototype: true }),
  digest: fc.record(fileMeta, { requiredKeys: [], noNullPrototype: true }),
  hj212: fc.record(
    {
      mn: fc.stringMatching(/^[A-Za-z0-9!#$%()*+./:<>?@_~-]{1,64}$/),
      st: fc.stringMatching(/^[A-Za-z0-9]{1,8}$/),
      cn: fc.stringMatching(/^[0-9]{1,8}$/),
      qn: fc.stringMatching(/^[0-9]{1,32}$/),
      dataTime: dataTimeArb,
      pollutants: fc.oneof(
        { weight: 9, arbitrary: fc.array(fc.stringMatching(/^[A-Za-z0-9_]{1,32}$/), { maxLength: 20 }) },
        { weight: 1, arbitrary: fc.constant(Array.from({ length: MAX_HJ212_POLLUTANTS }, (_, i) => `p${i}`)) },
      ),
      crc: fc.record({ ok: fc.boolean(), variant: fc.stringMatching(/^[A-Za-z0-9._-]{1,32}$/) }, { noNullPrototype: true }),
      flag: fc.integer({ min: 0, max: 255 }),
      version: fc.integer({ min: 0, max: 63 }),
      pnum: fc.stringMatching(/^[0-9]{1,8}$/),
      pno: fc.stringMatching(/^[0-9]{1,8}$/),
      peer: fc.stringMatching(/^[A-Za-z0-9.:[\]%_-]{1,64}$/),
      parserVersion: fc.stringMatching(/^[A-Za-z0-9._+/@-]{1,64}$/),
      warnings: fc.array(fc.stringMatching(/^[a-z0-9-]{1,40}$/), { minLength: 1, maxLength: 32 }),
    },
    { requiredKeys: ['pollutants', 'crc', 'parserVersion'], noNullPrototype: true },
  ),
};

/**
 * A valid entry, its keys in the order the generator happens to give (not the schema's). Plain
 * objects only (fast-check would sometimes make null-prototype ones, which the fast path leaves
 * to zod; the mutations below make them on purpose).
 */
const validEntryArb: fc.Arbitrary<Entry> = fc.oneof(
  ...ENTRY_TYPES.map((type) =>
    fc
      .record({ digest: digestArb, meta: metaArbs[type], submitter: submitterArb, receivedAt: receivedAtArb, reverse: fc.boolean() }, { noNullPrototype: true })
      .map(({ reverse, ...f }) => {
        const e = { v: 1, type, ...f };
        return (reverse ? reverseKeys(e) : e) as Entry;
      }),
  ),
);

/** A deep copy of a JSON value with every object's keys inserted in reverse order. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).reverse()) out[k] = reverseKeys(v);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mutations: one to three edits of a valid entry, each at some path: set a value (wrong types,
// values at and just past every limit), delete, add a key, or make the container unusual.

const cp = (n: number, unit: string) => unit.repeat(n);
const TEXT_EDGES: readonly string[] = [128, 255, 256, 1024].flatMap((max) => [
  cp(max, 'a'),
  cp(max + 1, 'a'),
  cp(max, '衡'),
  cp(max + 1, '衡'),
  cp(max, '😀'),
  cp(max + 1, '😀'),
  cp(max - 1, '😀') + 'ab', // max + 1 code points, 2·max UTF-16 units
  cp(max, 'a') + '\ud800', // max + 1 code units, one of them a lone surrogate
  cp(max * 2, 'a'),
]);
const STRING_EDGES: readonly string[] = [
  '',
  ' ',
  'x',
  'a\tb',
  'a\nb',
  'a\r\nb',
  '\u0000',
  'a\u0008',
  'a\u000b',
  'a\u001f',
  'a\u007f',
  'a\u0080',
  'a\u0085',
  'a\u009f',
  'a\u00a0',
  'a\u2028b',
  'a\ud800',
  '\udc00b',
  '\ud800\ud800',
  '\udbff\udfff',
  '😀'.slice(0, 1),
  '😀'.slice(1),
  '衡环罚〔2026〕12号',
  '图片/jpeg',
  // media types
  'a/b',
  'text/plain',
  'text',
  'text/',
  '/plain',
  'text/plain; charset=utf-8',
  'text /plain',
  'text/plain/x',
  '.a/b',
  'a/-b',
  'A/B+xml',
  'a!#$&^_.+-/b',
  `a/${'b'.repeat(125)}`,
  `a/${'b'.repeat(126)}`,
  'a/b\n',
  // submitter, hj212 codes
  'k'.repeat(64),
  'k'.repeat(65),
  'a b',
  'lab:hs.01',
  'A_b-9.x:y',
  'MN;PW=1',
  'a=b',
  'a&b',
  'a,b',
  '\u007f',
  'M'.repeat(64),
  'S'.repeat(8),
  'S'.repeat(9),
  '9'.repeat(8),
  '9'.repeat(9),
  '9'.repeat(32),
  '9'.repeat(33),
  '20x1',
  '[::1]:80',
  '192.0.2.10:50212',
  'fe80::1%eth0',
  'p'.repeat(64),
  'p'.repeat(65),
  'guzheng-hj212/0.1.0',
  'v@1+b',
  'no-qn',
  'No-QN',
  'w'.repeat(40),
  'w'.repeat(41),
  'a34004',
  'a34004-Rtd',
  '_',
  'p'.repeat(32),
  'p'.repeat(33),
  // literals
  'sha256',
  'SHA256',
  'sm3',
  'record',
  'document',
  'digest',
  'hj212',
  'photo',
  'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  'BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD',
  'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a',
  'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0',
  // times
  '2026-03-01T00:00:01.234Z',
  '2024-02-29T12:00:00.000Z',
  '2025-02-29T00:00:00.000Z',
  '1900-02-29T00:00:00.000Z',
  '2000-02-29T00:00:00.000Z',
  '2026-04-31T00:00:00.000Z',
  '2026-13-01T00:00:00.000Z',
  '2026-00-01T00:00:00.000Z',
  '2026-03-00T00:00:00.000Z',
  '2026-03-01T24:00:00.000Z',
  '2026-03-01T23:60:00.000Z',
  '2026-12-31T23:59:60.000Z',
  '2026-03-01t00:00:01.234Z',
  '2026-03-01T00:00:01.234z',
  '2026-03-01T00:00:01.234+00:00',
  '2026-03-01T00:00:01Z',
  '2026-03-01T00:00:01.2345Z',
  '+012026-03-01T00:00:01.234Z',
  '２０２６-03-01T00:00:01.234Z',
  '2026-03-01T08:00:00+08:00',
  '2026-03-01T08:00:00-00:00',
  '2026-03-01T08:00:00+23:59',
  '2026-03-01T08:00:00+24:00',
  '2026-03-01T08:00:00+08:60',
  '2026-03-01T08:00:00+0800',
  '2026-03-01T08:00:00.123456789+08:00',
  '2026-03-01T08:00:00.1234567890Z',
  '2026-03-01T08:00:00.+08:00',
  '2026-03-01T08:00:00',
  '2026-02-30T08:00:00+08:00',
  '2026-12-31T23:59:60+08:00',
];
const NUMBER_EDGES: readonly number[] = [0, -0, 1, 2, -1, 1.5, 3, 4, 63, 64, 255, 256, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21, Number.MIN_VALUE];
const OTHER_EDGES: readonly unknown[] = [undefined, null, true, false, [], {}, ['a34004'], { a: 1 }, new Date(0), new String('x'), 1n, Symbol('s')];

/** A time-like string with every field drawn from a range a little wider than valid. */
const timeLikeArb = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }),
    fc.integer({ min: 0, max: 13 }),
    fc.integer({ min: 0, max: 32 }),
    fc.integer({ min: 0, max: 24 }),
    fc.integer({ min: 0, max: 60 }),
    fc.integer({ min: 0, max: 61 }),
    fc.constantFrom('', '.', '.0', '.000', '.123456789', '.1234567890', '.5'),
    fc.constantFrom('Z', 'z', '', '+00:00', '-00:00', '+08:00', '+23:59', '+24:00', '-05:60', '+0800'),
  )
  .map(([y, mo, d, h, mi, s, frac, off]) => {
    const p = (n: number, w = 2) => String(n).padStart(w, '0');
    return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}${frac}${off}`;
  });

/** A fresh copy of a pool value (mutations edit what they insert, so it must not be shared). */
function fresh(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fresh);
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof String) return new String(v.valueOf());
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fresh(x)]));
  return v;
}

const edgeValueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STRING_EDGES) },
  { weight: 2, arbitrary: fc.constantFrom(...TEXT_EDGES) },
  { weight: 2, arbitrary: timeLikeArb },
  { weight: 2, arbitrary: fc.constantFrom(...NUMBER_EDGES) },
  { weight: 1, arbitrary: fc.constantFrom(...OTHER_EDGES) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      Array.from({ length: MAX_HJ212_POLLUTANTS }, () => 'a'),
      Array.from({ length: MAX_HJ212_POLLUTANTS + 1 }, () => 'a'),
      Array.from({ length: 32 }, () => 'w'),
      Array.from({ length: 33 }, () => 'w'),
      ['a', 'a34004-Rtd'],
      ['no-qn', 'No-QN'],
      ['a', 1],
      { ok: true, variant: 'hj212' },
      { ok: 'true', variant: 'hj212' },
      { ok: false, variant: 'v'.repeat(33) },
      { alg: 'sha256', hex: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
      { alg: 'sm3', hex: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
    ),
  },
).map(fresh);

/** Values at and around the limits of a text field of `max` code points. */
function textEdges(max: number): string[] {
  return [
    cp(max, 'a'),
    cp(max + 1, 'a'),
    cp(max, '衡'),
    cp(max + 1, '衡'),
    cp(max, '😀'),
    cp(max + 1, '😀'),
    cp(max - 1, '😀') + 'a', // max code points, 2·max − 1 UTF-16 units
    cp(max - 1, '😀') + 'ab', // max + 1 code points
    cp(max - 1, 'a') + '\ud800',
    cp(max, 'a') + '\ud800',
    cp(max - 1, 'a') + '\t',
    cp(max - 1, '衡') + '\n',
    cp(2 * max, 'a'),
    'a\rb',
    'a\u0085',
    'a\u009f',
    'a\u007f',
    '\u0000',
    '\u00a0',
    '\u2028',
    '',
    'x',
    '\ud800',
    '😀'.slice(1),
    '衡环罚〔2026〕12号',
  ];
}
const TIME_EDGES = STRING_EDGES.filter((t) => /^\D?[0-9０-９+]{4}/.test(t));
const MEDIA_EDGES = STRING_EDGES.filter((t) => t.includes('/') || t === 'text');
const CODE_EDGES = STRING_EDGES.filter((t) => t.length <= 70 && !/^\d{4}-/.test(t));
const HEX = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

/** Values to try for a member, by name: its limits and the usual wrong types. */
const FIELD_EDGES: Readonly<Record<string, readonly unknown[]>> = {
  caseId: textEdges(128),
  name: textEdges(255),
  note: textEdges(1024),
  source: textEdges(256),
  schema: textEdges(256),
  mediaType: MEDIA_EDGES,
  size: NUMBER_EDGES,
  flag: NUMBER_EDGES,
  version: NUMBER_EDGES,
  v: [1, 2, 0, -0, '1', 1.5, true, null],
  alg: ['sha256', 'SHA256', 'sm3', 'sha-256', ''],
  hex: [HEX, HEX.toUpperCase(), HEX.slice(1), HEX + '0', HEX.replace('a', 'g'), ''],
  type: [...ENTRY_TYPES, 'photo', '', 'Record'],
  submitter: CODE_EDGES,
  receivedAt: TIME_EDGES,
  dataTime: TIME_EDGES,
  mn: CODE_EDGES,
  st: CODE_EDGES,
  cn: CODE_EDGES,
  qn: CODE_EDGES,
  pnum: CODE_EDGES,
  pno: CODE_EDGES,
  peer: CODE_EDGES,
  parserVersion: CODE_EDGES,
  variant: CODE_EDGES,
  ok: [true, false, 'true', 0, null],
  pollutants: [[], ['a'], Array.from({ length: MAX_HJ212_POLLUTANTS }, () => 'p'.repeat(32)), Array.from({ length: MAX_HJ212_POLLUTANTS + 1 }, () => 'a'), ['a', 'a34004-Rtd'], ['a', 1], 'a34004'],
  warnings: [[], ['no-qn'], Array.from({ length: 32 }, () => 'w'.repeat(40)), Array.from({ length: 33 }, () => 'w'), ['No-QN'], 'no-qn'],
};

type Key = string | number;
type Mutation =
  | { readonly kind: 'set'; readonly at: number; readonly value: unknown; readonly aware: boolean; readonly field: number; readonly time: string }
  | { readonly kind: 'delete' | 'getter' | 'hidden' | 'hole' | 'nullProto' | 'classProto' | 'otherProto' | 'protoKey' | 'symbolKey' | 'arrayExtra' | 'retype'; readonly at: number };

/** Every key (name) of every entry shape, for adding keys that belong elsewhere. */
const ALL_KEYS = ['v', 'type', 'digest', 'meta', 'submitter', 'receivedAt', 'alg', 'hex', 'caseId', 'source', 'dataTime', 'schema', 'note', 'name', 'mediaType', 'size', 'mn', 'st', 'cn', 'qn', 'pollutants', 'crc', 'ok', 'variant', 'flag', 'version', 'pnum', 'pno', 'peer', 'parserVersion', 'warnings', 'extra', 'constructor', 'toString', 'hasOwnProperty'];

/** The containers of `root` (objects and arrays) with their paths. */
function containers(root: unknown, path: Key[] = [], out: { path: Key[]; value: object }[] = []): { path: Key[]; value: object }[] {
  if (typeof root !== 'object' || root === null || out.some((c) => c.value === root)) return out;
  out.push({ path, value: root });
  for (const k of Object.keys(root)) containers((root as Record<string, unknown>)[k], [...path, Array.isArray(root) ? Number(k) : k], out);
  return out;
}

function pick<T>(items: readonly T[], at: number): T {
  return items[at % items.length] as T;
}

/** Set an own, enumerable data property (replacing a getter or a non-writable member too). */
function put(target: object, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
}

/** Replace the container at `path` in `root` with `next` (or return `next` if it is the root). */
function replaceAt(root: unknown, path: readonly Key[], next: unknown): unknown {
  if (path.length === 0) return next;
  let parent = root as Record<Key, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<Key, unknown>;
  put(parent, path[path.length - 1] as Key, next);
  return root;
}

class Box {}

function applyMutation(root: unknown, m: Mutation): unknown {
  const all = containers(root);
  if (all.length === 0) return root;
  const { path, value: target } = pick(all, m.at);
  const t = target as Record<Key, unknown>;
  const keys: Key[] = Array.isArray(target) ? [...target.keys(), target.length] : [...Object.keys(target), ...ALL_KEYS];
  const key = pick(keys, Math.floor(m.at / all.length));
  switch (m.kind) {
    case 'set': {
      if (!m.aware) {
        put(t, key, m.value);
        return root;
      }
      // An existing member (or array element), set to one of the edge values for its field.
      const own: Key[] = Array.isArray(target) ? [...target.keys()] : Object.keys(target);
      if (own.length === 0) return root;
      const k = pick(own, Math.floor(m.at / all.length));
      const name = typeof k === 'number' ? String(path[path.length - 1]) : k;
      const pool = typeof k === 'number' ? (name === 'pollutants' ? FIELD_EDGES.st : FIELD_EDGES.variant) : FIELD_EDGES[name];
      const timed = (name === 'receivedAt' || name === 'dataTime') && m.field % 2 === 0;
      put(t, k, timed ? m.time : fresh(pick(pool ?? [m.value], m.field)));
      return root;
    }
    case 'delete':
      delete t[key];
      return root;
    case 'getter': {
      const current = t[key];
      Object.defineProperty(t, key, { get: () => current, enumerable: true, configurable: true });
      return root;
    }
    case 'hidden':
      Object.defineProperty(t, key, { value: t[key] ?? 'x', enumerable: false, configurable: true, writable: true });
      return root;
    case 'hole':
      if (Array.isArray(target) && target.length > 0) delete t[Math.floor(m.at / all.length) % target.length];
      return root;
    case 'nullProto':
      return replaceAt(root, path, Array.isArray(target) ? target : Object.assign(Object.create(null) as object, target));
    case 'classProto':
      return replaceAt(root, path, Object.assign(new Box(), target));
    case 'otherProto':
      return replaceAt(root, path, Object.assign(Object.create({ note: 'inherited' }) as object, target));
    case 'protoKey':
      Object.defineProperty(t, '__proto__', { value: {}, enumerable: true, configurable: true, writable: true });
      return root;
    case 'symbolKey':
      put(t, Symbol('k'), 'x');
      return root;
    case 'arrayExtra':
      if (Array.isArray(target)) Object.assign(target, { extra: 1 });
      return root;
    case 'retype':
      put(t, 'type', pick(ENTRY_TYPES, m.at));
      return root;
  }
}

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 16, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: edgeValueArb, aware: fc.boolean(), field: fc.nat(), time: timeLikeArb }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('delete', 'getter', 'hidden', 'hole', 'nullProto', 'classProto', 'otherProto', 'protoKey', 'symbolKey', 'arrayExtra', 'retype'),
      at: fc.nat(),
    }),
  },
);

const mutatedArb: fc.Arbitrary<unknown> = fc
  .tuple(validEntryArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }))
  .map(([entry, mutations]) =>
    mutations.reduce<unknown>((v, m) => {
      try {
        return applyMutation(v, m);
      } catch (err) {
        // A non-configurable member (e.g. the index of a String object put in earlier): skip.
        if (err instanceof TypeError) return v;
        throw err;
      }
    }, structuredClone(entry)),
  );

// ---------------------------------------------------------------------------------------------

const DIGEST = { alg: 'sha256', hex: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' } as const;
const DOC: Entry = {
  v: 1,
  type: 'document',
  digest: { ...DIGEST },
  meta: { name: '现场检查笔录.pdf', mediaType: 'application/pdf', size: 3, caseId: '衡环罚〔2026〕12号', note: '第1页\n共1页' },
  submitter: 'officer-01',
  receivedAt: '2026-03-01T02:03:04.005Z',
};
const HJ212: Entry = {
  v: 1,
  type: 'hj212',
  digest: { ...DIGEST },
  meta: { mn: '010000A8900016F000169DC0', pollutants: ['a34004', 'a34002'], crc: { ok: true, variant: 'hj212' }, flag: 4, parserVersion: 'guzheng-hj212/0.1.0', warnings: ['no-qn'] },
  submitter: 'gateway-hj212',
  receivedAt: '2026-03-01T00:00:02.500Z',
};

/** A mutable view of an entry copy, for the edits below. */
type Loose = Record<string, unknown> & { meta: Record<string, unknown> & { pollutants: unknown[] }; digest: Record<string, unknown> };

/** A deep copy of `e` with `fn` applied to it. */
function edited(e: Entry, fn: (copy: Loose) => unknown): unknown {
  const copy = structuredClone(e) as unknown as Loose;
  const out = fn(copy);
  return out === undefined ? copy : out;
}

describe('fastEntry against zod (differential)', () => {
  it('accepts (nearly) every valid entry, exactly as zod parses it', () => {
    let n = 0;
    let fast = 0;
    fc.assert(
      fc.property(validEntryArb, (entry) => {
        n++;
        if (checkAgainstZod(entry, false)) fast++;
        expect(entrySchema.safeParse(entry).success).toBe(true);
      }),
      { numRuns: 600 },
    );
    // Fails if the fast path silently gives up on valid entries (then it is only dead weight).
    expect(fast / n).toBeGreaterThanOrEqual(0.99);
  });

  it('accepts every valid entry as JSON.parse gives it (the decodeEntry mode), exactly as zod parses it', () => {
    let n = 0;
    let fast = 0;
    fc.assert(
      fc.property(validEntryArb, (entry) => {
        n++;
        const parsed: unknown = JSON.parse(fromUtf8(encodeEntry(entry)));
        if (checkAgainstZod(parsed, true)) fast++;
        // And the codec round trip is unchanged.
        expect(decodeEntry(encodeEntry(entry))).toStrictEqual(entrySchema.parse(entry));
      }),
      { numRuns: 400 },
    );
    expect(fast / n).toBeGreaterThanOrEqual(0.99);
  });

  it('never accepts a mutated entry that zod rejects, and agrees with zod when it accepts', () => {
    const before = { tried: fastTried, accepted: fastAccepted };
    let zodAccepted = 0;
    fc.assert(
      fc.property(mutatedArb, (value) => {
        checkAgainstZod(value, false);
        if (entrySchema.safeParse(value).success) zodAccepted++;
        // The same value through JSON (what decodeEntry sees), in the JSON.parse mode.
        let parsed: unknown;
        try {
          parsed = viaJson(value);
        } catch {
          return; // a bigint: not JSON
        }
        checkAgainstZod(parsed, true);
      }),
      { numRuns: 1000 },
    );
    // The mutations keep a fair share of entries valid, so the soundness check above had work to do.
    expect(zodAccepted).toBeGreaterThan(50);
    expect(fastAccepted - before.accepted).toBeGreaterThan(50);
  });

  it('every edge value of every field, on a full entry of every type (both modes)', () => {
    const full: Record<EntryType, Entry> = {
      record: { ...DOC, type: 'record', meta: { caseId: 'c', source: 's', dataTime: '2026-03-01T08:00:00+08:00', schema: 'x/1', note: 'n' } },
      document: DOC,
      digest: { ...DOC, type: 'digest' } as Entry,
      hj212: { ...HJ212, meta: { ...HJ212.meta, st: '22', cn: '2011', qn: '1', dataTime: '2026-03-01T08:00:00Z', version: 1, pnum: '1', pno: '1', peer: '[::1]:80' } } as Entry,
    };
    let zodAccepted = 0;
    for (const type of ENTRY_TYPES) {
      expect(checkAgainstZod(structuredClone(full[type]), false)).toBe(true);
      for (const [field, pool] of Object.entries(FIELD_EDGES)) {
        for (const value of pool) {
          for (const where of ['entry', 'digest', 'meta', 'crc'] as const) {
            const e = structuredClone(full[type]) as unknown as Loose;
            const target = where === 'entry' ? e : where === 'digest' ? e.digest : where === 'meta' ? e.meta : (e.meta.crc as Record<string, unknown> | undefined);
            if (target === undefined || !(field in target)) continue;
            target[field] = fresh(value);
            if (entrySchema.safeParse(e).success) zodAccepted++;
            checkAgainstZod(e, false);
            checkAgainstZod(viaJson(e), true);
          }
        }
      }
    }
    expect(zodAccepted).toBeGreaterThan(200);
  });

  it('encodeEntry on mutated entries: succeeds exactly when zod accepts, writing the canonical form of zod’s output', () => {
    fc.assert(
      fc.property(mutatedArb, (value) => {
        const zod = entrySchema.safeParse(value);
        let bytes: Uint8Array | undefined;
        try {
          bytes = encodeEntry(value as Entry);
        } catch (err) {
          expect(isLedgerError(err, 'ENTRY_INVALID')).toBe(true);
        }
        if (!zod.success) {
          expect(bytes).toBeUndefined();
          return;
        }
        const want = canonicalize(zod.data) as string;
        if (utf8(want).length > MAX_ENTRY_SIZE) expect(bytes).toBeUndefined();
        else expect(bytes === undefined ? undefined : fromUtf8(bytes)).toBe(want);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with zod on every entry in the contract vectors', () => {
    const seen: unknown[] = [];
    const walk = (v: unknown, key: string) => {
      if (typeof v === 'string' && key === 'entryBase64') {
        try {
          seen.push(JSON.parse(fromUtf8(Uint8Array.from(atob(v), (c) => c.charCodeAt(0)))));
        } catch {
          // not an entry's JSON: the vector is about that
        }
      } else if (Array.isArray(v)) {
        v.forEach((x) => walk(x, ''));
      } else if (typeof v === 'object' && v !== null) {
        if ('type' in v && 'digest' in v) seen.push(v);
        for (const [k, x] of Object.entries(v)) walk(x, k);
      }
    };
    for (const f of readVectors()) walk(f.value, '');
    expect(seen.length).toBeGreaterThan(10);
    let accepted = 0;
    for (const v of seen) {
      const a = checkAgainstZod(v, true);
      expect(checkAgainstZod(v, false)).toBe(a);
      if (a) accepted++;
      // Exactly the zod-valid vector entries take the fast path.
      expect(a).toBe(entrySchema.safeParse(v).success);
    }
    expect(accepted).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('fastEntry is conservative', () => {
  it('takes plain entries and returns fresh objects in the schema key order', () => {
    for (const e of [DOC, HJ212]) {
      const input = reverseKeys(e);
      const fast = fastEntry(input);
      expect(fast).toBeDefined();
      expect(JSON.stringify(fast)).toBe(JSON.stringify(entrySchema.parse(input)));
      expect(Object.keys(fast ?? {})).toEqual(['v', 'digest', 'submitter', 'receivedAt', 'type', 'meta']);
      for (const o of objectsIn(fast)) expect(objectsIn(input).has(o)).toBe(false);
    }
  });

  // Each of these is left to zod (fastEntry returns undefined); `zod` is what zod then says.
  const cases: [string, unknown, boolean][] = [
    ['null-prototype entry', Object.assign(Object.create(null) as object, DOC), true],
    ['class-instance meta', edited(DOC, (c) => void (c.meta = Object.assign(new Box(), c.meta))), true],
    ['meta inheriting a field', edited(DOC, (c) => void (c.meta = Object.assign(Object.create({ note: 'x' }) as object, c.meta))), true],
    ['getter member', edited(DOC, (c) => void Object.defineProperty(c.meta, 'name', { get: () => 'a.pdf', enumerable: true })), true],
    ['non-enumerable member', edited(DOC, (c) => void Object.defineProperty(c.meta, 'note', { value: 'n', enumerable: false })), true],
    ['optional member given as undefined', edited(DOC, (c) => void (c.meta.note = undefined)), true],
    ['size -0', edited(DOC, (c) => void (c.meta.size = -0)), true],
    ['flag -0', edited(HJ212, (c) => void (c.meta.flag = -0)), true],
    ['v -0', edited(DOC, (c) => void (c.v = -0)), false],
    ['own __proto__ key (JSON.parse)', JSON.parse(fromUtf8(encodeEntry(DOC)).replace('{"digest"', '{"__proto__":{},"digest"')), false],
    ['unknown key', edited(DOC, (c) => void (c.meta.extra = 1)), false],
    ['sparse array', edited(HJ212, (c) => void delete c.meta.pollutants[0]), false],
    ['accessor array element', edited(HJ212, (c) => void Object.defineProperty(c.meta.pollutants, 0, { get: () => 'a', enumerable: true })), true],
    ['array subclass', edited(HJ212, (c) => void (c.meta.pollutants = Object.setPrototypeOf(c.meta.pollutants, (class extends Array {}).prototype))), true],
    ['wrong type for meta', edited(HJ212, (c) => void (c.type = 'record')), false],
    ['size 2^53', edited(DOC, (c) => void (c.meta.size = 2 ** 53)), false],
    ['size "5"', edited(DOC, (c) => void (c.meta.size = '5')), false],
    ['note 1025 characters', edited(DOC, (c) => void (c.meta.note = '衡'.repeat(1025))), false],
    ['caseId with TAB', edited(DOC, (c) => void (c.meta.caseId = 'a\tb')), false],
    ['digest alg SM3 (uppercase)', edited(DOC, (c) => void (c.digest.alg = 'SM3')), false],
    ['v 2', edited(DOC, (c) => void (c.v = 2)), false],
    ['not an object', 'entry', false],
    ['an array', [DOC], false],
  ];
  for (const [name, value, zodAccepts] of cases) {
    it(`${name}: left to zod (which ${zodAccepts ? 'accepts' : 'rejects'})`, () => {
      expect(fastEntry(value)).toBeUndefined();
      expect(entrySchema.safeParse(value).success).toBe(zodAccepts);
    });
  }

  it('ignores, as zod does, what zod ignores: symbol keys, non-enumerable unknown keys, extra array properties', () => {
    const values = [
      edited(DOC, (c) => void (c[Symbol('s') as unknown as string] = 1)),
      edited(DOC, (c) => void Object.defineProperty(c.meta, 'hidden', { value: 1, enumerable: false })),
      edited(HJ212, (c) => void Object.assign(c.meta.pollutants, { extra: 1 })),
    ];
    for (const v of values) expect(checkAgainstZod(v, false)).toBe(true);
  });

  it('gives up while Object.prototype has an enumerable property or a shape key', () => {
    const proto = Object.prototype as Record<string, unknown>;
    const digestEntry = edited(DOC, (c) => void (c.type = 'digest'));
    let results: unknown[];
    Object.defineProperty(Object.prototype, 'polluted', { value: 1, enumerable: true, configurable: true, writable: true });
    try {
      results = [fastEntry(DOC), entrySchema.safeParse(DOC).success];
    } finally {
      delete proto.polluted;
    }
    expect(results).toEqual([undefined, false]);
    // A non-enumerable inherited shape key: zod reads it (`key in input`), so fastEntry must not skip it.
    const meta = { ...(DOC.meta as Record<string, unknown>) };
    delete meta.note;
    const noNote = { ...(digestEntry as Entry), meta };
    Object.defineProperty(Object.prototype, 'note', { value: 'inherited', enumerable: false, configurable: true, writable: true });
    try {
      const z = entrySchema.safeParse(noNote);
      results = [fastEntry(noNote), fastEntry(JSON.parse(JSON.stringify(noNote)), true), z.success && (z.data.meta as Record<string, unknown>).note];
    } finally {
      delete proto.note;
    }
    expect(results).toEqual([undefined, undefined, 'inherited']);
    expect(fastEntry(noNote)).toBeDefined();
  });
});

describe('buildEntry does not alias its input', () => {
  it('mutating the input meta, digest and arrays afterwards leaves the entry unchanged', () => {
    const digest = { ...DIGEST } as { alg: 'sha256'; hex: string };
    const meta = { mn: 'MN1', pollutants: ['a34004'], crc: { ok: true, variant: 'hj212' }, parserVersion: 'p/1' };
    const { entry, bytes } = buildEntry({ type: 'hj212', digest, meta, submitter: 'gw', receivedAt: '2026-03-01T00:00:00.000Z' });
    const before = JSON.stringify(entry);
    meta.pollutants.push('a34002');
    meta.crc.ok = false;
    meta.mn = 'MN2';
    (meta as Record<string, unknown>).flag = 4;
    digest.hex = '0'.repeat(64);
    expect(JSON.stringify(entry)).toBe(before);
    expect(decodeEntry(bytes)).toStrictEqual(entry);
  });

  it('also for document metadata, and the entry is exactly what zod returns', () => {
    const meta: Record<string, unknown> = { name: 'a.pdf', mediaType: 'application/pdf', size: 3 };
    const input = { type: 'document', digest: { ...DIGEST }, meta, submitter: 'officer-01', receivedAt: '2026-03-01T00:00:00.000Z' } as NewEntryInput;
    const { entry } = buildEntry(input);
    expect(JSON.stringify(entry)).toBe(JSON.stringify(entrySchema.parse({ v: 1, ...input })));
    meta.size = 4;
    meta.note = 'x';
    expect(entry.meta).toStrictEqual({ name: 'a.pdf', mediaType: 'application/pdf', size: 3 });
  });
});

// ---------------------------------------------------------------------------------------------
// The rule helpers shared by the zod schemas and the fast path, against independent versions.

/** Strings of code units around the text limits: surrogates (paired or not), controls, CJK, astral. */
const unitsArb = (maxLength: number) =>
  fc
    .array(
      fc.oneof(
        fc.constantFrom('a', ' ', '衡', '😀', '\t', '\n', '\r', '\u0000', '\u001f', '\u007f', '\u0085', '\u009f', '\u00a0', '\ud800', '\udbff', '\udc00', '\udfff', '\u2028'),
        fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      ),
      { maxLength },
    )
    .map((u) => u.join(''));

describe('shared rule helpers', () => {
  it('hasLoneSurrogate is the LONE_SURROGATE regular expression', () => {
    fc.assert(
      fc.property(unitsArb(12), (s) => {
        expect(hasLoneSurrogate(s)).toBe(LONE_SURROGATE.test(s));
      }),
      { numRuns: 1000 },
    );
  });

  it('isText decides exactly what textSchema decides (code point lengths at the limits)', () => {
    const rules: TextRule[] = [{ max: 4 }, { min: 3, max: 5 }, { min: 0, max: 2 }, { max: 6, multiline: true }, CASE_ID_TEXT];
    const schemas = rules.map((r) => textSchema(r));
    fc.assert(
      fc.property(fc.oneof(unitsArb(14), fc.constantFrom(...TEXT_EDGES)), (s) => {
        rules.forEach((rule, i) => {
          expect(isText(s, rule), `${JSON.stringify(s)} ${JSON.stringify(rule)}`).toBe(schemas[i]?.safeParse(s).success);
        });
      }),
      { numRuns: 1000 },
    );
    expect(codePointLength('😀a')).toBe(2);
  });

  // The capture-group versions these replaced (the behaviour they must keep).
  const RECEIVED_AT_REF = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{3}Z$/;
  const RFC3339_REF = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;
  function calendarRef(m: RegExpExecArray): boolean {
    const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i])) as [number, number, number, number, number, number];
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
    const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
    return d <= (mo === 2 && leap ? 29 : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]!);
  }
  const receivedAtRef = (s: string) => {
    const m = RECEIVED_AT_REF.exec(s);
    return m !== null && calendarRef(m);
  };
  const rfc3339Ref = (s: string) => {
    const m = RFC3339_REF.exec(s);
    if (m === null || !calendarRef(m)) return false;
    return m[7] === undefined || (Number(m[7]) <= 23 && Number(m[8]) <= 59);
  };

  it('isReceivedAt and isRfc3339 agree with the reference versions', () => {
    const oneCharEdit = fc.tuple(timeLikeArb, fc.nat(), fc.constantFrom('', '0', '9', 'Z', '+', '-', ':', '.', 'T', 't', '٣')).map(([s, at, c]) => {
      const i = at % (s.length + 1);
      return s.slice(0, i) + c + s.slice(i + 1);
    });
    let valid = 0;
    fc.assert(
      fc.property(fc.oneof(timeLikeArb, oneCharEdit, receivedAtArb, dataTimeArb, fc.constantFrom(...STRING_EDGES)), (s) => {
        expect(isReceivedAt(s), s).toBe(receivedAtRef(s));
        expect(isRfc3339(s), s).toBe(rfc3339Ref(s));
        if (isRfc3339(s)) valid++;
      }),
      { numRuns: 2000 },
    );
    expect(valid).toBeGreaterThan(100);
  });
});
