/**
 * What a batch shows while it runs and at its end: one status line per job
 * (redrawn in place on a terminal; elsewhere a line as each job starts and
 * ends), then a table of every job.
 */
import { formatCount } from '../capture/report';
import type { BatchJob } from './job-file';

export type JobStatus = 'waiting' | 'starting' | 'capturing' | 'stopping' | 'ok' | 'failed' | 'stopped' | 'skipped';

export interface JobView {
  job: BatchJob;
  status: JobStatus;
  startedAt?: Date | undefined;
  endedAt?: Date | undefined;
  packets?: number | undefined;
  dropped?: number | undefined;
  files?: string[] | undefined;
  error?: string | undefined;
}

function seconds(v: JobView, now: Date): string {
  if (!v.startedAt) return '-';
  return `${(((v.endedAt ?? now).getTime() - v.startedAt.getTime()) / 1000).toFixed(1)}s`;
}

export function statusLine(v: JobView, now: Date): string {
  const done = v.status === 'ok' || v.status === 'failed' || v.status === 'stopped';
  const counts = done && v.packets !== undefined ? `, ${formatCount(v.packets)} packets, ${formatCount(v.dropped ?? 0)} dropped` : '';
  const why = v.status === 'failed' && v.error ? `: ${v.error}` : '';
  return `${v.job.name}: ${v.status} (--file-prefix ${v.job.request.prefix}) ${seconds(v, now)}${counts}${why}`;
}

export class StatusBoard {
  readonly #out: NodeJS.WriteStream;
  readonly #views: JobView[];
  readonly #tty: boolean;
  #drawn = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(out: NodeJS.WriteStream, views: JobView[]) {
    this.#out = out;
    this.#views = views;
    this.#tty = out.isTTY === true;
    if (this.#tty) {
      this.#draw();
      // The elapsed times move on their own: redraw every second.
      this.#timer = setInterval(() => this.#draw(), 1000);
      this.#timer.unref();
    }
  }

  /**
   * A job changed state. Off a terminal only its start (every ring
   * capturing) and its end are worth a line.
   */
  changed(v: JobView): void {
    if (this.#tty) this.#draw();
    else if (v.status === 'capturing' || v.status === 'ok' || v.status === 'failed' || v.status === 'stopped') {
      this.#out.write(`${statusLine(v, new Date())}\n`);
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#tty) this.#draw();
  }

  #draw(): void {
    const now = new Date();
    const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    const width = this.#out.columns ?? 0;
    const lines = this.#views.map((v) => {
      const text = statusLine(v, now);
      // A wrapped line would throw off the cursor moves of the next redraw.
      return `\r\x1b[K${width > 1 && text.length >= width ? `${text.slice(0, width - 2)}…` : text}`;
    });
    this.#out.write(`${up}${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }
}

/** The table printed at the end: name, status, packets, drops, files, time. */
export function formatTable(views: readonly JobView[]): string {
  const header = ['name', 'status', 'packets', 'drops', 'files', 'time'];
  const now = new Date();
  const rows = views.map((v) => [
    v.job.name,
    v.status,
    v.packets === undefined ? '-' : formatCount(v.packets),
    v.dropped === undefined ? '-' : formatCount(v.dropped),
    v.files === undefined || v.files.length === 0 ? '-' : v.files.join(' '),
    seconds(v, now),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const errors = views
    .filter((v) => v.error !== undefined && (v.status === 'failed' || v.status === 'skipped'))
    .map((v) => `  ${v.job.name}: ${v.error}`);
  return [fmt(header), ...rows.map(fmt), ...errors].join('\n') + '\n';
}
