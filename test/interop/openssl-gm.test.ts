/**
 * Interoperability of the 国密 (`gm`) suite with OpenSSL 3 (Debian's /usr/bin/openssl), the tool a
 * 密评 (GB/T 39786-2021) assessor has at hand (docs/gm.md). Everything on the OpenSSL side is built
 * in test support (test/support/gm/openssl.ts) from the standards' byte layouts, never by a src/
 * helper, and checked by running the `openssl` commands docs/gm.md gives:
 *
 * - `openssl dgst -sm3` reproduces the content digests of files and of records (SM3 of the RFC
 *   8785 form), every leaf and node hash of a gm log's tree, its root as the checkpoint states it,
 *   the empty root, the SM3 key id and the block hash;
 * - `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:1234567812345678` verifies the
 *   log's SM2 checkpoint signatures under a PEM key made from the 65-byte point, and refuses them
 *   with one byte of the text changed or another ID;
 * - a signature made BY OpenSSL, with the log's key as PEM or with a key OpenSSL generated and
 *   Guzheng imported, verifies in Guzheng's openNote / openCheckpoint / verifyReceipt;
 * - OpenSSL agrees with sm2Digest on e = SM3(Z_A ‖ M): Z_A recomputed with OpenSSL's own curve
 *   parameters and `dgst -sm3`, and OpenSSL verifying signatures over the pre-hashed e;
 * - the 密评 walkthrough of docs/gm.md, run as it stands with bash on the gm vector's receipt and
 *   file, passes, and stops at the right step for a changed document, checkpoint or key.
 *
 * Without OpenSSL 3 the test fails (it never skips): Debian's `openssl` package, which the TSA
 * tests (test/support/tsa/openssl.ts) need as well.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GBT_32918_5_EXAMPLE, GM_DOCUMENT, GM_RECORD, buildGmLog } from '../../scripts/vectors/gm.js';
import { GM_KEYS, GM_ORIGIN, MiniLog, content } from '../../scripts/vectors/mini-log.js';
import { blockHash } from '../../src/core/block.js';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { openCheckpoint, formatCheckpoint } from '../../src/core/checkpoint.js';
import { sm2Digest, sm2PublicKey, sm2Sign, sm2SignWithNonce, sm3 as sm3Of } from '../../src/core/crypto-gm.js';
import { digestBytes, digestRecord, encodeEntry } from '../../src/core/entry/index.js';
import { formatSignerKey, formatVerifierKey, openNote, parseSignerKey, parseVerifierKey, signNote, SM2_KEY_TYPE } from '../../src/core/note.js';
import { GM } from '../../src/core/suite.js';
import { verifyReceipt } from '../../src/verifier/index.js';
import {
  DIST_ID,
  derToSig,
  openssl,
  opensslOk,
  opensslSm2Curve,
  opensslSm3,
  scratch,
  sigToDer,
  sm2KeyFromPkcs8Pem,
  sm2PrivateKeyPem,
  sm2PublicKeyPem,
  sm2SpkiDer,
  zaPreimage,
} from '../support/gm/openssl.js';

const tmp = scratch();
afterAll(() => tmp.cleanup());

const version = openssl(['version']);
if (version.status !== 0 || !/^OpenSSL 3\./.test(version.text)) throw new Error(`OpenSSL 3 is required at /usr/bin/openssl (apt-get install openssl): got ${version.text}${version.stderr}`);

const log = buildGmLog();
const gmPub = parseVerifierKey(GM_KEYS.verifierKey).publicKey;
const gmD = parseSignerKey(GM_KEYS.signerKey).seed;

/** The text a note signs (up to the blank line) and its one signature line's key id and r ‖ s. */
function splitSigned(note: string): { text: string; name: string; keyId: Uint8Array; rs: Uint8Array } {
  const at = note.lastIndexOf('\n\n');
  const lines = note.slice(at + 2, -1).split('\n');
  expect(lines).toHaveLength(1);
  const m = /^— (\S+) (\S+)$/.exec(lines[0] as string);
  if (m === null) throw new Error(`not a signature line: ${lines[0]}`);
  const raw = fromBase64(m[2] as string);
  expect(raw).toHaveLength(4 + 64);
  return { text: note.slice(0, at + 1), name: m[1] as string, keyId: raw.subarray(0, 4), rs: raw.subarray(4) };
}

/** `openssl pkeyutl -verify` of `sig` (DER) over the file `textFile` under `pubPem`, with `distid`. */
function pkeyutlVerify(pubPem: string, textFile: string, sigDer: Uint8Array, distid = DIST_ID) {
  const sig = tmp.file(`sig-${Math.random().toString(36).slice(2)}.der`, sigDer);
  return openssl(['pkeyutl', '-verify', '-pubin', '-inkey', pubPem, '-rawin', '-digest', 'sm3', '-pkeyopt', `distid:${distid}`, '-in', textFile, '-sigfile', sig]);
}

/** `openssl pkeyutl -sign` of the file `textFile` with the PKCS #8 key `keyPem`: a DER signature. */
function pkeyutlSign(keyPem: string, textFile: string): Uint8Array {
  return opensslOk(['pkeyutl', '-sign', '-inkey', keyPem, '-rawin', '-digest', 'sm3', '-pkeyopt', `distid:${DIST_ID}`, '-in', textFile]).stdout;
}

const gmPubPem = tmp.file('log-public.pem', sm2PublicKeyPem(gmPub));

describe('openssl dgst -sm3 reproduces a gm log’s digests and tree', () => {
  it('gives the GB/T 32905 examples, and the empty root MTH({}) = SM3("")', () => {
    expect(opensslSm3({ data: 'abc' })).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
    expect(opensslSm3({ data: 'abcd'.repeat(16) })).toBe('debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
    expect(opensslSm3({ path: tmp.file('empty', new Uint8Array(0)) })).toBe(toHex(GM.tree.emptyRoot()));
  });

  it('content digests of files: every document entry’s sm3 digest is `openssl dgst -sm3 <file>`, also for a 5 MiB file', () => {
    const doc = log.entries[1]!;
    expect(doc.digest).toEqual({ alg: 'sm3', hex: opensslSm3({ path: tmp.file('现场检查笔录.pdf', GM_DOCUMENT) }) });
    for (let i = 0; i < 4; i++) expect(log.entries[3 + i]!.digest.hex, `document ${i}`).toBe(opensslSm3({ path: tmp.file(`doc-${i}.pdf`, content(i)) }));
    // Several SM3 blocks and a tail that is not a whole block, hashed by OpenSSL from disk.
    const big = new Uint8Array(5 * 1024 * 1024 + 13).map((_, i) => (i * 31 + (i >> 11)) & 0xff);
    expect(digestBytes(big, 'sm3').hex).toBe(opensslSm3({ path: tmp.file('big.bin', big) }));
  });

  it('content digests of records: SM3 of the RFC 8785 canonical JSON, spelled out here by hand', () => {
    // Each record beside its RFC 8785 form: members sorted by UTF-16 code units, ES6 number
    // spelling (-0 → 0, 1e21 → 1e+21), only the required escapes (DEL stays raw).
    const records: Array<[unknown, string]> = [
      [GM_RECORD, '{"pollutant":"a34004","station":"HS-AQ-0001","time":"2026-03-01T08:00:00+08:00","unit":"μg/m³","value":"35.2"}'],
      [
        { z: [3, 2.5, -0, 1e21, 1e-7, 0.1], a: { 'é': 'µg/m³', '\u20ac': '\u{1F600}', b: null, t: true }, '10': 'ten', '1': 'one' },
        '{"1":"one","10":"ten","a":{"b":null,"t":true,"é":"µg/m³","€":"😀"},"z":[3,2.5,0,1e+21,1e-7,0.1]}',
      ],
      [{ escaped: 'tab\tquote"back\\slash\u0001\u007f', nested: [[[]], {}], big: 123456789012345680000 }, '{"big":123456789012345680000,"escaped":"tab\\tquote\\"back\\\\slash\\u0001\u007f","nested":[[[]],{}]}'],
    ];
    expect(log.entries[0]!.digest.hex).toBe(digestRecord(GM_RECORD, 'sm3').hex);
    for (const [r, text] of records) expect(digestRecord(r, 'sm3').hex, text).toBe(opensslSm3({ data: text }));
  });

  it('tree hashes: leaf = SM3(0x00 ‖ entry), node = SM3(0x01 ‖ l ‖ r), folded by RFC 6962 into the checkpoint’s root; the receipt’s leaf hash and proof are among them', () => {
    const leaves = log.entries.map((e, i) => opensslSm3({ path: tmp.file(`leaf-${i}.bin`, Uint8Array.from([0x00, ...encodeEntry(e)])) }));
    const nodes = new Set<string>(leaves);
    const mth = (hs: string[]): string => {
      if (hs.length === 1) return hs[0] as string;
      let k = 1;
      while (k * 2 < hs.length) k *= 2;
      const h = opensslSm3({ data: Uint8Array.from([0x01, ...fromHex(mth(hs.slice(0, k)), 32), ...fromHex(mth(hs.slice(k)), 32)]) });
      nodes.add(h);
      return h;
    };
    expect(leaves).toHaveLength(7);
    const root = mth(leaves);
    expect(root).toBe(toHex(log.range.root()));
    const { checkpoint } = openCheckpoint(log.blocks.at(-1)!.checkpoint, GM_KEYS.verifierKey);
    expect([checkpoint.size, toHex(checkpoint.root)]).toEqual([7n, root]);
    for (const i of [0n, 1n, 3n, 6n]) {
      const r = log.receipt(i);
      expect(r.leafHash, `leaf ${i}`).toBe(leaves[Number(i)]);
      for (const h of r.inclusionProof) expect(nodes, `proof of ${i}`).toContain(h);
    }
  });

  it('the key id is SM3(name ‖ 0x0A ‖ 0xff "guzheng/sm2-sm3" ‖ point)[0:4], and a block hash is SM3 of its signed checkpoint text', () => {
    const id = opensslSm3({ data: Uint8Array.from([...utf8(GM_ORIGIN), 0x0a, ...SM2_KEY_TYPE, ...gmPub]) });
    expect(GM_KEYS.verifierKey.split('+')[1]).toBe(id.slice(0, 8));
    for (const [i, b] of log.blocks.entries()) {
      const h = opensslSm3({ data: splitSigned(b.checkpoint).text });
      expect(toHex(blockHash(b, GM)), `block ${i}`).toBe(h);
      const next = log.blocks[i + 1];
      if (next) expect(toHex(next.prev)).toBe(h);
    }
  });
});

describe('openssl pkeyutl verifies the log’s SM2 checkpoint signatures', () => {
  it('the SubjectPublicKeyInfo built from the 65-byte point is what OpenSSL itself writes for that key', () => {
    const der = opensslOk(['pkey', '-pubin', '-in', gmPubPem, '-outform', 'DER']).stdout;
    expect(toHex(der)).toBe(toHex(sm2SpkiDer(gmPub)));
    expect(opensslOk(['pkey', '-pubin', '-in', gmPubPem, '-text', '-noout']).text).toMatch(/ASN1 OID: SM2/);
    // The same key written by OpenSSL from the private key built from d.
    const keyPem = tmp.file('log-key.pem', sm2PrivateKeyPem(gmD, gmPub));
    expect(opensslOk(['pkey', '-in', keyPem, '-pubout']).text).toBe(readFileSync(gmPubPem, 'utf8'));
  });

  it('verifies every block’s checkpoint, and refuses each with one byte of the text changed, or under another ID', () => {
    for (const [i, b] of log.blocks.entries()) {
      const { text, name, keyId, rs } = splitSigned(b.checkpoint);
      expect(name).toBe(GM_ORIGIN);
      expect(toHex(keyId)).toBe(GM_KEYS.verifierKey.split('+')[1]);
      const textFile = tmp.file(`checkpoint-${i}.txt`, text);
      const ok = pkeyutlVerify(gmPubPem, textFile, sigToDer(rs));
      expect([ok.status, ok.text], `block ${i}`).toEqual([0, 'Signature Verified Successfully\n']);
      // One byte of the origin, the size and the root hash line each.
      for (const at of [3, text.indexOf('\n') + 1, text.length - 5]) {
        const bad = utf8(text);
        bad[at]! ^= 0x01;
        const refused = pkeyutlVerify(gmPubPem, tmp.file(`checkpoint-${i}-${at}.txt`, bad), sigToDer(rs));
        expect([refused.status, refused.text], `block ${i} byte ${at}`).toEqual([1, 'Signature Verification Failure\n']);
      }
      expect(pkeyutlVerify(gmPubPem, textFile, sigToDer(rs), '1234567812345679').status, 'another ID').not.toBe(0);
    }
  });

  it('verifies a gm receipt’s checkpoint as an assessor would: the verifier key string → PEM → pkeyutl', () => {
    const r = log.receipt(1n);
    // The key data is everything after the key id (base64 may hold '+'): T ‖ the 65-byte point.
    const point = fromBase64(GM_KEYS.verifierKey.split('+').slice(2).join('+')).subarray(SM2_KEY_TYPE.length);
    expect(toHex(point)).toBe(toHex(gmPub));
    const { text, rs } = splitSigned(r.checkpoint);
    const ok = pkeyutlVerify(tmp.file('from-key-string.pem', sm2PublicKeyPem(point)), tmp.file('receipt-checkpoint.txt', text), sigToDer(rs));
    expect(ok.status).toBe(0);
  });
});

describe('a signature made by OpenSSL verifies in Guzheng', () => {
  const cpText = splitSigned(log.blocks.at(-1)!.checkpoint).text;

  it('with the log’s own key as a PKCS #8 PEM: the line verifies in openNote and openCheckpoint, and in a receipt', async () => {
    const keyPem = tmp.file('log-key-sign.pem', sm2PrivateKeyPem(gmD, gmPub));
    const textFile = tmp.file('to-sign.txt', cpText);
    const rs = derToSig(pkeyutlSign(keyPem, textFile));
    // OpenSSL draws a random k: another signature than Guzheng's deterministic one, as valid.
    expect(toHex(rs)).not.toBe(toHex(splitSigned(log.blocks.at(-1)!.checkpoint).rs));
    const keyId = fromHex(GM_KEYS.verifierKey.split('+')[1] as string, 4);
    const note = `${cpText}\n— ${GM_ORIGIN} ${toBase64(Uint8Array.from([...keyId, ...rs]))}\n`;
    expect(openNote(note, [GM_KEYS.verifierKey]).verified).toEqual([{ name: GM_ORIGIN, keyId: parseVerifierKey(GM_KEYS.verifierKey).keyId }]);
    const { checkpoint } = openCheckpoint(note, GM_KEYS.verifierKey);
    expect([checkpoint.size, toHex(checkpoint.root)]).toEqual([7n, toHex(log.range.root())]);
    // The same receipt with OpenSSL's checkpoint signature in place of the log's.
    const receipt = { ...log.receipt(1n), checkpoint: note };
    const report = await verifyReceipt(receipt, { trustedKeys: [GM_KEYS.verifierKey], content: { bytes: GM_DOCUMENT } });
    expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(report.valid).toBe(true);
    // One byte of the text changed under OpenSSL's signature: refused.
    expect(() => openCheckpoint(note.replace('\n7\n', '\n8\n'), GM_KEYS.verifierKey)).toThrow(expect.objectContaining({ code: 'SIGNATURE_INVALID' }));
  });

  it('with a key OpenSSL generated (genpkey SM2), imported into a Guzheng signer key: both sides verify each other’s signatures, and a log under it verifies', async () => {
    const keyPem = tmp.file('openssl-generated.pem', opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2']).text);
    const pubPem = tmp.file('openssl-generated.pub.pem', opensslOk(['pkey', '-in', keyPem, '-pubout']).text);
    const { d, point } = sm2KeyFromPkcs8Pem(readFileSync(keyPem, 'utf8'));
    expect(toHex(sm2PublicKey(d))).toBe(toHex(point));
    const name = 'openssl.example/gm-log';
    const signerKey = formatSignerKey(name, d, 'sm2');
    const verifierKey = formatVerifierKey(name, point);
    expect(toHex(parseSignerKey(signerKey).publicKey)).toBe(toHex(point));

    // OpenSSL signs a checkpoint of this log; Guzheng verifies it.
    const imported = new MiniLog(signerKey, verifierKey, name);
    imported.publish();
    for (let i = 0; i < 3; i++) imported.appendDocument(content(i));
    imported.publish();
    const text = formatCheckpoint({ origin: name, size: imported.range.size, root: imported.range.root() });
    const rs = derToSig(pkeyutlSign(keyPem, tmp.file('imported-text.txt', text)));
    const keyId = fromHex(verifierKey.split('+')[1] as string, 4);
    const note = `${text}\n— ${name} ${toBase64(Uint8Array.from([...keyId, ...rs]))}\n`;
    expect(openCheckpoint(note, verifierKey).checkpoint.size).toBe(3n);
    // Guzheng signs with the imported key; OpenSSL verifies with its own public key file.
    const signed = signNote(text, [signerKey]);
    expect(pkeyutlVerify(pubPem, tmp.file('imported-signed.txt', text), sigToDer(splitSigned(signed).rs)).status).toBe(0);
    expect(pkeyutlVerify(pubPem, tmp.file('imported-block.txt', splitSigned(imported.blocks.at(-1)!.checkpoint).text), sigToDer(splitSigned(imported.blocks.at(-1)!.checkpoint).rs)).status).toBe(0);
    const report = await verifyReceipt(imported.receipt(1n), { trustedKeys: [verifierKey], content: { bytes: content(1) } });
    expect(report.valid).toBe(true);
  });
});

describe('OpenSSL agrees with sm2Digest on e = SM3(Z_A ‖ M)', () => {
  const curve = opensslSm2Curve();

  it('Z_A recomputed from OpenSSL’s own SM2 curve parameters with `openssl dgst -sm3` gives sm2Digest’s e, for the GB/T 32918.5 example and a checkpoint', () => {
    const x = GBT_32918_5_EXAMPLE;
    const pub = fromHex(x.publicKey, 65);
    const za = opensslSm3({ data: zaPreimage(curve, pub) });
    expect(za).toBe(x.za);
    expect(opensslSm3({ data: Uint8Array.from([...fromHex(za, 32), ...utf8(x.message)]) })).toBe(x.e);
    expect(toHex(sm2Digest(pub, utf8(x.message)))).toBe(x.e);
    const text = utf8(splitSigned(log.blocks.at(-1)!.checkpoint).text);
    const zaLog = opensslSm3({ data: zaPreimage(curve, gmPub) });
    expect(opensslSm3({ data: Uint8Array.from([...fromHex(zaLog, 32), ...text]) })).toBe(toHex(sm2Digest(gmPub, text)));
  });

  it('OpenSSL verifies signatures over the pre-hashed e = sm2Digest(…): Guzheng’s, OpenSSL’s own and the standard’s; not over an e with another ID', () => {
    const text = utf8('guzheng.test/gm-log\n7\nAAAA\n');
    const eFile = tmp.file('e.bin', sm2Digest(gmPub, text));
    // Without -rawin pkeyutl takes its input as the digest e itself (no Z_A, no hashing).
    const prehashed = (pubPem: string, e: string, der: Uint8Array) => openssl(['pkeyutl', '-verify', '-pubin', '-inkey', pubPem, '-in', e, '-sigfile', tmp.file(`p-${Math.random().toString(36).slice(2)}.der`, der)]).status;
    expect(prehashed(gmPubPem, eFile, sigToDer(sm2Sign(gmD, text)))).toBe(0);
    // OpenSSL's own -rawin signature: its internal Z_A and e are sm2Digest's.
    const theirs = pkeyutlSign(tmp.file('log-key-za.pem', sm2PrivateKeyPem(gmD, gmPub)), tmp.file('za-text.txt', text));
    expect(prehashed(gmPubPem, eFile, theirs)).toBe(0);
    const otherId = opensslSm3({ data: Uint8Array.from([...fromHex(opensslSm3({ data: zaPreimage(curve, gmPub, 'ALICE123@YAHOO.COM') }), 32), ...text]) });
    expect(prehashed(gmPubPem, tmp.file('e-other-id.bin', fromHex(otherId, 32)), theirs)).not.toBe(0);
    // The GB/T 32918.5 example signature, made with the standard's k, over its e.
    const x = GBT_32918_5_EXAMPLE;
    const pubPem = tmp.file('example.pem', sm2PublicKeyPem(fromHex(x.publicKey, 65)));
    const sig = sm2SignWithNonce(fromHex(x.d, 32), utf8(x.message), BigInt(`0x${x.k}`));
    expect(prehashed(pubPem, tmp.file('example-e.bin', fromHex(x.e, 32)), sigToDer(sig))).toBe(0);
    expect(pkeyutlVerify(pubPem, tmp.file('example-message.txt', x.message), sigToDer(sig)).status).toBe(0);
  });
});

/** The shell block docs/gm.md says this test runs: the one after its marker comment. */
function walkthroughBlock(): string {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'gm.md'), 'utf8');
  const marker = doc.indexOf('<!-- test/interop/openssl-gm.test.ts runs the next block');
  const m = /```sh\n([\s\S]*?)```/.exec(doc.slice(marker));
  if (marker < 0 || m === null) throw new Error('docs/gm.md: no walkthrough block after the marker');
  return m[1] as string;
}

// The test command installs jq (.ci/run); without it this fails loudly rather than skipping.
if (spawnSync('jq', ['--version']).status !== 0) throw new Error('docs/gm.md walkthrough test needs jq: apt-get install jq (.ci/run installs it)');

describe('the 密评 walkthrough of docs/gm.md (OpenSSL, bash, jq, coreutils)', () => {
  const block = walkthroughBlock();
  const vector = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'contracts-free-ledger', 'vectors', 'gm', 'receipt', 'valid-with-file.json'), 'utf8')) as {
    receipt: { checkpoint: string };
    contentBase64: string;
    trustedKey: string;
  };

  /** Run the block in a fresh directory holding the receipt, the document and (optionally) the exported log.pem. */
  function run(files: { receipt?: unknown; document?: Uint8Array; logPem?: string } = {}) {
    const dir = mkdtempSync(join(tmp.dir, 'walk-'));
    writeFileSync(join(dir, 'receipt.json'), JSON.stringify(files.receipt ?? vector.receipt, null, 2));
    writeFileSync(join(dir, '现场检查笔录.pdf'), files.document ?? fromBase64(vector.contentBase64));
    writeFileSync(join(dir, 'log.pem'), files.logPem ?? sm2PublicKeyPem(gmPub));
    const r = spawnSync('bash', ['-e', '-c', block], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    return { status: r.status, out: r.stdout, err: r.stderr };
  }

  it('pins the vectors’ gm key, and passes on the vector’s receipt and file: every step', () => {
    expect(block).toContain(`KEY='${GM_KEYS.verifierKey}'`);
    expect(vector.trustedKey).toBe(GM_KEYS.verifierKey);
    const r = run();
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.out.split('\n').filter((l) => l !== '')).toEqual([
      'ASN1 OID: SM2',
      'log.pem is the pinned key',
      `key id ${GM_KEYS.verifierKey.split('+')[1]} = SM3(name, key)[0:4]`,
      'Signature Verified Successfully',
      `SM3(现场检查笔录.pdf)= ${toHex(sm3Of(GM_DOCUMENT))}`,
      'the document is the one anchored',
      `leaf hash ${log.receipt(1n).leafHash} = SM3(0x00, entry)`,
      `root ${toHex(log.range.root())}: the entry is in the tree the log signed`,
    ]);
  });

  it('stops at step 3 for a document with one byte changed, at step 2 for a changed checkpoint, at step 1 for another exported key', () => {
    const changed = fromBase64(vector.contentBase64);
    changed[10]! ^= 1;
    const doc = run({ document: changed });
    expect(doc.status).not.toBe(0);
    expect(doc.out).toContain('Signature Verified Successfully');
    expect(doc.out).not.toContain('the document is the one anchored');

    const cp = vector.receipt.checkpoint;
    const bad = run({ receipt: { ...vector.receipt, checkpoint: cp.replace('\n7\n', '\n6\n') } });
    expect(bad.status).not.toBe(0);
    expect(bad.out).toContain('Signature Verification Failure');

    const other = run({ logPem: sm2PublicKeyPem(sm2PublicKey(new Uint8Array(32).fill(8))) });
    expect(other.status).not.toBe(0);
    expect(other.out).not.toContain('log.pem is the pinned key');
  });
});
