/** Cleanup as the library and `burstcap cleanup` run it: attach, remove what dead captures left, detach. */
import { attach } from '../attach/attach';
import { native } from '../core/native';
import { cleanupLeftovers, describeCleanup, type CleanupReport } from './cleanup';
import { describeObject } from './judge';

export interface CleanupResult {
  stale: { object: string; evidence: unknown }[];
  removed: CleanupReport['removed'];
  callbacks_disabled: CleanupReport['callbacksDisabled'];
  left_in_place: string | null;
  kept: { object: string; why: unknown }[];
  blocked_by: unknown[];
  failures: CleanupReport['failures'];
  /** False when something could not be removed (failures, left_in_place or blocked_by): the CLI exits 1. */
  complete: boolean;
}

export interface CleanupQuery {
  prefix: string;
  verbose?: boolean | undefined;
  allowReexec: boolean;
}

/** Attaches (this process's one EAL), removes what dead captures left, detaches. */
export async function cleanupPrimary(q: CleanupQuery): Promise<{ result: CleanupResult; lines: string[] }> {
  const attachment = attach({ prefix: q.prefix, mainCpu: native.threadInfo().cpus[0] ?? 0, verbose: q.verbose, allowReexec: q.allowReexec });
  try {
    const report = await cleanupLeftovers(q.prefix, attachment.primary.pid);
    const j = report.judgement;
    const result: CleanupResult = {
      stale: (j?.stale ?? []).map((s) => ({ object: describeObject(s.object), evidence: s.evidence })),
      removed: report.removed,
      callbacks_disabled: report.callbacksDisabled,
      left_in_place: report.leftInPlace ?? null,
      kept: (j?.kept ?? []).map((k) => ({ object: describeObject(k.object), why: k.why })),
      blocked_by: j?.blockedBy ?? [],
      failures: report.failures,
      complete: !(report.failures.length > 0 || report.leftInPlace !== undefined || (j?.blockedBy.length ?? 0) > 0),
    };
    return { result, lines: describeCleanup(report) };
  } finally {
    native.detach();
  }
}
