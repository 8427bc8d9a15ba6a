/** `burstcap cleanup`: remove what killed captures left in a primary, on demand. */
import { attach } from '../../attach/attach';
import { cleanupLeftovers, describeCleanup, type CleanupReport } from '../../leftovers/cleanup';
import { describeObject } from '../../leftovers/judge';
import { native } from '../../core/native';

export interface CleanupCommand {
  prefix: string;
  json: boolean;
  verbose?: boolean | undefined;
}

/** The `cleanup --json` document, and what the library's cleanup() resolves to. */
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

export async function runCleanupCommand(cmd: CleanupCommand): Promise<number> {
  const { result, lines } = await cleanupPrimary({ prefix: cmd.prefix, verbose: cmd.verbose, allowReexec: true });
  if (cmd.json) {
    const { complete: _complete, ...doc } = result;
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : `nothing to clean up in the primary of --file-prefix ${cmd.prefix}\n`);
  }
  return result.complete ? 0 : 1;
}
