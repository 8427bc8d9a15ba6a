/**
 * `burstcap list`: every port of the primary, as a capture sees them,
 * including ports this process could not open (captured by device name),
 * with DPDK's reason for those.
 */
import { listPrimaryPorts } from '../../attach/list-ports';
import type { PortInfo } from '../../core/native';

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

export function runListCommand(cmd: ListCommand): number {
  const ports = listPrimaryPorts({ prefix: cmd.prefix, verbose: cmd.verbose, allowReexec: true });
  process.stdout.write(cmd.json ? `${JSON.stringify(ports, null, 2)}\n` : formatPorts(ports));
  return 0;
}
