/**
 * Statistics: entries per hour and per day, and HJ 212 packets per device, drawn with uPlot (a
 * small canvas plotting library, bundled and served by the service: no third-party network).
 * The numbers come from summaries the service keeps as blocks are published
 * (docs/console-api.md `GET /v1/stats/…`), never from a scan of the log; each chart also has its
 * numbers as a table, for screen readers and for copying.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatNumber, t } from '../i18n.js';
import { Show, useLoad } from '../ui.js';

interface Buckets {
  readonly by: 'hour' | 'day';
  readonly buckets: ReadonlyArray<{ start: string; entries: number; blocks: number }>;
}

interface Devices {
  readonly devices: ReadonlyArray<{ mn: string; packets: number; days?: ReadonlyArray<{ day: string; packets: number }> }>;
}

/** BarChart draws bars of `values` at `xs` (seconds since the epoch, or 1…n for categories). */
function BarChart({ title, xs, values, label, categories }: { title: string; xs: number[]; values: number[]; label: string; categories?: string[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const width = Math.max(280, Math.min(1200, el.clientWidth || 600));
    // Half a bar of room at both ends, so the first and last bars are drawn whole.
    const step = xs.length > 1 ? ((xs[xs.length - 1] as number) - (xs[0] as number)) / (xs.length - 1) : 1;
    const range = (): uPlot.Range.MinMax => (xs.length === 0 ? [0, 1] : [(xs[0] as number) - step / 2, (xs[xs.length - 1] as number) + step / 2]);
    const opts: uPlot.Options = {
      title,
      width,
      height: 240,
      scales: { x: { time: categories === undefined, range } },
      legend: { show: false },
      axes: [
        categories === undefined ? {} : { splits: () => xs, values: (_u: uPlot, splits: number[]) => splits.map((s) => categories[s - 1] ?? '') },
        { values: (_u: uPlot, splits: number[]) => splits.map((s) => formatNumber(Math.round(s))) },
      ],
      series: [{}, { label, fill: 'rgba(122,31,31,0.35)', stroke: '#7a1f1f', points: { show: false }, paths: uPlot.paths.bars?.({ size: [0.7, 60] }) }],
    };
    const plot = new uPlot(opts, [xs, values], el);
    return () => plot.destroy();
  }, [title, xs.join(','), values.join(',')]);
  return <div ref={box} class="chart" role="img" aria-label={title} />;
}

function hourLabel(iso: string, by: 'hour' | 'day'): string {
  return by === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 13)}:00`;
}

function EntriesChart({ by }: { by: 'hour' | 'day' }) {
  const loaded = useLoad<Buckets>(`/v1/stats/entries?by=${by}`);
  const title = by === 'hour' ? t('stats.perHour') : t('stats.perDay');
  return (
    <section class="card" aria-label={title}>
      <Show loaded={loaded}>
        {(b) => (
          <>
            <BarChart title={title} xs={b.buckets.map((x) => Date.parse(x.start) / 1000)} values={b.buckets.map((x) => x.entries)} label={t('stats.entries')} />
            <details>
              <summary>{t('stats.table')}</summary>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{by === 'hour' ? t('stats.hour') : t('stats.day')}</th>
                    <th scope="col">{t('stats.entries')}</th>
                    <th scope="col">{t('stats.blocks')}</th>
                  </tr>
                </thead>
                <tbody>
                  {b.buckets.map((x) => (
                    <tr key={x.start}>
                      <td>{hourLabel(x.start, by)}</td>
                      <td>{formatNumber(x.entries)}</td>
                      <td>{formatNumber(x.blocks)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </>
        )}
      </Show>
    </section>
  );
}

function DevicesChart() {
  const loaded = useLoad<Devices>('/v1/stats/hj212');
  return (
    <section class="card" aria-label={t('stats.devices')}>
      <Show loaded={loaded}>
        {(d) =>
          d.devices.length === 0 ? (
            <p class="muted">{t('stats.noDevices')}</p>
          ) : (
            <>
              <BarChart title={t('stats.devices')} xs={d.devices.map((_, i) => i + 1)} values={d.devices.map((x) => x.packets)} label={t('stats.packets')} categories={d.devices.map((x) => x.mn)} />
              <details>
                <summary>{t('stats.table')}</summary>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">MN</th>
                      <th scope="col">{t('stats.packets')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.devices.map((x) => (
                      <tr key={x.mn}>
                        <td>
                          <code>{x.mn}</code>
                        </td>
                        <td>{formatNumber(x.packets)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </details>
            </>
          )
        }
      </Show>
    </section>
  );
}

/** StatsPage shows the three charts. */
export function StatsPage() {
  return (
    <>
      <h1>{t('stats.title')}</h1>
      <EntriesChart by="hour" />
      <EntriesChart by="day" />
      <DevicesChart />
    </>
  );
}
