/**
 * Checkpoint, signed-note and key probes: one valid checkpoint, then each way a checkpoint or
 * key can be wrong (Go sumdb/note tests: every byte of the key mangled, wrong key id, unknown
 * extra signers, non-canonical size, control characters, oversized notes).
 */
import { fromBase64, toBase64, toHex } from '../../src/core/bytes.js';
import { openCheckpoint, signCheckpoint } from '../../src/core/checkpoint.js';
import { hashLeaf } from '../../src/core/merkle/index.js';
import { generateSignerKey, parseVerifierKey, signNote } from '../../src/core/note.js';
import { outcomeOf, type VectorSet } from './write.js';

/** The vector log key (fixed seed: every run produces the same signatures). */
export const VECTOR_ORIGIN = 'example.gov.cn/guzheng/vectors';
export const VECTOR_KEYS = generateSignerKey(VECTOR_ORIGIN, new Uint8Array(32).map((_, i) => i + 1));
const WITNESS = generateSignerKey('witness.example', new Uint8Array(32).map((_, i) => 100 + i));
const IMPOSTOR = generateSignerKey(VECTOR_ORIGIN, new Uint8Array(32).map((_, i) => 200 - i));


function checkpointVector(desc: string, note: string, mustFail: boolean, verifierKey = VECTOR_KEYS.verifierKey) {
  const got = outcomeOf(() => openCheckpoint(note, verifierKey));
  if (got.wantErr !== mustFail) throw new Error(`checkpoint vector "${desc}": verifier disagrees with the generator (${got.expectCode ?? 'ok'})`);
  const v: Record<string, unknown> = { desc, verifierKey, note, ...got };
  if (!got.wantErr) {
    const { checkpoint } = openCheckpoint(note, verifierKey);
    Object.assign(v, { origin: checkpoint.origin, size: checkpoint.size.toString(), rootHash: toHex(checkpoint.root) });
  }
  return v;
}

/** Sign arbitrary text with the vector key, bypassing checkpoint formatting, to probe the parser. */
function signRaw(text: string): string {
  return signNote(text, [VECTOR_KEYS.signerKey]);
}

/** generate adds checkpoint/* and verifier-key/* vectors. */
export function generate(set: VectorSet): void {
  const root = hashLeaf(new TextEncoder().encode('guzheng'));
  const rootB64 = toBase64(root);
  const good = signCheckpoint({ origin: VECTOR_ORIGIN, size: 4242n, root }, VECTOR_KEYS.signerKey);
  const add = (name: string, desc: string, note: string, mustFail: boolean, key?: string) => set.add(`checkpoint/${name}`, checkpointVector(desc, note, mustFail, key));

  add('valid', 'a checkpoint signed by the log key', good, false);
  add('valid-empty-tree', 'size 0 with the empty root', signCheckpoint({ origin: VECTOR_ORIGIN, size: 0n, root: fromBase64('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=') }, VECTOR_KEYS.signerKey), false);
  add('valid-max-size', 'size 2^64-1', signRaw(`${VECTOR_ORIGIN}\n18446744073709551615\n${rootB64}\n`), false);
  add('valid-extension-line', 'one extension line (parsed, not interpreted)', signRaw(`${VECTOR_ORIGIN}\n1\n${rootB64}\nextension\n`), false);
  add('valid-unknown-witness', 'an extra signature by an unknown key is ignored', signNote(`${VECTOR_ORIGIN}\n4242\n${rootB64}\n`, [VECTOR_KEYS.signerKey, WITNESS.signerKey]), false);
  add('unknown-key-only', 'signed only by an unknown key', signNote(`${VECTOR_ORIGIN}\n4242\n${rootB64}\n`, [WITNESS.signerKey]), true);
  add('same-name-other-key', 'signed by another key with the log name (different key id): unknown', signNote(`${VECTOR_ORIGIN}\n4242\n${rootB64}\n`, [IMPOSTOR.signerKey]), true);
  add('wrong-key-id', 'signature line carries the log name with a forged key id', good.replace(/— (\S+) (\S+)\n$/, (_m, n: string, sig: string) => {
    const b = fromBase64(sig);
    b[0]! ^= 0x80;
    return `— ${n} ${toBase64(b)}\n`;
  }), true);
  add('bad-signature', 'one bit of the signature flipped', good.replace(/— (\S+) (\S+)\n$/, (_m, n: string, sig: string) => {
    const b = fromBase64(sig);
    b[10]! ^= 1;
    return `— ${n} ${toBase64(b)}\n`;
  }), true);
  add('text-modified', 'size changed after signing', good.replace('\n4242\n', '\n4243\n'), true);
  add('size-leading-zero', 'non-canonical size 04242 (signed)', signRaw(`${VECTOR_ORIGIN}\n04242\n${rootB64}\n`), true);
  add('size-plus', 'non-canonical size +4242 (signed)', signRaw(`${VECTOR_ORIGIN}\n+4242\n${rootB64}\n`), true);
  add('size-overflow', 'size 2^64 (signed)', signRaw(`${VECTOR_ORIGIN}\n18446744073709551616\n${rootB64}\n`), true);
  add('root-short', '31-byte root (signed)', signRaw(`${VECTOR_ORIGIN}\n1\n${toBase64(root.slice(1))}\n`), true);
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const padBitsSet = rootB64.slice(0, 42) + B64[B64.indexOf(rootB64[42]!) ^ 1] + '=';
  add('root-not-canonical', 'root base64 with a non-zero pad bit (signed)', signRaw(`${VECTOR_ORIGIN}\n1\n${padBitsSet}\n`), true);
  add('missing-root', 'two lines only (signed)', signRaw(`${VECTOR_ORIGIN}\n1\n`), true);
  add('empty-extension-line', 'an empty extension line (correctly signed)', signRaw(`${VECTOR_ORIGIN}\n1\n${rootB64}\n\nx\n`), true);
  add('origin-mismatch', 'signed by the log key but for another origin', signRaw(`other.example/log\n1\n${rootB64}\n`), true);
  add('control-character', 'a carriage return in the text', good.replace('\n4242\n', '\n4242\r\n'), true);
  add('tab-character', 'a tab in the origin line', good.replace(VECTOR_ORIGIN, VECTOR_ORIGIN + '\t'), true);
  add('no-signature', 'text and blank line without signature lines', good.slice(0, good.lastIndexOf('\n\n') + 2), true);
  add('no-final-newline', 'last signature line without its newline', good.slice(0, -1), true);
  add('oversized', 'a note over 1,000,000 bytes', `${VECTOR_ORIGIN}\n1\n${rootB64}\n${'x'.repeat(1_000_001)}\n\n` + good.slice(good.lastIndexOf('\n\n') + 2), true);
  add('too-many-signatures', '101 signature lines', good + `— witness.example ${toBase64(new Uint8Array(68))}\n`.repeat(100), true);

  // Verifier keys: the good one, every byte +1, every proper prefix and suffix, and known bad forms.
  const vkey = VECTOR_KEYS.verifierKey;
  const keyVector = (name: string, desc: string, key: string, mustFail: boolean) => {
    const got = outcomeOf(() => parseVerifierKey(key));
    if (got.wantErr !== mustFail) throw new Error(`key vector "${desc}": parser disagrees (${key})`);
    set.add(`verifier-key/${name}`, { desc, verifierKey: key, ...got });
  };
  keyVector('valid', 'the vector log key', vkey, false);
  for (let i = 0; i < vkey.length; i++) {
    const mangled = vkey.slice(0, i) + String.fromCharCode(vkey.charCodeAt(i) + 1) + vkey.slice(i + 1);
    keyVector(`byte-${i}-plus-1`, `character ${i} incremented`, mangled, true);
  }
  for (let i = 1; i < vkey.length; i++) {
    keyVector(`prefix-${i}`, `first ${i} characters only`, vkey.slice(0, i), true);
    keyVector(`suffix-${i}`, `key without its first ${i} characters`, vkey.slice(i), true);
  }
  const pub = fromBase64(vkey.split('+').slice(2).join('+'));
  keyVector('wrong-algorithm', 'algorithm byte 0x02 instead of 0x01', `${VECTOR_ORIGIN}+${vkey.split('+')[1]}+${toBase64(new Uint8Array([2, ...pub.slice(1)]))}`, true);
  keyVector('uppercase-key-id', 'key id in uppercase hex', vkey.replace(/\+([0-9a-f]{8})\+/, (_m, id: string) => `+${id.toUpperCase()}+`), /[a-f]/.test(vkey.split('+')[1]!));
  keyVector('trailing-newline', 'a trailing newline', vkey + '\n', true);
}
