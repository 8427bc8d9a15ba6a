/**
 * What burstcap tells people: the "Capturing on" lines, progress while it
 * runs, and the summary at the end. Human text goes to stderr; --json data
 * goes to its file or to stdout.
 */
import fs from 'node:fs';
import path from 'node:path';
import { usageError } from '../core/errors';
import { PRIVATE_FILE_MODE, writePrivateFile } from '../core/private-files';
import { isStdoutOutput } from './plan';
import { formatBytes, formatCount } from './units';
import type { CaptureEvent, CaptureSummary, RingStatus } from './session';
import type { LiveView } from './live-view';

/** stdout is opened by path (STDOUT_PATH) but named as users wrote it. */
function shownOutput(output: string): string {
  return isStdoutOutput(output) ? 'stdout (-)' : output;
}

export { formatBytes, formatCount };

function ringLine(r: RingStatus): string {
  return `Capturing on port ${r.port} (${r.portName}) queue ${r.queue} ${r.direction} -> ${shownOutput(r.output)} [worker on cpu ${r.cpu}, tid ${r.tid}]`;
}

export class Reporter {
  readonly #out: NodeJS.WriteStream;
  readonly #live: LiveView | undefined;

  /** `live` shows the progress events (see live-view.ts); without it, none is shown. */
  constructor(out: NodeJS.WriteStream, live?: LiveView) {
    this.#out = out;
    this.#live = live;
  }

  event(e: CaptureEvent): void {
    switch (e.type) {
      case 'warning':
        this.#line(`burstcap: warning: ${e.message}`);
        break;
      case 'started':
        for (const r of e.rings) this.#line(ringLine(r));
        this.#line(`(primary pid ${e.pid}, --file-prefix ${e.prefix}; burstcap uses lcore id ${e.lcoreId}; Ctrl-C to stop)`);
        break;
      case 'progress':
        this.#live?.progress(e);
        break;
      case 'stopping':
        break;
    }
  }

  #line(text: string): void {
    this.#live?.clear();
    this.#out.write(`${text}\n`);
  }

  summary(s: CaptureSummary): void {
    this.#live?.finish(s);
    const why: Record<CaptureSummary['stop_reason'], string> = {
      signal: 'stopped by signal',
      count: 'packet count reached',
      duration: 'duration reached',
      'primary-exited': 'the primary exited',
      'write-error': 'a write failed',
      'worker-failed': 'a worker failed',
      filesize: 'file size reached',
      files: 'number of files reached',
      'output-closed': 'the reader of the stream closed it',
    };
    this.#line(
      `${formatCount(s.packets)} packets captured (${formatBytes(s.bytes)}) in ${s.elapsed_s.toFixed(1)} s, ${formatCount(s.dropped)} dropped (${why[s.stop_reason]})`,
    );
    for (const o of s.outputs) {
      const drops = o.ringfull + o.nombuf > 0 ? `, dropped ${formatCount(o.ringfull)} ring full + ${formatCount(o.nombuf)} no mbuf` : '';
      this.#line(
        `  port ${o.port} queue ${o.queue} ${o.direction}: ${formatCount(o.packets)} packets, ${formatBytes(o.bytes)}${drops} -> ${shownOutput(o.file)}`,
      );
    }
    for (const p of s.ports) {
      this.#line(
        `  port ${p.port}: accepted ${formatCount(p.accepted)}, filtered ${formatCount(p.filtered)}, nombuf ${formatCount(p.nombuf)}, ringfull ${formatCount(p.ringfull)}`,
      );
    }
  }
}

/** The --json document, and what the library's capture() resolves to: the summary's stable fields. */
export type SummaryJson = Pick<
  CaptureSummary,
  'elapsed_s' | 'packets' | 'bytes' | 'dropped' | 'stop_reason' | 'outputs' | 'files' | 'ports' | 'left_in_place' | 'stop_ms' | 'errors'
>;

/** The --json document: the summary's stable fields. */
export function summaryJson(s: CaptureSummary): SummaryJson {
  return {
    elapsed_s: s.elapsed_s,
    packets: s.packets,
    bytes: s.bytes,
    dropped: s.dropped,
    stop_reason: s.stop_reason,
    outputs: s.outputs,
    files: s.files,
    ports: s.ports,
    left_in_place: s.left_in_place,
    stop_ms: s.stop_ms,
    errors: s.errors,
  };
}

/** `mode` applies to a file, also one that existed (see writePrivateFile). */
export function writeJson(target: string, doc: object, mode = PRIVATE_FILE_MODE): void {
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  if (target === '-') process.stdout.write(text);
  else writePrivateFile(target, text, mode);
}

/** Refuses a --json target that cannot be written, before the capture starts. */
export function checkJsonTarget(target: string | undefined, streaming = false): void {
  if (target === '-' && streaming) {
    throw usageError(
      'STDOUT_TWICE',
      '--json - and an rx-dev=-/tx-dev=- output would both write to stdout; write the summary to a file (--json <file>) or the packets elsewhere',
    );
  }
  if (target === undefined || target === '-') return;
  const dir = path.dirname(path.resolve(target));
  if (!fs.existsSync(dir)) throw usageError('JSON_DIR_MISSING', `--json ${target}: directory ${dir} does not exist`);
}

/**
 * Refuses a --stats-json target that cannot be written, before the capture
 * starts: '-' while stdout carries packets or the --json summary, or a file
 * in a directory that does not exist.
 */
export function checkStatsJsonTarget(target: string | undefined, stdout: { streaming: boolean; summaryToStdout: boolean }): void {
  if (target === undefined) return;
  if (target === '-' && stdout.streaming) {
    throw usageError(
      'STDOUT_TWICE',
      '--stats-json - and an rx-dev=-/tx-dev=- output would both write to stdout; write the statistics to a file (--stats-json <file>) or the packets elsewhere',
    );
  }
  if (target === '-' && stdout.summaryToStdout) {
    throw usageError(
      'STDOUT_TWICE',
      '--stats-json - and --json - would both write to stdout; write one of them to a file (--stats-json <file> or --json <file>)',
    );
  }
  if (target === '-') return;
  if (target === '') throw usageError('STATS_JSON_EMPTY', '--stats-json needs a file name, or - for stdout');
  const dir = path.dirname(path.resolve(target));
  if (!fs.existsSync(dir)) throw usageError('STATS_JSON_DIR_MISSING', `--stats-json ${target}: directory ${dir} does not exist`);
}
