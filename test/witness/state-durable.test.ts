/**
 * The witness's directories are durable when created (src/witness/state.ts, keyfile.ts): a new
 * directory's entry lives in its parent, so after `state/` (or the data directory itself) is
 * created the parent must be fsynced, or a power loss can take the directory away with every
 * cosigned checkpoint fsynced inside it. node:fs is observed (not replaced): each fsync records
 * which directory it was and what that directory held at the time.
 */
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, statSync, type Mode, type OpenMode, type PathLike } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { WitnessState } from '../../src/witness/state.js';
import { initWitness } from '../../src/witness/keyfile.js';

const seen = vi.hoisted(() => ({ paths: new Map<number, string>(), synced: [] as Array<{ path: string; entries: string[] }> }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    openSync: (path: PathLike, flags: OpenMode = 'r', mode?: Mode | null): number => {
      const fd = fs.openSync(path, flags, mode);
      seen.paths.set(fd, resolve(String(path)));
      return fd;
    },
    fsyncSync: (fd: number): void => {
      const path = seen.paths.get(fd) ?? `fd ${fd}`;
      let entries: string[] = [];
      try {
        entries = fs.statSync(path).isDirectory() ? fs.readdirSync(path) : [];
      } catch {
        // Not a path we opened by name: recorded without entries.
      }
      seen.synced.push({ path, entries });
      fs.fsyncSync(fd);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'guzheng-witness-durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  seen.synced.length = 0;
});

/** syncedWith tells whether directory `path` was fsynced while it held `entry`. */
const syncedWith = (path: string, entry: string) => seen.synced.some((s) => s.path === resolve(path) && s.entries.includes(entry));

describe('witness data directory durability', () => {
  it('WitnessState.open creates state/ and fsyncs the data directory holding it', async () => {
    const data = join(dir, 'existing');
    initWitness(data, 'witness.test/durable');
    seen.synced.length = 0;
    const state = await WitnessState.open(data);
    await state.close();
    expect(statSync(join(data, 'state')).isDirectory()).toBe(true);
    expect(readdirSync(join(data, 'state'))).toContain('CURRENT');
    expect(syncedWith(data, 'state')).toBe(true);
    // Opened again, nothing is created and nothing needs to be made durable.
    seen.synced.length = 0;
    await (await WitnessState.open(data)).close();
    expect(seen.synced.filter((s) => s.path === resolve(data))).toEqual([]);
  });

  it('creates missing parents too, each with its parent fsynced', async () => {
    const data = join(dir, 'a', 'b');
    const state = await WitnessState.open(data);
    await state.close();
    expect(statSync(join(data, 'state')).isDirectory()).toBe(true);
    expect(syncedWith(data, 'state')).toBe(true);
    expect(syncedWith(join(dir, 'a'), 'b')).toBe(true);
    expect(syncedWith(dir, 'a')).toBe(true);
  });

  it('witness init fsyncs the parent of a data directory it creates', () => {
    const data = join(dir, 'fresh');
    initWitness(data, 'witness.test/fresh');
    expect(syncedWith(dirname(data), 'fresh')).toBe(true);
    expect(syncedWith(data, 'witness-key')).toBe(true);
  });
});
