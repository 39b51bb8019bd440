/** codeOf runs `f` and returns the LedgerError code it throws, or 'ok'; any other error is a test failure. */
import { LedgerError } from '../../src/core/errors.js';

export function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof LedgerError) return err.code;
    throw err;
  }
  return 'ok';
}
