/**
 * A refusal in the reader's words: every problem code the console can meet (docs/api.md#errors,
 * docs/console-api.md) has a sentence saying what happened and what to do; the service's own
 * detail is shown underneath, as it names the field or the limit.
 */
import { ApiError } from './api.js';
import { t } from './i18n.js';
import type { MessageKey } from './messages.js';

const BY_CODE: Readonly<Record<string, MessageKey>> = {
  NETWORK: 'p.network',
  UNAUTHORIZED: 'p.unauthorized',
  FORBIDDEN: 'p.forbidden',
  NOT_FOUND: 'p.notFound',
  INPUT_INVALID: 'p.invalid',
  BODY_TOO_LARGE: 'p.tooLarge',
  UNSUPPORTED_MEDIA_TYPE: 'p.invalid',
  RATE_LIMITED: 'p.rateLimited',
  OVERLOADED: 'p.overloaded',
  STORAGE_FULL: 'p.storageFull',
  UNAVAILABLE: 'p.unavailable',
  RECEIPT_PENDING: 'p.receiptPending',
  LOGIN_FAILED: 'p.loginFailed',
  LOGIN_THROTTLED: 'p.loginThrottled',
  CSRF_REJECTED: 'p.csrf',
  PASSWORD_CHANGE_REQUIRED: 'p.passwordChange',
  PASSWORD_WEAK: 'p.passwordWeak',
  CONFLICT: 'p.conflict',
  METHOD_NOT_ALLOWED: 'p.invalid',
  READ_ONLY_REPLICA: 'p.readOnly',
  POLICY_MALFORMED: 'p.invalid',
};

/** problemText is the title and the service's detail of a failure. */
export function problemText(error: unknown): { title: string; detail?: string } {
  if (error instanceof ApiError) {
    const key = BY_CODE[error.code];
    let title = key !== undefined ? t(key) : t('p.other', error.status);
    if (error.retryAfter !== undefined) title += ' ' + t('p.retryIn', error.retryAfter);
    return { title, detail: error.message === '' ? error.code : `${error.code}: ${error.message}` };
  }
  return { title: t('p.other', '—'), detail: error instanceof Error ? error.message : String(error) };
}
