/**
 * Rotation and stop conditions as Wireshark's dumpcap spells them
 * (-b filesize:<kB>, duration:<s>, interval:<s>, packets:<n>, files:<n>;
 * -a duration:<s>, filesize:<kB>, files:<n>, packets:<n>), and tcpdump's -z
 * as --post-rotate. The switch itself happens in the native drain loop,
 * between two records; this side parses, checks and runs the command.
 */
import { spawn } from 'node:child_process';
import { parseCount, parseDuration } from './cpu-list';
import { usageError } from '../core/errors';
import type { RotateOptions } from '../core/native';

/** dumpcap counts kB as 1000 bytes. */
const KB = 1000;
const NS_PER_S = 1_000_000_000;

export interface RotationSpec {
  fileBytes?: number;
  durationS?: number;
  intervalS?: number;
  packets?: number;
  /** Ring buffer: keep the newest this many files of each output. */
  files?: number;
}

export interface AutostopSpec {
  durationS?: number;
  fileBytes?: number;
  files?: number;
  packets?: number;
}

function split(value: string, option: string, keys: readonly string[]): [string, string] {
  const at = value.indexOf(':');
  const key = at < 0 ? '' : value.slice(0, at);
  if (!keys.includes(key)) {
    throw usageError('BAD_RING_BUFFER', `${option} ${value}: give one of ${keys.map((k) => `${k}:<value>`).join(', ')}`);
  }
  return [key, value.slice(at + 1)];
}

/** Seconds as dumpcap takes them, decimal forms (2.5, 500ms, 2m) accepted. */
function seconds(text: string, option: string): number {
  return parseDuration(text, option);
}

export function parseRotation(values: readonly string[]): RotationSpec | undefined {
  if (values.length === 0) return undefined;
  const spec: RotationSpec = {};
  for (const v of values) {
    const [key, text] = split(v, '-b', ['filesize', 'duration', 'interval', 'packets', 'files']);
    const opt = `-b ${key}:`;
    if (key === 'filesize') spec.fileBytes = parseCount(text, opt) * KB;
    else if (key === 'duration') spec.durationS = seconds(text, opt);
    else if (key === 'interval') spec.intervalS = seconds(text, opt);
    else if (key === 'packets') spec.packets = parseCount(text, opt);
    else spec.files = parseCount(text, opt);
  }
  if (spec.fileBytes === undefined && spec.durationS === undefined && spec.intervalS === undefined && spec.packets === undefined) {
    throw usageError(
      'BAD_RING_BUFFER',
      '-b files: keeps the newest files of a rotation: add a limit that ends a file (-b filesize:, duration:, interval: or packets:)',
    );
  }
  return spec;
}

/** -a: plain seconds and duration: as before; filesize:, files:, packets: as dumpcap's. Repeatable. */
export function parseAutostops(values: readonly string[]): AutostopSpec {
  const spec: AutostopSpec = {};
  for (const v of values) {
    if (!v.includes(':')) {
      spec.durationS = parseDuration(v, '-a/--duration');
      continue;
    }
    const [key, text] = split(v, '-a', ['duration', 'filesize', 'files', 'packets']);
    const opt = `-a ${key}:`;
    if (key === 'duration') spec.durationS = parseDuration(text, opt);
    else if (key === 'filesize') spec.fileBytes = parseCount(text, opt) * KB;
    else if (key === 'files') spec.files = parseCount(text, opt);
    else spec.packets = parseCount(text, opt);
  }
  return spec;
}

/** What the native loop takes; startNs is the capture's start, the same for every ring. */
export function rotateOptions(spec: RotationSpec | undefined, maxFiles: number | undefined, startNs: bigint): RotateOptions | undefined {
  if (spec === undefined) return undefined;
  const ns = (s: number | undefined): bigint => (s === undefined ? 0n : BigInt(Math.round(s * NS_PER_S)));
  return {
    fileBytes: BigInt(spec.fileBytes ?? 0),
    packets: BigInt(spec.packets ?? 0),
    durationNs: ns(spec.durationS),
    intervalNs: ns(spec.intervalS),
    startNs,
    files: BigInt(spec.files ?? 0),
    maxFiles: BigInt(maxFiles ?? 0),
  };
}

/**
 * Runs the --post-rotate command once per closed file, as tcpdump's -z:
 * `sh -c '<command> "$1"' burstcap <file>`. Detached and unwaited, so a
 * slow command never holds the capture; its exit status is only counted.
 */
export class PostRotate {
  readonly #command: string;
  readonly #onError: (message: string) => void;
  #started = 0;

  constructor(command: string, onError: (message: string) => void) {
    this.#command = command;
    this.#onError = onError;
  }

  get started(): number {
    return this.#started;
  }

  run(file: string): void {
    this.#started++;
    try {
      const child = spawn('/bin/sh', ['-c', `${this.#command} "$1"`, 'burstcap', file], { detached: true, stdio: 'ignore' });
      child.on('error', (err) => this.#onError(`--post-rotate for ${file} could not start: ${err.message}`));
      child.unref();
    } catch (err) {
      this.#onError(`--post-rotate for ${file} could not start: ${(err as Error).message}`);
    }
  }
}
