/** `burstcap capture` and `burstcap pdump`: run one capture session to its end. */
import fs from 'node:fs';
import path from 'node:path';
import { usageError } from '../errors';
import type { WriterKind } from '../plan';
import { outputMode } from '../private-dir';
import { Reporter, summaryJson, writeJson } from '../report';
import { CaptureSession, exitCodeFor } from '../session';
import type { PdumpTuple } from '../tuple';

export interface CaptureCommand {
  prefix: string;
  tuples: PdumpTuple[];
  writer: WriterKind;
  count?: number | undefined;
  durationS?: number | undefined;
  snaplen?: number | undefined;
  filter?: string | undefined;
  /** -g: outputs and the --json file 0640 instead of 0600. */
  groupRead?: boolean | undefined;
  cpus?: number[] | undefined;
  json?: string | undefined;
  extraEal?: string[] | undefined;
  verbose?: boolean | undefined;
  quiet?: boolean | undefined;
}

export function checkJsonTarget(target: string | undefined): void {
  if (target === undefined || target === '-') return;
  const dir = path.dirname(path.resolve(target));
  if (!fs.existsSync(dir)) throw usageError('JSON_DIR_MISSING', `--json ${target}: directory ${dir} does not exist`);
}

export async function runCaptureCommand(cmd: CaptureCommand): Promise<number> {
  checkJsonTarget(cmd.json);
  const reporter = new Reporter(process.stderr, cmd.quiet ?? false);
  const session = new CaptureSession({
    prefix: cmd.prefix,
    tuples: cmd.tuples,
    writer: cmd.writer,
    count: cmd.count,
    durationS: cmd.durationS,
    snaplen: cmd.snaplen,
    filter: cmd.filter,
    groupRead: cmd.groupRead,
    cpus: cmd.cpus,
    extraEal: cmd.extraEal,
    verbose: cmd.verbose,
    allowReexec: true,
    onEvent: (e) => reporter.event(e),
  });
  const onSignal = (): void => session.requestStop('signal');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const summary = await session.run();
    reporter.summary(summary);
    for (const e of summary.errors) process.stderr.write(`burstcap: error: ${e}\n`);
    if (summary.stop_reason === 'primary-exited') {
      process.stderr.write('burstcap: error: the primary exited during the capture; every file is complete up to its last packet\n');
    }
    // The summary names files and counts traffic: as private as the captures.
    if (cmd.json !== undefined) writeJson(cmd.json, summaryJson(summary), outputMode(cmd.groupRead ?? false));
    return exitCodeFor(summary);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
}
