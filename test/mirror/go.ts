/**
 * Builds and runs test/mirror/go/mirror-check.go: Go's golang.org/x/mod sumdb/note and sumdb/tlog
 * (Debian's golang-golang-x-mod-dev, GOPATH mode, no module proxy) check a copy of a mirror. The
 * binary is cached in a temp directory, keyed by the sources and the Go version (as
 * test/interop/go.test.ts does). Without Go it throws: npm test installs it (scripts/test-deps.sh).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SRC = join(import.meta.dirname, 'go', 'mirror-check.go');
const GOPATH = '/usr/share/gocode';
const X_MOD = join(GOPATH, 'src', 'golang.org', 'x', 'mod', 'sumdb');

/** buildMirrorCheck returns the built binary. */
export function buildMirrorCheck(): string {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) throw new Error('Go is required: apt-get install golang-go golang-golang-x-mod-dev (npm test does)');
  const xmod = ['note/note.go', 'tlog/tlog.go', 'tlog/tile.go'].map((f) => join(X_MOD, f));
  for (const f of xmod) if (!existsSync(f)) throw new Error(`golang.org/x/mod is required: ${f} is missing (apt-get install golang-golang-x-mod-dev)`);
  const h = createHash('sha256').update(version.stdout).update(readFileSync(SRC));
  for (const f of xmod) h.update(readFileSync(f));
  const cache = join(tmpdir(), `guzheng-go-interop-cache-${process.getuid?.() ?? 'user'}`);
  const bin = join(cache, `mirror-check-${h.digest('hex').slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(cache, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const env = { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOENV: 'off', GOPROXY: 'off', GOCACHE: join(cache, 'gocache') };
  const b = spawnSync('go', ['build', '-trimpath', '-o', tmp, SRC], { env, encoding: 'utf8', timeout: 180_000 });
  if (b.status !== 0) throw new Error(`go build ${SRC} failed (${b.error?.message ?? `exit ${b.status}`}):\n${b.stderr}`);
  renameSync(tmp, bin);
  return bin;
}

/** runMirrorCheck runs the checker on a directory holding a copy of the mirror prefix. */
export function runMirrorCheck(bin: string, key: string, dir: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, ['-key', key, '-dir', dir], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
