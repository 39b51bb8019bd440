import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Hj212Framer, type Frame, type FrameEvent } from '../../../src/ingest/hj212/frame.js';
import { dec, enc, frameText, STANDARD_EXAMPLE_PACKET, STANDARD_EXAMPLE_SEGMENT, upload } from './helpers.js';

const frames = (events: readonly FrameEvent[]): Frame[] => events.filter((e): e is Frame => e.kind === 'frame');
const garbage = (events: readonly FrameEvent[]): number => events.reduce((n, e) => n + (e.kind === 'garbage' ? e.bytes : 0), 0);

/** Feed `data` in the given chunks, then flush; return every event. */
function run(data: Uint8Array, cuts: number[] = [], o: { maxSegmentBytes?: number } = {}): FrameEvent[] {
  const f = new Hj212Framer(o);
  const out: FrameEvent[] = [];
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    out.push(...f.push(data.subarray(at, c)));
    at = c;
  }
  out.push(...f.push(data.subarray(at)));
  out.push(...f.flush());
  expect(f.buffered).toBe(0);
  return out;
}

describe('Hj212Framer', () => {
  it("frames the standard's example: the raw bytes are exactly what was sent", () => {
    const events = run(enc(STANDARD_EXAMPLE_PACKET));
    expect(events).toHaveLength(1);
    const [f] = frames(events);
    expect(dec(f!.raw)).toBe(STANDARD_EXAMPLE_PACKET);
    expect(dec(f!.segment)).toBe(STANDARD_EXAMPLE_SEGMENT);
    expect(f!.crc).toBe('1C80');
    expect(f!.terminated).toBe(true);
  });

  it('counts the length in UTF-8 bytes, not characters', () => {
    const seg = 'QN=20260301080000001;ST=32;CN=3019;PW=123456;MN=A1;Flag=4;CP=&&DataTime=20260301080000;i13004-Info=衡水市桃城区&&';
    const text = frameText(seg);
    expect(text.slice(2, 6)).toBe(String(enc(seg).length).padStart(4, '0'));
    const [f] = frames(run(enc(text)));
    expect(dec(f!.segment)).toBe(seg);
  });

  it('does not require CR LF after the last packet, and holds a frame until it knows', () => {
    const text = frameText(STANDARD_EXAMPLE_SEGMENT, 'hj212', { crlf: false });
    const f = new Hj212Framer();
    expect(f.push(enc(text))).toEqual([]);
    expect(f.pending).toBe(true);
    const [fr] = frames(f.flush());
    expect(fr).toMatchObject({ terminated: false, crc: '1C80' });
    expect(dec(fr!.raw)).toBe(text);
    expect(f.pending).toBe(false);
  });

  it('takes a frame without CR LF when the next frame follows at once', () => {
    const a = frameText(upload(1), 'hj212', { crlf: false });
    const b = frameText(upload(2));
    const out = frames(run(enc(a + b)));
    expect(out.map((f) => [dec(f.raw), f.terminated])).toEqual([
      [a, false],
      [b, true],
    ]);
  });

  it('waits for the LF after a CR, and takes a lone CR as garbage', () => {
    const text = frameText(upload(1), 'hj212', { crlf: false });
    const f = new Hj212Framer();
    expect(f.push(enc(text + '\r'))).toEqual([]);
    expect(f.pending).toBe(true);
    const [fr] = frames(f.push(enc('\n')));
    expect(fr?.terminated).toBe(true);
    const g = new Hj212Framer();
    g.push(enc(text + '\r'));
    const events = g.push(enc('x' + frameText(upload(2))));
    expect(frames(events).map((e) => e.terminated)).toEqual([false, true]);
    expect(garbage(events)).toBe(2);
  });

  it('skips garbage before, between and after frames, and resynchronises on the next ##', () => {
    const a = frameText(upload(1));
    const b = frameText(upload(2));
    const c = frameText(upload(3));
    const junk = ['noise\r\n', '#', '##', '##01', '##abcd', '###', '\x00\xff', '##9999', 'AT+CSQ\r\n'];
    const stream = junk[0] + a + junk[1] + junk[2] + junk[3] + b + junk[4] + junk[5] + junk[6] + c + junk[8];
    const events = run(enc(stream));
    expect(frames(events).map((f) => dec(f.raw))).toEqual([a, b, c]);
    expect(garbage(events) + [a, b, c].reduce((n, x) => n + enc(x).length, 0)).toBe(enc(stream).length);
  });

  it('resynchronises at once on a bogus header whose segment would swallow later frames', () => {
    // "##9999" in garbage claims 9,999 bytes; the CR LF of the next frame proves it bogus.
    const a = frameText(upload(1));
    const f = new Hj212Framer();
    const events = f.push(enc('##9999' + a));
    expect(frames(events).map((e) => dec(e.raw))).toEqual([a]);
    expect(events[0]).toEqual({ kind: 'garbage', bytes: 1, reason: 'crlf-in-segment' });
    expect(garbage(events)).toBe(6);
    expect(f.buffered).toBe(0);
  });

  it('caps the declared length', () => {
    const a = frameText(upload(1));
    const events = run(enc(a + a), [], { maxSegmentBytes: 100 });
    expect(frames(events)).toEqual([]);
    expect(events.some((e) => e.kind === 'garbage' && e.reason === 'too-long')).toBe(true);
    expect(frames(run(enc(a + a), [], { maxSegmentBytes: enc(upload(1)).length }))).toHaveLength(2);
    expect(() => new Hj212Framer({ maxSegmentBytes: 10_000 })).toThrow(/maxSegmentBytes/);
    expect(() => new Hj212Framer({ maxSegmentBytes: 0 })).toThrow(/maxSegmentBytes/);
  });

  it('accepts segments above the 1,024-byte standard limit (the gateway warns)', () => {
    const cp = Array.from({ length: 60 }, (_, i) => `a${String(21000 + i)}-Rtd=${i}.0,a${String(21000 + i)}-Flag=N`).join(';');
    const seg = upload(1, { cp: `DataTime=20260301080000;${cp}` });
    expect(enc(seg).length).toBeGreaterThan(1024);
    const [f] = frames(run(enc(frameText(seg))));
    expect(f!.segment.length).toBe(enc(seg).length);
  });

  it('accepts an empty data segment', () => {
    const [f] = frames(run(enc('##0000FFFF\r\n')));
    expect(f).toMatchObject({ crc: 'FFFF', terminated: true });
    expect(f!.segment.length).toBe(0);
  });

  it('refuses a CRC field that is not 4 hex digits, and a truncated frame at the end', () => {
    const bad = frameText(upload(1), 'hj212', { crc: 'XYZW' });
    const a = frameText(upload(2));
    const events = run(enc(bad + a + a.slice(0, 40)));
    expect(frames(events).map((f) => dec(f.raw))).toEqual([a]);
    expect(events.some((e) => e.kind === 'garbage' && e.reason === 'bad-crc-field')).toBe(true);
    expect(garbage(events)).toBe(enc(bad).length + 40);
  });

  it('gives the same frames however the stream is cut into chunks', () => {
    const parts = [
      frameText(upload(1)),
      'junk##12#',
      frameText(upload(2), 'hj212', { crlf: false }),
      frameText(upload(3, { cp: 'DataTime=20260301080000;i13004-Info=监测点' })),
      '##9999',
      frameText(upload(4)),
      '\r\n',
      frameText(upload(5), 'modbus'),
    ];
    const data = enc(parts.join(''));
    const want = run(data);
    expect(frames(want)).toHaveLength(5);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 20 }), (cuts) => {
        const got = run(data, cuts);
        expect(frames(got).map((f) => [dec(f.raw), f.terminated])).toEqual(frames(want).map((f) => [dec(f.raw), f.terminated]));
        expect(garbage(got)).toBe(garbage(want));
      }),
      { numRuns: 300 },
    );
    // Byte by byte, too.
    const one = run(data, Array.from({ length: data.length }, (_, i) => i));
    expect(frames(one).map((f) => dec(f.raw))).toEqual(frames(want).map((f) => dec(f.raw)));
  });

  it('never loses or invents bytes: frames plus garbage add up to the input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(frameText(upload(7)), '##', '#', '\r\n', '##0010', '##0002ab'), fc.string({ maxLength: 12 })), { maxLength: 12 }),
        (pieces) => {
          const data = enc(pieces.join(''));
          const events = run(data);
          const framed = frames(events).reduce((n, f) => n + f.raw.length, 0);
          expect(framed + garbage(events)).toBe(data.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
