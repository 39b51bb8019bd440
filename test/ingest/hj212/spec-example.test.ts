/**
 * Keeps the HJ 212 section of contracts-free-ledger/SPEC.md true: its example packet, digest,
 * answer and entry are what the code produces, and every warning code the code can emit is
 * documented there.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestBytes, encodeEntry, newEntry } from '../../../src/core/entry/index.js';
import { Hj212Framer, type Frame } from '../../../src/ingest/hj212/frame.js';
import { inspectFrame } from '../../../src/ingest/hj212/packet.js';
import { dec, enc, STANDARD_EXAMPLE_PACKET } from './helpers.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const spec = readFileSync(join(ROOT, 'contracts-free-ledger', 'SPEC.md'), 'utf8');
const start = spec.indexOf('\n## HJ 212 entries\n');
const section = spec.slice(start, spec.indexOf('\n## ', start + 1));
const blocks = [...section.matchAll(/```\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

describe('SPEC.md: HJ 212 entries', () => {
  const [frame] = new Hj212Framer().push(enc(STANDARD_EXAMPLE_PACKET)) as Frame[];
  const inspected = inspectFrame(frame!, { peer: '192.0.2.10:50212' });

  it('has the section', () => {
    expect(start).toBeGreaterThan(0);
  });

  it('quotes the example packet, its digest, its answer and its entry exactly', () => {
    expect(blocks).toContain(STANDARD_EXAMPLE_PACKET.replace('\r\n', '\n'));
    const digest = createHash('sha256').update(STANDARD_EXAMPLE_PACKET).digest('hex');
    expect(digestBytes(frame!.raw).hex).toBe(digest);
    expect(blocks).toContain(`SHA-256(raw packet) = ${digest}\n`);
    expect(section).toContain(`(101-byte segment,\nCRC \`1C80\`, with CR LF; ${frame!.raw.length} bytes in all)`);
    expect(blocks).toContain(dec(inspected.reply!.bytes).replace('\r\n', '\n'));
    const entry = newEntry({ type: 'hj212', digest: digestBytes(frame!.raw), meta: inspected.meta, submitter: 'gateway-hj212', receivedAt: '2026-03-01T00:00:02.500Z' });
    expect(blocks).toContain(dec(encodeEntry(entry)) + '\n');
  });

  it('documents every warning code the code can emit', () => {
    const dir = join(ROOT, 'src', 'ingest', 'hj212');
    const emitted = new Set<string>();
    for (const name of readdirSync(dir)) {
      const src = readFileSync(join(dir, name), 'utf8');
      for (const m of src.matchAll(/(?:warnings\.add|framing\.push)\('([a-z0-9-]+)'\)/g)) emitted.add(m[1]!);
    }
    for (const f of ['mn', 'st', 'cn', 'qn', 'pnum', 'pno']) emitted.add(`${f}-unlisted`);
    for (const v of ['modbus', 'modbus-swapped']) emitted.add(`crc-would-match-${v}`);
    emitted.add('more-warnings');
    expect(emitted.size).toBeGreaterThan(25);
    const documented = new Set([...section.matchAll(/`([a-z0-9]+(?:-[a-z0-9]+)+)`/g)].map((m) => m[1]!));
    expect([...emitted].filter((w) => !documented.has(w))).toEqual([]);
  });
});
