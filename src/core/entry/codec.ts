/**
 * Entry v1 encoding: the leaf data of the log is the UTF-8 RFC 8785 canonical JSON of a
 * schema-valid entry, at most 65,535 bytes. Decoding is strict: one entry has exactly one byte
 * spelling, so `encodeEntry(decodeEntry(b))` is `b` for every accepted `b`.
 * See contracts-free-ledger/SPEC.md#entries.
 */
import canonicalize from 'canonicalize';
import { LedgerError, badInput } from '../errors.js';
import { fromUtf8, utf8 } from '../bytes.js';
import { entrySchema, type Digest, type Entry, type EntryOf, type EntryType, type MetaOf } from './schema.js';
import { formatReceivedAt } from './text.js';

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

function validate(value: unknown): Entry {
  const r = entrySchema.safeParse(value);
  if (!r.success) entryInvalid(formatIssues(r.error.issues), r.error);
  return r.data;
}

/** canonicalText is the JCS text of a schema-valid entry (absent optional fields dropped). */
function canonicalText(entry: Entry): string {
  // The schema admits only well-formed strings, finite numbers, booleans and plain objects, so
  // canonicalize cannot fail here; if it does, that is a bug in the schema.
  const text = canonicalize(entry);
  if (typeof text !== 'string') throw new Error('core: bad math: canonicalize returned no text for a valid entry');
  return text;
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
  const entry = validate(value);
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
  const receivedAt = input.receivedAt instanceof Date ? formatReceivedAt(input.receivedAt) : input.receivedAt;
  const candidate: unknown = {
    v: 1,
    type: input.type,
    digest: input.digest,
    meta: input.meta,
    submitter: input.submitter,
    receivedAt,
  };
  // Encode then decode: validates, checks the size, and drops undefined optional fields.
  return decodeEntry(encodeEntry(candidate as Entry)) as EntryOf<T>;
}
