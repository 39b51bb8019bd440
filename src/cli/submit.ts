/**
 * `guzheng submit` and `guzheng prove`: anchor a file or a JSON record through a running
 * service and print the receipt; fetch an inclusion proof.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { CliError, request, requestBytes, type ClientOptions } from './client.js';

const MEDIA_TYPES: Record<string, string> = {
  '.pdf': 'application/pdf',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.doc': 'application/msword',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.mp4': 'video/mp4',
};

function readInput(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, 2);
  }
}

function output(json: unknown, out: string | undefined): void {
  const text = JSON.stringify(json, null, 2) + '\n';
  if (out) writeFileSync(out, text);
  else process.stdout.write(text);
}

/** saveCertificate downloads the certificate of entry `index` to `path` (PDF by extension, else HTML). */
async function saveCertificate(o: ClientOptions, index: string, path: string): Promise<void> {
  const pdf = path.toLowerCase().endsWith('.pdf');
  const bytes = await requestBytes(o, `/v1/receipts/${index}/certificate${pdf ? '.pdf' : ''}`);
  writeFileSync(path, bytes);
  process.stderr.write(`certificate of entry ${index} written to ${path}\n`);
}

interface SubmitOptions extends ClientOptions {
  file?: string;
  record?: string;
  case?: string;
  name?: string;
  mediaType?: string;
  out?: string;
}

export function registerSubmit(program: Command): void {
  program
    .command('submit')
    .description("anchor a file (the service hashes it as it streams and keeps only its digest: SHA-256, or SM3 for a gm log) or a JSON record, and print the receipt")
    .option('-f, --file <path>', 'a document to anchor by digest')
    .option('-r, --record <path>', 'a JSON record to anchor (stored by the service)')
    .option('-c, --case <caseId>', 'case id, e.g. 衡环罚〔2026〕12号')
    .option('--name <name>', 'document name (default: the file name)')
    .option('--media-type <type>', 'document media type (default: from the extension)')
    .option('-o, --out <path>', 'write the receipt here instead of stdout')
    .option('--certificate <path>', 'also save the evidence certificate (PDF if the path ends in .pdf, else HTML)')
    .option('-u, --url <url>', 'service URL (env GUZHENG_URL, default http://127.0.0.1:8080)')
    .option('-k, --api-key <key>', 'API key with the submit role (env GUZHENG_API_KEY)')
    .action(async (o: SubmitOptions & { certificate?: string }) => {
      if ((o.file === undefined) === (o.record === undefined)) throw new CliError('give exactly one of --file or --record', 2);
      let res: unknown;
      if (o.file !== undefined) {
        const bytes = readInput(o.file);
        const q = new URLSearchParams({ name: o.name ?? basename(o.file), mediaType: o.mediaType ?? MEDIA_TYPES[extname(o.file).toLowerCase()] ?? 'application/octet-stream', wait: 'receipt' });
        if (o.case) q.set('caseId', o.case);
        res = await request(o, 'POST', `/v1/documents?${q}`, { bytes: new Uint8Array(bytes) });
      } else {
        let record: unknown;
        try {
          record = JSON.parse(readInput(o.record as string).toString('utf8'));
        } catch (err) {
          if (err instanceof CliError) throw err;
          throw new CliError(`${o.record} is not valid JSON: ${(err as Error).message}`, 2);
        }
        res = await request(o, 'POST', '/v1/entries?wait=receipt', { json: { type: 'record', record, meta: o.case ? { caseId: o.case } : {} } });
      }
      const receipt = (res as { receipt?: unknown }).receipt;
      if (receipt === undefined) throw new CliError('the service anchored the entry but returned no receipt');
      output(receipt, o.out);
      const r = res as { index?: string; digest?: { alg?: string; hex?: string } };
      process.stderr.write(`anchored at index ${r.index} (${r.digest?.alg} ${r.digest?.hex})${o.out ? `; receipt written to ${o.out}` : ''}\n`);
      if (o.certificate !== undefined) await saveCertificate(o, String(r.index), o.certificate);
    });

  program
    .command('certificate')
    .description('save the bilingual evidence certificate (存证证书) of an entry: PDF or HTML')
    .requiredOption('-i, --index <index>', 'entry index')
    .requiredOption('-o, --out <path>', 'file to write (PDF if it ends in .pdf, else HTML)')
    .option('-u, --url <url>', 'service URL (env GUZHENG_URL)')
    .option('-k, --api-key <key>', 'API key with the submit or audit role (env GUZHENG_API_KEY)')
    .action(async (o: ClientOptions & { index: string; out: string }) => {
      if (!/^(0|[1-9][0-9]{0,19})$/.test(o.index)) throw new CliError('--index must be a canonical decimal', 2);
      await saveCertificate(o, o.index, o.out);
    });

  program
    .command('prove')
    .description('print the inclusion proof of an entry against the latest (or a given) checkpoint size')
    .requiredOption('-i, --index <index>', 'entry index')
    .option('-s, --size <size>', 'tree size (default: latest checkpoint)')
    .option('-u, --url <url>', 'service URL (env GUZHENG_URL)')
    .option('-o, --out <path>', 'write the proof here instead of stdout')
    .action(async (o: ClientOptions & { index: string; size?: string; out?: string }) => {
      const q = new URLSearchParams({ index: o.index });
      if (o.size) q.set('size', o.size);
      output(await request(o, 'GET', `/v1/proof/inclusion?${q}`), o.out);
    });
}
