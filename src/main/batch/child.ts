/**
 * One job, one process: EAL can be initialised once per process, so each
 * job runs `burstcap capture` as a child. The command line rather than a
 * small library entry, because only the command line may re-execute itself
 * when the primary's memory cannot be mapped at the first try (see
 * attach.ts), and it already owns what a capture process must: a first
 * SIGINT stops cleanly, a second stops without draining, a fatal error
 * disables the primary's callbacks before the process ends. The batch reads
 * the child's --json summary and exit status; nothing is re-implemented.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { findOnPath } from '../core/find-on-path';
import type { SummaryJson } from '../capture/report';
import { CLI_SCRIPT } from '../core/paths';
import type { BatchJob } from './job-file';

const CLI = CLI_SCRIPT;
/** "Capturing on" lines are printed even with -q; this one follows the last of them. */
const STARTED_LINE = /^\(primary pid \d+, --file-prefix /m;
const ERROR_LINE = /^burstcap: error: (.*)$/gm;
const STDERR_KEEP = 64 * 1024;

export interface JobOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  summary: SummaryJson | undefined;
  /** The child's `burstcap: error:` lines, or what went wrong starting it. */
  errors: string[];
  startedAt: Date;
  endedAt: Date;
}

/**
 * setpriv's parent-death signal: if the batch is killed outright, its
 * captures get SIGTERM, which stops them as cleanly as Ctrl-C. setpriv
 * execs in place, so the child's pid is the capture's own.
 */
const SETPRIV = findOnPath('setpriv');

export class JobProcess {
  readonly job: BatchJob;
  readonly startedAt = new Date();
  readonly done: Promise<JobOutcome>;
  /** Every ring is live (the child printed its "Capturing on" lines). */
  capturing = false;
  interrupts = 0;
  readonly #child: ChildProcess;
  #stderr = '';
  #exited = false;

  constructor(job: BatchJob, jsonPath: string, onChange: () => void) {
    this.job = job;
    const args = [CLI, 'capture', ...job.args, `--json=${jsonPath}`, '--quiet'];
    const [cmd, ...launch] = SETPRIV ? [SETPRIV, '--pdeathsig', 'SIGTERM', process.execPath] : [process.execPath];
    // Its own process group: a Ctrl-C at the terminal reaches the batch only,
    // which forwards it once. Sent to both, every capture would see two
    // SIGINTs and stop without emptying its rings.
    this.#child = spawn(cmd, [...launch, ...args], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_KEEP);
      if (!this.capturing && STARTED_LINE.test(this.#stderr)) {
        this.capturing = true;
        onChange();
      }
    });
    this.done = new Promise((resolve) => {
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
        if (this.#exited) return;
        this.#exited = true;
        const errors = [...this.#stderr.matchAll(ERROR_LINE)].map((m) => m[1]!);
        if (spawnError) errors.push(`could not start ${cmd}: ${spawnError.message}`);
        resolve({ exitCode, signal, summary: readSummary(jsonPath), errors, startedAt: this.startedAt, endedAt: new Date() });
      };
      // 'close': stderr is read to its end, so the last error line is there.
      this.#child.once('close', (code, signal) => finish(code, signal));
      this.#child.once('error', (err) => finish(null, null, err));
    });
  }

  /** SIGINT, as a Ctrl-C: the first stops the capture cleanly, a second without draining its rings. */
  interrupt(): void {
    if (this.#exited) return;
    this.interrupts++;
    this.#child.kill('SIGINT');
  }

  stderr(): string {
    return this.#stderr;
  }
}

function readSummary(file: string): SummaryJson | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SummaryJson;
  } catch {
    // A job refused before its capture ended (bad usage, no primary) writes none.
    return undefined;
  }
}
