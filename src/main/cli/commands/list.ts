/**
 * `burstcap list`: every port of the primary, as a capture sees them,
 * including ports this process could not open (captured by device name),
 * with DPDK's reason for those.
 */
import { attach } from '../../attach/attach';
import { native, type PortInfo } from '../../core/native';
import { primaryPorts, probeFailures } from '../../primary/inspect';

export interface ListCommand {
  prefix: string;
  json: boolean;
  verbose?: boolean | undefined;
}

/** The `opened` column: whether this process probed the port; captures work either way. */
export function openedColumn(p: PortInfo): string {
  return p.probed ? 'yes' : `no (captured by name; DPDK said: ${p.notProbedReason ?? 'nothing'})`;
}

export function formatPorts(ports: readonly PortInfo[]): string {
  const header = ['port', 'name', 'driver', 'mac', 'rxq', 'txq', 'link', 'opened'];
  const rows = ports.map((p) => [
    String(p.port),
    p.name,
    p.driver || '-',
    p.mac || '-',
    String(p.rxQueues),
    String(p.txQueues),
    p.linkUp ? `up ${p.linkSpeedMbps} Mbps` : 'down',
    openedColumn(p),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n') + '\n';
}

export interface PortsQuery {
  prefix: string;
  verbose?: boolean | undefined;
  extraEal?: readonly string[] | undefined;
  allowReexec: boolean;
}

/** The primary's ports as this process sees them as a secondary; uses this process's one EAL. */
export function listPrimaryPorts(q: PortsQuery): PortInfo[] {
  const allowed = native.threadInfo().cpus;
  attach({ prefix: q.prefix, mainCpu: allowed[0] ?? 0, verbose: q.verbose, allowReexec: q.allowReexec, extraEal: q.extraEal ?? [] });
  try {
    return primaryPorts(q.prefix, native.listPorts(), probeFailures(native.ealLog(200))).ports;
  } finally {
    native.detach();
  }
}

export function runListCommand(cmd: ListCommand): number {
  const ports = listPrimaryPorts({ prefix: cmd.prefix, verbose: cmd.verbose, allowReexec: true });
  process.stdout.write(cmd.json ? `${JSON.stringify(ports, null, 2)}\n` : formatPorts(ports));
  return 0;
}
