/**
 * Entry v1 schemas (zod, strict objects: unknown keys are rejected) and their inferred types.
 * The HTTP layer reuses these. See contracts-free-ledger/SPEC.md#entries.
 *
 * KEEP IN STEP: fast.ts re-implements these schemas as an accept-only fast path (codec.ts tries it
 * before zod). It takes the key order and optionality from the shapes below and its value rules
 * from the constants exported here and by text.ts and hj212.ts, so change a rule through those;
 * a new or renamed field needs its reader in fast.ts (fast.ts throws at load if the field sets
 * differ), and test/core/entry-fast.test.ts checks the two agree on generated entries.
 */
import { z } from 'zod';
import { hj212MetaSchema } from './hj212.js';
import { dataTimeSchema, receivedAtSchema, textSchema, type TextRule } from './text.js';

/** The entry format version written in `v`. */
export const ENTRY_VERSION = 1;

/** Entry types of format version 1. */
export const ENTRY_TYPES = ['record', 'document', 'digest', 'hj212'] as const;

/** A 32-byte digest value: 64 lowercase hex digits. */
export const HEX_32 = /^[0-9a-f]{64}$/;

/** Zod schema of a SHA-256 content digest: `{"alg":"sha256","hex":<64 lowercase hex>}`. */
export const sha256DigestSchema = z.strictObject({
  alg: z.literal('sha256'),
  hex: z.string().regex(HEX_32, 'want 64 lowercase hex digits'),
});

/** Zod schema of an SM3 content digest (`gm` logs): `{"alg":"sm3","hex":<64 lowercase hex>}`. */
export const sm3DigestSchema = z.strictObject({
  alg: z.literal('sm3'),
  hex: z.string().regex(HEX_32, 'want 64 lowercase hex digits'),
});

/**
 * Zod schema of a content digest, discriminated on `alg`: `sha256` (`c2sp` logs) or `sm3` (`gm`
 * logs, SPEC.md#crypto-suites). Which one a log accepts is its suite's; the schema takes both.
 */
export const digestSchema = z.discriminatedUnion('alg', [sha256DigestSchema, sm3DigestSchema]);

/** A content digest `{alg, hex}`. */
export type Digest = z.infer<typeof digestSchema>;
/** A content digest algorithm name. */
export type DigestAlg = Digest['alg'];

/** Text rule of a case number: 1–128 characters, no controls. */
export const CASE_ID_TEXT: TextRule = { max: 128 };
/** Text rule of a file name: 1–255 characters, no controls. */
export const FILE_NAME_TEXT: TextRule = { max: 255 };
/** Text rule of a free note: 1–1,024 characters; TAB and LF allowed, other controls not. */
export const NOTE_TEXT: TextRule = { max: 1024, multiline: true };
/** Text rule of a record's source: 1–256 characters, no controls. */
export const SOURCE_TEXT: TextRule = { max: 256 };
/** Text rule of a record's schema name or URI: 1–256 characters, no controls. */
export const RECORD_SCHEMA_ID_TEXT: TextRule = { max: 256 };

/** Zod schema of a case number, e.g. `衡环罚〔2026〕12号`: 1–128 characters, no controls. */
export const caseIdSchema = textSchema(CASE_ID_TEXT);
/** Zod schema of a file name: 1–255 characters, no controls. */
export const fileNameSchema = textSchema(FILE_NAME_TEXT);
/** Zod schema of a free note: 1–1,024 characters; TAB and LF allowed, other controls not. */
export const noteSchema = textSchema(NOTE_TEXT);
/** Zod schema of a record's source (device, system, URL): 1–256 characters, no controls. */
export const sourceSchema = textSchema(SOURCE_TEXT);
/** Zod schema of a record's schema name or URI: 1–256 characters, no controls. */
export const recordSchemaIdSchema = textSchema(RECORD_SCHEMA_ID_TEXT);

const MEDIA_TOKEN = '[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*';
/** A media type `type/subtype` (RFC 6838 restricted names, no parameters). */
export const MEDIA_TYPE = new RegExp(`^${MEDIA_TOKEN}/${MEDIA_TOKEN}$`);
/** Longest media type in characters (UTF-16 units; {@link MEDIA_TYPE} admits ASCII only). */
export const MAX_MEDIA_TYPE_LENGTH = 127;
/** Zod schema of a media type `type/subtype` (RFC 6838 restricted names, no parameters), ≤ 127 characters. */
export const mediaTypeSchema = z.string().max(MAX_MEDIA_TYPE_LENGTH).regex(MEDIA_TYPE, 'want type/subtype, e.g. application/pdf');

/** Zod schema of a byte size: a non-negative safe integer. */
export const sizeSchema = z.int().min(0);

/** A submitter key id: 1–64 characters of `[A-Za-z0-9._:-]`. */
export const SUBMITTER = /^[A-Za-z0-9._:-]{1,64}$/;
/** Zod schema of a submitter key id: 1–64 characters of `[A-Za-z0-9._:-]`. */
export const submitterSchema = z.string().regex(SUBMITTER, 'want 1-64 characters of [A-Za-z0-9._:-]');

/** Zod schema of `record` metadata (the JSON record itself is not in the entry, only its digest). */
export const recordMetaSchema = z.strictObject({
  caseId: caseIdSchema.optional(),
  source: sourceSchema.optional(),
  dataTime: dataTimeSchema.optional(),
  schema: recordSchemaIdSchema.optional(),
  note: noteSchema.optional(),
});

/** Zod schema of `document` metadata (a file anchored by the SHA-256 of its bytes). */
export const documentMetaSchema = z.strictObject({
  name: fileNameSchema,
  mediaType: mediaTypeSchema,
  size: sizeSchema,
  caseId: caseIdSchema.optional(),
  note: noteSchema.optional(),
});

/** Zod schema of `digest` metadata (a digest computed by the submitter; content never seen). */
export const digestMetaSchema = z.strictObject({
  name: fileNameSchema.optional(),
  mediaType: mediaTypeSchema.optional(),
  size: sizeSchema.optional(),
  caseId: caseIdSchema.optional(),
  note: noteSchema.optional(),
});

export { hj212MetaSchema };

/** Metadata schema per entry type. */
export const metaSchemas = {
  record: recordMetaSchema,
  document: documentMetaSchema,
  digest: digestMetaSchema,
  hj212: hj212MetaSchema,
} as const;

const common = {
  v: z.literal(ENTRY_VERSION, { error: `want ${ENTRY_VERSION}` }),
  digest: digestSchema,
  submitter: submitterSchema,
  receivedAt: receivedAtSchema,
};

/** Zod schema of an entry of format version 1, discriminated on `type`. */
export const entrySchema = z.discriminatedUnion('type', [
  z.strictObject({ ...common, type: z.literal('record'), meta: recordMetaSchema }),
  z.strictObject({ ...common, type: z.literal('document'), meta: documentMetaSchema }),
  z.strictObject({ ...common, type: z.literal('digest'), meta: digestMetaSchema }),
  z.strictObject({ ...common, type: z.literal('hj212'), meta: hj212MetaSchema }),
]);

/** An entry of format version 1 (the parsed form of the leaf data). */
export type Entry = z.infer<typeof entrySchema>;
/** An entry type: `record`, `document`, `digest` or `hj212`. */
export type EntryType = Entry['type'];
/** The entry variant of type `T`. */
export type EntryOf<T extends EntryType> = Extract<Entry, { type: T }>;
/** The metadata of an entry of type `T`. */
export type MetaOf<T extends EntryType> = EntryOf<T>['meta'];
/** Metadata of a `record` entry. */
export type RecordMeta = z.infer<typeof recordMetaSchema>;
/** Metadata of a `document` entry. */
export type DocumentMeta = z.infer<typeof documentMetaSchema>;
/** Metadata of a `digest` entry. */
export type DigestMeta = z.infer<typeof digestMetaSchema>;
export type { Hj212Meta } from './hj212.js';
