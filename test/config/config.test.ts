import { describe, it, expect } from 'vitest';
import { DEFAULTS, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    expect(loadConfig({})).toEqual({ ...DEFAULTS, origin: undefined, adminKey: undefined, hj212Port: undefined, hj212Host: DEFAULTS.host, hj212LegacyCrc: new Map(), tsaUrls: [], tsaCaFile: undefined });
  });

  describe('RFC 3161 time stamping', () => {
    it('is off by default, takes a comma-separated list of TSAs in order, and flags win', () => {
      expect(loadConfig({}).tsaUrls).toEqual([]);
      const c = loadConfig({ GUZHENG_TSA_URL: 'https://tsa.example/tsr, http://127.0.0.1:3161/', GUZHENG_TSA_CA: '/etc/guzheng/tsa-roots.pem', GUZHENG_TSA_INTERVAL_MS: '60000' });
      expect(c).toMatchObject({ tsaUrls: ['https://tsa.example/tsr', 'http://127.0.0.1:3161/'], tsaCaFile: '/etc/guzheng/tsa-roots.pem', tsaIntervalMs: 60000, tsaTimeoutMs: 10000 });
      expect(loadConfig({ GUZHENG_TSA_URL: 'https://a.example/', GUZHENG_TSA_CA: 'x.pem' }, { tsaUrl: 'https://b.example/', tsaCa: 'y.pem', tsaIntervalMs: '500' })).toMatchObject({ tsaUrls: ['https://b.example/'], tsaCaFile: 'y.pem', tsaIntervalMs: 500 });
      expect(loadConfig({}).tsaIntervalMs).toBe(10_000);
    });

    it('takes the TSA and witness request deadlines and the witness policy from the environment, flags winning', () => {
      expect(loadConfig({})).toMatchObject({ tsaTimeoutMs: 10_000, witnessTimeoutMs: 3_000, witnessPolicyFile: undefined });
      expect(loadConfig({ GUZHENG_TSA_TIMEOUT_MS: '2500', GUZHENG_WITNESS_TIMEOUT_MS: '800', GUZHENG_WITNESS_POLICY: '/etc/guzheng/policy' })).toMatchObject({ tsaTimeoutMs: 2500, witnessTimeoutMs: 800, witnessPolicyFile: '/etc/guzheng/policy' });
      expect(loadConfig({ GUZHENG_TSA_TIMEOUT_MS: '2500', GUZHENG_WITNESS_TIMEOUT_MS: '800', GUZHENG_WITNESS_POLICY: 'a' }, { tsaTimeoutMs: '900', witnessTimeoutMs: '1200', witnessPolicy: 'b' })).toMatchObject({ tsaTimeoutMs: 900, witnessTimeoutMs: 1200, witnessPolicyFile: 'b' });
      expect(() => loadConfig({}, { witnessTimeoutMs: '10' })).toThrow(/GUZHENG_WITNESS_TIMEOUT_MS/);
      expect(() => loadConfig({}, { tsaTimeoutMs: 'soon' })).toThrow(/GUZHENG_TSA_TIMEOUT_MS/);
    });

    it('refuses a TSA without pinned roots, and names bad values', () => {
      expect(() => loadConfig({ GUZHENG_TSA_URL: 'https://tsa.example/' })).toThrow(/GUZHENG_TSA_CA/);
      expect(() => loadConfig({ GUZHENG_TSA_URL: 'ftp://tsa.example/', GUZHENG_TSA_CA: 'x.pem' })).toThrow(/GUZHENG_TSA_URL.*not an http\(s\) URL/);
      expect(() => loadConfig({ GUZHENG_TSA_URL: 'https://tsa.example/', GUZHENG_TSA_CA: 'x.pem', GUZHENG_TSA_INTERVAL_MS: '5' })).toThrow(/GUZHENG_TSA_INTERVAL_MS/);
    });
  });

  it('reads the environment and lets flags win', () => {
    const c = loadConfig({ GUZHENG_DATA: '/srv/gz', PORT: '9000', HOST: '0.0.0.0', GUZHENG_ORIGIN: 'hs.example/log', GUZHENG_CHECKPOINT_INTERVAL_MS: '500', GUZHENG_FLUSH_MAX_ENTRIES: '128', GUZHENG_FLUSH_WAIT_MS: '2' }, { port: '9001' });
    expect(c).toMatchObject({ dataDir: '/srv/gz', port: 9001, host: '0.0.0.0', origin: 'hs.example/log', checkpointIntervalMs: 500, flushMaxEntries: 128, flushWaitMs: 2 });
  });

  it('reads the crypto suite of a new log (GUZHENG_PROFILE, --profile winning): c2sp or gm, unset by default', () => {
    expect(loadConfig({}).profile).toBeUndefined();
    expect(loadConfig({ GUZHENG_PROFILE: 'gm' }).profile).toBe('gm');
    expect(loadConfig({ GUZHENG_PROFILE: 'gm' }, { profile: 'c2sp' }).profile).toBe('c2sp');
    expect(() => loadConfig({ GUZHENG_PROFILE: 'sm3' })).toThrow(/GUZHENG_PROFILE/);
  });

  it('reads the slow-client timeouts', () => {
    expect(loadConfig({ GUZHENG_HEADERS_TIMEOUT_MS: '1500', GUZHENG_IDLE_TIMEOUT_MS: '2500' })).toMatchObject({ headersTimeoutMs: 1500, idleTimeoutMs: 2500 });
    expect(() => loadConfig({ GUZHENG_HEADERS_TIMEOUT_MS: '0' })).toThrow(/GUZHENG_HEADERS_TIMEOUT_MS/);
  });

  it('names the variable at fault', () => {
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ GUZHENG_CHECKPOINT_INTERVAL_MS: 'soon' })).toThrow(/GUZHENG_CHECKPOINT_INTERVAL_MS/);
    expect(() => loadConfig({}, { rateLimit: '-1' })).toThrow(/GUZHENG_RATE_LIMIT/);
  });

  describe('HJ 212 gateway', () => {
    it('is off unless a port is given; the host defaults to HOST', () => {
      expect(loadConfig({}).hj212Port).toBeUndefined();
      expect(loadConfig({ GUZHENG_HJ212_PORT: '' }).hj212Port).toBeUndefined();
      expect(loadConfig({ HOST: '0.0.0.0', GUZHENG_HJ212_PORT: '9212' })).toMatchObject({ hj212Port: 9212, hj212Host: '0.0.0.0' });
      expect(loadConfig({ HOST: '0.0.0.0', GUZHENG_HJ212_HOST: '10.0.0.5' }).hj212Host).toBe('10.0.0.5');
      expect(loadConfig({ GUZHENG_HJ212_PORT: '0' }).hj212Port).toBe(0);
    });

    it('lets --hj212-port win over GUZHENG_HJ212_PORT', () => {
      expect(loadConfig({ GUZHENG_HJ212_PORT: '9212' }, { hj212Port: '9213' }).hj212Port).toBe(9213);
    });

    it('reads the tunables and the per-device legacy CRC list', () => {
      const c = loadConfig({
        GUZHENG_HJ212_IDLE_TIMEOUT_MS: '120000',
        GUZHENG_HJ212_MAX_CONNECTIONS: '500',
        GUZHENG_HJ212_BAD_CRC_PER_MINUTE: '0',
        GUZHENG_HJ212_LEGACY_CRC: 'OLD0001=modbus, OLD0002=modbus-swapped,OLD0001=modbus-swapped',
      });
      expect(c).toMatchObject({ hj212IdleTimeoutMs: 120_000, hj212MaxConnections: 500, hj212BadCrcPerMinute: 0 });
      expect(c.hj212LegacyCrc).toEqual(
        new Map([
          ['OLD0001', ['modbus', 'modbus-swapped']],
          ['OLD0002', ['modbus-swapped']],
        ]),
      );
    });

    it('names the variable at fault', () => {
      expect(() => loadConfig({ GUZHENG_HJ212_PORT: '65536' })).toThrow(/GUZHENG_HJ212_PORT/);
      expect(() => loadConfig({}, { hj212Port: 'x' })).toThrow(/GUZHENG_HJ212_PORT/);
      expect(() => loadConfig({ GUZHENG_HJ212_IDLE_TIMEOUT_MS: '10' })).toThrow(/GUZHENG_HJ212_IDLE_TIMEOUT_MS/);
      expect(() => loadConfig({ GUZHENG_HJ212_MAX_CONNECTIONS: '0' })).toThrow(/GUZHENG_HJ212_MAX_CONNECTIONS/);
      expect(() => loadConfig({ GUZHENG_HJ212_BAD_CRC_PER_MINUTE: '-1' })).toThrow(/GUZHENG_HJ212_BAD_CRC_PER_MINUTE/);
      expect(() => loadConfig({ GUZHENG_HJ212_LEGACY_CRC: 'OLD0001=crc32' })).toThrow(/GUZHENG_HJ212_LEGACY_CRC: got "OLD0001=crc32", want MN=modbus or MN=modbus-swapped/);
      expect(() => loadConfig({ GUZHENG_HJ212_LEGACY_CRC: 'modbus' })).toThrow(/GUZHENG_HJ212_LEGACY_CRC/);
      expect(() => loadConfig({ GUZHENG_HJ212_LEGACY_CRC: 'A;B=modbus' })).toThrow(/GUZHENG_HJ212_LEGACY_CRC/);
    });
  });
});
