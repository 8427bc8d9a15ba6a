/**
 * `burstcap extcap`: burstcap as a Wireshark extcap program. Wireshark calls
 * it once per question (see extcap/protocol.ts); the answers go to stdout,
 * errors to stderr, which Wireshark shows when a capture fails.
 *
 * Listing reads only the runtime directories and telemetry sockets of the
 * running primaries: it attaches to none, so Wireshark starting up (it asks
 * at every start) never touches a primary. Only --capture attaches, and it
 * is an ordinary `burstcap capture` of every queue of one port into
 * Wireshark's FIFO, stopped by Wireshark's SIGTERM with the same teardown as
 * Ctrl-C, or when Wireshark closes the FIFO.
 */
import { checkedFilter, CLI_OPTION_NAMES, validateCapture, type OptionNames } from '../../options/capture-options';
import { isBurstcapError, usageError } from '../../core/errors';
import { packageVersion } from '../../core/paths';
import { primaryPortNames } from '../../primary/inspect';
import { runningPrimaries } from '../../primary/runtime-dir';
import { installLauncher, uninstallLauncher } from '../extcap/install';
import {
  captureTuple,
  formatConfig,
  formatDlts,
  formatInterfaces,
  interfaceName,
  parseExtcapArgs,
  parseInterfaceName,
  type ExtcapInterface,
} from '../extcap/protocol';
import { runCaptureCommand } from './capture';

/** How capture errors name the options, as Wireshark passed them. */
const EXTCAP_OPTION_NAMES: OptionNames = {
  ...CLI_OPTION_NAMES,
  filter: '--extcap-capture-filter',
  snaplen: '--snaplen',
  count: '--count',
};

/** One interface per port of each running primary that answers on its telemetry socket. */
export function extcapInterfaces(): ExtcapInterface[] {
  return runningPrimaries().flatMap(({ prefix }) => (primaryPortNames(prefix) ?? []).map(({ port, name }) => ({ prefix, port, portName: name })));
}

function parsedInterface(iface: string): { prefix: string; port: number } {
  const parsed = parseInterfaceName(iface);
  if (parsed === undefined) {
    throw usageError(
      'BAD_INTERFACE',
      `'${iface}' is not a burstcap interface: expected ${interfaceName('<file-prefix>', 0).replace(/0$/, '<port>')}, e.g. dpdk:rte:0`,
    );
  }
  return parsed;
}

/** The first line of why a filter is invalid, or '' when it is valid: Wireshark reads stdout so. */
export function filterVerdict(filter: string): string {
  try {
    checkedFilter(filter);
    return '';
  } catch (err) {
    if (!isBurstcapError(err)) throw err;
    return `${err.message.split('\n')[0]}\n`;
  }
}

export async function runExtcapCommand(argv: readonly string[]): Promise<number> {
  const call = parseExtcapArgs(argv);
  switch (call.kind) {
    case 'install': {
      const file = installLauncher();
      process.stdout.write(
        `installed ${file}\nWireshark and tshark now list a dpdk:<file-prefix>:<port> interface per port of each running primary ` +
          '(tshark -D); restart Wireshark, or press F5 in its interface list, to see them\n',
      );
      return 0;
    }
    case 'uninstall': {
      const file = uninstallLauncher();
      process.stdout.write(file === undefined ? 'no burstcap launcher was installed\n' : `removed ${file}\n`);
      return 0;
    }
    case 'interfaces':
      process.stdout.write(formatInterfaces(packageVersion(), extcapInterfaces()));
      return 0;
    case 'dlts':
      parsedInterface(call.iface);
      process.stdout.write(formatDlts());
      return 0;
    case 'config':
      parsedInterface(call.iface);
      process.stdout.write(formatConfig());
      return 0;
    case 'check-filter':
      parsedInterface(call.iface);
      process.stdout.write(filterVerdict(call.filter));
      return 0;
    case 'capture': {
      const { prefix, port } = parsedInterface(call.iface);
      const o = call.options;
      const request = validateCapture(
        {
          filePrefix: prefix,
          pdump: [captureTuple(port, call.fifo, o)],
          format: 'pcapng',
          filter: call.filter,
          snaplen: o.snaplen > 0 ? o.snaplen : undefined,
          count: o.count > 0 ? o.count : undefined,
        },
        EXTCAP_OPTION_NAMES,
      );
      return runCaptureCommand({ ...request, quiet: true, silent: true });
    }
  }
}
