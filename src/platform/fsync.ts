/**
 * fsyncDir: making a directory's entries durable. A new file or a rename is in the directory, not
 * the file: without an fsync of the directory a crash can lose it even when the file's own bytes
 * were synced (POSIX; ext4 and XFS behave so). Used by the data directory's key files, the
 * witness's key file and the storage migration's swap.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';

/** fsyncDir makes the entries of `dir` (files and directories created or renamed in it) durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
