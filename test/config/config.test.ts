import { describe, it, expect } from 'vitest';
import { DEFAULTS, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    expect(loadConfig({})).toEqual({ ...DEFAULTS, origin: undefined, adminKey: undefined });
  });

  it('reads the environment and lets flags win', () => {
    const c = loadConfig({ GUZHENG_DATA: '/srv/gz', PORT: '9000', HOST: '0.0.0.0', GUZHENG_ORIGIN: 'hs.example/log', GUZHENG_CHECKPOINT_INTERVAL_MS: '500', GUZHENG_FLUSH_MAX_ENTRIES: '128', GUZHENG_FLUSH_WAIT_MS: '2' }, { port: '9001' });
    expect(c).toMatchObject({ dataDir: '/srv/gz', port: 9001, host: '0.0.0.0', origin: 'hs.example/log', checkpointIntervalMs: 500, flushMaxEntries: 128, flushWaitMs: 2 });
  });

  it('names the variable at fault', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ GUZHENG_CHECKPOINT_INTERVAL_MS: 'soon' })).toThrow(/GUZHENG_CHECKPOINT_INTERVAL_MS/);
    expect(() => loadConfig({}, { rateLimit: '-1' })).toThrow(/GUZHENG_RATE_LIMIT/);
  });
});
