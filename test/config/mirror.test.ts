/**
 * The mirror's configuration (issue 15, docs/operations.md#configuration): GUZHENG_MIRROR=s3://BUCKET/PREFIX,
 * GUZHENG_MIRROR_ENDPOINT, GUZHENG_MIRROR_STRICT and the standard AWS_* credentials; flags win
 * over the environment, credentials come from the environment only. A bad value is a
 * configuration error naming the variable, and `guzheng serve` exits 2 before creating anything.
 * (An unreachable store or refused credentials are not configuration errors: test/mirror/serve.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const KEYS = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const ROOT = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'guzheng-config-mirror-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig: the S3 mirror', () => {
  it('is off by default; AWS_* settings alone change nothing (and are not checked)', () => {
    expect(loadConfig({}).mirror).toBeUndefined();
    expect(loadConfig({ ...KEYS, AWS_REGION: 'not a region!' }).mirror).toBeUndefined();
  });

  it('reads the bucket, prefix, endpoint, region and credentials; flags win, credentials only from the environment', () => {
    expect(loadConfig({ ...KEYS, GUZHENG_MIRROR: 's3://evidence-hs/logs/guzheng/', GUZHENG_MIRROR_ENDPOINT: 'http://127.0.0.1:7480/', AWS_REGION: 'default', AWS_SESSION_TOKEN: 'tok' }).mirror).toEqual({
      url: 's3://evidence-hs/logs/guzheng',
      bucket: 'evidence-hs',
      prefix: 'logs/guzheng',
      endpoint: 'http://127.0.0.1:7480',
      region: 'default',
      credentials: { accessKeyId: KEYS.AWS_ACCESS_KEY_ID, secretAccessKey: KEYS.AWS_SECRET_ACCESS_KEY, sessionToken: 'tok' },
      strict: false,
    });
    // The bucket's root; AWS itself (no endpoint) in us-east-1 by default.
    expect(loadConfig({ ...KEYS, GUZHENG_MIRROR: 's3://evidence.hs' }).mirror).toMatchObject({ url: 's3://evidence.hs', bucket: 'evidence.hs', prefix: '', endpoint: undefined, region: 'us-east-1' });
    const flagged = loadConfig({ ...KEYS, GUZHENG_MIRROR: 's3://a-bucket/x', GUZHENG_MIRROR_ENDPOINT: 'http://a.example' }, { mirror: 's3://b-bucket/y', mirrorEndpoint: 'https://b.example:8443', mirrorStrict: true });
    expect(flagged.mirror).toMatchObject({ bucket: 'b-bucket', prefix: 'y', endpoint: 'https://b.example:8443', strict: true });
  });

  it('reads strict mode: GUZHENG_MIRROR_STRICT=1 or --mirror-strict', () => {
    const m = { ...KEYS, GUZHENG_MIRROR: 's3://bucket/p' };
    expect(loadConfig(m).mirror?.strict).toBe(false);
    expect(loadConfig({ ...m, GUZHENG_MIRROR_STRICT: '1' }).mirror?.strict).toBe(true);
    expect(loadConfig({ ...m, GUZHENG_MIRROR_STRICT: 'true' }).mirror?.strict).toBe(true);
    expect(loadConfig({ ...m, GUZHENG_MIRROR_STRICT: '0' }).mirror?.strict).toBe(false);
    expect(loadConfig({ ...m, GUZHENG_MIRROR_STRICT: '0' }, { mirrorStrict: true }).mirror?.strict).toBe(true);
    expect(() => loadConfig({ ...m, GUZHENG_MIRROR_STRICT: 'yes' })).toThrow(/GUZHENG_MIRROR_STRICT: want 1 \(on\) or 0 \(off\)/);
  });

  it('refuses a bad URL, a missing or bad bucket name, a bad prefix, naming GUZHENG_MIRROR', () => {
    const cases: Array<[string, RegExp]> = [
      ['https://bucket/prefix', /not an s3:\/\/ URL/],
      ['bucket/prefix', /not an s3:\/\/ URL/],
      ['s3://', /no bucket name/],
      ['s3:///prefix', /no bucket name/],
      ['s3://Evidence/p', /bucket name "Evidence"/],
      ['s3://ab/p', /bucket name "ab"/],
      ['s3://under_score/p', /bucket name "under_score"/],
      ['s3://a..b/p', /bucket name "a..b"/],
      ['s3://192.168.1.10/p', /bucket name "192.168.1.10"/],
      ['s3://bucket/a//b', /prefix "a\/\/b"/],
      ['s3://bucket/a/../b', /prefix "a\/..\/b"/],
      ['s3://bucket/日志', /prefix "日志"/],
      ['s3://bucket/p?versionId=1', /no user, port, query/],
      ['s3://key:secret@bucket/p', /no user, port, query/],
      ['s3://bucket:9000/p', /no user, port, query/],
    ];
    for (const [url, want] of cases) {
      let err: unknown;
      try {
        loadConfig({ ...KEYS, GUZHENG_MIRROR: url });
      } catch (e) {
        err = e;
      }
      expect(err, url).toBeInstanceOf(ConfigError);
      expect((err as Error).message, url).toMatch(/^configuration: GUZHENG_MIRROR: got /);
      expect((err as Error).message, url).toMatch(want);
    }
  });

  it('refuses a mirror without credentials, an endpoint or strict mode without a mirror, a bad endpoint or region', () => {
    expect(() => loadConfig({ GUZHENG_MIRROR: 's3://bucket/p' })).toThrow(/GUZHENG_MIRROR s3:\/\/bucket\/p needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment/);
    expect(() => loadConfig({ GUZHENG_MIRROR: 's3://bucket/p', AWS_ACCESS_KEY_ID: 'x' })).toThrow(/needs AWS_SECRET_ACCESS_KEY in/);
    expect(() => loadConfig({ GUZHENG_MIRROR: 's3://bucket/p', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: '' })).toThrow(/needs AWS_SECRET_ACCESS_KEY in/);
    expect(() => loadConfig({ ...KEYS, GUZHENG_MIRROR_ENDPOINT: 'http://127.0.0.1:7480' })).toThrow(/GUZHENG_MIRROR_ENDPOINT \(--mirror-endpoint\) is set but GUZHENG_MIRROR \(--mirror\) is not/);
    expect(() => loadConfig({ ...KEYS }, { mirrorStrict: true })).toThrow(/GUZHENG_MIRROR_STRICT \(--mirror-strict\) needs a mirror/);
    for (const endpoint of ['127.0.0.1:7480', 'ftp://rgw.example', 'http://key:secret@rgw.example', 'http://rgw.example/?x=1']) {
      expect(() => loadConfig({ ...KEYS, GUZHENG_MIRROR: 's3://bucket/p', GUZHENG_MIRROR_ENDPOINT: endpoint }), endpoint).toThrow(/GUZHENG_MIRROR_ENDPOINT: got/);
    }
    expect(() => loadConfig({ ...KEYS, GUZHENG_MIRROR: 's3://bucket/p', AWS_REGION: 'us east 1' })).toThrow(/AWS_REGION/);
  });
});

describe('guzheng serve: a bad mirror setting', () => {
  const BIN = join(ROOT, 'src', 'cli', 'bin.ts');
  const serve = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', BIN, 'serve', '--port', '0', ...args], {
      cwd: ROOT,
      // Without the caller's AWS_* or GUZHENG_* settings.
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('exits 2 naming the setting, before creating the data directory', () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--mirror', 's3://'], KEYS, /GUZHENG_MIRROR: got "s3:\/\/", want s3:\/\/BUCKET\/PREFIX: no bucket name/],
      [[], { ...KEYS, GUZHENG_MIRROR: 'http://bucket/p' }, /GUZHENG_MIRROR: got "http:\/\/bucket\/p".*not an s3:\/\/ URL/],
      [['--mirror', 's3://bucket/p'], {}, /needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/],
      [['--mirror-strict'], KEYS, /GUZHENG_MIRROR_STRICT \(--mirror-strict\) needs a mirror/],
    ];
    for (const [args, env, want] of cases) {
      const data = join(dir, 'data');
      const r = serve(['--data', data, ...args], env);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(existsSync(data)).toBe(false);
    }
  }, 120_000);
});
