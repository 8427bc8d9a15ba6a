/**
 * What a capture is asked to do, checked in one place for the command line
 * and the library alike: the same input gives the same BurstcapError (kind
 * 'usage', exit status 2) whichever way it came in. Everything here is
 * checked before EAL is initialised or anything in the primary changes.
 */
import { parseCount, parseCpuList, parseDuration, parseSnaplen } from './cpu-list';
import { usageError } from '../core/errors';
import { native } from '../core/native';
import { parseAutostops, parseRotation, type RotationSpec } from './rotation';
import { parseTuple, STDOUT_DEV, type OutputFormat, type PdumpTuple, type WriterKind } from './tuple';

export const DEFAULT_FILE_PREFIX = 'rte';

/**
 * The options of one capture as a caller gives them. Numbers may come as
 * strings (the command line) or as numbers (the library); both are read by
 * the same parsers.
 */
export interface CaptureInput {
  /** The primary's EAL --file-prefix (default 'rte'). */
  filePrefix?: string | undefined;
  /** dpdk-pdump tuples, e.g. 'port=0,queue=*,rx-dev=/tmp/rx.pcap,tx-dev=/tmp/tx.pcap'. At least one. */
  pdump: readonly string[];
  /** Stop after this many packets in total, across all outputs. */
  count?: number | string | undefined;
  /**
   * Stop after this many seconds (a string also takes '500ms', '2m',
   * 'duration:10'), or on dumpcap's conditions: a list such as
   * ['duration:60', 'filesize:100000', 'files:10', 'packets:1000000'].
   */
  duration?: number | string | readonly string[] | undefined;
  /** Rotation, as dumpcap's -b: ['filesize:<kB>', 'duration:<s>', 'interval:<s>', 'packets:<n>', 'files:<n>']. */
  rotate?: readonly string[] | undefined;
  /** A command run with each file a rotation closed (tcpdump's -z). */
  postRotate?: string | undefined;
  /** 'pcap' (the default) or 'pcapng' for every output; a .pcapng path is pcapng anyway. */
  format?: string | undefined;
  /** pcap-filter(7) expression; the primary copies only the matching packets. */
  filter?: string | undefined;
  /** Bytes to keep of each packet; 0 or undefined keeps whole packets. */
  snaplen?: number | string | undefined;
  /** CPUs for the worker threads: a list like '0-3' or an array of ids. */
  cpus?: string | readonly number[] | undefined;
  /** 'native' (burstcap writes the files, the default) or 'vdev' (net_pcap vdevs write them). */
  writer?: string | undefined;
  /** Files 0640 instead of 0600 (dumpcap's -g). */
  groupRead?: boolean | undefined;
  /** Extra EAL arguments for the secondary, e.g. ['-d', '<lib>']. */
  eal?: readonly string[] | undefined;
  /** Echo DPDK's own log to stderr. */
  verbose?: boolean | undefined;
  /** Seconds between progress reports (the live view, --stats-json, onProgress); default 1, at least 0.1. */
  statsInterval?: number | string | undefined;
}

/** A capture whose every option has been checked. */
export interface CaptureRequest {
  prefix: string;
  tuples: PdumpTuple[];
  writer: WriterKind;
  count?: number | undefined;
  durationS?: number | undefined;
  format?: OutputFormat | undefined;
  rotation?: RotationSpec | undefined;
  /** -a filesize: stop once an output file reaches this many bytes. */
  stopFileBytes?: number | undefined;
  /** -a files: stop once this many files were written per output. */
  stopFiles?: number | undefined;
  postRotate?: string | undefined;
  snaplen?: number | undefined;
  filter?: string | undefined;
  groupRead?: boolean | undefined;
  cpus?: number[] | undefined;
  extraEal?: string[] | undefined;
  verbose?: boolean | undefined;
  /** Seconds between progress events; undefined: once a second. */
  statsIntervalS?: number | undefined;
}

/** How errors name each option: the flags on the command line, the property names in the library. */
export interface OptionNames {
  filePrefix: string;
  pdump: string;
  count: string;
  duration: string;
  rotate: string;
  postRotate: string;
  format: string;
  filter: string;
  snaplen: string;
  cpus: string;
  writer: string;
  groupRead: string;
  eal: string;
  verbose: string;
  statsInterval: string;
}

export const CLI_OPTION_NAMES: OptionNames = {
  filePrefix: '--file-prefix',
  pdump: '--pdump',
  count: '-c/--count',
  duration: '-a/--duration',
  rotate: '-b/--ring-buffer',
  postRotate: '--post-rotate',
  format: '--format',
  filter: '-f/--filter',
  snaplen: '-s/--snaplen',
  cpus: '--cpus',
  writer: '--writer',
  groupRead: '-g/--group-read',
  eal: '--eal',
  verbose: '-v/--verbose',
  statsInterval: '--stats-interval',
};

export const LIBRARY_OPTION_NAMES: OptionNames = {
  filePrefix: 'filePrefix',
  pdump: 'pdump',
  count: 'count',
  duration: 'duration',
  rotate: 'rotate',
  postRotate: 'postRotate',
  format: 'format',
  filter: 'filter',
  snaplen: 'snaplen',
  cpus: 'cpus',
  writer: 'writer',
  groupRead: 'groupRead',
  eal: 'eal',
  verbose: 'verbose',
  statsInterval: 'statsInterval',
};

/** The capture's loop looks at its workers every 100 ms: no interval can be shorter. */
export const MIN_STATS_INTERVAL_S = 0.1;
/** A day: longer would be a typo for a duration, and a table that never moves. */
export const MAX_STATS_INTERVAL_S = 86_400;

/** --stats-interval: seconds (2, 0.5, 500ms, 1m), from 0.1 s to a day. */
export function parseStatsInterval(text: string, optionName: string): number {
  const seconds = parseDuration(text, optionName);
  if (seconds < MIN_STATS_INTERVAL_S || seconds > MAX_STATS_INTERVAL_S) {
    throw usageError(
      'BAD_STATS_INTERVAL',
      `${optionName} ${text}: give from ${MIN_STATS_INTERVAL_S} s (the capture looks at its rings every 100 ms) to ${MAX_STATS_INTERVAL_S} s (a day)`,
    );
  }
  return seconds;
}

export function parseWriter(value: string, optionName = '--writer'): WriterKind {
  if (value !== 'native' && value !== 'vdev') throw usageError('BAD_WRITER', `${optionName} ${value}: choose native or vdev`);
  return value;
}

export function parseFormat(value: string, optionName = '--format'): OutputFormat {
  if (value !== 'pcap' && value !== 'pcapng') throw usageError('BAD_FORMAT', `${optionName} ${value}: choose pcap or pcapng`);
  return value;
}

/** -a as a list of conditions; a lone number or string is one of them. */
function autostopList(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return stringList(value, name) ?? [];
  return [text(value, name)];
}

/** The tuples that send a direction to stdout (rx-dev=- or tx-dev=-). */
export function stdoutTuples(tuples: readonly PdumpTuple[]): PdumpTuple[] {
  return tuples.filter((t) => t.rxDev === STDOUT_DEV || t.txDev === STDOUT_DEV);
}

/**
 * One stream on stdout: '-' in one tuple only (rx-dev=- with tx-dev=- in
 * that tuple is one output, as with a file), written by burstcap itself, and
 * not rotated.
 */
export function checkStdoutTuples(tuples: readonly PdumpTuple[], writer: WriterKind, rotating: boolean, names: OptionNames): void {
  const streaming = stdoutTuples(tuples);
  if (streaming.length === 0) return;
  if (streaming.length > 1) {
    throw usageError(
      'STDOUT_TWICE',
      `stdout (-) can take one output, but ${streaming.length} tuples send to it (${streaming.map((t) => `${names.pdump} '${t.text}'`).join(' and ')}); ` +
        'send the others to files or FIFOs',
    );
  }
  if (writer === 'vdev')
    throw usageError('STDOUT_NEEDS_NATIVE', `${names.writer} vdev cannot stream to stdout (-): net_pcap writes files; use ${names.writer} native`);
  if (rotating) throw usageError('ROTATION_OF_STDOUT', `${names.rotate} cannot rotate stdout (-): a stream is one file; write to a file to rotate`);
}

/** A syntax error is a usage error, found without EAL, before anything touches the primary. */
export function checkedFilter(expression: string): string {
  native.checkFilter(expression);
  return expression;
}

/**
 * A number given by a program goes through the text parser, as its decimal
 * form: 2.5 is read as '2.5', and NaN, -1 or 1e21 are refused with the same
 * words as on the command line.
 */
function text(value: unknown, name: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  throw usageError('BAD_OPTION', `${name}: expected a number or a string, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `'${value}'` : typeof value;
}

function stringOption(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw usageError('BAD_OPTION', `${name}: expected a string, got ${describe(value)}`);
  return value;
}

function booleanOption(value: unknown, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw usageError('BAD_OPTION', `${name}: expected true or false, got ${describe(value)}`);
  return value;
}

function stringList(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw usageError('BAD_OPTION', `${name}: expected an array of strings, got ${describe(value)}`);
  }
  return [...value];
}

function cpuText(value: unknown, name: string): string {
  if (Array.isArray(value)) {
    if (!value.every((v) => typeof v === 'number'))
      throw usageError('BAD_OPTION', `${name}: expected CPU ids (numbers), got ${JSON.stringify(value)}`);
    return value.map(String).join(',');
  }
  return text(value, name);
}

/**
 * Every check a capture's options get before EAL starts. Throws the first
 * BurstcapError (kind 'usage') it finds.
 */
export function validateCapture(input: CaptureInput, names: OptionNames): CaptureRequest {
  if (typeof input !== 'object' || input === null) throw usageError('BAD_OPTION', `capture options: expected an object, got ${describe(input)}`);
  const pdump = stringList(input.pdump, names.pdump) ?? [];
  const tuples = pdump.map(parseTuple);
  if (tuples.length === 0) {
    throw usageError('NO_TUPLE', `nothing to capture: give at least one ${names.pdump} '<tuple>' (e.g. 'port=0,queue=*,rx-dev=/tmp/rx.pcap')`);
  }
  const prefix = stringOption(input.filePrefix, names.filePrefix) ?? DEFAULT_FILE_PREFIX;
  const filter = stringOption(input.filter, names.filter);
  const stops = parseAutostops(autostopList(input.duration, names.duration));
  const rotation = parseRotation(stringList(input.rotate, names.rotate) ?? []);
  const postRotate = stringOption(input.postRotate, names.postRotate);
  if (stops.files !== undefined && rotation === undefined) {
    throw usageError(
      'FILES_NEED_ROTATION',
      `${names.duration} files: counts the files of a rotation: add ${names.rotate} filesize:, duration:, interval: or packets:`,
    );
  }
  if (postRotate !== undefined && rotation === undefined) {
    throw usageError(
      'POST_ROTATE_NEEDS_ROTATION',
      `${names.postRotate} runs on the files a rotation closes: add ${names.rotate} filesize:, duration:, interval: or packets:`,
    );
  }
  const count = input.count === undefined ? undefined : parseCount(text(input.count, names.count), names.count);
  const writer = parseWriter(stringOption(input.writer, names.writer) ?? 'native', names.writer);
  checkStdoutTuples(tuples, writer, rotation !== undefined, names);
  return {
    prefix,
    tuples,
    writer,
    // -c and -a packets: are the same limit: the smaller wins.
    count: count === undefined || stops.packets === undefined ? (count ?? stops.packets) : Math.min(count, stops.packets),
    durationS: stops.durationS,
    format: parseFormat(stringOption(input.format, names.format) ?? 'pcap', names.format),
    rotation,
    stopFileBytes: stops.fileBytes,
    stopFiles: stops.files,
    postRotate,
    snaplen: input.snaplen === undefined ? undefined : parseSnaplen(text(input.snaplen, names.snaplen), names.snaplen),
    filter: filter === undefined ? undefined : checkedFilter(filter),
    groupRead: booleanOption(input.groupRead, names.groupRead) ?? false,
    cpus: input.cpus === undefined ? undefined : parseCpuList(cpuText(input.cpus, names.cpus), names.cpus),
    extraEal: stringList(input.eal, names.eal) ?? [],
    verbose: booleanOption(input.verbose, names.verbose),
    statsIntervalS:
      input.statsInterval === undefined ? undefined : parseStatsInterval(text(input.statsInterval, names.statsInterval), names.statsInterval),
  };
}
