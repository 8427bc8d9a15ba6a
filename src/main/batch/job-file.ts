/**
 * A batch's job file, JSON or YAML:
 *
 *   { "defaults": { <keys> }, "jobs": [ { "name": "a", <keys> }, ... ] }
 *
 * Each job takes the long options of `burstcap capture` as keys, checked by
 * the same validateCapture() the command line and the library use. A job is
 * read into the arguments its own `burstcap capture` child gets.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { validateCapture, type CaptureInput, type CaptureRequest, type OptionNames } from '../options/capture-options';
import { isBurstcapError, usageError, type BurstcapError } from '../core/errors';
import { isInterface } from '../capture/session';
import { parseTuple } from '../options/tuple';
import { expandJobPath, expandTuple, type TemplateValues } from './templates';

/** Job-file key -> the capture option it sets. The keys are the long options of `burstcap capture`. */
const CAPTURE_KEYS = {
  'file-prefix': 'filePrefix',
  pdump: 'pdump',
  count: 'count',
  duration: 'duration',
  filter: 'filter',
  snaplen: 'snaplen',
  cpus: 'cpus',
  writer: 'writer',
  'group-read': 'groupRead',
  eal: 'eal',
  verbose: 'verbose',
  'stats-interval': 'statsInterval',
} as const satisfies Record<string, keyof CaptureInput>;

type CaptureKey = keyof typeof CAPTURE_KEYS;

/** Long options of `burstcap capture` that only the command does something with, not the capture itself. */
const COMMAND_KEYS = ['stats-json'] as const;

/** Keys of the batch itself. `name` belongs to one job only. */
const BATCH_KEYS = ['name', 'dir'] as const;

/** Options of `burstcap capture` that the batch sets for every child, with why. */
const OWNED_BY_BATCH: Record<string, string> = {
  json: "the batch's own --json holds every job's summary",
  quiet: 'the batch shows one status line per job',
};

/** Error messages name an option by its job-file key. */
const KEY_NAMES: OptionNames = Object.fromEntries(Object.entries(CAPTURE_KEYS).map(([key, option]) => [option, key])) as unknown as OptionNames;

const NAME_RULE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface BatchJob {
  /** Position in the file, from 0: the order conflicting jobs run in. */
  index: number;
  name: string;
  /** The checked capture, tuples already expanded. */
  request: CaptureRequest;
  /** Arguments of `burstcap capture` for this job, without --json and -q. */
  args: string[];
  /** The job's --stats-json file, templates expanded. */
  statsJson?: string | undefined;
}

export interface JobFile {
  file: string;
  jobs: BatchJob[];
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'string' ? `'${value}'` : typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses the text by the file's extension: .json, or .yaml / .yml. */
export function parseJobText(text: string, file: string): unknown {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw usageError('BATCH_FILE_SYNTAX', `${file}: not valid JSON (${(err as Error).message})`);
    }
  }
  if (ext === '.yaml' || ext === '.yml') {
    // uniqueKeys: a key written twice in a hand-edited file is a mistake, not an override.
    const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
    const first = doc.errors[0];
    if (first) throw usageError('BATCH_FILE_SYNTAX', `${file}: not valid YAML (${first.message.split('\n')[0]})`);
    return doc.toJS() as unknown;
  }
  throw usageError('BATCH_FILE_TYPE', `${file}: a job file ends in .json, .yaml or .yml`);
}

function checkKeys(obj: Record<string, unknown>, where: string, allowName: boolean): void {
  for (const key of Object.keys(obj)) {
    if (key in CAPTURE_KEYS || (COMMAND_KEYS as readonly string[]).includes(key) || key === 'dir' || (allowName && key === 'name')) continue;
    if (key === 'name') throw usageError('BATCH_UNKNOWN_KEY', `${where}: name belongs to each job, not to the defaults`);
    const owned = OWNED_BY_BATCH[key];
    if (owned !== undefined) throw usageError('BATCH_UNKNOWN_KEY', `${where}: ${key} is set by the batch (${owned}); remove it`);
    throw usageError(
      'BATCH_UNKNOWN_KEY',
      `${where}: unknown key ${key} (known: ${[...BATCH_KEYS, ...Object.keys(CAPTURE_KEYS), ...COMMAND_KEYS].join(', ')}; keys are the long options of burstcap capture)`,
    );
  }
}

/** The value as the command line would have it, for the child's argv. */
function argText(value: unknown): string {
  return Array.isArray(value) ? value.map(String).join(',') : String(value);
}

function childArgs(input: Record<CaptureKey, unknown>, tuples: readonly string[]): string[] {
  // --key=value: a value that starts with '-' (an EAL argument) is not read as an option.
  const args: string[] = [];
  for (const key of Object.keys(CAPTURE_KEYS) as CaptureKey[]) {
    const value = input[key];
    if (value === undefined) continue;
    if (key === 'pdump') args.push(...tuples.map((t) => `--pdump=${t}`));
    else if (key === 'eal') args.push(...(value as string[]).map((a) => `--eal=${a}`));
    else if (key === 'group-read') {
      if (value === true) args.push('--group-read');
    } else if (key === 'verbose') {
      if (value === true) args.push('--verbose');
    } else args.push(`--${key}=${argText(value)}`);
  }
  return args;
}

function readJob(raw: unknown, index: number, defaults: Record<string, unknown>, file: string, date: string): BatchJob {
  if (!isRecord(raw)) throw usageError('BATCH_BAD_JOB', `${file}: job ${index + 1}: expected an object of options, got ${describe(raw)}`);
  const nameValue = raw['name'] ?? `job${index + 1}`;
  if (typeof nameValue !== 'string' || !NAME_RULE.test(nameValue)) {
    // The name goes into file names through {job}: no '/', no spaces, no leading '-' or '.'.
    throw usageError(
      'BATCH_BAD_NAME',
      `${file}: job ${index + 1}: name ${describe(nameValue)} must be letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  const where = `${file}: job '${nameValue}'`;
  checkKeys(raw, where, true);
  const merged: Record<string, unknown> = { ...defaults, ...raw };
  const dir = merged['dir'];
  if (dir !== undefined && (typeof dir !== 'string' || dir === ''))
    throw usageError('BATCH_BAD_DIR', `${where}: dir: expected a directory name, got ${describe(dir)}`);
  if (typeof dir === 'string' && dir.includes(',')) throw usageError('BATCH_BAD_DIR', `${where}: dir ${dir} contains ',', which a tuple cannot hold`);
  const values: TemplateValues = { job: nameValue, dir: dir, date };
  const input = Object.fromEntries(Object.keys(CAPTURE_KEYS).map((k) => [k, merged[k]])) as Record<CaptureKey, unknown>;
  // A single tuple may be written without a list around it.
  if (typeof input.pdump === 'string') input.pdump = [input.pdump];
  try {
    let tuples: string[] = [];
    if (Array.isArray(input.pdump) && input.pdump.every((t) => typeof t === 'string')) {
      tuples = input.pdump.map((text) => expandTuple(text, parseTuple(text), values, `${where} pdump '${text}'`));
    }
    const captureInput = Object.fromEntries(
      Object.entries(CAPTURE_KEYS).map(([key, option]) => [option, key === 'pdump' && tuples.length > 0 ? tuples : input[key as CaptureKey]]),
    ) as unknown as CaptureInput;
    const request = validateCapture(captureInput, KEY_NAMES);
    const args = childArgs(input, tuples);
    const statsJson = statsJsonOf(merged['stats-json'], values, where);
    if (statsJson !== undefined) args.push(`--stats-json=${statsJson}`);
    return { index, name: nameValue, request, args, statsJson };
  } catch (err) {
    if (isBurstcapError(err) && err.kind === 'usage' && !err.message.startsWith(file)) throw usageError(err.code, `${where}: ${err.message}`);
    throw err;
  }
}

/** A job's stats-json key: a file (the child's stdout goes nowhere), templates expanded. */
function statsJsonOf(value: unknown, values: TemplateValues, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw usageError('BATCH_BAD_STATS_JSON', `${where}: stats-json: expected a file name, got ${describe(value)}`);
  if (value === '-') {
    throw usageError(
      'BATCH_BAD_STATS_JSON',
      `${where}: stats-json: - is the capture's stdout, which the batch does not read; give a file, e.g. {dir}/{job}-stats.ndjson`,
    );
  }
  return expandJobPath(value, values, `${where} stats-json`);
}

/** Output files named by the job's tuples, as absolute paths (a {queue} stays one name: the same text means the same files). */
function outputsOf(job: BatchJob): string[] {
  const files = new Set<string>();
  for (const t of job.request.tuples) {
    for (const dev of [t.rxDev, t.txDev]) {
      // Two jobs may send to one interface; a file is another matter.
      if (dev !== undefined && !isInterface(dev)) files.add(path.resolve(dev));
    }
  }
  if (job.statsJson !== undefined) files.add(path.resolve(job.statsJson));
  return [...files];
}

/** Reads and checks a job document; `file` names it in messages. */
export function readJobDocument(doc: unknown, file: string, started: string): BatchJob[] {
  if (!isRecord(doc)) throw usageError('BATCH_BAD_FILE', `${file}: expected { "defaults": {...}, "jobs": [...] }, got ${describe(doc)}`);
  for (const key of Object.keys(doc)) {
    if (key !== 'defaults' && key !== 'jobs') throw usageError('BATCH_UNKNOWN_KEY', `${file}: unknown top-level key ${key} (known: defaults, jobs)`);
  }
  const defaults = doc['defaults'] ?? {};
  if (!isRecord(defaults)) throw usageError('BATCH_BAD_FILE', `${file}: defaults: expected an object of options, got ${describe(defaults)}`);
  checkKeys(defaults, `${file}: defaults`, false);
  const rawJobs = doc['jobs'];
  if (!Array.isArray(rawJobs) || rawJobs.length === 0) throw usageError('BATCH_NO_JOBS', `${file}: jobs: expected a non-empty list of jobs`);
  // Every bad job is named at once, one line each: a file with several
  // mistakes should not take as many runs to fix.
  const problems: BurstcapError[] = [];
  const jobs = rawJobs.flatMap((raw, i) => {
    try {
      return [readJob(raw, i, defaults, file, started)];
    } catch (err) {
      if (!isBurstcapError(err)) throw err;
      problems.push(err);
      return [];
    }
  });
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1) throw usageError(problems[0]!.code, problems.map((p) => p.message).join('\n'));
  const names = new Map<string, number>();
  const writers = new Map<string, string>();
  for (const job of jobs) {
    const earlier = names.get(job.name);
    if (earlier !== undefined)
      throw usageError('BATCH_DUPLICATE_NAME', `${file}: jobs ${earlier + 1} and ${job.index + 1} are both named '${job.name}'; names must differ`);
    names.set(job.name, job.index);
    // Two jobs writing one file would overwrite each other, whichever order they run in.
    for (const out of outputsOf(job)) {
      const other = writers.get(out);
      if (other !== undefined)
        throw usageError(
          'BATCH_SAME_OUTPUT',
          `${file}: jobs '${other}' and '${job.name}' both write ${out}; give each job its own files (e.g. with {job})`,
        );
      writers.set(out, job.name);
    }
  }
  return jobs;
}

export function loadJobFile(file: string, started: string): JobFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError('BATCH_FILE_UNREADABLE', `cannot read the job file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { file, jobs: readJobDocument(parseJobText(text, file), file, started) };
}
