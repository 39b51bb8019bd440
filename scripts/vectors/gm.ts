/**
 * The 国密 (`gm`) vectors (SPEC.md#crypto-suites, #vectors): SM3 known answers of GB/T 32905 and
 * of the RFC 6962 tree with SM3, the SM2 signature example of GB/T 32918.5, a gm checkpoint and
 * verifier keys, and gm receipts with mutations. Deterministic like every family: fixed keys, and
 * SM2 signatures whose nonces are derived from the key and the message (src/core/crypto-gm.ts).
 *
 * `buildGmLog` is also the fixture of the gm tests (OpenSSL interoperability, the court page, the
 * certificate), so what the vectors state is what those tests check.
 */
import { fromHex, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { sha256 } from '../../src/core/crypto.js';
import { SM2_DEFAULT_ID, sm2Digest, sm2PublicKey, sm2SignWithNonce, sm2Verify, sm3 } from '../../src/core/crypto-gm.js';
import { digestBytes, digestRecord, newEntry } from '../../src/core/entry/index.js';
import { CompactRange } from '../../src/core/merkle/index.js';
import { generateSignerKey, openNote, parseVerifierKey, signNote, SM2_KEY_TYPE } from '../../src/core/note.js';
import { GM } from '../../src/core/suite.js';
import type { Receipt } from '../../src/core/receipt.js';
import { verifyReceipt, type VerificationReport } from '../../src/verifier/index.js';
import { GM_KEYS, GM_ORIGIN, MiniLog, content as testContent } from './mini-log.js';
import { outcomeOf, type VectorSet } from './write.js';

/** The gm example document: an inspection record PDF stand-in. */
export const GM_DOCUMENT = utf8('%PDF-1.7\n% 现场检查笔录（国密日志） 衡环罚〔2026〕12号\n%%EOF\n');
/** The gm example monitoring record; its digest is SM3 of its RFC 8785 form. */
export const GM_RECORD = { station: 'HS-AQ-0001', pollutant: 'a34004', value: '35.2', unit: 'μg/m³', time: '2026-03-01T08:00:00+08:00' };
/** An Ed25519 key with the gm log's name: another key, whatever its name says. */
export const GM_ORIGIN_ED25519 = generateSignerKey(GM_ORIGIN, new Uint8Array(32).fill(7));

/**
 * buildGmLog builds the gm example log (GM_KEYS): genesis; a block sealing a record (entry 0),
 * the example document (entry 1) and a digest (entry 2); a block sealing four test documents
 * (entries 3 to 6). Seven leaves, so the tree has a perfect left subtree of four and a ragged right
 * edge, and the receipt of entry 1 needs a block-consistency proof (block 1 seals size 3, the
 * checkpoint is of size 7).
 */
export function buildGmLog(): MiniLog {
  const log = new MiniLog(GM_KEYS.signerKey, GM_KEYS.verifierKey, GM_ORIGIN);
  log.clock = Date.parse('2026-03-01T00:00:00.000Z');
  log.publish();
  log.appendEntry(newEntry({ type: 'record', digest: digestRecord(GM_RECORD, 'sm3'), meta: { source: 'HS-AQ-0001', dataTime: '2026-03-01T08:00:00+08:00' }, submitter: 'station-gw', receivedAt: log.now() }));
  log.appendEntry(
    newEntry({
      type: 'document',
      digest: digestBytes(GM_DOCUMENT, 'sm3'),
      meta: { name: '现场检查笔录.pdf', mediaType: 'application/pdf', size: GM_DOCUMENT.length, caseId: '衡环罚〔2026〕12号' },
      submitter: 'officer-01',
      receivedAt: log.now(),
    }),
  );
  log.appendEntry(newEntry({ type: 'digest', digest: digestBytes(utf8('photo bytes'), 'sm3'), meta: { name: 'IMG_0001.jpg', mediaType: 'image/jpeg', caseId: '衡环罚〔2026〕12号' }, submitter: 'officer-01', receivedAt: log.now() }));
  log.publish();
  for (let i = 0; i < 4; i++) log.appendDocument(testContent(i));
  log.publish();
  return log;
}

/** GB/T 32905-2016 Appendix A: the two examples, as the standard prints their digests. */
const SM3_EXAMPLES: ReadonlyArray<{ message: string; sm3: string }> = [
  { message: 'abc', sm3: '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0' },
  { message: 'abcd'.repeat(16), sm3: 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732' },
];

/**
 * GB/T 32918.5-2017 Appendix A (GM/T 0003.5-2012): the signature example on the recommended
 * curve, with the default ID. The standard prints each value; the generator checks it reproduces
 * them before writing them down.
 */
export const GBT_32918_5_EXAMPLE = {
  d: '3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8',
  publicKey: '0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13',
  message: 'message digest',
  za: 'b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3',
  e: 'f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640',
  k: '59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21',
  r: 'f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3',
  s: 'b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa',
} as const;

/** The SM2 recommended curve's a, b and base point G (GB/T 32918.5-2017 §3), which Z_A covers. */
export const SM2_CURVE = {
  a: 'fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc',
  b: '28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93',
  xG: '32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7',
  yG: 'bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0',
} as const;

/** sm2Za returns Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2-2016 §5.5). */
export function sm2Za(publicKey: Uint8Array, id: string = SM2_DEFAULT_ID): Uint8Array {
  const idBytes = utf8(id);
  const entl = idBytes.length * 8;
  const c = SM2_CURVE;
  return sm3(Uint8Array.from([entl >> 8, entl & 0xff, ...idBytes, ...fromHex(c.a + c.b + c.xG + c.yG), ...publicKey.subarray(1)]));
}

/** The RFC 6962 reference leaves (hashing/rfc6962-roots), the first seven: a 7-leaf tree. */
const TREE_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657'];

function check(what: string, got: string, want: string): void {
  if (got !== want) throw new Error(`gm vectors: ${what}: got ${got}, want ${want}`);
}

function reportOutcome(report: VerificationReport): { wantErr: boolean; expectCode?: string; failedChecks: string[] } {
  const failed = report.checks.filter((c) => c.status === 'fail');
  return report.valid ? { wantErr: false, failedChecks: [] } : { wantErr: true, expectCode: failed[0]?.code ?? 'PROOF_INVALID', failedChecks: failed.map((c) => c.id) };
}

/** A receipt of the same entries in a log with another key: an Ed25519 key of the gm log's name. */
function ed25519SameNameReceipt(gm: MiniLog): Receipt {
  const other = new MiniLog(GM_ORIGIN_ED25519.signerKey, GM_ORIGIN_ED25519.verifierKey, GM_ORIGIN);
  other.clock = Date.parse('2026-03-01T00:00:00.000Z');
  other.publish();
  for (const e of gm.entries.slice(0, 3)) other.appendEntry(e);
  other.publish();
  for (const e of gm.entries.slice(3)) other.appendEntry(e);
  other.publish();
  return other.receipt(1n);
}

/** A gm log (GM_KEYS) whose only entry has a sha256 digest: the receipt of that entry. */
function sha256EntryReceipt(): Receipt {
  const mixed = new MiniLog(GM_KEYS.signerKey, GM_KEYS.verifierKey, GM_ORIGIN);
  mixed.clock = Date.parse('2026-03-01T00:00:00.000Z');
  mixed.publish();
  mixed.appendEntry(
    newEntry({ type: 'document', digest: digestBytes(GM_DOCUMENT, 'sha256'), meta: { name: '现场检查笔录.pdf', mediaType: 'application/pdf', size: GM_DOCUMENT.length }, submitter: 'officer-01', receivedAt: mixed.now() }),
  );
  mixed.publish();
  return mixed.receipt(0n);
}

/** generateGmVectors adds gm/**. */
export async function generateGmVectors(set: VectorSet): Promise<void> {
  // --- SM3 (GB/T 32905) and the SM3 tree ---
  set.add('gm/hashing/sm3-gbt32905', {
    desc: 'GB/T 32905-2016 Appendix A examples 1 and 2: sm3 = SM3(UTF-8(message))',
    examples: SM3_EXAMPLES.map((x) => {
      check(`SM3(${x.message})`, toHex(sm3(utf8(x.message))), x.sm3);
      return { message: x.message, sm3: x.sm3 };
    }),
    wantErr: false,
  });
  const range = CompactRange.empty(GM.tree);
  const leafHashes: string[] = [];
  const roots = [toHex(range.root())];
  for (const l of TREE_LEAVES) {
    const h = GM.tree.hashLeaf(fromHex(l));
    leafHashes.push(toHex(h));
    range.append(h);
    roots.push(toHex(range.root()));
  }
  const [l0, l1] = [fromHex(leafHashes[0]!, 32), fromHex(leafHashes[1]!, 32)];
  set.add('gm/hashing/sm3-tree', {
    desc: 'the RFC 6962 tree with SM3 (gm logs): emptyRoot = SM3(""); leafHash[i] = SM3(0x00 || leaf[i]); node = SM3(0x01 || left || right); roots[n] = MTH of the first n leaves, n = 0..7 (roots[7]: a 7-leaf tree)',
    emptyRoot: toHex(GM.tree.emptyRoot()),
    leaves: TREE_LEAVES,
    leafHashes,
    node: { left: leafHashes[0], right: leafHashes[1], hash: toHex(GM.tree.hashChildren(l0, l1)) },
    roots,
    wantErr: false,
  });

  // --- SM2 (GB/T 32918.5 Appendix A) ---
  const x = GBT_32918_5_EXAMPLE;
  const d = fromHex(x.d, 32);
  const pub = sm2PublicKey(d);
  check('example public key', toHex(pub), x.publicKey);
  check('example Z_A', toHex(sm2Za(pub)), x.za);
  check('example e = SM3(Z_A || M)', toHex(sm3(Uint8Array.from([...fromHex(x.za), ...utf8(x.message)]))), x.e);
  check('example e', toHex(sm2Digest(pub, utf8(x.message))), x.e);
  const sig = sm2SignWithNonce(d, utf8(x.message), BigInt(`0x${x.k}`));
  check('example signature', toHex(sig), x.r + x.s);
  set.add('gm/sm2/gbt32918-5-example', {
    desc: 'GB/T 32918.5-2017 Appendix A signature example with ID 1234567812345678: publicKey = [d]G; za = SM3(ENTL || ID || a || b || xG || yG || xA || yA); e = SM3(za || message); signature = r || s with nonce k; it verifies',
    id: SM2_DEFAULT_ID,
    privateKey: x.d,
    publicKey: x.publicKey,
    message: x.message,
    za: x.za,
    e: x.e,
    k: x.k,
    signature: x.r + x.s,
    wantErr: false,
  });
  const changed = `${x.message.slice(0, -1)}T`;
  if (sm2Verify(pub, utf8(changed), sig)) throw new Error('gm vectors: the example signature verifies a changed message');
  set.add('gm/sm2/gbt32918-5-example-message-changed', {
    desc: 'the GB/T 32918.5 example signature over a message with its last character changed: must not verify',
    id: SM2_DEFAULT_ID,
    publicKey: x.publicKey,
    message: changed,
    signature: x.r + x.s,
    wantErr: true,
    expectCode: 'SIGNATURE_INVALID',
  });

  // --- a gm checkpoint and its verifier key ---
  const log = buildGmLog();
  const latest = log.blocks.at(-1)!;
  const note = latest.checkpoint;
  const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
  const cp = { origin: GM_ORIGIN, size: latest.first + latest.count, root: log.range.root() };
  const addCheckpoint = (name: string, desc: string, n: string, verifierKey: string, mustFail: boolean) => {
    const got = outcomeOf(() => openNote(n, [verifierKey]));
    if (got.wantErr !== mustFail) throw new Error(`gm checkpoint vector ${name}: note opener disagrees (${JSON.stringify(got)})`);
    set.add(`gm/checkpoint/${name}`, { desc, verifierKey, note: n, ...(mustFail ? {} : { origin: cp.origin, size: cp.size.toString(), rootHash: toHex(cp.root) }), ...got });
  };
  addCheckpoint('valid', 'a gm log checkpoint (SM3 root) signed by its SM2 key', note, GM_KEYS.verifierKey, false);
  addCheckpoint('text-modified', 'the tree size changed after signing', note.replace(`\n${cp.size}\n`, `\n${cp.size + 1n}\n`), GM_KEYS.verifierKey, true);
  addCheckpoint('signed-by-ed25519-key-of-same-name', 'the same text signed by an Ed25519 key with the log name: another key, not verified', signNote(text, [GM_ORIGIN_ED25519.signerKey]), GM_KEYS.verifierKey, true);
  addCheckpoint('opened-with-ed25519-key-of-same-name', 'the gm checkpoint opened with an Ed25519 key of the same name pinned', note, GM_ORIGIN_ED25519.verifierKey, true);

  const addKey = (name: string, desc: string, key: string, mustFail: boolean) => {
    const got = outcomeOf(() => parseVerifierKey(key));
    if (got.wantErr !== mustFail) throw new Error(`gm key vector ${name}: parser disagrees (${key})`);
    set.add(`gm/verifier-key/${name}`, { desc, verifierKey: key, ...got });
  };
  const vpub = parseVerifierKey(GM_KEYS.verifierKey).publicKey;
  const keyData = (p: Uint8Array) => toBase64(Uint8Array.from([...SM2_KEY_TYPE, ...p]));
  const keyId = (h: (b: Uint8Array) => Uint8Array, p: Uint8Array) => toHex(h(Uint8Array.from([...utf8(GM_ORIGIN), 0x0a, ...SM2_KEY_TYPE, ...p])).subarray(0, 4));
  addKey('valid', 'the gm log key: type 0xff "guzheng/sm2-sm3", a 65-byte SM2 point, an SM3 key id', GM_KEYS.verifierKey, false);
  addKey('sha256-key-id', 'the key id computed with SHA-256 instead of SM3 (a gm key id is SM3)', `${GM_ORIGIN}+${keyId(sha256, vpub)}+${keyData(vpub)}`, true);
  const offCurve = vpub.slice();
  offCurve[64]! ^= 1;
  addKey('point-not-on-curve', 'the last byte of y changed (key id recomputed): not a point on the SM2 curve', `${GM_ORIGIN}+${keyId(sm3, offCurve)}+${keyData(offCurve)}`, true);
  const compressed = Uint8Array.from([2 + ((vpub[64] as number) & 1), ...vpub.subarray(1, 33)]);
  addKey('compressed-point', 'the point in compressed form (33 bytes; key id recomputed): only the uncompressed 65-byte form is accepted', `${GM_ORIGIN}+${keyId(sm3, compressed)}+${keyData(compressed)}`, true);

  // --- gm receipts ---
  const trustedKey = GM_KEYS.verifierKey;
  const receipt = log.receipt(1n);
  const addReceipt = async (name: string, desc: string, r: unknown, mustFail: boolean, o: { file?: Uint8Array; key?: string } = {}) => {
    const key = o.key ?? trustedKey;
    const report = await verifyReceipt(r, { trustedKeys: [key], ...(o.file ? { content: { bytes: o.file } } : {}) });
    const got = reportOutcome(report);
    if (got.wantErr !== mustFail) throw new Error(`gm receipt vector ${name}: verifier disagrees (${JSON.stringify(got)})`);
    set.add(`gm/receipt/${name}`, { desc, trustedKey: key, receipt: r, ...(o.file ? { contentBase64: toBase64(o.file) } : {}), ...got });
  };
  const flipped = GM_DOCUMENT.slice();
  flipped[flipped.length - 2]! ^= 1;
  const flipHex = (h: string) => (h[5] === '0' ? `${h.slice(0, 5)}1${h.slice(6)}` : `${h.slice(0, 5)}0${h.slice(6)}`);
  await addReceipt('valid', 'the receipt of the example document in the gm log (SM3 tree, SM2 checkpoint), without the file', receipt, false);
  await addReceipt('valid-with-file', 'the receipt with the original file (its sm3 digest matches)', receipt, false, { file: GM_DOCUMENT });
  await addReceipt('file-one-byte-changed', 'the file with one byte changed', receipt, true, { file: flipped });
  await addReceipt('entry-edited', 'entry metadata edited (leaf hash kept)', { ...receipt, entry: { ...receipt.entry, submitter: 'officer-02' } }, true);
  await addReceipt('modified-proof', 'inclusionProof[0] with one hex digit changed', { ...receipt, inclusionProof: receipt.inclusionProof.map((h, i) => (i === 0 ? flipHex(h) : h)) }, true);
  await addReceipt('other-key-ed25519-same-name', 'the same entries in a log signed by an Ed25519 key with the gm log name, verified with the gm key pinned', ed25519SameNameReceipt(log), true);
  await addReceipt('sha256-entry-in-gm-log', 'a gm log (SM2 key) whose entry has a sha256 digest: a gm log has sm3 digests only', sha256EntryReceipt(), true);
  await addReceipt('verified-with-c2sp-key', 'the gm receipt verified with an Ed25519 (c2sp) key of the same name pinned', receipt, true, { key: GM_ORIGIN_ED25519.verifierKey });
  await addReceipt('block-time-changed', 'block.time moved back to 2020 (the signed block header says otherwise)', { ...receipt, block: { ...receipt.block, time: '2020-01-01T00:00:00.000Z' } }, true);
}
