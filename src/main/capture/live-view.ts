/**
 * The live view of a running capture: on a terminal a table redrawn in
 * place at every progress event, off one a line per interval
 * (--stats-interval), and with --stats-json one JSON object per interval.
 * The figures and their text come from live-format.ts; this module only
 * decides where they go.
 */
import fs from 'node:fs';
import { formatJsonLine, formatLine, formatTable, liveRecord, type LiveRecord, type LiveSnapshot } from './live-format';
import { openPrivateFile } from '../core/private-files';
import type { CaptureSummary, RingProgress } from './session';

/** What stderr shows: a table redrawn in place, one line per interval, or nothing. */
export type LiveMode = 'table' | 'lines' | 'none';

export interface LiveViewOptions {
  out: NodeJS.WriteStream;
  mode: LiveMode;
  /** --stats-json: a file, or '-' for stdout. */
  statsJson?: string | undefined;
  /** The mode --stats-json's file is created with (the capture's own, 0600 or 0640). */
  fileMode: number;
  warn: (message: string) => void;
}

/** ESC [ n A (cursor up n lines), ESC [ J (erase to the end of the screen). */
const CURSOR_UP = (n: number): string => `\x1b[${n}A`;
const ERASE_DOWN = '\x1b[J';

/**
 * The view a capture command gets: the table needs a terminal, and none is
 * drawn when stdout carries --json - to a script reading the same terminal
 * session (its lines would interleave).
 */
export function liveMode(o: { isTTY: boolean; quiet: boolean; statsInterval: boolean; jsonToStdout: boolean }): LiveMode {
  if (o.quiet) return 'none';
  if (o.isTTY && !o.jsonToStdout) return 'table';
  return o.statsInterval ? 'lines' : 'none';
}

export class LiveView {
  readonly #opts: LiveViewOptions;
  #prev: LiveSnapshot | undefined;
  /** Lines of the table now on the screen, to move back over at the next draw. */
  #drawn = 0;
  #jsonFd: number | undefined;
  #jsonFailed = false;

  constructor(opts: LiveViewOptions) {
    this.#opts = opts;
  }

  progress(p: LiveSnapshot): void {
    const record = liveRecord(this.#prev, p, new Date());
    this.#prev = { elapsedS: p.elapsedS, rings: p.rings.map((r) => ({ ...r })) };
    this.#show(record);
    this.#writeJson(record);
  }

  /**
   * The last record, from the summary's counters (the rings emptied after
   * the last progress event count too), so that it adds up to --json.
   */
  finish(summary: CaptureSummary): void {
    this.clear();
    if (this.#opts.statsJson === undefined) return;
    const last = this.#prev?.rings ?? [];
    const rings: RingProgress[] = summary.outputs.map((o, i) => {
      const seen = last[i];
      return {
        port: o.port,
        queue: o.queue,
        direction: o.direction,
        packets: o.packets,
        bytes: o.bytes,
        queued: 0,
        ringSize: seen?.ringSize ?? 0,
        dropped: o.ringfull + o.nombuf,
        ringfull: o.ringfull,
        nombuf: o.nombuf,
        file: seen?.file ?? o.file,
        fileBytes: seen?.fileBytes,
      };
    });
    this.#writeJson(liveRecord(this.#prev, { elapsedS: summary.elapsed_s, rings }, new Date(), true));
    this.#closeJson();
  }

  /** Takes the table off the screen so that another line can be written; the next event draws it again. */
  clear(): void {
    if (this.#drawn === 0) return;
    this.#opts.out.write(`${CURSOR_UP(this.#drawn)}\r${ERASE_DOWN}`);
    this.#drawn = 0;
  }

  #show(record: LiveRecord): void {
    const out = this.#opts.out;
    if (this.#opts.mode === 'lines') {
      out.write(`${formatLine(record)}\n`);
      return;
    }
    if (this.#opts.mode !== 'table') return;
    // One line short of the screen: the cursor ends below the table.
    const lines = formatTable(record, out.columns ?? 0, Math.max(0, (out.rows ?? 0) - 1));
    // One write per redraw: a terminal never shows half a table.
    const back = this.#drawn > 0 ? `${CURSOR_UP(this.#drawn)}\r` : '';
    out.write(`${back}${lines.map((l) => `\x1b[K${l}`).join('\n')}\n${ERASE_DOWN}`);
    this.#drawn = lines.length;
  }

  #writeJson(record: LiveRecord): void {
    const target = this.#opts.statsJson;
    if (target === undefined || this.#jsonFailed) return;
    try {
      if (target === '-') {
        process.stdout.write(formatJsonLine(record));
        return;
      }
      // Opened at the first record: a capture refused before it starts leaves no file.
      this.#jsonFd ??= openPrivateFile(target, this.#opts.fileMode, false);
      fs.writeSync(this.#jsonFd, formatJsonLine(record));
    } catch (err) {
      // The capture matters more than its statistics: say so once and go on.
      this.#jsonFailed = true;
      this.#opts.warn(`--stats-json ${target}: ${(err as Error).message}; no more statistics are written there`);
    }
  }

  #closeJson(): void {
    if (this.#jsonFd === undefined) return;
    try {
      fs.closeSync(this.#jsonFd);
    } catch {
      // Every record was written with writeSync already.
    }
    this.#jsonFd = undefined;
  }
}
