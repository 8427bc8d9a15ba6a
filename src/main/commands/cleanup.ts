/** `burstcap cleanup`: remove what killed captures left in a primary, on demand. */
import { attach } from '../attach';
import { cleanupLeftovers, describeCleanup } from '../cleanup';
import { describeObject } from '../leftovers';
import { native } from '../native';

export interface CleanupCommand { prefix: string; json: boolean; verbose?: boolean | undefined }

export async function runCleanupCommand(cmd: CleanupCommand): Promise<number> {
  const attachment = attach({ prefix: cmd.prefix, mainCpu: native.threadInfo().cpus[0] ?? 0, verbose: cmd.verbose, allowReexec: true });
  try {
    const report = await cleanupLeftovers(cmd.prefix, attachment.primary.pid);
    const j = report.judgement;
    if (cmd.json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            stale: (j?.stale ?? []).map((s) => ({ object: describeObject(s.object), evidence: s.evidence })),
            removed: report.removed,
            callbacks_disabled: report.callbacksDisabled,
            left_in_place: report.leftInPlace ?? null,
            kept: (j?.kept ?? []).map((k) => ({ object: describeObject(k.object), why: k.why })),
            blocked_by: j?.blockedBy ?? [],
            failures: report.failures,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      const lines = describeCleanup(report);
      process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : `nothing to clean up in the primary of --file-prefix ${cmd.prefix}\n`);
    }
    const unfinished = report.failures.length > 0 || report.leftInPlace !== undefined || (j?.blockedBy.length ?? 0) > 0;
    return unfinished ? 1 : 0;
  } finally {
    native.detach();
  }
}
