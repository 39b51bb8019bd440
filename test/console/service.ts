/**
 * The service the console's browser tests drive: the console built, a real service (src/server.ts)
 * on a fresh data directory with LevelDB, port 0 on 127.0.0.1, quick checkpoints, and a known
 * admin API key.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsole } from '../../scripts/build-console.js';
import { loadConfig, type ServiceConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/server.js';

/** A started service with its directory and admin key. */
export interface ConsoleService {
  readonly dir: string;
  readonly service: RunningService;
  readonly adminKey: string;
}

/** startConsoleService builds the console and starts a service for the test file `name`. */
export async function startConsoleService(name: string, adminKey: string): Promise<ConsoleService> {
  await buildConsole();
  const dir = mkdtempSync(join(tmpdir(), `guzheng-console-${name}-`));
  const config: ServiceConfig = {
    ...loadConfig({}),
    dataDir: join(dir, 'data'),
    port: 0,
    origin: `guzheng.test/console-${name}`,
    adminKey,
    hj212Port: undefined,
    hj212Host: '127.0.0.1',
    hj212LegacyCrc: new Map(),
    checkpointIntervalMs: 20,
    receiptIntervalMs: 10,
  };
  return { dir, service: await startService(config, () => {}), adminKey };
}
