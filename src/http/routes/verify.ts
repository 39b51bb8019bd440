/**
 * Public verification (no key): `POST /v1/verify` checks a receipt, a case bundle or a tlog-proof
 * with the same pipeline as the offline CLI, pinned to the log's OWN verifier key, and adds what
 * only the log can say: whether it still holds those entry bytes and whether the document's
 * checkpoint is consistent with its current one. `GET /v1/verify/{alg}/{hex}` (alg: `sha256` for
 * a `c2sp` log, `sm3` for a `gm` log) answers whether a digest was anchored, with a receipt per anchoring against one fresh checkpoint, so the answer
 * itself verifies offline. See docs/api.md#verify.
 *
 * Files sent as multipart/form-data are hashed with the log's hash (SHA-256, or SM3 for a `gm`
 * log: SPEC.md#crypto-suites) while they stream in and never stored; a client that can hash
 * locally sends only the digest (JSON).
 */
import { createHash } from 'node:crypto';
import busboy from 'busboy';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { MAX_BUNDLE_ITEMS, MAX_BUNDLE_SIZE, parseBundle } from '../../core/bundle.js';
import { equalBytes, fromBase64, fromHex, fromUtf8 } from '../../core/bytes.js';
import { digestSchema, fileNameSchema, type DigestAlg } from '../../core/entry/index.js';
import { isLedgerError } from '../../core/errors.js';
import { verifyConsistency } from '../../core/merkle/verify.js';
import { MAX_POLICY_SIZE, parsePolicy, type Policy } from '../../core/policy.js';
import { buildReceipt, parseReceipt } from '../../core/receipt.js';
import { parseTlogProof } from '../../core/tlog-proof.js';
import { MAX_PAGE, type Ledger } from '../../log/ledger.js';
import { BUNDLE_CHECK_IDS, readProofDocument, verifyDocument, type DocumentReport, type LooseContent, type ProofDocument } from '../../verifier/bundle.js';
import { CHECK_IDS } from '../../verifier/report.js';
import type { AppContext } from '../context.js';
import { HttpProblem, zodProblem } from '../errors.js';
import { defineRoute, limitedJson, sendJson, type Route } from '../route.js';
import { decimalString, digestAlgParam, digestAlgSchema, hashHex, hashParam, receiptSchema } from '../schemas.js';
import { proveEntries } from './cases.js';
import { receiptableSize } from '../receipts.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Zod schema of the JSON body of POST /v1/verify. */
export const verifyBodySchema = z.strictObject({
  receipt: z
    .union([z.string().min(1).max(MAX_BUNDLE_SIZE), z.record(z.string(), z.unknown())])
    .describe('a guzheng-receipt/v1 or guzheng-bundle/v1 JSON object (or its text), or c2sp.org/tlog-proof@v1 text'),
  entry: z.string().regex(BASE64, 'want standard padded base64').optional().describe('standard base64 of the exact entry (leaf) bytes; with a tlog-proof only'),
  digest: digestSchema.optional().describe("the content's digest, computed by the caller (the file never leaves their machine)"),
  files: z
    .array(z.strictObject({ name: fileNameSchema, digest: digestSchema }))
    .max(MAX_BUNDLE_ITEMS)
    .optional()
    .describe('for a bundle: digests of files of the case folder, located in the bundle by digest, else by file name'),
  policy: z
    .string()
    .min(1)
    .max(MAX_POLICY_SIZE)
    .optional()
    .describe("a C2SP tlog-policy the caller pins (witness keys and quorum): the cosignatures check runs against it instead of this log's own policy"),
});

/** Zod schema of the multipart/form-data body of POST /v1/verify (for OpenAPI). */
export const verifyMultipartSchema = z
  .strictObject({
    receipt: z.string().describe('the receipt, bundle or tlog-proof: a text field, or a file part with the exact file'),
    entry: z.string().optional().describe('tlog-proof only: standard base64 of the exact entry bytes as a field, or the bytes themselves as a file part'),
    policy: z.string().optional().describe("a C2SP tlog-policy text the caller pins, instead of this log's own"),
    file: z.string().optional().meta({ contentMediaType: 'application/octet-stream' }).describe('the file(s) to compare: hashed while streaming, never stored; repeat the part for a bundle'),
  })
  .describe('multipart/form-data');

const checkSchema = z.object({
  id: z.enum([...new Set([...CHECK_IDS, ...BUNDLE_CHECK_IDS])] as [string, ...string[]]),
  status: z.enum(['pass', 'fail', 'skip']),
  code: z.string().optional(),
  message: z.string(),
});
const reportBody = { valid: z.boolean(), checks: z.array(checkSchema), facts: z.record(z.string(), z.unknown()) };

/** Zod schema of what only the log can add to a verification. */
export const onlineSchema = z.object({
  checkpoint: z.string().describe("the log's latest signed checkpoint note"),
  treeSize: decimalString,
  logStillHolds: z.boolean().optional().describe('the log holds exactly these entry bytes at these indexes (absent when the document did not parse)'),
  notHeld: z.array(decimalString).optional().describe('indexes whose stored entry differs or does not exist'),
  consistency: z
    .object({ from: decimalString, to: decimalString, path: z.array(hashHex), ok: z.boolean() })
    .optional()
    .describe("RFC 9162 consistency proof from the document's checkpoint to the latest one, checked (absent when the document's checkpoint did not verify under the log key)"),
});

/** Zod schema of the POST /v1/verify answer: the CLI's structured report plus `online`. */
export const verifyAnswerSchema = z.object({
  kind: z.enum(['receipt', 'tlog-proof', 'bundle']),
  ...reportBody,
  items: z.array(z.object({ index: decimalString, manifest: z.record(z.string(), z.unknown()).optional(), ...reportBody })).optional().describe('bundles: one report per item'),
  online: onlineSchema,
});

/** Zod schema of the GET /v1/verify/{alg}/{hex} answer. */
export const digestAnswerSchema = z.object({
  digest: z.object({ alg: digestAlgSchema, hex: hashHex }),
  anchored: z.boolean(),
  checkpoint: z.string().describe('the latest signed checkpoint; every receipt below is proved against it'),
  treeSize: decimalString,
  verifierKey: z.string().describe("the log's key (informative: pin yours out of band)"),
  anchorings: z.array(z.object({ index: decimalString, type: z.string(), receivedAt: z.string(), leafHash: hashHex, receipt: receiptSchema })),
  pending: z.array(decimalString).describe('anchorings not yet covered by a checkpoint (no proof yet)'),
  truncated: z.boolean().optional().describe(`more than ${MAX_PAGE} anchorings: only the first are listed`),
});

/** What a request to POST /v1/verify asks, whatever its media type. */
interface VerifyInput {
  readonly document: ProofDocument;
  readonly entry?: Uint8Array;
  readonly files: LooseContent[];
  /** The caller's witness policy, if given. */
  readonly policy?: Policy;
}

/** readPolicy parses the caller's policy field (SPEC.md#witness-policy); malformed is a 400 naming the line. */
function readPolicy(text: string | undefined): Policy | undefined {
  if (text === undefined) return undefined;
  try {
    return parsePolicy(text);
  } catch (err) {
    if (isLedgerError(err, 'POLICY_MALFORMED')) throw new HttpProblem(400, 'POLICY_MALFORMED', `policy: ${err.message.replace(/^policy:? ?/, '')}`, { field: 'policy' });
    throw err;
  }
}

function bad(field: string, detail: string): HttpProblem {
  return new HttpProblem(400, 'INPUT_INVALID', `${field}: ${detail}`, { field });
}

function readDocument(value: unknown): ProofDocument {
  try {
    return readProofDocument(value);
  } catch (err) {
    if (isLedgerError(err, 'INPUT_INVALID')) throw bad('receipt', err.message.replace(/^document: /, ''));
    throw err;
  }
}

function decodeEntryField(text: string | undefined): Uint8Array | undefined {
  if (text === undefined) return undefined;
  try {
    return fromBase64(text, undefined, 'entry');
  } catch {
    throw bad('entry', 'not standard padded base64');
  }
}

/** parseJson runs express.json on a request whose route takes a raw body. */
function parseJson(parser: express.RequestHandler, req: Request, res: Response): Promise<unknown> {
  return new Promise((resolve, reject) => {
    parser(req, res, (err?: unknown) => (err === undefined || err === null ? resolve(req.body as unknown) : reject(err)));
  });
}

interface Multipart {
  /** The receipt, bundle or tlog-proof text. */
  readonly receipt?: string;
  /** The exact entry bytes. */
  readonly entry?: Uint8Array;
  /** The caller's witness policy text. */
  readonly policy?: string;
  readonly files: Array<{ label: string; hex: string }>;
}

/**
 * readMultipart streams a multipart/form-data body. `receipt` (text) and `entry` (base64) come as
 * fields or as file parts (then as the file's exact bytes; at most `fieldLimit` bytes each); every
 * other file part, whatever its name, is content to compare: hashed with `alg` (the log's content
 * digest algorithm, SPEC.md#crypto-suites) chunk by chunk and dropped (at most `fileLimit` bytes
 * together). Rejects with a problem for an unknown or
 * repeated field, a part over its limit (413; the rest is not read), or a malformed body.
 */
function readMultipart(req: Request, fieldLimit: number, fileLimit: number, alg: DigestAlg): Promise<Multipart> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fieldSize: fieldLimit, fields: 3, files: MAX_BUNDLE_ITEMS + 2, fileSize: Math.max(fileLimit, fieldLimit), parts: MAX_BUNDLE_ITEMS + 4 } });
    } catch {
      reject(bad('Content-Type', 'malformed multipart/form-data (no boundary?)'));
      return;
    }
    let receipt: string | undefined;
    let entry: Uint8Array | undefined;
    let policy: string | undefined;
    const files: Array<{ label: string; hex: string }> = [];
    let total = 0;
    let settled = false;
    const fail = (err: HttpProblem) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      req.pause();
      reject(err);
    };
    const tooLarge = (what: string, limit: number) =>
      new HttpProblem(413, 'BODY_TOO_LARGE', `${what} is larger than the limit of ${limit} bytes; nothing was kept`, { field: 'body', headers: { Connection: 'close' } });
    const set = (name: 'receipt' | 'entry', value: string | Uint8Array, decode: (v: string | Uint8Array) => string | Uint8Array) => {
      if ((name === 'receipt' ? receipt : entry) !== undefined) return fail(bad(name, 'given twice'));
      try {
        const v = decode(value);
        if (name === 'receipt') receipt = v as string;
        else entry = v as Uint8Array;
      } catch (err) {
        fail(err instanceof HttpProblem ? err : bad(name, 'unreadable'));
      }
    };
    bb.on('field', (name, value, info) => {
      if (name !== 'receipt' && name !== 'entry' && name !== 'policy') return fail(bad(name, 'unknown field; want receipt, entry, policy or file parts'));
      if (info.valueTruncated) return fail(tooLarge(`field ${name}`, fieldLimit));
      if (name === 'policy') {
        if (policy !== undefined) return fail(bad(name, 'given twice'));
        policy = value.replace(/\r\n/g, '\n');
        return;
      }
      // Form submission turns every line break of a text field into CRLF; notes and JSON never hold a CR.
      if (name === 'receipt') set(name, value, (v) => (v as string).replace(/\r\n/g, '\n'));
      else set(name, value, (v) => decodeEntryField(v as string) as Uint8Array);
    });
    bb.on('file', (name, stream, info) => {
      if (name === 'receipt' || name === 'entry') {
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > fieldLimit) return fail(tooLarge(`part ${name}`, fieldLimit));
          chunks.push(chunk);
        });
        stream.on('end', () => {
          if (settled) return;
          const bytes = new Uint8Array(Buffer.concat(chunks));
          if (name === 'entry') set(name, bytes, (v) => v);
          else set(name, bytes, (v) => {
            try {
              return fromUtf8(v as Uint8Array, 'receipt');
            } catch {
              throw bad('receipt', 'not UTF-8 text');
            }
          });
        });
        return;
      }
      // node:crypto names both digest algorithms as entries spell them: 'sha256', 'sm3'.
      const hash = createHash(alg);
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > fileLimit) return fail(tooLarge('the files', fileLimit));
        hash.update(chunk);
      });
      stream.on('limit', () => fail(tooLarge('the files', fileLimit)));
      stream.on('end', () => {
        if (!settled) files.push({ label: info.filename ?? name, hex: hash.digest('hex') });
      });
    });
    bb.on('fieldsLimit', () => fail(bad('body', 'too many fields; want receipt, entry and policy only')));
    bb.on('filesLimit', () => fail(bad('body', `too many files, want at most ${MAX_BUNDLE_ITEMS}`)));
    bb.on('partsLimit', () => fail(bad('body', 'too many parts')));
    bb.on('error', () => fail(bad('body', 'malformed multipart/form-data body')));
    bb.on('close', () => {
      if (settled) return;
      settled = true;
      resolve({ ...(receipt !== undefined ? { receipt } : {}), ...(entry !== undefined ? { entry } : {}), ...(policy !== undefined ? { policy } : {}), files });
    });
    req.on('aborted', () => fail(bad('body', 'upload was cut short')));
    req.pipe(bb);
  });
}

/** online compares the document with what the log holds now (latest checkpoint, stored entries). */
async function online(ledger: Ledger, input: VerifyInput, report: DocumentReport): Promise<z.infer<typeof onlineSchema>> {
  const latest = ledger.latest();
  const to = latest.checkpoint.checkpoint.size;
  const out: z.infer<typeof onlineSchema> = { checkpoint: latest.checkpoint.note, treeSize: to.toString() };
  // The (index, entry bytes) pairs the document claims, if it parses.
  let claims: Array<{ index: bigint; bytes: Uint8Array }> | undefined;
  try {
    const d = input.document;
    if (d.kind === 'receipt') {
      const r = parseReceipt(d.json);
      claims = [{ index: r.index, bytes: r.entryBytes }];
    } else if (d.kind === 'bundle') {
      claims = parseBundle(d.json).items.map((it) => ({ index: it.index, bytes: it.entryBytes }));
    } else if (input.entry !== undefined) {
      claims = [{ index: parseTlogProof(d.text).index, bytes: input.entry }];
    }
  } catch (err) {
    if (!isLedgerError(err)) throw err;
  }
  if (claims !== undefined) {
    const notHeld: string[] = [];
    for (const c of claims) {
      const [stored] = c.index < ledger.sequencer.size ? await ledger.listEntries(c.index, 1) : [];
      if (stored === undefined || !equalBytes(stored.data, c.bytes)) notHeld.push(c.index.toString());
    }
    Object.assign(out, { logStillHolds: notHeld.length === 0, notHeld });
  }
  // Consistency from the document's checkpoint (verified under the log's key) to the latest.
  const checkpointPassed = report.checks.some((c) => c.id === 'checkpoint' && c.status === 'pass');
  const { treeSize, rootHash } = report.facts;
  if (checkpointPassed && treeSize !== undefined && rootHash !== undefined) {
    const from = BigInt(treeSize);
    if (from > to) {
      out.consistency = { from: treeSize, to: to.toString(), path: [], ok: false };
    } else {
      const proof = await ledger.consistencyProof(from, to);
      let ok = true;
      try {
        verifyConsistency(from, to, proof.path.map((h) => fromHex(h, 32)), fromHex(rootHash, 32), latest.checkpoint.checkpoint.root, ledger.suite.tree);
      } catch (err) {
        if (!isLedgerError(err)) throw err;
        ok = false;
      }
      out.consistency = { from: treeSize, to: to.toString(), path: proof.path, ok };
    }
  }
  return out;
}

/** The verification routes of one app. */
export function verifyRoutes(ctx: AppContext): Route[] {
  const { ledger, config } = ctx;
  const jsonLimit = config.maxBatchJsonBytes;
  const fileLimit = config.maxDocumentBytes;
  const jsonParser = limitedJson(jsonLimit);
  // Files are hashed as this log's entries are (SPEC.md#crypto-suites): taken once per app.
  const alg = ledger.suite.digestAlg;

  /** fromJson validates the JSON body and normalizes it. */
  const fromJson = (body: unknown): VerifyInput => {
    const r = verifyBodySchema.safeParse(body);
    if (!r.success) throw zodProblem(r.error, 'body');
    const b = r.data;
    const files: LooseContent[] = [
      ...(b.digest !== undefined ? [{ label: 'digest', content: { digest: b.digest } }] : []),
      ...(b.files ?? []).map((f) => ({ label: f.name, content: { digest: f.digest } })),
    ];
    const entry = decodeEntryField(b.entry);
    const policy = readPolicy(b.policy);
    return { document: readDocument(b.receipt), ...(entry !== undefined ? { entry } : {}), ...(policy !== undefined ? { policy } : {}), files };
  };

  /** fromMultipart streams the form, hashing the files. */
  const fromMultipart = async (req: Request): Promise<VerifyInput> => {
    const declared = req.get('content-length');
    if (declared !== undefined && /^[0-9]+$/.test(declared) && Number(declared) > fileLimit + 2 * jsonLimit) {
      throw new HttpProblem(413, 'BODY_TOO_LARGE', `request body is larger than the limit of ${fileLimit + 2 * jsonLimit} bytes`, { field: 'body', headers: { Connection: 'close' } });
    }
    const form = await readMultipart(req, jsonLimit, fileLimit, alg);
    if (form.receipt === undefined) throw bad('receipt', 'missing: want the receipt, bundle or tlog-proof (a field or a file part)');
    const files = form.files.map((f) => ({ label: f.label, content: { digest: { alg, hex: f.hex } } }));
    const policy = readPolicy(form.policy);
    return { document: readDocument(form.receipt), ...(form.entry !== undefined ? { entry: form.entry } : {}), ...(policy !== undefined ? { policy } : {}), files };
  };

  return [
    defineRoute({
      method: 'post',
      path: '/v1/verify',
      operationId: 'verify',
      tag: 'verify',
      summary: 'Verify a receipt, case bundle or tlog-proof against this log, online',
      description:
        "The same structured report as `guzheng verify --json`, pinned to this log's own verifier key (facts.verifierKey), to the TSA roots this log is configured with (GUZHENG_TSA_CA; none: time stamps are reported unverified) and to the witness policy the caller sends in `policy` (else this log's own GUZHENG_WITNESS_POLICY; none: cosignatures are not required), plus `online`: whether the log still holds the entry bytes and whether the document's checkpoint is consistent with the latest one (with the proof). An invalid document is a 200 report with valid:false; an invalid request is a 4xx problem. Send JSON (with the content's digest) or multipart/form-data (with the file itself, hashed while streaming and never stored).",
      access: 'public',
      body: {
        kind: 'raw',
        description: 'application/json (verifyBody) or multipart/form-data (receipt, entry, file parts)',
        limitBytes: jsonLimit,
        mediaTypes: { 'application/json': verifyBodySchema, 'multipart/form-data': verifyMultipartSchema },
      },
      responses: { 200: { description: 'the report', schema: verifyAnswerSchema } },
      errors: [400, 413, 415, 503],
      async handle({ req, res }) {
        const type = (req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        const cl = req.get('content-length');
        const hasBody = req.get('transfer-encoding') !== undefined || (cl !== undefined && cl !== '0');
        if (!hasBody) throw bad('body', 'missing: want a JSON object or multipart/form-data with the receipt');
        let input: VerifyInput;
        if (type === 'application/json') input = fromJson(await parseJson(jsonParser, req, res));
        else if (type === 'multipart/form-data') input = await fromMultipart(req);
        else throw new HttpProblem(415, 'UNSUPPORTED_MEDIA_TYPE', `got Content-Type ${JSON.stringify(req.get('content-type') ?? '')}, want application/json or multipart/form-data`, { field: 'Content-Type' });
        let report: DocumentReport;
        try {
          report = await verifyDocument(input.document, {
            trustedKeys: [ledger.verifier],
            trustedTsaRoots: ctx.tsa.roots,
            // The caller's pinned policy when given, else this log's own (SPEC.md#witness-policy).
            ...((input.policy ?? ctx.policy) !== undefined ? { policy: input.policy ?? ctx.policy } : {}),
            ...(input.entry !== undefined ? { entry: input.entry } : {}),
            files: input.files,
          });
        } catch (err) {
          if (isLedgerError(err, 'INPUT_INVALID')) {
            const field = /^(\w+): /.exec(err.message)?.[1] ?? 'body';
            throw bad(field, err.message.replace(/^\w+: /, ''));
          }
          throw err;
        }
        sendJson(res, 200, { ...report, online: await online(ledger, input, report) }, { 'Cache-Control': 'no-store' });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/verify/{alg}/{hex}',
      operationId: 'verifyDigest',
      tag: 'verify',
      summary: 'Was this digest anchored? Every anchoring with a receipt against one fresh checkpoint',
      description: `Each anchoring covered by the latest checkpoint comes with its receipt (entry, inclusion proof, sealing block) against that one checkpoint, so the whole answer verifies offline with the pinned log key. Anchorings not yet covered are listed in pending. At most ${MAX_PAGE} are proved. anchored:false (200) when the digest was never anchored. The receipts carry the entries' metadata: anyone who knows the digest learns it. alg is this log's content digest algorithm, ${alg} (crypto suite ${ledger.suite.id}); the other one is 400.`,
      access: 'public',
      params: z.strictObject({ alg: digestAlgParam(ledger.suite), hex: hashParam }),
      responses: { 200: { description: 'the anchorings', schema: digestAnswerSchema } },
      errors: [400],
      async handle({ params, res }) {
        // The latest checkpoint, with the cosignatures it has so far: every anchoring it covers is proved.
        const at = await ledger.latestProving();
        const size = at.size;
        const found = await ledger.lookupDigest(params.alg, params.hex);
        // In the mirror's strict mode, an anchoring the bucket does not hold yet is pending.
        const limit = receiptableSize(ctx, size);
        const covered = found.filter((a) => a.index < limit);
        const proved = await proveEntries(ledger, covered.slice(0, MAX_PAGE).map((a) => a.index), at);
        const anchorings = proved.map((p) => {
          const receipt = buildReceipt({ ...p, verifierKey: ledger.verifierKey });
          return { index: p.index.toString(), type: p.decoded.type, receivedAt: p.decoded.receivedAt, leafHash: receipt.leafHash, receipt };
        });
        sendJson(
          res,
          200,
          {
            digest: { alg: params.alg, hex: params.hex },
            anchored: found.length > 0,
            checkpoint: at.note,
            treeSize: size.toString(),
            verifierKey: ledger.verifierKey,
            anchorings,
            pending: found.filter((a) => a.index >= limit).map((a) => a.index.toString()),
            ...(covered.length > MAX_PAGE ? { truncated: true } : {}),
          },
          { 'Cache-Control': 'no-cache' },
        );
      },
    }),
  ];
}
