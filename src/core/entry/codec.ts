/**
 * Entry v1 encoding: the leaf data of the log is the UTF-8 RFC 8785 canonical JSON of a
 * schema-valid entry, at most 65,535 bytes. Decoding is strict: one entry has exactly one byte
 * spelling, so `encodeEntry(decodeEntry(b))` is `b` for every accepted `b`.
 * See contracts-free-ledger/SPEC.md#entries.
 */
import { LedgerError, badInput } from '../errors.js';
import { fromUtf8, utf8 } from '../bytes.js';
import { entrySchema, type Digest, type Entry, type EntryOf, type EntryType, type MetaOf } from './schema.js';
import { formatReceivedAt } from './text.js';
import { fastEntry } from './fast.js';

/** Largest entry in bytes (tlog-tiles entry bundles use a uint16 length). */
export const MAX_ENTRY_SIZE = 65_535;

/** Most schema issues spelled out in one error message. */
const MAX_ISSUES = 5;

function entryInvalid(message: string, cause?: unknown): never {
  throw new LedgerError('ENTRY_INVALID', message, cause === undefined ? undefined : { cause });
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'entry' : out;
}

/**
 * formatIssues renders zod issues as `path: message; …` (e.g. `meta.caseId: got 129 characters,
 * want at most 128`), at most MAX_ISSUES of them.
 */
function formatIssues(issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[]): string {
  const parts = issues.slice(0, MAX_ISSUES).map((i) => `${formatPath(i.path)}: ${i.message}`);
  if (issues.length > MAX_ISSUES) parts.push(`(${issues.length - MAX_ISSUES} more)`);
  return parts.join('; ');
}

/**
 * validate returns the schema-valid form of `value` (fresh objects, keys in schema order) or throws
 * ENTRY_INVALID. The fast path (fast.ts) accepts the entries it is sure of; zod decides the rest
 * and words the errors. `fromJson`: `value` is straight from `JSON.parse` (see fastEntry).
 * See contracts-free-ledger/SPEC.md#entries.
 */
function validate(value: unknown, fromJson = false): Entry {
  const fast = fastEntry(value, fromJson);
  if (fast !== undefined) return fast;
  const r = entrySchema.safeParse(value);
  if (!r.success) entryInvalid(formatIssues(r.error.issues), r.error);
  return r.data;
}

/** Characters JSON.stringify escapes in a well-formed string: `"`, `\\` and U+0000–U+001F. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f]/;

/** jcsString is the RFC 8785 §3.2.2.2 form of a well-formed string (that of JSON.stringify). */
function jcsString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** What {@link jcsValue} produced: the text, and whether it differs from the value (an `undefined` member omitted, -0). */
interface Jcs {
  text: string;
  dropped: boolean;
}

/**
 * jcsValue appends the RFC 8785 text of one value of a schema-valid entry to `out.text`. The
 * schema admits only well-formed strings (no lone surrogates), safe integers, booleans, arrays of
 * strings and plain objects with string keys, so the general algorithm reduces to: strings and
 * numbers as ECMAScript `JSON.stringify` writes them (RFC 8785 §3.2.2.2–3.2.2.3), keys sorted by
 * UTF-16 code units (§3.2.3; the default `Array.prototype.sort` order), and members whose value
 * is `undefined` omitted (an optional field left out, noted in `out.dropped`).
 * Differential-tested against the `canonicalize` package (test/core/entry.test.ts).
 */
function jcsValue(v: unknown, out: Jcs): void {
  switch (typeof v) {
    case 'string':
      out.text += jcsString(v);
      return;
    case 'number':
      // -0 is written as 0 (as JSON.stringify does); the decoded entry then holds 0, not -0.
      if (Object.is(v, -0)) out.dropped = true;
      out.text += JSON.stringify(v);
      return;
    case 'boolean':
      out.text += JSON.stringify(v);
      return;
    case 'object':
      break;
    default:
      throw new Error(`core: bad math: a schema-valid entry holds a ${typeof v}`);
  }
  if (v === null) throw new Error('core: bad math: a schema-valid entry holds null');
  if (Array.isArray(v)) {
    out.text += '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out.text += ',';
      jcsValue(v[i], out);
    }
    out.text += ']';
    return;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  out.text += '{';
  let first = true;
  for (const k of keys) {
    const x = obj[k];
    if (x === undefined) {
      out.dropped = true;
      continue;
    }
    out.text += (first ? '' : ',') + jcsString(k) + ':';
    first = false;
    jcsValue(x, out);
  }
  out.text += '}';
}

/**
 * canonicalEntryText is the RFC 8785 text of a schema-valid entry (absent optional fields
 * dropped), byte-identical to `canonicalize(entry)` but several times faster: no lone-surrogate
 * scan, no cycle set, and the six top-level members written in their fixed sorted order.
 * `dropped` tells whether an `undefined` member was omitted anywhere.
 * Requires: `entry` satisfies entrySchema (callers validate first).
 */
function canonicalEntryText(entry: Entry): Jcs {
  const out: Jcs = { text: '{"digest":{"alg":' + jcsString(entry.digest.alg) + ',"hex":' + jcsString(entry.digest.hex) + '},"meta":', dropped: false };
  jcsValue(entry.meta, out);
  out.text += ',"receivedAt":' + jcsString(entry.receivedAt) + ',"submitter":' + jcsString(entry.submitter) + ',"type":' + jcsString(entry.type) + ',"v":' + JSON.stringify(entry.v) + '}';
  return out;
}

/** canonicalText is the JCS text of a schema-valid entry (absent optional fields dropped). */
function canonicalText(entry: Entry): string {
  return canonicalEntryText(entry).text;
}

/**
 * checkEntrySize throws ENTRY_INVALID unless `size` bytes fit in an entry (≤ MAX_ENTRY_SIZE).
 * Requires: `size` is a byte count. Use it wherever entry bytes enter the system (tile bundles,
 * storage reads). See contracts-free-ledger/SPEC.md#entries.
 */
export function checkEntrySize(size: number): void {
  if (!(size <= MAX_ENTRY_SIZE)) entryInvalid(`entry: got ${size} bytes, want at most ${MAX_ENTRY_SIZE}`);
}

/**
 * encodeEntry returns the leaf data of an entry: the UTF-8 bytes of its RFC 8785 canonical JSON.
 * Requires: `entry` satisfies `entrySchema` (else ENTRY_INVALID naming each bad field path, e.g.
 * `meta.caseId: …`) and encodes to at most MAX_ENTRY_SIZE bytes (else ENTRY_INVALID with got/want).
 * Optional fields set to `undefined` are omitted. See contracts-free-ledger/SPEC.md#entries.
 *
 * @example
 * ```ts
 * const leaf = encodeEntry(newEntry({ type: 'digest', digest: digestBytes(file), meta: {},
 *   submitter: 'officer-01', receivedAt: '2026-03-01T00:00:00.000Z' }));
 * ```
 */
export function encodeEntry(entry: Entry): Uint8Array {
  const bytes = utf8(canonicalText(validate(entry)));
  checkEntrySize(bytes.length);
  return bytes;
}

/**
 * decodeEntry parses leaf data back into an entry, strictly: at most MAX_ENTRY_SIZE bytes, valid
 * UTF-8 (no BOM), JSON, schema-valid, and canonical: the input must be byte-identical to the
 * RFC 8785 encoding of what it parses to, which also rejects duplicate keys, whitespace, key
 * order, escaped characters and number spellings other than the canonical one.
 * Requires: `bytes` is a Uint8Array (else INPUT_INVALID); every other failure is ENTRY_INVALID.
 * See contracts-free-ledger/SPEC.md#entries.
 *
 * @example
 * ```ts
 * const entry = decodeEntry(leaf); // throws LedgerError{code:'ENTRY_INVALID'} on any other spelling
 * ```
 */
export function decodeEntry(bytes: Uint8Array): Entry {
  if (!(bytes instanceof Uint8Array)) badInput(`decodeEntry: got ${typeof bytes}, want a Uint8Array`);
  checkEntrySize(bytes.length);
  let text: string;
  try {
    text = fromUtf8(bytes, 'entry');
  } catch (cause) {
    entryInvalid('entry: not valid UTF-8', cause);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    entryInvalid('entry: not JSON', cause);
  }
  const entry = validate(value, true);
  if (canonicalText(entry) !== text) entryInvalid('entry: not canonical (RFC 8785 JCS)');
  return entry;
}

/**
 * Input of {@link newEntry}: an entry without `v`, with the receive time as a Date or string.
 * Distributes over `T`, so a union of inputs (e.g. a parsed request body) is accepted too.
 */
export type NewEntryInput<T extends EntryType = EntryType> = T extends EntryType
  ? {
      readonly type: T;
      readonly digest: Digest;
      readonly meta: MetaOf<T>;
      readonly submitter: string;
      /** Server receive time; a Date is formatted as `YYYY-MM-DDTHH:MM:SS.sssZ`. */
      readonly receivedAt: Date | string;
    }
  : never;

/**
 * newEntry builds a validated version-1 entry, formatting a Date receive time (the caller owns
 * the clock). The result is exactly what its encoding decodes to (no `undefined` fields).
 * Requires: the fields satisfy `entrySchema` and fit MAX_ENTRY_SIZE (else ENTRY_INVALID); a Date
 * is valid and in the years 0000–9999 (else INPUT_INVALID). See contracts-free-ledger/SPEC.md#entries.
 *
 * @example
 * ```ts
 * const e = newEntry({ type: 'record', digest: digestRecord(rec), meta: { caseId: '衡环罚〔2026〕12号' },
 *   submitter: 'officer-01', receivedAt: now });
 * ```
 */
export function newEntry<T extends EntryType>(input: NewEntryInput<T>): EntryOf<T> {
  return buildEntry(input).entry;
}

/**
 * buildEntry is {@link newEntry} that also returns the entry's leaf bytes (its encoding), with
 * one schema validation and one canonical serialization: what the log appends.
 * Requires: as {@link newEntry}. See contracts-free-ledger/SPEC.md#entries.
 */
export function buildEntry<T extends EntryType>(input: NewEntryInput<T>): { entry: EntryOf<T>; bytes: Uint8Array } {
  const receivedAt = input.receivedAt instanceof Date ? formatReceivedAt(input.receivedAt) : input.receivedAt;
  const candidate: unknown = {
    v: 1,
    type: input.type,
    digest: input.digest,
    meta: input.meta,
    submitter: input.submitter,
    receivedAt,
  };
  const valid = validate(candidate);
  const { text, dropped } = canonicalEntryText(valid);
  const bytes = utf8(text);
  checkEntrySize(bytes.length);
  // The validated copy is what the bytes decode to, unless an optional field was given as
  // undefined: then parse the canonical text back, which has no such member.
  const entry = (dropped ? JSON.parse(text) : valid) as EntryOf<T>;
  return { entry, bytes };
}
