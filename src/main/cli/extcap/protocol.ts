/**
 * Wireshark's extcap protocol, the part that is text: the arguments Wireshark
 * (and tshark, dumpcap) call an extcap program with, and the lines it reads
 * back. Pure: nothing here touches a primary, so every answer can be tested.
 *
 * The calls (extcap(4), doc/extcap_example.py in Wireshark's sources):
 *   --extcap-interfaces [--extcap-version=<v>]       which interfaces exist
 *   --extcap-dlts --extcap-interface <i>             the link type of one
 *   --extcap-config --extcap-interface <i>           the options it takes
 *   --extcap-capture-filter <f> --extcap-interface <i>
 *                                                    is <f> valid? nothing on stdout = yes,
 *                                                    otherwise the first line says why
 *   --capture --extcap-interface <i> --fifo <path> [--extcap-capture-filter <f>] [options]
 *                                                    write pcap or pcapng into <path>
 *                                                    until SIGTERM
 */
import { usageError } from '../../core/errors';

/** Every interface name starts with it: `dpdk:<file-prefix>:<port>`. */
export const INTERFACE_KIND = 'dpdk';
/** The extcap protocol version this program speaks (printed with --extcap-interfaces). */
export const EXTCAP_VERSION = '1.0';
/** DLT_EN10MB: DPDK ports carry Ethernet frames. */
const DLT_ETHERNET = 1;

export type ExtcapDirection = 'rx' | 'tx' | 'both';
const DIRECTIONS: readonly ExtcapDirection[] = ['rx', 'tx', 'both'];

/**
 * Packets each ring holds while the writer catches up, offered as choices:
 * ring sizes must be powers of two, and the pool holds twice the ring (less
 * one, as the tuple's defaults do) so that the primary never waits for mbufs
 * the writer is still holding.
 */
const BUFFER_CHOICES: readonly number[] = [4096, 8192, 16384, 32768];
const DEFAULT_BUFFER = 32768;

export interface ExtcapInterface {
  prefix: string;
  port: number;
  /** The port's DPDK name (net_ring0, 0000:01:00.0), shown beside it. */
  portName: string | undefined;
}

/** `dpdk:<prefix>:<port>`: the prefix and port are what a capture needs, and what a user recognises. */
export function interfaceName(prefix: string, port: number): string {
  return `${INTERFACE_KIND}:${prefix}:${port}`;
}

/** The prefix and port of `dpdk:<prefix>:<port>` (a prefix may itself hold ':'), or undefined. */
export function parseInterfaceName(name: string): { prefix: string; port: number } | undefined {
  const head = `${INTERFACE_KIND}:`;
  if (!name.startsWith(head)) return undefined;
  const rest = name.slice(head.length);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const portText = rest.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 0xffff) return undefined;
  return { prefix: rest.slice(0, colon), port };
}

/**
 * Wireshark reads `{key=value}` up to the first '}' and has no escape: a
 * brace inside a value would end it early, so braces become parentheses.
 */
function field(key: string, value: string | number | boolean): string {
  return `{${key}=${String(value)
    .replace(/\{/g, '(')
    .replace(/\}/g, ')')
    .replace(/[\r\n]/g, ' ')}}`;
}

function line(kind: string, fields: readonly [string, string | number | boolean][]): string {
  return `${kind} ${fields.map(([k, v]) => field(k, v)).join('')}\n`;
}

/** The answer to --extcap-interfaces: this program, then one line per port of each running primary. */
export function formatInterfaces(programVersion: string, interfaces: readonly ExtcapInterface[]): string {
  let out = line('extcap', [
    ['version', programVersion],
    ['display', 'burstcap: DPDK ports through pdump'],
  ]);
  for (const i of interfaces) {
    const name = i.portName ? ` (${i.portName})` : '';
    out += line('interface', [
      ['value', interfaceName(i.prefix, i.port)],
      ['display', `DPDK port ${i.port}${name} of --file-prefix ${i.prefix}`],
    ]);
  }
  return out;
}

/** The answer to --extcap-dlts: every DPDK port is Ethernet. */
export function formatDlts(): string {
  return line('dlt', [
    ['number', DLT_ETHERNET],
    ['name', 'EN10MB'],
    ['display', 'Ethernet'],
  ]);
}

/** The answer to --extcap-config: the options Wireshark shows in its dialog and passes to --capture. */
export function formatConfig(): string {
  const args: string[] = [
    line('arg', [
      ['number', 0],
      ['call', '--direction'],
      ['display', 'Direction'],
      ['type', 'selector'],
      ['tooltip', 'Packets the port received (rx), sent (tx), or both'],
      ['group', 'Capture'],
    ]),
    ...DIRECTIONS.map((d) =>
      line('value', [
        ['arg', 0],
        ['value', d],
        ['display', d === 'both' ? 'rx and tx' : d],
        ['default', d === 'both'],
      ]),
    ),
    line('arg', [
      ['number', 1],
      ['call', '--snaplen'],
      ['display', 'Snapshot length'],
      ['type', 'unsigned'],
      ['range', '0,262144'],
      ['default', 0],
      ['tooltip', 'Bytes kept of each packet; the primary copies no more (0: whole packets)'],
      ['group', 'Capture'],
    ]),
    line('arg', [
      ['number', 2],
      ['call', '--count'],
      ['display', 'Stop after packets'],
      ['type', 'unsigned'],
      ['default', 0],
      ['tooltip', 'Stop after this many packets in total (0: until stopped)'],
      ['group', 'Capture'],
    ]),
    line('arg', [
      ['number', 3],
      ['call', '--buffer'],
      ['display', 'Ring size (packets)'],
      ['type', 'selector'],
      ['tooltip', 'Packets each ring holds while the writer catches up; each costs about 2.4 kB of hugepage memory, twice'],
      ['group', 'Buffers'],
    ]),
    ...BUFFER_CHOICES.map((n) =>
      line('value', [
        ['arg', 3],
        ['value', n],
        ['display', String(n)],
        ['default', n === DEFAULT_BUFFER],
      ]),
    ),
  ];
  return args.join('');
}

/** What one call of the extcap program asks for. */
export type ExtcapCall =
  | { kind: 'interfaces' }
  | { kind: 'dlts'; iface: string }
  | { kind: 'config'; iface: string }
  | { kind: 'check-filter'; iface: string; filter: string }
  | { kind: 'capture'; iface: string; fifo: string; filter: string | undefined; options: ExtcapCaptureOptions }
  | { kind: 'install' }
  | { kind: 'uninstall' };

export interface ExtcapCaptureOptions {
  direction: ExtcapDirection;
  /** Bytes kept of each packet; 0 keeps them whole. */
  snaplen: number;
  /** Packets in total before it stops; 0 runs until stopped. */
  count: number;
  /** Ring size in packets. */
  buffer: number;
}

/** Options that take a value: Wireshark's own, then the ones --extcap-config offers. */
const VALUE_OPTIONS = new Set([
  '--extcap-interface',
  '--extcap-version',
  '--extcap-capture-filter',
  '--fifo',
  '--extcap-control-in',
  '--extcap-control-out',
  '--extcap-reload-option',
  '--debug-file',
  '--direction',
  '--snaplen',
  '--count',
  '--buffer',
]);
const FLAG_OPTIONS = new Set(['--extcap-interfaces', '--extcap-dlts', '--extcap-config', '--capture', '--debug', '--install', '--uninstall']);

function unsignedOption(values: Map<string, string>, name: string, fallback: number): number {
  const text = values.get(name);
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw usageError('BAD_OPTION', `${name}: expected a whole number >= 0, got '${text}'`);
  return Number(text);
}

function requireInterface(values: Map<string, string>, what: string): string {
  const iface = values.get('--extcap-interface');
  if (iface === undefined || iface === '') throw usageError('BAD_OPTION', `${what} needs --extcap-interface dpdk:<file-prefix>:<port>`);
  return iface;
}

function captureOptions(values: Map<string, string>): ExtcapCaptureOptions {
  const direction = values.get('--direction') ?? 'both';
  if (!DIRECTIONS.includes(direction as ExtcapDirection)) throw usageError('BAD_OPTION', `--direction: expected rx, tx or both, got '${direction}'`);
  const buffer = unsignedOption(values, '--buffer', DEFAULT_BUFFER);
  if (!BUFFER_CHOICES.includes(buffer)) throw usageError('BAD_OPTION', `--buffer: expected one of ${BUFFER_CHOICES.join(', ')}, got ${buffer}`);
  return {
    direction: direction as ExtcapDirection,
    snaplen: unsignedOption(values, '--snaplen', 0),
    count: unsignedOption(values, '--count', 0),
    buffer,
  };
}

/**
 * Reads one call's arguments, as Wireshark gives them (`--key value` or
 * `--key=value`, in any order). Options of the protocol this program has no
 * use for (the control pipes of a toolbar, --debug) are accepted and left
 * aside; anything else is refused, so a typo by hand does not start a capture
 * with defaults.
 */
export function parseExtcapArgs(argv: readonly string[]): ExtcapCall {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (VALUE_OPTIONS.has(name)) {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw usageError('BAD_OPTION', `${name} needs a value`);
      values.set(name, value);
    } else if (FLAG_OPTIONS.has(name) && name === arg) {
      flags.add(name);
    } else {
      throw usageError('BAD_OPTION', `unknown argument '${arg}' (see burstcap extcap --help)`);
    }
  }
  if (flags.has('--install')) return { kind: 'install' };
  if (flags.has('--uninstall')) return { kind: 'uninstall' };
  if (flags.has('--extcap-interfaces')) return { kind: 'interfaces' };
  if (flags.has('--extcap-dlts')) return { kind: 'dlts', iface: requireInterface(values, '--extcap-dlts') };
  if (flags.has('--extcap-config')) return { kind: 'config', iface: requireInterface(values, '--extcap-config') };
  const filter = values.get('--extcap-capture-filter');
  if (flags.has('--capture')) {
    const fifo = values.get('--fifo');
    if (fifo === undefined || fifo === '') throw usageError('BAD_OPTION', '--capture needs --fifo <path>, the pipe Wireshark reads');
    return {
      kind: 'capture',
      iface: requireInterface(values, '--capture'),
      fifo,
      filter: filter === '' ? undefined : filter,
      options: captureOptions(values),
    };
  }
  if (filter !== undefined) return { kind: 'check-filter', iface: requireInterface(values, '--extcap-capture-filter'), filter };
  throw usageError(
    'BAD_OPTION',
    'nothing to do: give --extcap-interfaces, --extcap-dlts, --extcap-config, --capture, or --install (see burstcap extcap --help)',
  );
}

/**
 * The dpdk-pdump tuple of a capture: every queue of the port, the chosen
 * directions, into Wireshark's FIFO. Several rings then write the FIFO live
 * together, in pcapng (each packet marked inbound or outbound).
 */
export function captureTuple(port: number, fifo: string, o: ExtcapCaptureOptions): string {
  // Tuple fields are separated by ','; Wireshark's FIFO names have none (a temporary file name).
  if (fifo.includes(',')) throw usageError('BAD_OPTION', `--fifo: a path with ',' cannot be captured into (${fifo})`);
  const dirs = [o.direction !== 'tx' ? `rx-dev=${fifo}` : undefined, o.direction !== 'rx' ? `tx-dev=${fifo}` : undefined].filter(Boolean);
  return `port=${port},queue=*,${dirs.join(',')},ring-size=${o.buffer},total-num-mbufs=${Math.min(2 * o.buffer - 1, 65535)}`;
}
