/**
 * Anchoring into a case: files are hashed here, in the page, with a progress bar each, and only
 * their digest and metadata go to the service (as `guzheng submit` does): `POST /v1/entries
 * ?wait=receipt` with `{type: "digest"}`. A record is typed in or loaded from a JSON file and
 * sent whole (`{type: "record"}`): the service stores it and digests its RFC 8785 form.
 */
import { useState } from 'preact/hooks';
import type { DigestAlg } from '../../core/entry/schema.js';
import { digestBlob } from '../../web/hash.js';
import { saveFile, sendJson } from '../api.js';
import { formatNumber, t } from '../i18n.js';
import { href, type Route } from '../router.js';
import { useConsole } from '../state.js';
import { Hash, Problem, Progress } from '../ui.js';
import { FileDrop } from './files.js';

interface Anchored {
  readonly index: string;
  readonly leafHash: string;
  readonly receipt?: unknown;
}

interface Job {
  readonly id: number;
  readonly name: string;
  readonly size: number;
  phase: 'queued' | 'hashing' | 'sending' | 'done' | 'failed';
  progress: number;
  hex?: string;
  result?: Anchored;
  error?: unknown;
}

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/;
let nextJob = 0;
/** Files anchored at once (hashing is one at a time in practice: it is this page's work). */
const IN_FLIGHT = 4;

function phaseText(j: Job): string {
  switch (j.phase) {
    case 'queued':
      return t('anchor.queued');
    case 'hashing':
      return t('anchor.hashing', j.name);
    case 'sending':
      return t('anchor.sending');
    case 'done':
      return j.result?.receipt !== undefined ? t('anchor.doneReceipt', formatNumber(j.result.index)) : t('anchor.done', formatNumber(j.result?.index ?? ''));
    case 'failed':
      return t('anchor.failed');
  }
}

function JobRow({ job }: { job: Job }) {
  return (
    <li class="file-row" data-phase={job.phase}>
      <div>
        <strong>{job.name}</strong> <span class="muted">{formatNumber(job.size)} B</span> · <span>{phaseText(job)}</span>
      </div>
      <Progress value={job.phase === 'done' ? 1 : job.phase === 'sending' ? 0.99 : job.progress} label={t('anchor.progressOf', job.name)} />
      {job.hex !== undefined && <Hash hex={job.hex} />}
      {job.error !== undefined && <Problem error={job.error} />}
      {job.result?.receipt !== undefined && (
        <p class="actions">
          <button type="button" class="small" onClick={() => saveFile(`receipt-${job.result?.index}.json`, JSON.stringify(job.result?.receipt, null, 2))}>
            {t('anchor.receipt', job.name)}
          </button>{' '}
          <a class="button small" href={`/v1/receipts/${job.result.index}/certificate`} target="_blank" rel="noopener">
            {t('case.certificate')}
          </a>
        </p>
      )}
    </li>
  );
}

function FilesForm({ caseId, note, alg }: { caseId: string; note: string; alg: DigestAlg }) {
  const [jobs, setJobs] = useState<Job[]>([]);
  const run = async (files: File[]): Promise<void> => {
    const added: Job[] = files.map((f) => ({ id: nextJob++, name: f.name, size: f.size, phase: 'queued', progress: 0 }));
    let all: Job[] = [];
    setJobs((prev) => (all = [...added, ...prev]));
    // One render per animation frame at most, however many chunks and answers come in.
    let scheduled = false;
    const update = (): void => {
      if (scheduled) return;
      scheduled = true;
      requestAnimationFrame(() => {
        scheduled = false;
        setJobs([...all]);
      });
    };
    const one = async (file: File, job: Job): Promise<void> => {
      try {
        job.phase = 'hashing';
        update();
        const d = await digestBlob(file, [alg], {
          onProgress: (done, total) => {
            job.progress = total === 0 ? 1 : done / total;
            update();
          },
        });
        job.hex = d[alg] as string;
        job.phase = 'sending';
        update();
        const meta: Record<string, unknown> = { name: file.name, size: file.size };
        if (MEDIA_TYPE.test(file.type)) meta['mediaType'] = file.type;
        if (caseId.trim() !== '') meta['caseId'] = caseId.trim();
        if (note.trim() !== '') meta['note'] = note.trim();
        job.result = await sendJson<Anchored>('POST', '/v1/entries?wait=receipt', { type: 'digest', digest: { alg, hex: job.hex }, meta });
        job.phase = 'done';
      } catch (err) {
        job.phase = 'failed';
        job.error = err;
      }
      update();
    };
    // A few files at a time: while one waits for its receipt the next is hashed and sent; the
    // service seals them in the same checkpoint. Files are taken in the order picked.
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(IN_FLIGHT, files.length) }, async () => {
        for (let i = next++; i < files.length; i = next++) await one(files[i] as File, added[i] as Job);
      }),
    );
  };
  return (
    <>
      <FileDrop multiple label={t('anchor.drop')} onFiles={(f) => void run(f)} id="anchor-files" />
      <ul class="files" aria-live="polite" aria-label={t('anchor.jobs')}>
        {jobs.map((j) => (
          <JobRow key={j.id} job={j} />
        ))}
      </ul>
    </>
  );
}

function RecordForm({ caseId, note }: { caseId: string; note: string }) {
  const [text, setText] = useState('{\n  \n}');
  const [source, setSource] = useState('');
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<Anchored>();
  let parsed: unknown;
  let parseError: string | undefined;
  try {
    parsed = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) parseError = t('record.notObject');
  } catch (err) {
    parseError = err instanceof Error ? err.message : String(err);
  }
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        if (parseError !== undefined) return;
        setError(undefined);
        setResult(undefined);
        const meta: Record<string, unknown> = {};
        if (caseId.trim() !== '') meta['caseId'] = caseId.trim();
        if (note.trim() !== '') meta['note'] = note.trim();
        if (source.trim() !== '') meta['source'] = source.trim();
        try {
          setResult(await sendJson<Anchored>('POST', '/v1/entries?wait=receipt', { type: 'record', record: parsed, ...(Object.keys(meta).length > 0 ? { meta } : {}) }));
        } catch (err) {
          setError(err);
        }
      }}
    >
      <div class="field">
        <label for="record">{t('record.json')}</label>
        <textarea id="record" class="mono" rows={8} value={text} aria-invalid={parseError !== undefined} aria-describedby="record-help" onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
        <p id="record-help" class={parseError === undefined ? 'muted' : 'bad'}>
          {parseError === undefined ? t('record.ok') : t('record.bad', parseError)}
        </p>
      </div>
      <FileDrop label={t('record.file')} accept="application/json,.json" id="record-file" onFiles={(f) => void f[0]?.text().then(setText)} />
      <div class="field">
        <label for="source">{t('record.source')}</label>
        <input id="source" value={source} maxLength={256} onInput={(e) => setSource((e.target as HTMLInputElement).value)} />
      </div>
      {error !== undefined && <Problem error={error} />}
      {result !== undefined && (
        <p role="status" class="actions">
          {t('anchor.done', formatNumber(result.index))}{' '}
          {result.receipt !== undefined && (
            <button type="button" class="small" onClick={() => saveFile(`receipt-${result.index}.json`, JSON.stringify(result.receipt, null, 2))}>
              {t('check.receipt')}
            </button>
          )}
        </p>
      )}
      <button type="submit" disabled={parseError !== undefined}>
        {t('record.submit')}
      </button>
    </form>
  );
}

/** AnchorPage: `#/anchor?case=…`. */
export function AnchorPage({ route }: { route: Route }) {
  const { log } = useConsole();
  const [caseId, setCaseId] = useState(route.query.get('case') ?? '');
  const [note, setNote] = useState('');
  const [tab, setTab] = useState<'files' | 'record'>('files');
  return (
    <section>
      <h1>{t('anchor.title')}</h1>
      <p class="muted">{t('anchor.intro')}</p>
      <div class="field">
        <label for="case">{t('anchor.case')}</label>
        <input id="case" value={caseId} maxLength={128} placeholder="衡环罚〔2026〕12号" onInput={(e) => setCaseId((e.target as HTMLInputElement).value)} />
        {caseId.trim() !== '' && (
          <p>
            <a href={href(['cases', caseId.trim()])}>{t('anchor.openCase')}</a>
          </p>
        )}
      </div>
      <div class="field">
        <label for="note">{t('anchor.note')}</label>
        <input id="note" value={note} maxLength={1024} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
      </div>
      <div role="tablist" aria-label={t('anchor.kind')} class="tabs">
        <button type="button" role="tab" aria-selected={tab === 'files'} onClick={() => setTab('files')}>
          {t('anchor.files')}
        </button>
        <button type="button" role="tab" aria-selected={tab === 'record'} onClick={() => setTab('record')}>
          {t('anchor.record')}
        </button>
      </div>
      <div role="tabpanel">{tab === 'files' ? <FilesForm caseId={caseId} note={note} alg={log?.digestAlg ?? 'sha256'} /> : <RecordForm caseId={caseId} note={note} />}</div>
    </section>
  );
}
