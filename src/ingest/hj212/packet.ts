/**
 * From a received frame to what the gateway anchors and answers. Pure: no `node:*`, no Buffer,
 * no clock. {@link inspectFrame} checks the CRC (the standard's first, then the device's
 * configured legacy variants), parses the segment, builds the `hj212` entry metadata (which always
 * validates: a field the packet spells in a way the schema does not admit is left out, with a
 * warning) and the reply to send once the packet is durably anchored:
 *
 * - `CN=9014` (data answer) to a packet whose CRC verified and whose Flag has A = 1;
 * - `CN=9013` (notify answer) to a notification from the field (`CN=1013`) whose CRC verified;
 * - nothing to answers from the field (`CN=9011`…`9014`), and nothing on a CRC failure, so the
 *   device sends the packet again.
 *
 * A reply echoes the packet's QN, PW and MN, with `ST=91`, `Flag=4` and `CP=&&&&`, and carries
 * the CRC variant the device's packet matched. See contracts-free-ledger/SPEC.md#hj-212-entries.
 */
import { HJ212_MN, MAX_HJ212_POLLUTANTS, MAX_HJ212_WARNINGS, type Hj212Meta } from '../../core/entry/hj212.js';
import { checkCrc, crcText, type CrcVariant, type CrcVerdict } from './crc.js';
import { STANDARD_SEGMENT_LIMIT, type Frame } from './frame.js';
import { dataTimeToRfc3339, decodeFlag, parseSegment, type Hj212Segment } from './parse.js';

/** The parser version recorded in every entry; bump it when the derived fields change. */
export const PARSER_VERSION = 'guzheng-hj212/0.1.0';

/** Notifications from the field that are answered with 9013. */
export const NOTIFY_CNS: ReadonlySet<string> = new Set(['1013']);
/** Answers from the field (never acknowledged). */
export const ANSWER_CNS: ReadonlySet<string> = new Set(['9011', '9012', '9013', '9014']);

const PEER = /^[A-Za-z0-9.:[\]%_-]{1,64}$/;
const encoder = new TextEncoder();

/** What {@link inspectFrame} needs besides the frame. */
export interface InspectOptions {
  /** The remote address, `host:port` or `[v6]:port` (left out of the entry if it does not fit the schema). */
  readonly peer?: string;
  /** Legacy CRC variants allowed for a device, by MN. */
  readonly legacyCrc?: ReadonlyMap<string, readonly CrcVariant[]>;
  /** Default {@link PARSER_VERSION}. */
  readonly parserVersion?: string;
}

/** A reply to send after anchoring. */
export interface Hj212Reply {
  /** `9014` (data answer) or `9013` (notify answer). */
  readonly cn: '9013' | '9014';
  /** The whole reply packet, `##` through CR LF. */
  readonly bytes: Uint8Array;
}

/** Everything the gateway needs to anchor and answer one frame. */
export interface Inspected {
  readonly segment: Hj212Segment;
  readonly crc: CrcVerdict;
  /** The entry metadata (valid under hj212MetaSchema). */
  readonly meta: Hj212Meta;
  /** The reply to send once the packet is durably anchored, if any. */
  readonly reply: Hj212Reply | undefined;
}

/**
 * encodePacket frames a data segment: `##` + 4-digit byte length + segment + CRC (4 uppercase hex
 * digits under `variant`) + CR LF. Requires: the segment's UTF-8 encoding is at most 9,999 bytes
 * (else a plain Error). See contracts-free-ledger/SPEC.md#hj-212-entries.
 *
 * @example
 * ```ts
 * encodePacket('QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&');
 * // '##0101QN=…&&1C80\r\n' as bytes
 * ```
 */
export function encodePacket(segment: string | Uint8Array, variant: CrcVariant = 'hj212'): Uint8Array {
  const seg = typeof segment === 'string' ? encoder.encode(segment) : segment;
  if (seg.length > 9999) throw new Error(`hj212: segment of ${seg.length} bytes, want at most 9999`);
  const head = encoder.encode(`##${String(seg.length).padStart(4, '0')}`);
  const tail = encoder.encode(`${crcText(seg, variant)}\r\n`);
  const out = new Uint8Array(head.length + seg.length + tail.length);
  out.set(head, 0);
  out.set(seg, head.length);
  out.set(tail, head.length + seg.length);
  return out;
}

/**
 * replySegment is the data segment of the answer to a packet, or undefined if it gets none:
 * 9013 to a verified notification, 9014 to a verified packet asking for one (Flag A = 1), never to
 * an answer (9011–9014) or a CRC failure. Requires: `crcOk` is the packet's CRC verdict.
 */
export function replySegment(seg: Hj212Segment, crcOk: boolean): { cn: '9013' | '9014'; text: string } | undefined {
  if (!crcOk || seg.cn === undefined || ANSWER_CNS.has(seg.cn)) return undefined;
  let cn: '9013' | '9014';
  if (NOTIFY_CNS.has(seg.cn)) cn = '9013';
  else if (seg.flag !== undefined && decodeFlag(seg.flag).ack) cn = '9014';
  else return undefined;
  const parts: string[] = [];
  if (seg.qn !== undefined) parts.push(`QN=${seg.qn}`);
  parts.push('ST=91', `CN=${cn}`);
  if (seg.pw !== undefined) parts.push(`PW=${seg.pw}`);
  if (seg.mn !== undefined) parts.push(`MN=${seg.mn}`);
  parts.push('Flag=4', 'CP=&&&&');
  return { cn, text: parts.join(';') };
}

/**
 * buildMeta derives `hj212` entry metadata from a parsed segment and its CRC verdict. Requires:
 * `seg` from {@link parseSegment}; `extraWarnings` are framing warnings (`no-crlf`,
 * `segment-over-1024`). Never throws; the result always satisfies hj212MetaSchema.
 * See contracts-free-ledger/SPEC.md#hj-212-entries.
 */
export function buildMeta(seg: Hj212Segment, crc: CrcVerdict, options: InspectOptions = {}, extraWarnings: readonly string[] = []): Hj212Meta {
  const warnings = new Set<string>([...extraWarnings, ...seg.warnings]);
  for (const v of crc.wouldMatch) warnings.add(`crc-would-match-${v}`);
  const pick = (value: string | undefined, re: RegExp, name: string): string | undefined => {
    if (value === undefined) return undefined;
    if (re.test(value)) return value;
    warnings.add(`${name}-unlisted`);
    return undefined;
  };
  const mn = pick(seg.mn, HJ212_MN, 'mn');
  const st = pick(seg.st, /^[A-Za-z0-9]{1,8}$/, 'st');
  const cn = pick(seg.cn, /^[0-9]{1,8}$/, 'cn');
  const qn = pick(seg.qn, /^[0-9]{1,32}$/, 'qn');
  const pnum = pick(seg.pnum, /^[0-9]{1,8}$/, 'pnum');
  const pno = pick(seg.pno, /^[0-9]{1,8}$/, 'pno');
  const dataTime = dataTimeToRfc3339(seg.dataTime);
  let pollutants = seg.pollutants;
  if (pollutants.length > MAX_HJ212_POLLUTANTS) {
    pollutants = pollutants.slice(0, MAX_HJ212_POLLUTANTS);
    warnings.add('pollutants-truncated');
  }
  const peer = options.peer !== undefined && PEER.test(options.peer) ? options.peer : undefined;
  let list = [...warnings].filter((w) => /^[a-z0-9-]{1,40}$/.test(w));
  if (list.length > MAX_HJ212_WARNINGS) list = [...list.slice(0, MAX_HJ212_WARNINGS - 1), 'more-warnings'];
  const meta: Hj212Meta = {
    ...(mn !== undefined ? { mn } : {}),
    ...(st !== undefined ? { st } : {}),
    ...(cn !== undefined ? { cn } : {}),
    ...(qn !== undefined ? { qn } : {}),
    ...(dataTime !== undefined ? { dataTime } : {}),
    pollutants: [...pollutants],
    crc: { ok: crc.ok, variant: crc.variant },
    ...(seg.flag !== undefined ? { flag: seg.flag, version: decodeFlag(seg.flag).version } : {}),
    ...(pnum !== undefined ? { pnum } : {}),
    ...(pno !== undefined ? { pno } : {}),
    ...(peer !== undefined ? { peer } : {}),
    parserVersion: options.parserVersion ?? PARSER_VERSION,
    ...(list.length > 0 ? { warnings: list } : {}),
  };
  return meta;
}

/**
 * inspectFrame checks, parses and describes one frame: its CRC verdict (HJ 212 Appendix A first,
 * then the legacy variants configured for its MN), its entry metadata, and the reply to send once
 * it is anchored. Requires: `frame` from {@link Hj212Framer}. Never throws.
 * See contracts-free-ledger/SPEC.md#hj-212-entries.
 */
export function inspectFrame(frame: Frame, options: InspectOptions = {}): Inspected {
  const segment = parseSegment(frame.segment);
  const legacy = segment.mn === undefined ? undefined : options.legacyCrc?.get(segment.mn);
  const crc = checkCrc(frame.segment, frame.crc, legacy ?? []);
  const framing: string[] = [];
  if (!frame.terminated) framing.push('no-crlf');
  if (frame.segment.length > STANDARD_SEGMENT_LIMIT) framing.push('segment-over-1024');
  const meta = buildMeta(segment, crc, options, framing);
  const r = replySegment(segment, crc.ok);
  // An echo too long to frame (only a crafted packet) gets no reply.
  const text = r === undefined ? undefined : encoder.encode(r.text);
  const reply = r === undefined || text === undefined || text.length > 9999 ? undefined : { cn: r.cn, bytes: encodePacket(text, crc.variant) };
  return { segment, crc, meta, reply };
}
