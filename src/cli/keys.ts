/**
 * `guzheng keys create|list|revoke`: API key administration on a data directory. LevelDB admits
 * one process, so these run while the server is stopped; the message says so if it is not.
 * Creating and revoking a key is recorded in the admin trail (src/auth/admin-trail.ts, actor `cli`).
 * `guzheng keys export` prints the LOG's public key (its verifier key, or with --pem its PEM
 * SubjectPublicKeyInfo: Ed25519, or SM2 for a gm log) from `<data>/log-key`; it reads only that
 * file, so it also runs beside a running server.
 */
import type { Command } from 'commander';
import { AdminTrail } from '../auth/admin-trail.js';
import { createApiKey, revokeApiKey, ROLES, type Role } from '../auth/api-keys.js';
import { LevelStore, StoreLockedError } from '../storage/level.js';
import type { LedgerStore } from '../storage/store.js';
import { formatVerifierKey, type SignerKey } from '../core/note.js';
import { suiteOfKey } from '../core/suite.js';
import { publicKeyPem } from '../platform/public-key.js';
import { dataPaths, ensureDataDir, readLogKey } from '../setup.js';
import { CliError } from './client.js';

/**
 * withStore opens the data directory's store for `f` and closes it after. Refuses, with a hint,
 * while "guzheng serve" holds it (LevelDB admits one process).
 */
export async function withStore<T>(dataDir: string, f: (store: LedgerStore) => Promise<T>): Promise<T> {
  let store: LevelStore;
  const { warning } = ensureDataDir(dataDir);
  if (warning !== undefined) process.stderr.write(warning + '\n');
  try {
    store = await LevelStore.open(dataPaths(dataDir).ledger);
  } catch (err) {
    if (err instanceof StoreLockedError) {
      throw new CliError(`${err.message}. Stop "guzheng serve" on this data directory first (LevelDB admits one process).`);
    }
    throw err;
  }
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys (run while the server is stopped)');
  const dataOpt = ['-d, --data <dir>', 'data directory (env GUZHENG_DATA)', process.env.GUZHENG_DATA ?? './data'] as const;

  keys
    .command('create')
    .description('create an API key; its secret is printed once and stored only as a hash')
    .requiredOption('-r, --role <role>', `one of ${ROLES.join(', ')}`)
    .option('-l, --label <text>', 'a note to recognise the key by')
    .option(...dataOpt)
    .action(async (o: { role: string; label?: string; data: string }) => {
      if (!ROLES.includes(o.role as Role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`, 2);
      const { record, secret } = await withStore(o.data, async (s) => {
        const made = await createApiKey(s, o.role as Role, o.label ? { label: o.label } : {});
        await new AdminTrail(s).append({ actor: 'cli', action: 'key.create', target: made.record.id, detail: `role ${made.record.role}` });
        return made;
      });
      process.stdout.write(`${secret}\n`);
      process.stderr.write(`created ${record.role} key ${record.id}; the secret above is shown only now\n`);
    });

  keys
    .command('list')
    .description('list API keys (ids, roles, states; never secrets)')
    .option(...dataOpt)
    .option('--json', 'machine-readable output')
    .action(async (o: { data: string; json?: boolean }) => {
      const list = await withStore(o.data, (s) => s.listApiKeys());
      const shown = list.map(({ secretHash: _hidden, ...rest }) => rest);
      if (o.json) {
        process.stdout.write(JSON.stringify(shown, null, 2) + '\n');
        return;
      }
      for (const k of shown) {
        process.stdout.write(`${k.id}\t${k.role}\t${k.revokedAt ? `revoked ${k.revokedAt}` : 'active'}\t${k.createdAt}\t${k.label ?? ''}\n`);
      }
    });

  keys
    .command('export')
    .description("print the log's public key: its verifier key (what verifiers pin), or with --pem the PEM SubjectPublicKeyInfo for OpenSSL (Ed25519, or SM2 for a gm log)")
    .option('--pem', 'print the PEM SubjectPublicKeyInfo instead of the verifier key')
    .option(...dataOpt)
    .action((o: { data: string; pem?: boolean }) => {
      let key: SignerKey;
      try {
        key = readLogKey(o.data);
      } catch (err) {
        throw new CliError((err as Error).message, 2);
      }
      const verifierKey = formatVerifierKey(key.name, key.publicKey);
      process.stdout.write(o.pem ? publicKeyPem(verifierKey) : `${verifierKey}\n`);
      const suite = suiteOfKey(key);
      process.stderr.write(`log ${key.name}, crypto suite ${suite.id} (${suite.label.en})\n`);
    });

  keys
    .command('revoke')
    .description('revoke an API key by id')
    .argument('<id>', 'key id as shown by "keys list"')
    .option(...dataOpt)
    .action(async (id: string, o: { data: string }) => {
      const found = await withStore(o.data, async (s) => {
        const before = (await s.listApiKeys()).find((k) => k.id === id);
        if (before === undefined || !(await revokeApiKey(s, id))) return false;
        if (before.revokedAt === undefined) await new AdminTrail(s).append({ actor: 'cli', action: 'key.revoke', target: id });
        return true;
      });
      if (!found) throw new CliError(`no API key with id ${id}`);
      process.stderr.write(`revoked ${id}\n`);
    });
}
