/** `burstcap capture` and `burstcap pdump`: run one capture session to its end. */
import { runCapture } from '../../api';
import { checkStdoutTuples, CLI_OPTION_NAMES, stdoutTuples, type CaptureRequest } from '../../options/capture-options';
import { isBurstcapError } from '../../core/errors';
import { outputMode } from '../../core/private-files';
import { checkJsonTarget, checkStatsJsonTarget, Reporter, summaryJson, writeJson } from '../../capture/report';
import { LiveView, liveMode } from '../../capture/live-view';
import { native } from '../../core/native';
import { exitCodeFor } from '../../capture/session';

/** A checked capture (see capture-options.ts) and what only the command line does with it. */
export interface CaptureCommand extends CaptureRequest {
  json?: string | undefined;
  /** --stats-json: one JSON object per progress interval, to a file or '-' (stdout). */
  statsJson?: string | undefined;
  quiet?: boolean | undefined;
  /**
   * Nothing on stderr but errors: no ring lines, warnings or summary. For a
   * caller that shows whatever a capture prints as its failure (Wireshark
   * with an extcap).
   */
  silent?: boolean | undefined;
}

export async function runCaptureCommand(cmd: CaptureCommand): Promise<number> {
  const streaming = stdoutTuples(cmd.tuples).length > 0;
  checkJsonTarget(cmd.json, streaming);
  checkStatsJsonTarget(cmd.statsJson, { streaming, summaryToStdout: cmd.json === '-' });
  // burstcap pdump comes here without validateCapture: the same stdout rules.
  checkStdoutTuples(cmd.tuples, cmd.writer, cmd.rotation !== undefined, CLI_OPTION_NAMES);
  const warnings: string[] = [];
  const live = new LiveView({
    out: process.stderr,
    mode: liveMode({
      isTTY: process.stderr.isTTY === true,
      quiet: (cmd.quiet ?? false) || cmd.silent === true,
      statsInterval: cmd.statsIntervalS !== undefined,
      jsonToStdout: cmd.json === '-',
    }),
    // Asked for by name, the statistics are written also with -q (the batch runs every capture with -q).
    statsJson: cmd.statsJson,
    fileMode: outputMode(cmd.groupRead ?? false),
    warn: (message) => warnings.push(message),
  });
  const reporter = cmd.silent === true ? undefined : new Reporter(process.stderr, live);
  // The capture is the library's (runCapture); what is added here belongs to
  // a process that owns its signals: Ctrl-C stops, a second Ctrl-C stops
  // without draining, and the last-resort handlers below.
  const stop = new AbortController();
  const force = new AbortController();
  const onSignal = (): void => {
    if (!stop.signal.aborted) stop.abort();
    else force.abort();
  };
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
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  let exitNow = false;
  let code = 1;
  try {
    const { json: _json, quiet: _quiet, statsJson: _statsJson, silent: _silent, ...request } = cmd;
    const { summary, mustExitNow } = await runCapture(request, {
      allowReexec: true,
      signal: stop.signal,
      forceSignal: force.signal,
      onEvent: (e) => {
        reporter?.event(e);
        // A failed --stats-json write is told once, as a warning, after the table is off the screen.
        for (const message of warnings.splice(0)) reporter?.event({ type: 'warning', message });
      },
    });
    exitNow = mustExitNow;
    reporter?.summary(summary);
    for (const e of summary.errors) process.stderr.write(`burstcap: error: ${e}\n`);
    if (summary.stop_reason === 'primary-exited') {
      process.stderr.write('burstcap: error: the primary exited during the capture; every file is complete up to its last packet\n');
    }
    // The summary names files and counts traffic: as private as the captures.
    if (cmd.json !== undefined) writeJson(cmd.json, summaryJson(summary), outputMode(cmd.groupRead ?? false));
    code = exitCodeFor(summary);
    return code;
  } catch (err) {
    // The error line goes where the table was.
    live.clear();
    if (isBurstcapError(err) && err.mustExitNow) {
      process.stderr.write(`burstcap: error: ${err.message}\n`);
      exitNow = true;
    }
    throw err;
  } finally {
    // The signal handlers stay until the process ends: a second Ctrl-C that
    // arrives after a fast stop must not kill the process while it writes
    // the summary (the capture is over; aborting again does nothing).
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
    // A worker blocked in its output cannot be joined by Node's exit.
    if (exitNow) native.exitNow(code);
  }
}
