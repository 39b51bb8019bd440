/**
 * Time stamps as receipts, bundles and tlog-proofs carry them (SPEC.md#time-stamps): a signed
 * checkpoint of the log that an RFC 3161 time-stamping authority (TSA) stamped, the consistency
 * proof from it to the document's proving checkpoint, and the TSA tokens:
 *
 *     { checkpoint: <the stamped note, exactly as the log signed it>,
 *       consistency: [<hex>, …],          PROOF(stamped size, proving size)
 *       tokens: [<base64 DER TimeStampToken>, …] }
 *
 * The message imprint of every token is SHA-256 of the UTF-8 bytes of `checkpoint`: the note
 * text, the blank line and the log's own signature line, with no cosignature lines. This module
 * parses and builds that member; src/verifier checks it (the tokens with src/verifier/timestamp.ts).
 */
import { z } from 'zod';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from './bytes.js';
import { C2SP, type CryptoSuite } from './suite.js';
import { LedgerError } from './errors.js';

/** Most tokens one stamp may carry (the log keeps one per stamped checkpoint; room for more TSAs). */
export const MAX_STAMP_TOKENS = 8;
/** Largest base64 token accepted (a token with a certificate chain is a few KiB). */
const MAX_TOKEN_BASE64 = 350_000;

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'want 64 lowercase hex digits');

/** Zod schema of the JSON form of a stamp (strict). */
export const stampSchema = z.strictObject({
  checkpoint: z.string().min(1).max(1_000_000),
  consistency: z.array(hash).max(128),
  tokens: z
    .array(z.string().min(4).max(MAX_TOKEN_BASE64).regex(/^[A-Za-z0-9+/]+={0,2}$/, 'want canonical base64'))
    .min(1)
    .max(MAX_STAMP_TOKENS),
});

/** The JSON form of a stamp. */
export type StampJson = z.infer<typeof stampSchema>;

/** A stamp, decoded. */
export interface Stamp {
  /** The stamped checkpoint note, exactly as the log signed it. */
  readonly checkpoint: string;
  /** PROOF(stamped size, proving size): the stamped tree is a prefix of the proving one. */
  readonly consistency: Uint8Array[];
  /** DER TimeStampToken (CMS ContentInfo) of each TSA. */
  readonly tokens: Uint8Array[];
}

/**
 * parseStamp decodes the JSON form of a stamp (already checked by {@link stampSchema}), strictly:
 * canonical base64 tokens. Throws `INPUT_INVALID` naming the token.
 */
export function parseStamp(j: StampJson): Stamp {
  return {
    checkpoint: j.checkpoint,
    consistency: j.consistency.map((h) => fromHex(h, 32)),
    tokens: j.tokens.map((t, i) => {
      try {
        return fromBase64(t, undefined, `timestamp.tokens.${i}`);
      } catch (err) {
        throw new LedgerError('INPUT_INVALID', `timestamp.tokens.${i}: want canonical base64`, { cause: err });
      }
    }),
  };
}

/** formatStamp returns the JSON form of a stamp. */
export function formatStamp(s: Stamp): StampJson {
  return { checkpoint: s.checkpoint, consistency: s.consistency.map(toHex), tokens: s.tokens.map(toBase64) };
}

/**
 * stampImprint returns the message imprint a TSA stamps for a signed checkpoint note: H of its
 * UTF-8 bytes, the note exactly as the log signed it, H the log's suite's hash (SHA-256 unless
 * given; SM3 for a `gm` log). See SPEC.md#time-stamps.
 */
export function stampImprint(note: string, suite: CryptoSuite = C2SP): Uint8Array {
  return suite.hash(utf8(note));
}
