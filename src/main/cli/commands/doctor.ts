/** `burstcap doctor`: every precondition of a capture, one line each, with the fix (see doctor/checks.ts). */
import { doctorChecks } from '../../doctor/checks';

export interface DoctorCommand {
  prefix: string | undefined;
  json: boolean;
}

export async function runDoctorCommand(cmd: DoctorCommand): Promise<number> {
  const checks = await doctorChecks(cmd.prefix, true);
  if (cmd.json) {
    process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
  } else {
    for (const c of checks)
      process.stdout.write(`[${c.ok ? ' ok ' : 'FAIL'}] ${c.name.padEnd(12)} ${c.detail}${c.fix ? `\n       fix: ${c.fix}` : ''}\n`);
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}
