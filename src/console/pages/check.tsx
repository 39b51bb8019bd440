/**
 * "Check a file": the reader drops files; each is hashed here, in the page (SHA-256, or SM3 for a
 * 国密 log: src/web/hash.ts, the court page's hasher), and only its digest is sent, to the public
 * `GET /v1/verify/{alg}/{hex}`. Every anchoring comes back with a receipt, which this page
 * verifies offline (src/verifier) against the key the reader pins (by default the one this log
 * shows, which the reader should compare with a copy from elsewhere), and offers for download.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DigestAlg } from '../../core/entry/schema.js';
import { verifyReceipt } from '../../verifier/verify.js';
import type { VerificationReport } from '../../verifier/report.js';
import { digestBlob } from '../../web/hash.js';
import { getJson, saveFile } from '../api.js';
import { formatNumber, formatTime, t } from '../i18n.js';
import { href } from '../router.js';
import { useConsole } from '../state.js';
import { Hash, Problem, Progress } from '../ui.js';
import { FileDrop } from './files.js';

interface Anchoring {
  readonly index: string;
  readonly type: string;
  readonly receivedAt: string;
  readonly leafHash: string;
  readonly receipt: unknown;
}

interface Answer {
  readonly anchored: boolean;
  readonly anchorings: Anchoring[];
  readonly pending: string[];
}

interface Checked {
  readonly name: string;
  readonly size: number;
  progress: number;
  hex?: string;
  answer?: Answer;
  reports?: VerificationReport[];
  error?: unknown;
}

const KEY_STORE = 'guzheng.pinnedKey';

function savedKey(): string | undefined {
  try {
    return localStorage.getItem(KEY_STORE) ?? undefined;
  } catch {
    return undefined;
  }
}

/** CheckPage hashes dropped files locally and shows their anchorings, verified offline. */
export function CheckPage() {
  const { log } = useConsole();
  const [pinned, setPinned] = useState(savedKey() ?? log?.verifierKey ?? '');
  const [files, setFiles] = useState<Checked[]>([]);
  const alg: DigestAlg = log?.digestAlg ?? 'sha256';
  // The log's description may arrive after the page opened (a slow network, a busy server): until
  // the reader pins a key of their own, the field takes the log's key when it comes.
  useEffect(() => {
    if (pinned === '' && log?.verifierKey !== undefined) setPinned(log.verifierKey);
  }, [log?.verifierKey]);
  // The receipts are verified against the key pinned NOW: whenever it changes (typed in, or the
  // log's arriving after the files were chosen), every answer already here is verified again; with
  // no key yet, a verdict waits for one.
  const rowsNow = useRef<Checked[]>([]);
  const keyNow = useRef(pinned);
  keyNow.current = pinned;
  const verifyRow = async (row: Checked, key: string): Promise<void> => {
    const answer = row.answer;
    if (answer === undefined || row.hex === undefined) return;
    if (key === '') {
      delete row.reports;
      return;
    }
    row.reports = await Promise.all(answer.anchorings.map((a) => verifyReceipt(a.receipt, { trustedKeys: [key], content: { digest: { alg, hex: row.hex as string } } })));
  };
  useEffect(() => {
    const rows = rowsNow.current;
    if (!rows.some((r) => r.answer !== undefined)) return;
    void (async () => {
      for (const row of rows) {
        try {
          await verifyRow(row, pinned);
          if (keyNow.current !== pinned) return;
        } catch (err) {
          row.error = err;
        }
      }
      if (rowsNow.current === rows && keyNow.current === pinned) setFiles([...rows]);
    })();
  }, [pinned]);

  const check = async (list: File[]): Promise<void> => {
    const rows: Checked[] = list.map((f) => ({ name: f.name, size: f.size, progress: 0 }));
    rowsNow.current = rows;
    setFiles(rows);
    const update = (): void => setFiles([...rows]);
    for (const [i, file] of list.entries()) {
      const row = rows[i] as Checked;
      try {
        const d = await digestBlob(file, [alg], {
          onProgress: (done, total) => {
            row.progress = total === 0 ? 1 : done / total;
            update();
          },
        });
        row.hex = d[alg];
        row.progress = 1;
        update();
        const answer = await getJson<Answer>(`/v1/verify/${alg}/${row.hex}`);
        row.answer = answer;
        await verifyRow(row, keyNow.current);
      } catch (err) {
        row.error = err;
      }
      update();
    }
  };

  return (
    <section>
      <h1>{t('check.title')}</h1>
      <p>{t('check.intro', alg === 'sm3' ? 'SM3' : 'SHA-256')}</p>
      <div class="field">
        <label for="pinned">{t('check.key')}</label>
        <input
          id="pinned"
          class="mono"
          value={pinned}
          onInput={(e) => {
            const v = (e.target as HTMLInputElement).value.trim();
            setPinned(v);
            try {
              localStorage.setItem(KEY_STORE, v);
            } catch {
              // Not remembered: fine.
            }
          }}
        />
        <p class="muted">{pinned === log?.verifierKey ? t('check.keyFromLog') : t('check.keyOwn')}</p>
      </div>
      <FileDrop multiple label={t('check.drop')} onFiles={(f) => void check(f)} />
      <ul class="files" aria-live="polite">
        {files.map((f) => (
          <li key={f.name} class="file-row">
            <div>
              <strong>{f.name}</strong> <span class="muted">{formatNumber(f.size)} B</span>
            </div>
            {f.hex === undefined && f.error === undefined && <Progress value={f.progress} label={t('anchor.hashing', f.name)} />}
            {f.hex !== undefined && (
              <div>
                {alg === 'sm3' ? 'SM3' : 'SHA-256'}: <Hash hex={f.hex} />
              </div>
            )}
            {f.error !== undefined && <Problem error={f.error} />}
            {f.answer !== undefined &&
              (f.answer.anchored ? (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('check.index')}</th>
                      <th scope="col">{t('check.received')}</th>
                      <th scope="col">{t('check.verdict')}</th>
                      <th scope="col">{t('check.receipt')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {f.answer.anchorings.map((a, i) => {
                      const r = f.reports?.[i];
                      return (
                        <tr key={a.index}>
                          <td>
                            <a href={href(['entries', a.index])}>{formatNumber(a.index)}</a>
                          </td>
                          <td>{formatTime(a.receivedAt)}</td>
                          <td>
                            {r === undefined ? '…' : r.valid ? <span class="badge ok">{t('check.valid')}</span> : <span class="badge bad">{t('check.invalid', r.checks.filter((c) => c.status === 'fail').map((c) => c.code ?? c.id).join(', '))}</span>}
                          </td>
                          <td>
                            <button type="button" class="small" onClick={() => saveFile(`receipt-${a.index}.json`, JSON.stringify(a.receipt, null, 2))}>
                              {t('check.download')}
                            </button>
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              ) : (
                <p class="badge" role="status">
                  {t('check.notAnchored')}
                </p>
              ))}
            {f.answer !== undefined && f.answer.pending.length > 0 && <p class="muted">{t('check.pending', f.answer.pending.join(', '))}</p>}
          </li>
        ))}
      </ul>
    </section>
  );
}
