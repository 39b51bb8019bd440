/**
 * Metadata of an `hj212` entry: one HJ 212 packet from a pollution-source data logger, anchored by
 * the SHA-256 of its raw bytes as received (the packet's own CRC is a transmission check, not
 * integrity). These are provenance fields for a court (device, command, data time, peer, parser
 * verdicts); the bounds are deliberately loose and will be tightened with the gateway.
 * See contracts-free-ledger/SPEC.md#entries and /work/shared/HJ212-NOTES.md.
 */
import { z } from 'zod';
import { dataTimeSchema } from './text.js';

/** Most pollutant codes listed in one hj212 entry (a 1,024-byte data segment holds far fewer). */
export const MAX_HJ212_POLLUTANTS = 256;

/** Printable ASCII without space and the HJ 212 separators `;`, `=`, `&`, `,`; 1–64 characters. */
const MN = /^(?:(?![;=&,])[\x21-\x7e]){1,64}$/;

/** Zod schema of `hj212` entry metadata. */
export const hj212MetaSchema = z.strictObject({
  /** Device id (`MN=`): 24 hex digits per HJ 212-2017, looser in the wild. */
  mn: z.string().regex(MN, 'want 1-64 printable ASCII characters without space ; = & ,'),
  /** System code (`ST=`), kept as text: `21`…`91`, or an `A0`–`Z9` extension. */
  st: z.string().regex(/^[A-Za-z0-9]{1,8}$/, 'want 1-8 ASCII letters or digits').optional(),
  /** Command code (`CN=`), kept as text, e.g. `2011`. */
  cn: z.string().regex(/^[0-9]{1,8}$/, 'want 1-8 ASCII digits').optional(),
  /** Request number (`QN=`), normally 17 digits `YYYYMMDDhhmmsszzz`. */
  qn: z.string().regex(/^[0-9]{1,32}$/, 'want 1-32 ASCII digits').optional(),
  /** `DataTime` of the CP area, converted to RFC 3339 with the device's offset. */
  dataTime: dataTimeSchema.optional(),
  /** Pollutant codes present in the CP area, e.g. `w01018`, `a34004`, 2005-style `011`, `B01`. */
  pollutants: z
    .array(z.string().regex(/^[A-Za-z0-9_]{1,32}$/, 'want 1-32 ASCII letters, digits or _'))
    .max(MAX_HJ212_POLLUTANTS),
  /** CRC verdict and the algorithm variant that matched (or was tried last). */
  crc: z.strictObject({
    ok: z.boolean(),
    variant: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/, 'want 1-32 characters of [A-Za-z0-9._-]'),
  }),
  /** Packet `Flag=` as an integer 0–255. */
  flag: z.int().min(0).max(255).optional(),
  /** Remote address the packet came from, `host:port` or `[v6]:port`. */
  peer: z.string().regex(/^[A-Za-z0-9.:[\]%_-]{1,64}$/, 'want 1-64 characters of [A-Za-z0-9.:[]%_-]').optional(),
  /** Version of the parser that produced these fields, e.g. `guzheng-hj212/0.1.0`. */
  parserVersion: z.string().regex(/^[A-Za-z0-9._+/@-]{1,64}$/, 'want 1-64 characters of [A-Za-z0-9._+/@-]'),
});

/** Metadata of an `hj212` entry. */
export type Hj212Meta = z.infer<typeof hj212MetaSchema>;
