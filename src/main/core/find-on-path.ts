/** Programs burstcap runs (stdbuf, setpriv, tshark, the DPDK tools), found as the shell would. */
import fs from 'node:fs';
import path from 'node:path';

/** The first executable `bin` in $PATH, or undefined. */
export function findOnPath(bin: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    const candidate = path.join(dir || '.', bin);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
