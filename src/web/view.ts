/**
 * DOM building blocks of the court verification page (docs/verify-page.md): bilingual text, a
 * check line, the times table and the witness table. They only build elements from already
 * computed words (src/web/explain.ts, times.ts, witnesses.ts); src/web/page.ts places them.
 * Split from page.ts to keep each module readable.
 */
import type { Bilingual } from './explain.js';
import { browser, type DomElement } from './dom.js';
import type { TimeRow } from './times.js';
import type { WitnessesView } from './witnesses.js';

const { document } = browser();

/** Append a `<span lang=…>` pair: Chinese first, English second. */
export function bilingual(parent: DomElement, b: Bilingual, tag: 'span' | 'div' | 'p' = 'span'): void {
  const zh = document.createElement(tag);
  zh.lang = 'zh-CN';
  zh.className = 'zh';
  zh.textContent = b.zh;
  const en = document.createElement(tag);
  en.lang = 'en';
  en.className = 'en';
  en.textContent = b.en;
  parent.append(zh, en);
}

/** Chinese, then English, on one line (for badges and small print). */
export function inline(parent: DomElement, b: Bilingual, className: string): DomElement {
  const span = document.createElement('span');
  span.className = className;
  const zh = document.createElement('span');
  zh.lang = 'zh-CN';
  zh.textContent = b.zh;
  const sep = document.createElement('span');
  sep.textContent = ' · ';
  const en = document.createElement('span');
  en.lang = 'en';
  en.textContent = b.en;
  span.append(zh, sep, en);
  parent.append(span);
  return span;
}

/** One line of a check list: mark, bilingual title, plain-words explanation, technical detail. */
export interface CheckLine {
  readonly id: string;
  readonly status: string;
  readonly mark: string;
  readonly title: Bilingual;
  readonly explanation: Bilingual;
  readonly code?: string;
  readonly detail: string;
}

/** checkItem draws one check as an `<li data-check data-status [data-code]>`. */
export function checkItem(c: CheckLine): DomElement {
  const li = document.createElement('li');
  li.dataset.check = c.id;
  li.dataset.status = c.status;
  if (c.code) li.dataset.code = c.code;
  const m = document.createElement('span');
  m.className = 'mark';
  m.textContent = c.mark;
  const title = document.createElement('span');
  title.className = 'title';
  bilingual(title, c.title);
  const why = document.createElement('div');
  why.className = 'why';
  bilingual(why, c.explanation, 'p');
  const detail = document.createElement('p');
  detail.className = 'detail';
  detail.textContent = c.code ? `${c.code}: ${c.detail}` : c.detail;
  why.append(detail);
  li.append(m, title, why);
  return li;
}

/** A table with a bilingual caption and header row; rows go into the returned body. */
function table(className: string, caption: Bilingual, heads: readonly Bilingual[]): { table: DomElement; tbody: DomElement } {
  const t = document.createElement('table');
  t.className = className;
  const c = document.createElement('caption');
  bilingual(c, caption);
  const head = document.createElement('tr');
  for (const b of heads) {
    const th = document.createElement('th');
    bilingual(th, b);
    head.append(th);
  }
  const thead = document.createElement('thead');
  thead.append(head);
  const tbody = document.createElement('tbody');
  t.append(c, thead, tbody);
  return { table: t, tbody };
}

/** The time cell: Beijing time above UTC, or a dash when there is no time. */
function whenCell(utc: string | undefined, beijing: string | undefined): DomElement {
  const when = document.createElement('td');
  when.className = 'when';
  if (utc === undefined) {
    when.textContent = '—';
    return when;
  }
  const bj = document.createElement('span');
  bj.className = 'bj';
  bj.textContent = `${beijing ?? utc}（北京时间）`;
  const u = document.createElement('span');
  u.className = 'utc';
  u.textContent = `${utc} (UTC)`;
  when.append(bj, u);
  return when;
}

/** A `label: value` line of small print. */
function detailLine(label: Bilingual, value: string): DomElement {
  const p = document.createElement('p');
  p.className = 'details';
  inline(p, label, 'label');
  const v = document.createElement('span');
  v.className = 'value';
  v.textContent = `: ${value}`;
  p.append(v);
  return p;
}

const TIME_HEAD: Bilingual = { zh: '北京时间（UTC+8） / UTC', en: 'Beijing time / UTC' };

/** The times of a valid report, each with its source and who vouches for it (src/web/times.ts). */
export function timesTable(rows: readonly TimeRow[]): DomElement {
  const t = table('times', { zh: '时间及其担保者', en: 'Times, and who vouches for each' }, [{ zh: '时间', en: 'Time' }, TIME_HEAD, { zh: '来源与担保', en: 'Source, and who vouches for it' }]);
  for (const r of rows) {
    const tr = document.createElement('tr');
    tr.dataset.time = r.kind;
    tr.dataset.state = r.state;
    const th = document.createElement('th');
    bilingual(th, r.label);
    const who = document.createElement('td');
    const source = document.createElement('div');
    source.className = 'source';
    inline(source, r.source, 'src');
    const badge = document.createElement('div');
    inline(badge, r.vouch, 'badge');
    who.append(source, badge);
    for (const [label, value] of r.details) who.append(detailLine(label, value));
    tr.append(th, whenCell(r.utc, r.beijing), who);
    t.tbody.append(tr);
  }
  return t.table;
}

const WITNESS_BADGES: Record<WitnessesView['rows'][number]['state'], Bilingual> = {
  independent: { zh: '独立时间来源：见证人自己的时钟，见证人签名，已核验', en: "independent: the witness's own clock, signed by the witness, verified" },
  untimed: { zh: '已联署，已核验（无时间）', en: 'cosigned, verified (no time)' },
  absent: { zh: '未联署', en: 'not cosigned' },
};

/**
 * witnessesTable draws which witness of the pinned policy cosigned the checkpoint and when (its
 * own time, independent of the log), and whether the quorum was met (src/web/witnesses.ts).
 */
export function witnessesTable(view: WitnessesView): DomElement {
  const box = document.createElement('div');
  box.className = 'witnesses';
  box.dataset.met = String(view.met);
  const t = table('times witnesses', { zh: '见证人联署（见证策略）', en: 'Witness cosignatures (pinned policy)' }, [{ zh: '见证人', en: 'Witness' }, TIME_HEAD, { zh: '见证', en: 'What the witness vouches for' }]);
  for (const r of view.rows) {
    const tr = document.createElement('tr');
    tr.dataset.witness = r.name;
    tr.dataset.state = r.state;
    const th = document.createElement('th');
    th.textContent = r.name;
    const who = document.createElement('td');
    const statement = document.createElement('div');
    statement.className = 'statement';
    bilingual(statement, r.statement, 'div');
    const badge = document.createElement('div');
    inline(badge, WITNESS_BADGES[r.state], 'badge');
    who.append(statement, badge, detailLine({ zh: '见证人公钥（已固定）', en: 'Pinned witness key' }, r.key));
    tr.append(th, whenCell(r.utc, r.beijing), who);
    t.tbody.append(tr);
  }
  const quorum = document.createElement('p');
  quorum.className = 'quorum';
  quorum.dataset.met = String(view.met);
  bilingual(quorum, view.summary);
  box.append(t.table, quorum);
  if (view.failedNote !== undefined) {
    const note = document.createElement('p');
    note.className = 'quorum-failed';
    bilingual(note, view.failedNote);
    box.append(note);
  }
  return box;
}
