/**
 * The 国密 primitives and keys of the `gm` suite (src/core/crypto-gm.ts, src/core/note.ts,
 * src/core/suite.ts): the standards' known answers, a differential test against node:crypto's
 * SM3 (OpenSSL), SM2 keys and signed notes, and every byte of a key string mangled.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../src/core/bytes.js';
import { SM2_DEFAULT_ID, sm2Digest, sm2PublicKey, sm2Sign, sm2SignWithNonce, sm2Verify, sm3, sm3Pure, useSm3 } from '../../src/core/crypto-gm.js';
import { digestBytes, digestRecord } from '../../src/core/entry/index.js';
import { SHA256_TREE } from '../../src/core/merkle/hash.js';
import { CompactRange } from '../../src/core/merkle/compact.js';
import { buildProof, planInclusion } from '../../src/core/merkle/plan.js';
import { verifyConsistency, verifyInclusion } from '../../src/core/merkle/verify.js';
import { formatVerifierKey, generateSignerKey, openNote, parseSignerKey, parseVerifierKey, signNote, SM2_KEY_TYPE } from '../../src/core/note.js';
import { C2SP, GM, suiteById, suiteOfKey } from '../../src/core/suite.js';

// GB/T 32918.5-2017 Appendix A (GM/T 0003.5-2012): the signature example on the recommended curve.
const SAMPLE = {
  d: '3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8',
  x: '09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020',
  y: 'ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13',
  message: 'message digest',
  e: 'f0b43e94ba45acca ace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640'.replace(/ /g, ''),
  k: 0x59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21n,
  r: 'f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3',
  s: 'b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa',
};

describe('SM3 (GB/T 32905-2016)', () => {
  it('gives the standard examples', () => {
    expect(toHex(sm3(utf8('abc')))).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
    expect(toHex(sm3(utf8('abcd'.repeat(16))))).toBe('debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
  });

  it('agrees with OpenSSL (node:crypto) on any input, and a native one can be installed after a check', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => toHex(sm3Pure(b)) === createHash('sm3').update(b).digest('hex')));
    const native = (d: Uint8Array) => new Uint8Array(createHash('sm3').update(d).digest());
    useSm3(native);
    try {
      expect(toHex(sm3(utf8('abc')))).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
    } finally {
      useSm3();
    }
    expect(() => useSm3((d) => createHash('sha256').update(d).digest())).toThrow(/useSm3/);
  });
});

describe('SM2 (GB/T 32918.2-2016) with ID 1234567812345678', () => {
  const d = fromHex(SAMPLE.d, 32);
  const pub = sm2PublicKey(d);

  it('reproduces the signature example of GB/T 32918.5 Appendix A', () => {
    expect(SM2_DEFAULT_ID).toBe('1234567812345678');
    expect(toHex(pub)).toBe(`04${SAMPLE.x}${SAMPLE.y}`);
    expect(toHex(sm2Digest(pub, utf8(SAMPLE.message)))).toBe(SAMPLE.e);
    const sig = sm2SignWithNonce(d, utf8(SAMPLE.message), SAMPLE.k);
    expect(toHex(sig)).toBe(SAMPLE.r + SAMPLE.s);
    expect(sm2Verify(pub, utf8(SAMPLE.message), sig)).toBe(true);
  });

  it('signs deterministically (RFC 6979 nonces with HMAC-SM3), differently per message, and verifies', () => {
    const a = sm2Sign(d, utf8('a'));
    expect(toHex(sm2Sign(d, utf8('a')))).toBe(toHex(a));
    expect(toHex(sm2Sign(d, utf8('b'))).slice(0, 64)).not.toBe(toHex(a).slice(0, 64));
    expect(sm2Verify(pub, utf8('a'), a)).toBe(true);
    expect(sm2Verify(pub, utf8('b'), a)).toBe(false);
    // Extra randomness changes the signature, which still verifies.
    const hedged = sm2Sign(d, utf8('a'), new Uint8Array(32).fill(9));
    expect(toHex(hedged)).not.toBe(toHex(a));
    expect(sm2Verify(pub, utf8('a'), hedged)).toBe(true);
  });

  it('refuses every single-bit change of a signature, and malformed keys and signatures without throwing', () => {
    const msg = utf8('checkpoint');
    const sig = sm2Sign(d, msg);
    for (let i = 0; i < sig.length * 8; i += 7) {
      const bad = sig.slice();
      bad[i >> 3]! ^= 1 << (i & 7);
      expect(sm2Verify(pub, msg, bad)).toBe(false);
    }
    expect(sm2Verify(pub.subarray(1), msg, sig)).toBe(false);
    expect(sm2Verify(pub, msg, sig.subarray(1))).toBe(false);
    expect(sm2Verify(new Uint8Array(65).fill(4), msg, sig)).toBe(false);
    expect(sm2Verify(pub, msg, new Uint8Array(64))).toBe(false);
    expect(() => sm2PublicKey(new Uint8Array(32))).toThrow(/range/);
  });
});

describe('SM2 note keys (0xff "guzheng/sm2-sm3")', () => {
  const pair = generateSignerKey('gm.example/log', new Uint8Array(32).fill(3), 'sm2');

  it('round-trips signer and verifier keys, with an SM3 key id, and signs notes that verify', () => {
    const v = parseVerifierKey(pair.verifierKey);
    const s = parseSignerKey(pair.signerKey);
    expect(v.algorithm).toBe('sm2');
    expect(s.algorithm).toBe('sm2');
    expect(v.publicKey).toHaveLength(65);
    expect(formatVerifierKey(v.name, v.publicKey)).toBe(pair.verifierKey);
    // The key data is everything after the second '+' (base64 may hold '+' itself).
    const keyData = Buffer.from(pair.verifierKey.slice(pair.verifierKey.indexOf('+', pair.verifierKey.indexOf('+') + 1) + 1), 'base64');
    expect(toHex(keyData.subarray(0, SM2_KEY_TYPE.length))).toBe(toHex(SM2_KEY_TYPE));
    const id = sm3(new Uint8Array([...utf8('gm.example/log'), 0x0a, ...keyData]));
    expect(v.keyId).toBe(((id[0]! << 24) | (id[1]! << 16) | (id[2]! << 8) | id[3]!) >>> 0);
    const note = signNote('gm.example/log\n1\nAAAA\n', [pair.signerKey]);
    expect(openNote(note, [pair.verifierKey]).verified).toEqual([{ name: 'gm.example/log', keyId: v.keyId }]);
    // The same text signed by an Ed25519 key of the same name is another key: ignored, not verified.
    const ed = generateSignerKey('gm.example/log', new Uint8Array(32).fill(3));
    expect(() => openNote(signNote('gm.example/log\n1\nAAAA\n', [ed.signerKey]), [pair.verifierKey])).toThrow(expect.objectContaining({ code: 'NOTE_UNVERIFIED' }));
  });

  it('refuses every byte of a verifier key changed by ±1, and every truncation', () => {
    const key = pair.verifierKey;
    for (let i = 0; i < key.length; i++) {
      for (const delta of [-1, 1]) {
        const mangled = key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + delta) + key.slice(i + 1);
        expect(() => parseVerifierKey(mangled), `byte ${i} ${delta}`).toThrow();
      }
    }
    for (let n = 0; n < key.length; n++) expect(() => parseVerifierKey(key.slice(0, n))).toThrow();
  });
});

describe('crypto suites', () => {
  it('are values: the suite follows the key, and each tree hashes with its own function', () => {
    expect(suiteOfKey(parseVerifierKey(generateSignerKey('a.example/x', new Uint8Array(32).fill(1)).verifierKey))).toBe(C2SP);
    expect(suiteOfKey(parseVerifierKey(generateSignerKey('a.example/x', new Uint8Array(32).fill(1), 'sm2').verifierKey))).toBe(GM);
    expect(suiteById('gm')).toBe(GM);
    expect(() => suiteById('sha1')).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    // RFC 6962 domain separation with SM3: leaf = SM3(0x00 || data), node = SM3(0x01 || l || r).
    const data = utf8('entry');
    expect(toHex(GM.tree.hashLeaf(data))).toBe(createHash('sm3').update(Buffer.concat([Buffer.of(0), data])).digest('hex'));
    expect(toHex(GM.tree.emptyRoot())).toBe(createHash('sm3').digest('hex'));
    expect(toHex(GM.tree.hashLeaf(data))).not.toBe(toHex(SHA256_TREE.hashLeaf(data)));
  });

  it('proves inclusion and consistency in an SM3 tree, and an SM3 proof fails as SHA-256', () => {
    const leaves = Array.from({ length: 7 }, (_, i) => GM.tree.hashLeaf(utf8(`e${i}`)));
    const range = CompactRange.empty(GM.tree);
    const nodes = new Map<string, Uint8Array>();
    for (const l of leaves) for (const n of range.append(l)) nodes.set(`${n.level}/${n.index}`, n.hash);
    const root7 = range.root();
    // Leaf 6 of 7: its path is the subtree hashes of [4,6) and [0,4).
    const path = [nodes.get('1/2')!, nodes.get('2/0')!];
    expect(() => verifyInclusion(6n, 7n, leaves[6]!, path, root7, GM.tree)).not.toThrow();
    expect(() => verifyInclusion(6n, 7n, leaves[6]!, path, root7)).toThrow(expect.objectContaining({ code: 'PROOF_INVALID' }));
    const r4 = nodes.get('2/0')!;
    // PROOF(4, D[0:7]) = [MTH(D[4:7])] (RFC 9162 §2.1.4.1: 4 is a power of two, its root is implied).
    const proof = [GM.tree.hashChildren(nodes.get('1/2')!, leaves[6]!)];
    expect(() => verifyConsistency(4n, 7n, proof, r4, root7, GM.tree)).not.toThrow();
    expect(() => verifyConsistency(4n, 7n, proof, r4, root7)).toThrow(expect.objectContaining({ code: 'PROOF_INVALID' }));
    expect(() => verifyConsistency(0n, 7n, [], GM.tree.emptyRoot(), root7, GM.tree)).not.toThrow();
    expect(() => verifyConsistency(0n, 7n, [], SHA256_TREE.emptyRoot(), root7, GM.tree)).toThrow();
  });

  it('builds proofs whose ephemeral element is folded with the suite (a ragged right edge)', () => {
    // 7 leaves: the proof for leaf 0 needs MTH(D[4:7]), which no stored node holds.
    const leaves = Array.from({ length: 7 }, (_, i) => GM.tree.hashLeaf(utf8(`e${i}`)));
    const range = CompactRange.empty(GM.tree);
    const nodes = new Map<string, Uint8Array>();
    for (const l of leaves) for (const n of range.append(l)) nodes.set(`${n.level}/${n.index}`, n.hash);
    const plan = planInclusion(0n, 7n);
    const hashes = plan.ids.map((id) => nodes.get(`${id.level}/${id.index}`)!);
    expect(() => verifyInclusion(0n, 7n, leaves[0]!, buildProof(plan, hashes, GM.tree), range.root(), GM.tree)).not.toThrow();
    expect(() => verifyInclusion(0n, 7n, leaves[0]!, buildProof(plan, hashes), range.root(), GM.tree)).toThrow(expect.objectContaining({ code: 'PROOF_INVALID' }));
  });

  it('content digests: sm3 of bytes and of a record canonical form', () => {
    expect(digestBytes(utf8('abc'), 'sm3')).toEqual({ alg: 'sm3', hex: '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0' });
    expect(digestRecord({ b: 1, a: 'x' }, 'sm3').hex).toBe(createHash('sm3').update('{"a":"x","b":1}').digest('hex'));
  });
});
