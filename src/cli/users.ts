/**
 * `guzheng users create|list|disable|enable|reset-password`: people's accounts on a data
 * directory (docs/console-api.md, docs/security.md#people), the command-line twin of the admin
 * routes. Like `guzheng keys`, these run while the server is stopped (LevelDB admits one process).
 * A generated one-time password is printed once on stdout; the user must change it at the first
 * sign-in. Every change is recorded in the admin trail with actor `cli`.
 */
import type { Command } from 'commander';
import { AdminTrail } from '../auth/admin-trail.js';
import { ROLES, type Role } from '../auth/api-keys.js';
import { revokeUserSessions } from '../auth/sessions.js';
import { USER_NAME_RE, createUser, getUser, isUserName, listUsers, principalIdOf, resetPassword, setDisabled, userView, type UserRecord } from '../auth/users.js';
import type { LedgerStore } from '../storage/store.js';
import { CliError } from './client.js';
import { withStore } from './keys.js';

function checkName(name: string): void {
  if (!isUserName(name)) throw new CliError(`a user name must match ${USER_NAME_RE.source} (2-32 characters: a-z, 0-9, '.', '_', '-'), got ${JSON.stringify(name)}`, 2);
}

async function existing(store: LedgerStore, name: string): Promise<UserRecord> {
  const user = await getUser(store, name);
  if (user === undefined) throw new CliError(`no user ${name}`);
  return user;
}

export function registerUsers(program: Command): void {
  const users = program.command('users').description("manage people's accounts for the console (run while the server is stopped)");
  const dataOpt = ['-d, --data <dir>', 'data directory (env GUZHENG_DATA)', process.env.GUZHENG_DATA ?? './data'] as const;

  users
    .command('create')
    .description('create an account; its one-time password is printed once and must be changed at the first sign-in')
    .argument('<name>', `user name, ${USER_NAME_RE.source}`)
    .requiredOption('-r, --role <role>', `one of ${ROLES.join(', ')}`)
    .option(...dataOpt)
    .action(async (name: string, o: { role: string; data: string }) => {
      checkName(name);
      if (!ROLES.includes(o.role as Role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`, 2);
      const made = await withStore(o.data, async (s) => {
        const m = await createUser(s, name, o.role as Role);
        if (m !== undefined) await new AdminTrail(s).append({ actor: 'cli', action: 'user.create', target: principalIdOf(name), detail: `role ${o.role}` });
        return m;
      });
      if (made === undefined) throw new CliError(`user name ${name} is taken`);
      process.stdout.write(`${made.password}\n`);
      process.stderr.write(`created ${made.user.role} user ${name}; the one-time password above is shown only now and must be changed at the first sign-in\n`);
    });

  users
    .command('list')
    .description('list accounts (names, roles, states; never passwords)')
    .option(...dataOpt)
    .option('--json', 'machine-readable output')
    .action(async (o: { data: string; json?: boolean }) => {
      const list = (await withStore(o.data, (s) => listUsers(s))).map((u) => userView(u, true));
      if (o.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      for (const u of list) {
        const state = u.disabledAt !== undefined ? `disabled ${u.disabledAt}` : u.mustChangePassword ? 'active, must change password' : 'active';
        process.stdout.write(`${u.name}\t${u.role}\t${state}\t${u.createdAt}\n`);
      }
    });

  users
    .command('disable')
    .description('disable an account and end its sessions')
    .argument('<name>', 'user name')
    .option(...dataOpt)
    .action(async (name: string, o: { data: string }) => {
      checkName(name);
      const ended = await withStore(o.data, async (s) => {
        const user = await existing(s, name);
        await setDisabled(s, user, true);
        const n = await revokeUserSessions(s, name);
        if (user.disabledAt === undefined) await new AdminTrail(s).append({ actor: 'cli', action: 'user.disable', target: principalIdOf(name) });
        return n;
      });
      process.stderr.write(`disabled ${name}; ended ${ended} session(s)\n`);
    });

  users
    .command('enable')
    .description('enable a disabled account')
    .argument('<name>', 'user name')
    .option(...dataOpt)
    .action(async (name: string, o: { data: string }) => {
      checkName(name);
      await withStore(o.data, async (s) => {
        const user = await existing(s, name);
        if (user.disabledAt === undefined) return;
        await setDisabled(s, user, false);
        await new AdminTrail(s).append({ actor: 'cli', action: 'user.enable', target: principalIdOf(name) });
      });
      process.stderr.write(`enabled ${name}\n`);
    });

  users
    .command('reset-password')
    .description('give an account a new one-time password (printed once) and end its sessions')
    .argument('<name>', 'user name')
    .option(...dataOpt)
    .action(async (name: string, o: { data: string }) => {
      checkName(name);
      const password = await withStore(o.data, async (s) => {
        const reset = await resetPassword(s, await existing(s, name));
        await revokeUserSessions(s, name);
        await new AdminTrail(s).append({ actor: 'cli', action: 'user.reset-password', target: principalIdOf(name) });
        return reset.password;
      });
      process.stdout.write(`${password}\n`);
      process.stderr.write(`reset the password of ${name}; the one-time password above is shown only now and must be changed at the next sign-in\n`);
    });
}
