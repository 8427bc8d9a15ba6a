/**
 * `burstcap batch <jobs.json|jobs.yaml>`: reads the job file (job-file.ts),
 * checks it with --dry-run (preflight.ts), or runs each job as its own
 * `burstcap capture` child (child.ts) in the order schedule.ts allows, then
 * reports every job (status.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkJsonTarget } from '../capture/report';
import { isBurstcapError, usageError } from '../core/errors';
import { writeJson, type SummaryJson } from '../capture/report';
import { JobProcess, type JobOutcome } from './child';
import { loadJobFile, type BatchJob } from './job-file';
import { footprints, portsCache, preflight } from './preflight';
import { jobsToStart, type JobState } from './schedule';
import { formatTable, StatusBoard, type JobView } from './status';
import { formatDate } from './templates';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
/** 128 + SIGINT, as shells report an interrupted command. */
const EXIT_INTERRUPTED = 130;

export interface BatchCommand {
  file: string;
  parallel?: string | undefined;
  dryRun: boolean;
  json?: string | undefined;
  continueOnError: boolean;
}

export interface JobReport {
  name: string;
  status: 'ok' | 'failed' | 'stopped' | 'skipped';
  exit_code: number | null;
  summary: SummaryJson | null;
  started_at: string | null;
  ended_at: string | null;
  errors: string[];
}

export interface BatchReport {
  jobs: JobReport[];
  started: string;
  elapsed_s: number;
  interrupted: boolean;
}

/**
 * As many jobs at once as this process has CPUs to run on. Each capture
 * pins one worker thread per ring and polls it; jobs beyond the CPU count
 * would only take turns on the same CPUs, and a worker kept off its CPU
 * lets its ring overflow. Jobs of one primary that conflict never count
 * twice: they do not run together anyway.
 */
export function defaultParallel(): number {
  return Math.max(1, os.availableParallelism());
}

export function parseParallel(text: string | undefined): number {
  if (text === undefined) return defaultParallel();
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > 1024) {
    throw usageError(
      'BAD_PARALLEL',
      `--parallel ${text}: give the number of jobs to run at once, from 1 to 1024 (default: ${defaultParallel()}, the CPUs this process may use)`,
    );
  }
  return Number(text);
}

function dryRun(jobs: readonly BatchJob[], parallel: number, file: string): number {
  const result = preflight(jobs, parallel);
  for (const p of result.problems) process.stderr.write(`burstcap: error: ${file}: job '${p.job}': ${p.message}\n`);
  if (result.problems.length > 0) {
    process.stderr.write(
      `burstcap: ${result.problems.length} problem(s) in ${new Set(result.problems.map((p) => p.job)).size} of ${jobs.length} job(s); nothing was started\n`,
    );
    return EXIT_USAGE;
  }
  process.stderr.write(
    `${file}: ${jobs.length} job(s) checked; at most ${result.concurrent.length} run at once (${result.concurrent.join(', ')}), about ${(result.neededBytes / 2 ** 20).toFixed(0)} MiB of hugepages\n`,
  );
  return EXIT_OK;
}

function reportOf(view: JobView, outcome: JobOutcome | undefined): JobReport {
  return {
    name: view.job.name,
    status: view.status === 'ok' || view.status === 'failed' || view.status === 'stopped' ? view.status : 'skipped',
    exit_code: outcome?.exitCode ?? null,
    summary: outcome?.summary ?? null,
    started_at: outcome?.startedAt.toISOString() ?? null,
    ended_at: outcome?.endedAt.toISOString() ?? null,
    errors: outcome?.errors ?? [],
  };
}

export async function runBatchCommand(cmd: BatchCommand): Promise<number> {
  const started = new Date();
  const parallel = parseParallel(cmd.parallel);
  checkJsonTarget(cmd.json);
  let jobs: BatchJob[];
  try {
    jobs = loadJobFile(cmd.file, formatDate(started)).jobs;
  } catch (err) {
    if (!isBurstcapError(err) || err.kind !== 'usage') throw err;
    // One line per bad job, each in burstcap's one-line error form.
    for (const line of err.message.split('\n')) process.stderr.write(`burstcap: error: ${line}\n`);
    return EXIT_USAGE;
  }
  if (cmd.dryRun) return dryRun(jobs, parallel, cmd.file);

  // Device names are turned into port ids from telemetry, so that
  // device_id=X and port=N of one port are seen to conflict.
  const fps = footprints(jobs, portsCache());
  const states: JobState[] = jobs.map(() => 'pending');
  const views: JobView[] = jobs.map((job) => ({ job, status: 'waiting' }));
  const outcomes: (JobOutcome | undefined)[] = jobs.map(() => undefined);
  const running = new Map<number, JobProcess>();
  const board = new StatusBoard(process.stderr, views);
  // Each child's --json summary, private as the captures: 0700 directory, removed at the end.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'burstcap-batch-'));
  let stopping = false;
  let interrupted = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const stopAll = (): void => {
    for (const p of running.values()) {
      views[p.job.index]!.status = 'stopping';
      p.interrupt();
      board.changed(views[p.job.index]!);
    }
  };

  const ended = (index: number, proc: JobProcess, outcome: JobOutcome): void => {
    running.delete(index);
    states[index] = 'done';
    outcomes[index] = outcome;
    const v = views[index]!;
    v.endedAt = outcome.endedAt;
    v.packets = outcome.summary?.packets;
    v.dropped = outcome.summary?.dropped;
    v.files = outcome.summary?.files.map((f) => f.file);
    v.error = outcome.errors.at(-1) ?? (outcome.exitCode === 0 ? undefined : `exited with ${outcome.signal ?? outcome.exitCode}`);
    // Stopped by the batch: a capture that ended cleanly on our SIGINT, and
    // one told to stop before it was capturing, which then ends without
    // having captured anything (burstcap's STOPPED_BEFORE_START, or SIGINT
    // before its handlers were installed, when nothing was attached yet).
    const stoppedByUs =
      proc.interrupts > 0 && (outcome.exitCode === 0 || outcome.signal === 'SIGINT' || (!proc.capturing && outcome.summary === undefined));
    v.status = stoppedByUs ? 'stopped' : outcome.exitCode !== 0 ? 'failed' : 'ok';
    if (stoppedByUs && outcome.exitCode === 0) v.error = undefined;
    board.changed(v);
    if (v.status === 'failed' && !cmd.continueOnError && !stopping) {
      // The first failure ends the batch: nothing new starts, the running
      // jobs stop cleanly, and what never ran is reported as skipped.
      stopping = true;
      stopAll();
    }
    pump();
  };

  const pump = (): void => {
    if (!stopping) {
      for (const i of jobsToStart(fps, states, parallel)) {
        const job = jobs[i]!;
        states[i] = 'running';
        const proc = new JobProcess(job, path.join(tmp, `${i}.json`), () => {
          if (views[i]!.status === 'starting') views[i]!.status = 'capturing';
          board.changed(views[i]!);
        });
        running.set(i, proc);
        views[i]!.status = 'starting';
        views[i]!.startedAt = proc.startedAt;
        board.changed(views[i]!);
        void proc.done.then((outcome) => ended(i, proc, outcome));
      }
    }
    if (running.size === 0) finish();
  };

  // A first Ctrl-C stops every running capture cleanly; a second one is
  // forwarded too, and each capture then stops without emptying its rings,
  // as burstcap capture does on its own second Ctrl-C.
  const onSignal = (): void => {
    interrupted = true;
    stopping = true;
    stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    pump();
    await finished;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    board.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  for (const v of views) {
    if (v.status === 'waiting') {
      v.status = 'skipped';
      v.error = interrupted ? 'not started: the batch was interrupted' : 'not started: an earlier job failed (--continue-on-error runs the rest)';
    }
  }
  process.stderr.write(formatTable(views));
  const report: BatchReport = {
    jobs: views.map((v, i) => reportOf(v, outcomes[i])),
    started: started.toISOString(),
    elapsed_s: (Date.now() - started.getTime()) / 1000,
    interrupted,
  };
  if (cmd.json !== undefined) writeJson(cmd.json, report);
  if (interrupted) return EXIT_INTERRUPTED;
  return report.jobs.every((j) => j.status === 'ok') ? EXIT_OK : EXIT_FAILURE;
}
