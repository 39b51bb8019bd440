/**
 * Witness cosignature vectors (c2sp.org/tlog-cosignature), Ed25519 (type 0x04) and ML-DSA-44
 * (type 0x06), from fixed seeds: every run gives the same bytes (ML-DSA-44 is signed in its
 * deterministic variant). Each vector says whether `line` is a valid cosignature by `witnessKey`
 * over `checkpoint` (the note text), as src/core/cosignature.ts `verifyCosignature` decides, and
 * whether `openCosigned(note, logKey, [witnessKey])` counts it (`counted`) or ignores it
 * (`ignored`, a line by an unknown key, which C2SP requires verifiers to skip).
 *
 * Not wired into gen-vectors.ts: call {@link cosignatureVectors} and write each value to
 * `vectors/cosignature/<name>.json`.
 */
import { fromBase64, toBase64, toHex, utf8 } from '../../src/core/bytes.js';
import { signCheckpoint } from '../../src/core/checkpoint.js';
import {
  formatCosignatureMessage,
  formatSubtreeMessage,
  generateWitnessKey,
  openCosigned,
  signCosignature,
  verifyCosignature,
  type CosignatureAlgorithm,
} from '../../src/core/cosignature.js';
import { sha256 } from '../../src/core/crypto.js';
import { generateSignerKey, signNote } from '../../src/core/note.js';
import { outcomeOf, type VectorValue } from './write.js';

/** One cosignature vector: `name` is its file name under vectors/cosignature/. */
export interface CosignatureVector {
  readonly name: string;
  readonly value: VectorValue;
}

const ORIGIN = 'example.gov.cn/guzheng/vectors';
const LOG = generateSignerKey(ORIGIN, new Uint8Array(32).map((_, i) => i + 1));
const TIME = 1764806400n; // 2025-12-04T00:00:00Z
const ROOT = sha256(utf8('guzheng cosignature vectors'));

function mangleBlob(line: string, f: (b: Uint8Array) => Uint8Array): string {
  const at = line.lastIndexOf(' ') + 1;
  return line.slice(0, at) + toBase64(f(fromBase64(line.slice(at)).slice()));
}

function flip(b: Uint8Array, at: number, mask: number): Uint8Array {
  b[at] = (b[at] as number) ^ mask;
  return b;
}

/**
 * cosignatureVectors returns the vector set: per algorithm `valid`, `valid-extension-line`,
 * `valid-time-zero`, and the mutations `other-timestamp`, `other-body`, `other-key-id`,
 * `truncated-signature`, `unknown-key` (ignored). Throws if the verifier disagrees with what a
 * vector is meant to show (a generator bug).
 */
export function cosignatureVectors(): CosignatureVector[] {
  const out: CosignatureVector[] = [];
  for (const [alg, tag, seedByte] of [['ed25519', 'ed25519', 0x40], ['ml-dsa-44', 'mldsa44', 0x50]] as const) {
    const witness = generateWitnessKey(`witness.example.gov.cn/${tag}`, new Uint8Array(32).fill(seedByte), alg as CosignatureAlgorithm);
    const stranger = generateWitnessKey(`stranger.example/${tag}`, new Uint8Array(32).fill(seedByte + 1), alg as CosignatureAlgorithm);
    const note = signCheckpoint({ origin: ORIGIN, size: 4242n, root: ROOT }, LOG.signerKey);
    const text = note.slice(0, note.indexOf('\n\n') + 1);
    const extText = `${text}guzheng-block 1\n`;
    const extNote = signNote(extText, [LOG.signerKey]);
    const line = signCosignature(text, witness.signerKey, TIME);

    const add = (name: string, desc: string, checkpoint: string, signed: string, l: string, intent: 'counted' | 'failed' | 'ignored', extra: VectorValue = {}) => {
      const got = outcomeOf(() => verifyCosignature(checkpoint, l, witness.verifierKey));
      const opened = openCosigned(`${signed}${l}\n`, LOG.verifierKey, [witness.verifierKey]);
      const seen = opened.cosignatures.length === 1 ? 'counted' : opened.failed.length === 1 ? 'failed' : opened.ignored.length === 1 ? 'ignored' : 'none';
      if (seen !== intent || got.wantErr === (intent === 'counted')) throw new Error(`cosignature vector ${tag}/${name}: verifier disagrees with the generator (${seen}, ${got.expectCode ?? 'ok'})`);
      const value: VectorValue = {
        desc: `${alg}: ${desc}`,
        algorithm: alg,
        logKey: LOG.verifierKey,
        witnessKey: witness.verifierKey,
        checkpoint,
        line: l,
        note: `${signed}${l}\n`,
        counted: intent === 'counted',
        ignored: intent === 'ignored',
        ...extra,
        ...got,
      };
      if (!got.wantErr) value.time = verifyCosignature(checkpoint, l, witness.verifierKey).time.toString();
      out.push({ name: `${tag}/${name}`, value });
    };

    const message =
      alg === 'ed25519'
        ? { message: formatCosignatureMessage(text, TIME) }
        : { messageHex: toHex(formatSubtreeMessage({ cosignerName: `witness.example.gov.cn/${tag}`, time: TIME, origin: ORIGIN, start: 0n, end: 4242n, hash: ROOT })) };
    add('valid', 'a cosignature by the pinned witness key', text, note, line, 'counted', message);
    add(
      'valid-extension-line',
      alg === 'ed25519' ? 'over a checkpoint with an extension line (covered by the message)' : 'over a checkpoint with an extension line (not part of the ML-DSA-44 message)',
      extText,
      extNote,
      signCosignature(extText, witness.signerKey, TIME),
      'counted',
    );
    add('valid-time-zero', 'timestamp 0 (for ML-DSA-44: no statement about time)', text, note, signCosignature(text, witness.signerKey, 0n), 'counted');
    add('other-timestamp', 'the timestamp field changed after signing', text, note, mangleBlob(line, (b) => flip(b, 11, 1)), 'failed');
    const other = signCheckpoint({ origin: ORIGIN, size: 4243n, root: ROOT }, LOG.signerKey);
    add('other-body', 'signed over size 4242, presented with a checkpoint of size 4243', other.slice(0, other.indexOf('\n\n') + 1), other, line, 'failed');
    add('other-key-id', 'the key id changed: the line names another key (ignored)', text, note, mangleBlob(line, (b) => flip(b, 0, 0x80)), 'ignored');
    add('truncated-signature', 'the last byte of the signature removed', text, note, mangleBlob(line, (b) => b.subarray(0, b.length - 1)), 'failed');
    add('unknown-key', 'a valid cosignature by a witness key the verifier does not pin (ignored)', text, note, signCosignature(text, stranger.signerKey, TIME), 'ignored');
  }
  return out;
}
