/**
 * HJ 212 framing over a byte stream. Pure: no `node:*`, no Buffer, no clock.
 *
 * A frame is `##` + 4 decimal digits (the data segment's length in bytes) + the data segment + 4
 * hex digits (the CRC) + CR LF. The framer:
 *
 * - skips anything before `##` (garbage) and resynchronises on the next `##` when a header, a
 *   length or a CRC field is malformed;
 * - refuses declared lengths above `maxSegmentBytes` (at most 9,999, the 4-digit maximum);
 * - refuses a segment that contains CR LF: a frame never does, so a header that claims one is
 *   bogus (e.g. `##` inside garbage), and the framer resynchronises at once instead of waiting
 *   for thousands of bytes that belong to later packets;
 * - does not require the final CR LF: a frame followed by anything else, or by the end of the
 *   stream ({@link Hj212Framer.flush}), is emitted without it.
 *
 * The raw bytes of a frame are exactly the bytes received from `##` through the CRC and, when
 * present, the CR LF. The events do not depend on how the stream was cut into chunks (until
 * `flush` is called). See contracts-free-ledger/SPEC.md#hj-212-entries.
 */

/** The largest length 4 decimal digits can declare. */
export const MAX_DECLARED_LENGTH = 9999;
/** The standard's limit on a data segment (HJ 212-2017 Table 2); larger segments only warn. */
export const STANDARD_SEGMENT_LIMIT = 1024;

const HASH = 0x23; // '#'
const CR = 0x0d;
const LF = 0x0a;

/** A complete frame. */
export interface Frame {
  readonly kind: 'frame';
  /** The exact bytes received: `##` through the CRC, plus CR LF when it was there. */
  readonly raw: Uint8Array;
  /** The data segment (a view into `raw`). */
  readonly segment: Uint8Array;
  /** The 4 CRC characters as sent (hex digits, any case). */
  readonly crc: string;
  /** Whether the frame ended with CR LF. */
  readonly terminated: boolean;
}

/** Why bytes were skipped. */
export type GarbageReason = 'no-header' | 'bad-length' | 'too-long' | 'bad-crc-field' | 'crlf-in-segment';

/** Bytes skipped while looking for a frame. */
export interface Garbage {
  readonly kind: 'garbage';
  readonly bytes: number;
  readonly reason: GarbageReason;
}

/** What the framer reports, in stream order. */
export type FrameEvent = Frame | Garbage;

/** Framer options. */
export interface FramerOptions {
  /** Largest declared data-segment length accepted (1..9999). Default 9999. */
  readonly maxSegmentBytes?: number;
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

function isHex(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

/**
 * Hj212Framer cuts a TCP byte stream into frames. Feed it with {@link push}; call {@link flush}
 * when the stream ends (or has been quiet long enough) to release a frame still waiting to see
 * whether CR LF follows. Requires: `maxSegmentBytes` in 1..9999.
 */
export class Hj212Framer {
  readonly #max: number;
  /** The held bytes are `#store[0, #len)` (capacity doubles as needed, so a slow sender costs O(n)). */
  #store: Uint8Array = new Uint8Array(0);
  #len = 0;
  /** How far (from its start) the held candidate frame's segment is known to be free of CR LF. */
  #checked = 0;
  #waiting = false;

  constructor(options: FramerOptions = {}) {
    const max = options.maxSegmentBytes ?? MAX_DECLARED_LENGTH;
    if (!Number.isSafeInteger(max) || max < 1 || max > MAX_DECLARED_LENGTH) throw new Error(`hj212 framer: maxSegmentBytes got ${max}, want 1..${MAX_DECLARED_LENGTH}`);
    this.#max = max;
  }

  /** Bytes held back (an incomplete frame or a trailing `#`). */
  get buffered(): number {
    return this.#len;
  }

  /** Whether a complete frame is held back waiting to see if CR LF follows. */
  get pending(): boolean {
    return this.#waiting;
  }

  /** push adds received bytes and returns every event they complete. */
  push(chunk: Uint8Array): FrameEvent[] {
    if (chunk.length > 0) {
      const need = this.#len + chunk.length;
      if (need > this.#store.length) {
        const next = new Uint8Array(Math.max(need, 2 * this.#store.length, 256));
        next.set(this.#store.subarray(0, this.#len), 0);
        this.#store = next;
      }
      this.#store.set(chunk, this.#len);
      this.#len = need;
    }
    return this.#scan(false);
  }

  /**
   * flush ends the stream: a complete frame still waiting for its CR LF is emitted without it,
   * and whatever else is buffered is reported as garbage. The framer is then empty.
   */
  flush(): FrameEvent[] {
    return this.#scan(true);
  }

  /** #scan consumes the buffer; `final`: no more bytes will come. */
  #scan(final: boolean): FrameEvent[] {
    const buf = this.#store.subarray(0, this.#len);
    const checked = this.#checked;
    this.#checked = 0;
    const out: FrameEvent[] = [];
    let pos = 0;
    let junk = 0;
    let junkReason: GarbageReason = 'no-header';
    this.#waiting = false;
    const skip = (n: number, reason: GarbageReason) => {
      if (junk > 0 && junkReason !== reason) {
        out.push({ kind: 'garbage', bytes: junk, reason: junkReason });
        junk = 0;
      }
      if (junk === 0) junkReason = reason;
      junk += n;
      pos += n;
    };
    const flushJunk = () => {
      if (junk > 0) out.push({ kind: 'garbage', bytes: junk, reason: junkReason });
      junk = 0;
    };
    for (;;) {
      // Find the next "##".
      let start = pos;
      while (start + 1 < buf.length && !(buf[start] === HASH && buf[start + 1] === HASH)) start++;
      if (start + 1 >= buf.length) {
        // No header: keep a final '#', which may be the first half of one.
        const keep = !final && buf.length > pos && buf[buf.length - 1] === HASH ? 1 : 0;
        if (buf.length - keep > pos) skip(buf.length - keep - pos, 'no-header');
        break;
      }
      if (start > pos) skip(start - pos, 'no-header');
      if (buf.length - pos < 6) {
        if (final) skip(buf.length - pos, 'bad-length');
        break;
      }
      if (!(isDigit(buf[pos + 2]) && isDigit(buf[pos + 3]) && isDigit(buf[pos + 4]) && isDigit(buf[pos + 5]))) {
        skip(1, 'bad-length');
        continue;
      }
      const length = (buf[pos + 2]! - 0x30) * 1000 + (buf[pos + 3]! - 0x30) * 100 + (buf[pos + 4]! - 0x30) * 10 + (buf[pos + 5]! - 0x30);
      if (length > this.#max) {
        skip(1, 'too-long');
        continue;
      }
      const segStart = pos + 6;
      const segEnd = segStart + length;
      // A CR LF inside the claimed segment: a bogus header, resync now (even before the rest arrives).
      // The held candidate (at 0) resumes the search where the previous scan stopped.
      const upto = Math.min(segEnd, buf.length);
      let crlf = false;
      for (let i = pos === 0 ? Math.max(segStart, checked) : segStart; i + 1 < upto; i++) {
        if (buf[i] === CR && buf[i + 1] === LF) {
          crlf = true;
          break;
        }
      }
      if (crlf) {
        skip(1, 'crlf-in-segment');
        continue;
      }
      if (buf.length < segEnd + 4) {
        if (final) {
          skip(1, 'bad-length');
          continue;
        }
        this.#checked = Math.max(segStart, upto - 1) - pos;
        break;
      }
      if (!(isHex(buf[segEnd]) && isHex(buf[segEnd + 1]) && isHex(buf[segEnd + 2]) && isHex(buf[segEnd + 3]))) {
        skip(1, 'bad-crc-field');
        continue;
      }
      // The terminator: CR LF, or (if anything else follows, or the stream ended) none.
      let end = segEnd + 4;
      let terminated = false;
      const after = buf.length - end;
      if (after >= 2 && buf[end] === CR && buf[end + 1] === LF) {
        terminated = true;
        end += 2;
      } else if (!final && (after === 0 || (after === 1 && buf[end] === CR))) {
        this.#waiting = true;
        break; // wait: CR LF may still come
      }
      flushJunk();
      const raw = buf.slice(pos, end);
      out.push({
        kind: 'frame',
        raw,
        segment: raw.subarray(6, 6 + length),
        crc: String.fromCharCode(raw[6 + length]!, raw[7 + length]!, raw[8 + length]!, raw[9 + length]!),
        terminated,
      });
      pos = end;
    }
    flushJunk();
    if (pos > 0) {
      this.#store.copyWithin(0, pos, this.#len);
      this.#len -= pos;
    }
    // Give back the memory of a large read once it is consumed (at most one frame is held).
    if (this.#store.length > 32_768 && this.#len <= 16_384) this.#store = this.#store.slice(0, Math.max(this.#len, 256));
    return out;
  }
}
