/**
 * Metadata of an `hj212` entry: one HJ 212 packet from a pollution-source data logger, anchored by
 * the SHA-256 of its raw bytes as received (the packet's own CRC is a transmission check, not
 * integrity). These are provenance fields for a court (device, command, data time, peer, parser
 * verdicts), derived from the packet by the gateway (src/ingest/hj212); the raw packet itself is
 * the evidence, so every field is optional except the verdicts, and a field the packet spells in a
 * way these rules do not admit is left out (with a warning) rather than rejected.
 * See contracts-free-ledger/SPEC.md#hj-212-entries.
 */
import { z } from 'zod';
import { dataTimeSchema } from './text.js';

/** Most pollutant codes listed in one hj212 entry (a 1,024-byte data segment holds far fewer). */
export const MAX_HJ212_POLLUTANTS = 256;
/** Most warning codes in one hj212 entry. */
export const MAX_HJ212_WARNINGS = 32;
/** Fewest warning codes in one hj212 entry that has `warnings` (absent when there are none). */
export const MIN_HJ212_WARNINGS = 1;

/** A device id as listed: printable ASCII without space and the HJ 212 separators `;`, `=`, `&`, `,`; 1–64 characters. */
export const HJ212_MN = /^(?:(?![;=&,])[\x21-\x7e]){1,64}$/;

/** A system code (`ST=`): 1–8 ASCII letters or digits. */
export const HJ212_ST = /^[A-Za-z0-9]{1,8}$/;
/** A command code (`CN=`), a total packet count (`PNUM=`) or a packet number (`PNO=`): 1–8 ASCII digits. */
export const HJ212_DIGITS_8 = /^[0-9]{1,8}$/;
/** A request number (`QN=`): 1–32 ASCII digits. */
export const HJ212_QN = /^[0-9]{1,32}$/;
/** A pollutant code: 1–32 ASCII letters, digits or `_`. */
export const HJ212_POLLUTANT = /^[A-Za-z0-9_]{1,32}$/;
/** A CRC algorithm variant name: 1–32 characters of `[A-Za-z0-9._-]`. */
export const HJ212_CRC_VARIANT = /^[A-Za-z0-9._-]{1,32}$/;
/** Largest packet `Flag=`. */
export const MAX_HJ212_FLAG = 255;
/** Largest protocol version (the 6 version bits of `Flag`). */
export const MAX_HJ212_VERSION = 63;
/** A remote address: 1–64 characters of `[A-Za-z0-9.:[]%_-]`. */
export const HJ212_PEER = /^[A-Za-z0-9.:[\]%_-]{1,64}$/;
/** A parser version: 1–64 characters of `[A-Za-z0-9._+/@-]`. */
export const HJ212_PARSER_VERSION = /^[A-Za-z0-9._+/@-]{1,64}$/;
/** A warning code: 1–40 characters of `[a-z0-9-]`. */
export const HJ212_WARNING = /^[a-z0-9-]{1,40}$/;

// KEEP IN STEP: the entry fast path (fast.ts) applies these same constants; see schema.ts.

/** Zod schema of a device id (`MN=`), see {@link HJ212_MN}. */
export const hj212MnSchema = z.string().regex(HJ212_MN, 'want 1-64 printable ASCII characters without space ; = & ,');

/** Zod schema of `hj212` entry metadata. */
export const hj212MetaSchema = z.strictObject({
  /** Device id (`MN=`): 24 hex digits per HJ 212-2017, looser in the wild. Absent if the packet has none (or an unusable one). */
  mn: hj212MnSchema.optional(),
  /** System code (`ST=`), kept as text: `21`…`91`, or an `A0`–`Z9` extension. */
  st: z.string().regex(HJ212_ST, 'want 1-8 ASCII letters or digits').optional(),
  /** Command code (`CN=`), kept as text, e.g. `2011`. */
  cn: z.string().regex(HJ212_DIGITS_8, 'want 1-8 ASCII digits').optional(),
  /** Request number (`QN=`), normally 17 digits `YYYYMMDDhhmmsszzz`. */
  qn: z.string().regex(HJ212_QN, 'want 1-32 ASCII digits').optional(),
  /** `DataTime` of the CP area, converted to RFC 3339 with the device's offset (+08:00). */
  dataTime: dataTimeSchema.optional(),
  /** Pollutant codes present in the CP area, e.g. `w01018`, `a34004`, 2005-style `011`, `B01`. */
  pollutants: z
    .array(z.string().regex(HJ212_POLLUTANT, 'want 1-32 ASCII letters, digits or _'))
    .max(MAX_HJ212_POLLUTANTS),
  /** CRC verdict and the algorithm variant that matched (or was tried last). */
  crc: z.strictObject({
    ok: z.boolean(),
    variant: z.string().regex(HJ212_CRC_VARIANT, 'want 1-32 characters of [A-Za-z0-9._-]'),
  }),
  /** Packet `Flag=` as an integer 0–255. */
  flag: z.int().min(0).max(MAX_HJ212_FLAG).optional(),
  /** Protocol version: the 6 version bits of `Flag` (`Flag >> 2`): 0 = HJ/T 212-2005, 1 = HJ 212-2017. */
  version: z.int().min(0).max(MAX_HJ212_VERSION).optional(),
  /** Total packets (`PNUM=`) of a split upload, as text. */
  pnum: z.string().regex(HJ212_DIGITS_8, 'want 1-8 ASCII digits').optional(),
  /** This packet's number (`PNO=`) in a split upload, as text. */
  pno: z.string().regex(HJ212_DIGITS_8, 'want 1-8 ASCII digits').optional(),
  /** Remote address the packet came from, `host:port` or `[v6]:port`. */
  peer: z.string().regex(HJ212_PEER, 'want 1-64 characters of [A-Za-z0-9.:[]%_-]').optional(),
  /** Version of the parser that produced these fields, e.g. `guzheng-hj212/0.1.0`. */
  parserVersion: z.string().regex(HJ212_PARSER_VERSION, 'want 1-64 characters of [A-Za-z0-9._+/@-]'),
  /** How the packet deviates from HJ 212-2017, as codes (e.g. `no-qn`, `segment-over-1024`); absent when it does not. */
  warnings: z
    .array(z.string().regex(HJ212_WARNING, 'want 1-40 characters of [a-z0-9-]'))
    .min(MIN_HJ212_WARNINGS)
    .max(MAX_HJ212_WARNINGS)
    .optional(),
});

/** Metadata of an `hj212` entry. */
export type Hj212Meta = z.infer<typeof hj212MetaSchema>;
