/**
 * What --dry-run checks for every job, without EAL and without attaching:
 * the primary is running (its config lock) and answers on its telemetry
 * socket, the ports and queues exist (telemetry /ethdev/list and
 * /ethdev/info), the outputs can be written (checkOutputs), and the jobs
 * that can run at the same time fit in the free hugepage memory. Nothing is
 * created: no file, no directory, nothing in the primary.
 */
import { captureBytes, checkBudget, hugepageState, type HugepageState } from '../capture/budget';
import { isBurstcapError } from '../core/errors';
import type { PortInfo } from '../core/native';
import { buildPlan, checkOutputs, type CapturePlan } from '../capture/plan';
import { checkVersion, inspectPrimary, primaryHeapFree, primaryPorts } from '../primary/inspect';
import { isInterface } from '../capture/session';
import type { BatchJob } from './job-file';
import { footprintOf, heaviestConcurrentSet, type Footprint } from './schedule';

/** The primary's ports from its telemetry alone (no EAL here): enough for a plan. */
export function telemetryPorts(prefix: string): PortInfo[] | undefined {
  const { ports, listed } = primaryPorts(prefix, [], []);
  return listed ? ports : undefined;
}

/** Footprints with device names turned into port ids where the primary's telemetry answers. */
export function footprints(jobs: readonly BatchJob[], portsOf: (prefix: string) => PortInfo[] | undefined): Footprint[] {
  return jobs.map((job) => {
    const ports = portsOf(job.request.prefix);
    return footprintOf(job.request.prefix, job.request.tuples, (name) => ports?.find((p) => p.name === name)?.port);
  });
}

/** Caches one telemetry answer per primary for the whole check. */
export function portsCache(): (prefix: string) => PortInfo[] | undefined {
  const cache = new Map<string, PortInfo[] | undefined>();
  return (prefix) => {
    if (!cache.has(prefix)) cache.set(prefix, telemetryPorts(prefix));
    return cache.get(prefix);
  };
}

export interface JobProblem {
  job: string;
  code: string;
  message: string;
}

/** One job's checks; returns its plan, or the first problem. */
function checkJob(job: BatchJob, portsOf: (prefix: string) => PortInfo[] | undefined): CapturePlan | JobProblem {
  try {
    const facts = inspectPrimary(job.request.prefix);
    checkVersion(facts);
    const ports = portsOf(job.request.prefix);
    if (ports === undefined) {
      return {
        job: job.name,
        code: 'NO_TELEMETRY',
        message: `the primary of --file-prefix ${job.request.prefix} does not answer on its telemetry socket, so its ports cannot be checked without attaching; run the job with 'burstcap capture' to check it`,
      };
    }
    const plan = buildPlan(job.request.tuples, ports, { writer: job.request.writer, isInterface });
    checkOutputs(plan);
    return plan;
  } catch (err) {
    if (isBurstcapError(err)) return { job: job.name, code: err.code, message: err.message };
    throw err;
  }
}

export interface PreflightResult {
  problems: JobProblem[];
  /** The jobs whose hugepage memory the budget was checked for (they can run at once). */
  concurrent: string[];
  neededBytes: number;
}

export function preflight(jobs: readonly BatchJob[], parallel: number, pages: HugepageState = hugepageState()): PreflightResult {
  const portsOf = portsCache();
  const problems: JobProblem[] = [];
  const plans: (CapturePlan | undefined)[] = jobs.map((job) => {
    const r = checkJob(job, portsOf);
    if ('rings' in r) return r;
    problems.push(r);
    return undefined;
  });
  // The budget of the heaviest set of jobs that may run together, checked
  // once all of them are otherwise good: a bad job has no plan to weigh.
  const fps = footprints(jobs, portsOf);
  const weights = plans.map((p) => (p ? captureBytes(p) : 0));
  const set = heaviestConcurrentSet(fps, weights, parallel);
  const merged: CapturePlan = { rings: set.flatMap((i) => plans[i]?.rings ?? []), outputs: [], interfaces: [] };
  const heapFree = [...new Set(set.map((i) => jobs[i]!.request.prefix))].reduce((sum, prefix) => sum + (primaryHeapFree(prefix) ?? 0), 0);
  try {
    checkBudget(merged, pages, heapFree);
  } catch (err) {
    if (!isBurstcapError(err)) throw err;
    const names = set.map((i) => `'${jobs[i]!.name}'`).join(', ');
    for (const i of set) {
      problems.push({
        job: jobs[i]!.name,
        code: err.code,
        message: `with ${names} running at once (--parallel ${parallel}): ${err.message}; or lower --parallel`,
      });
    }
  }
  return { problems, concurrent: set.map((i) => jobs[i]!.name), neededBytes: weights.reduce((s, w, i) => (set.includes(i) ? s + w : s), 0) };
}
