/** `burstcap capture` and `burstcap pdump`: run one capture session to its end. */
import fs from 'node:fs';
import path from 'node:path';
import { usageError } from '../errors';
import type { OutputFormat, WriterKind } from '../plan';
import type { RotationSpec } from '../rotation';
import { outputMode } from '../private-dir';
import { Reporter, summaryJson, writeJson } from '../report';
import { native } from '../native';
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
  format?: OutputFormat | undefined;
  rotation?: RotationSpec | undefined;
  stopFileBytes?: number | undefined;
  stopFiles?: number | undefined;
  postRotate?: string | undefined;
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
    format: cmd.format,
    rotation: cmd.rotation,
    stopFileBytes: cmd.stopFileBytes,
    stopFiles: cmd.stopFiles,
    postRotate: cmd.postRotate,
    extraEal: cmd.extraEal,
    verbose: cmd.verbose,
    allowReexec: true,
    onEvent: (e) => reporter.event(e),
  });
  const onSignal = (): void => session.requestStop('signal');
  // The last resort: whatever throws where nothing catches it, the primary
  // stops copying for a process that is about to end. Rings and pools stay
  // (they are on this capture's owner record, for a later cleanup): nothing
  // here can prove them unused.
  const onFatal = (err: unknown): void => {
    process.stderr.write(`burstcap: error: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    const unanswered = native.pdumpEmergencyDisable();
    process.stderr.write(
      `burstcap: error: the capture callbacks were disabled${unanswered > 0 ? ` except ${unanswered} the primary did not answer` : ''}; ` +
        "rings and pools are left in place for 'burstcap cleanup'\n",
    );
    native.exitNow(1);
  };
  const onExit = (): void => {
    if (native.pdumpTracked().length > 0) native.pdumpEmergencyDisable();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  process.on('exit', onExit);
  let exitNow = false;
  let code = 1;
  try {
    const summary = await session.run();
    exitNow = session.mustExitNow;
    reporter.summary(summary);
    for (const e of summary.errors) process.stderr.write(`burstcap: error: ${e}\n`);
    if (summary.stop_reason === 'primary-exited') {
      process.stderr.write('burstcap: error: the primary exited during the capture; every file is complete up to its last packet\n');
    }
    // The summary names files and counts traffic: as private as the captures.
    if (cmd.json !== undefined) writeJson(cmd.json, summaryJson(summary), outputMode(cmd.groupRead ?? false));
    code = exitCodeFor(summary);
    return code;
  } catch (err) {
    if (session.mustExitNow) {
      process.stderr.write(`burstcap: error: ${(err as Error).message}\n`);
      exitNow = true;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
    process.off('exit', onExit);
    // A worker blocked in its output cannot be joined by Node's exit.
    if (exitNow) native.exitNow(code);
  }
}
