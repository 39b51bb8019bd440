/** Entry v1 (leaf data) and content digests. See contracts-free-ledger/SPEC.md#entries. */
export {
  ENTRY_VERSION,
  ENTRY_TYPES,
  sha256DigestSchema,
  digestSchema,
  caseIdSchema,
  fileNameSchema,
  noteSchema,
  sourceSchema,
  recordSchemaIdSchema,
  mediaTypeSchema,
  sizeSchema,
  submitterSchema,
  recordMetaSchema,
  documentMetaSchema,
  digestMetaSchema,
  hj212MetaSchema,
  metaSchemas,
  entrySchema,
  type Digest,
  type DigestAlg,
  type Entry,
  type EntryType,
  type EntryOf,
  type MetaOf,
  type RecordMeta,
  type DocumentMeta,
  type DigestMeta,
  type Hj212Meta,
} from './schema.js';
export { MAX_HJ212_POLLUTANTS } from './hj212.js';
export {
  codePointLength,
  textSchema,
  type TextRule,
  isReceivedAt,
  isRfc3339,
  formatReceivedAt,
  receivedAtSchema,
  dataTimeSchema,
} from './text.js';
export { MAX_JSON_DEPTH, canonicalJson, canonicalJsonText } from './jcs.js';
export { digestBytes, digestRecord, checkDigest } from './digest.js';
export { MAX_ENTRY_SIZE, checkEntrySize, encodeEntry, decodeEntry, newEntry, buildEntry, type NewEntryInput } from './codec.js';
