/** `burstcap cleanup`: remove what killed captures left in a primary, on demand. */
import { attach } from '../attach';
import { cleanupLeftovers, describeCleanup } from '../cleanup';
import { describeObject } from '../leftovers';
import { native } from '../native';

export interface CleanupCommand { prefix: string; json: boolean; verbose?: boolean | undefined }

export async function runCleanupCommand(cmd: CleanupCommand): Promise<number> {
  attach({ prefix: cmd.prefix, mainCpu: native.threadInfo().cpus[0] ?? 0, verbose: cmd.verbose, allowReexec: true });
  try {
    const report = await cleanupLeftovers(cmd.prefix);
    if (cmd.json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            stale: report.stale.map(describeObject),
            removed: report.removed,
            callbacks_disabled: report.callbacksDisabled,
            blocked_by: report.blockedBy,
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
    return report.failures.length > 0 || report.blockedBy.length > 0 ? 1 : 0;
  } finally {
    native.detach();
  }
}
