/**
 * Templates in the output paths of a job's tuples: {job}, {port}, {queue},
 * {dir} and {date}. They are expanded once, when the job file is read, into
 * the tuple text `burstcap capture` takes; only {queue} stays a placeholder
 * (the capture's own %q), since the queues of queue=* are known to the
 * capture alone.
 */
import { usageError } from '../core/errors';
import { QUEUE_PLACEHOLDER } from '../capture/plan';
import type { PdumpTuple } from '../options/tuple';

export const TEMPLATE_NAMES = ['job', 'port', 'queue', 'dir', 'date'] as const;

export interface TemplateValues {
  job: string;
  /** The job's `dir` key, or the defaults' one; undefined when neither has it. */
  dir: string | undefined;
  /** The batch's start, YYYYmmdd-HHMMSS. */
  date: string;
}

/** YYYYmmdd-HHMMSS in local time: sorts as text, and has no ':' that some tools read as host:path. */
export function formatDate(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${two(d.getMonth() + 1)}${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}${two(d.getSeconds())}`;
}

/**
 * One output path with its templates replaced. `where` names the job and
 * the tuple for messages. `{{` and `}}` stand for literal braces.
 */
export function expandPath(value: string, tuple: PdumpTuple, values: TemplateValues, where: string): string {
  return expand(value, tuple, values, where);
}

/**
 * A file of the whole job (--stats-json): {job}, {dir} and {date}; {port}
 * and {queue} name one tuple's files and mean nothing here.
 */
export function expandJobPath(value: string, values: TemplateValues, where: string): string {
  return expand(value, undefined, values, where);
}

function expand(value: string, tuple: PdumpTuple | undefined, values: TemplateValues, where: string): string {
  if (value.includes(QUEUE_PLACEHOLDER)) {
    // Two spellings of one thing would make a job file harder to read.
    throw usageError('BATCH_TEMPLATE', `${where}: ${value} uses ${QUEUE_PLACEHOLDER}; a job file writes {queue} instead`);
  }
  return value.replace(/\{\{|\}\}|\{([^{}]*)\}|[{}]/g, (match, name: string | undefined) => {
    if (match === '{{') return '{';
    if (match === '}}') return '}';
    if (name === undefined) {
      throw usageError('BATCH_TEMPLATE', `${where}: ${value} has an unmatched '${match}' (write '${match}${match}' for a literal one)`);
    }
    switch (name) {
      case 'job':
        return values.job;
      case 'queue':
        if (tuple === undefined)
          throw usageError('BATCH_TEMPLATE', `${where}: ${value} uses {queue}, but this file is one for all of the job's rings`);
        return QUEUE_PLACEHOLDER;
      case 'date':
        return values.date;
      case 'port':
        if (tuple === undefined)
          throw usageError('BATCH_TEMPLATE', `${where}: ${value} uses {port}, but this file is one for all of the job's rings`);
        if (tuple.source.kind !== 'port') {
          // The port id of a device is known only to the primary, and a name that changes with it is not a stable file name.
          throw usageError(
            'BATCH_TEMPLATE',
            `${where}: {port} needs port=<id> in the tuple, not device_id=${tuple.source.deviceId}; write the name into the path instead`,
          );
        }
        return String(tuple.source.port);
      case 'dir':
        if (values.dir === undefined) {
          throw usageError(
            'BATCH_TEMPLATE',
            `${where}: ${value} uses {dir} but neither the job nor the defaults have a dir key; add "dir": "<directory>"`,
          );
        }
        return values.dir;
      default:
        throw usageError(
          'BATCH_TEMPLATE',
          `${where}: ${value} uses an unknown template {${name}} (known: ${TEMPLATE_NAMES.map((n) => `{${n}}`).join(', ')})`,
        );
    }
  });
}

/**
 * The tuple text with its rx-dev and tx-dev expanded; every other field is
 * kept as written. The caller has parsed `tuple` from `text` already, so the
 * fields are well formed.
 */
export function expandTuple(text: string, tuple: PdumpTuple, values: TemplateValues, where: string): string {
  return text
    .split(',')
    .map((field) => {
      const at = field.indexOf('=');
      const key = field.slice(0, at);
      if (key !== 'rx-dev' && key !== 'tx-dev') return field;
      return `${key}=${expandPath(field.slice(at + 1), tuple, values, `${where} ${key}`)}`;
    })
    .join(',');
}
