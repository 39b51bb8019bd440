/**
 * `guzheng case export|list`: the evidence of one case from a running service. `export` writes
 * the case's evidence bundle (guzheng-bundle/v1: every entry proved against one signed
 * checkpoint, with a manifest) for the case file; with --key it is verified before it is written.
 * `list` shows the case's entries. Both need an API key with the submit or audit role.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyBundle, type BundleReport, type ManifestLine } from '../verifier/index.js';
import { CliError, request, type ClientOptions } from './client.js';
import { formatReport, pinnedKeys } from './verify.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface ExportOptions extends ClientOptions {
  out?: string;
  key: string[];
}

interface ListOptions extends ClientOptions {
  json?: boolean;
}

interface CasePage {
  caseId: string;
  entries: Array<{ index: string; leafHash: string; entry: { type: string; digest: { alg: string; hex: string }; receivedAt: string; meta: { name?: string } }; receipt?: unknown }>;
  next?: string;
}

/** registerCase adds `guzheng case export` and `guzheng case list` to the program. */
export function registerCase(program: Command): void {
  const cmd = program.command('case').description('evidence of one case: export its bundle, list its entries');

  cmd
    .command('export')
    .description('write the evidence bundle of a case (every entry proved against one signed checkpoint)')
    .argument('<caseId>', 'case id, e.g. 衡环罚〔2026〕12号')
    .option('-o, --out <path>', 'write the bundle here instead of stdout')
    .option('-k, --key <key-or-file>', 'verify the bundle against this pinned log key before writing it (repeatable)', collect, [])
    .option('-u, --url <url>', 'service URL (env GUZHENG_URL, default http://127.0.0.1:8080)')
    .option('-a, --api-key <key>', 'API key with the submit or audit role (env GUZHENG_API_KEY)')
    .action(async (caseId: string, o: ExportOptions) => {
      const keys = pinnedKeys(o.key);
      const bundle = (await request(o, 'GET', `/v1/cases/${encodeURIComponent(caseId)}/bundle`)) as { items?: unknown[]; manifest?: ManifestLine[] };
      let report: BundleReport | undefined;
      if (keys.length > 0) {
        report = await verifyBundle(bundle, { trustedKeys: keys });
        if (!report.valid) {
          process.stderr.write(formatReport({ kind: 'bundle', ...report }));
          throw new CliError('the service answered a bundle that does not verify against the pinned key; nothing written');
        }
      }
      const text = JSON.stringify(bundle, null, 2) + '\n';
      if (o.out !== undefined) writeFileSync(o.out, text);
      else process.stdout.write(text);
      const n = bundle.items?.length ?? 0;
      const size = report?.facts.treeSize;
      process.stderr.write(`case ${caseId}: ${n} item${n === 1 ? '' : 's'}${report ? `, verified against the pinned key at tree size ${size}` : ' (not verified: give --key to check before writing)'}${o.out !== undefined ? `; bundle written to ${o.out}` : ''}\n`);
    });

  cmd
    .command('list')
    .description('list the entries of a case')
    .argument('<caseId>', 'case id')
    .option('--json', 'print every entry with its receipt as JSON')
    .option('-u, --url <url>', 'service URL (env GUZHENG_URL)')
    .option('-a, --api-key <key>', 'API key with the submit or audit role (env GUZHENG_API_KEY)')
    .action(async (caseId: string, o: ListOptions) => {
      const entries: CasePage['entries'] = [];
      for (let start: string | undefined = '0'; start !== undefined; ) {
        const page = (await request(o, 'GET', `/v1/cases/${encodeURIComponent(caseId)}?start=${start}&limit=1000`)) as CasePage;
        entries.push(...page.entries);
        start = page.next;
      }
      if (o.json) {
        process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
        return;
      }
      for (const e of entries) {
        process.stdout.write(`${e.index}\t${e.entry.type}\t${e.entry.receivedAt}\t${e.entry.digest.alg}:${e.entry.digest.hex}\t${e.entry.meta.name ?? ''}${e.receipt === undefined ? '\t(pending)' : ''}\n`);
      }
    });
}
