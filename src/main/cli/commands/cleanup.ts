/** `burstcap cleanup`: remove what killed captures left in a primary, on demand. */
import { cleanupPrimary } from '../../leftovers/cleanup-primary';

export interface CleanupCommand {
  prefix: string;
  json: boolean;
  verbose?: boolean | undefined;
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
