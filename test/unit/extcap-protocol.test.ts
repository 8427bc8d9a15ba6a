// The text side of Wireshark's extcap protocol: the lines burstcap prints
// and the calls it accepts, as Wireshark and tshark 4.x make them.
import { describe, expect, it } from 'vitest';
import {
  captureTuple,
  formatConfig,
  formatDlts,
  formatInterfaces,
  interfaceName,
  parseExtcapArgs,
  parseInterfaceName,
  type ExtcapCaptureOptions,
} from '../../src/main/cli/extcap/protocol';
import { launcherScript, personalExtcapFolder } from '../../src/main/cli/extcap/install';
import { parseTuple } from '../../src/main/options/tuple';
import { BurstcapError } from '../../src/main/core/errors';
import { filterVerdict } from '../../src/main/cli/commands/extcap';

const DEFAULTS: ExtcapCaptureOptions = { direction: 'both', snaplen: 0, count: 0, buffer: 32768 };

function usageCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof BurstcapError && err.kind === 'usage') return err.code;
    throw err;
  }
  return undefined;
}

describe('extcap interface names', () => {
  it('are dpdk:<prefix>:<port>, and read back, also when the prefix holds a colon', () => {
    expect(interfaceName('rte', 0)).toBe('dpdk:rte:0');
    expect(parseInterfaceName('dpdk:rte:0')).toEqual({ prefix: 'rte', port: 0 });
    expect(parseInterfaceName('dpdk:a:b:12')).toEqual({ prefix: 'a:b', port: 12 });
    expect(parseInterfaceName(interfaceName('app_1', 65535))).toEqual({ prefix: 'app_1', port: 65535 });
  });

  it('refuse anything else', () => {
    for (const bad of ['eth0', 'dpdk:rte', 'dpdk::0', 'dpdk:rte:x', 'dpdk:rte:65536', 'dpdk:rte:-1', 'dpdk:rte:', 'randpkt']) {
      expect(parseInterfaceName(bad), bad).toBeUndefined();
    }
  });
});

describe('extcap answers', () => {
  it('lists the program, then one interface per port with its prefix and name', () => {
    const text = formatInterfaces('1.2.3', [
      { prefix: 'rte', port: 0, portName: 'net_ring0' },
      { prefix: 'app', port: 3, portName: undefined },
    ]);
    expect(text.split('\n')).toEqual([
      'extcap {version=1.2.3}{display=burstcap: DPDK ports through pdump}',
      'interface {value=dpdk:rte:0}{display=DPDK port 0 (net_ring0) of --file-prefix rte}',
      'interface {value=dpdk:app:3}{display=DPDK port 3 of --file-prefix app}',
      '',
    ]);
  });

  it('never lets a value close its field early: braces and line breaks in names are replaced', () => {
    const text = formatInterfaces('1', [{ prefix: 'p', port: 1, portName: 'net_{odd}\nname' }]);
    expect(text.split('\n')[1]).toBe('interface {value=dpdk:p:1}{display=DPDK port 1 (net_(odd) name) of --file-prefix p}');
  });

  it('gives Ethernet as the one link type', () => {
    expect(formatDlts()).toBe('dlt {number=1}{name=EN10MB}{display=Ethernet}\n');
  });

  it('offers direction, snaplen, count and buffer, each call an option --capture accepts', () => {
    const lines = formatConfig().trim().split('\n');
    const args = lines.filter((l) => l.startsWith('arg '));
    const calls = args.map((l) => /\{call=([^}]+)\}/.exec(l)?.[1]);
    expect(calls).toEqual(['--direction', '--snaplen', '--count', '--buffer']);
    expect(args.map((l) => /\{number=(\d+)\}/.exec(l)?.[1])).toEqual(['0', '1', '2', '3']);
    // Every value line belongs to a declared arg, and each selector has exactly one default.
    for (const n of ['0', '3']) {
      const values = lines.filter((l) => l.startsWith(`value {arg=${n}}`));
      expect(values.length).toBeGreaterThan(1);
      expect(values.filter((l) => l.includes('{default=true}')).length).toBe(1);
    }
    expect(lines.filter((l) => l.startsWith('value {arg=0}')).map((l) => /\{value=([^}]+)\}/.exec(l)?.[1])).toEqual(['rx', 'tx', 'both']);
    // What the dialog sends back is accepted.
    const call = parseExtcapArgs([
      '--capture',
      '--extcap-interface',
      'dpdk:rte:0',
      '--fifo',
      '/tmp/f',
      '--direction',
      'rx',
      '--snaplen',
      '128',
      '--count',
      '10',
      '--buffer',
      '4096',
    ]);
    expect(call).toEqual({
      kind: 'capture',
      iface: 'dpdk:rte:0',
      fifo: '/tmp/f',
      filter: undefined,
      options: { direction: 'rx', snaplen: 128, count: 10, buffer: 4096 },
    });
  });
});

describe('extcap calls', () => {
  it('reads each of the calls Wireshark makes', () => {
    expect(parseExtcapArgs(['--extcap-interfaces', '--extcap-version=4.0'])).toEqual({ kind: 'interfaces' });
    expect(parseExtcapArgs(['--extcap-dlts', '--extcap-interface', 'dpdk:rte:0'])).toEqual({ kind: 'dlts', iface: 'dpdk:rte:0' });
    expect(parseExtcapArgs(['--extcap-config', '--extcap-interface=dpdk:rte:1'])).toEqual({ kind: 'config', iface: 'dpdk:rte:1' });
    expect(parseExtcapArgs(['--extcap-capture-filter', 'tcp port 80', '--extcap-interface', 'dpdk:rte:0'])).toEqual({
      kind: 'check-filter',
      iface: 'dpdk:rte:0',
      filter: 'tcp port 80',
    });
    expect(
      parseExtcapArgs(['--extcap-interface', 'dpdk:x:2', '--fifo', '/tmp/wireshark_extcap_x', '--capture', '--extcap-capture-filter', 'udp']),
    ).toEqual({
      kind: 'capture',
      iface: 'dpdk:x:2',
      fifo: '/tmp/wireshark_extcap_x',
      filter: 'udp',
      options: DEFAULTS,
    });
    expect(parseExtcapArgs(['--install'])).toEqual({ kind: 'install' });
    expect(parseExtcapArgs(['--uninstall'])).toEqual({ kind: 'uninstall' });
  });

  it('takes an empty capture filter as none, and leaves aside the protocol options it has no use for', () => {
    const call = parseExtcapArgs([
      '--capture',
      '--extcap-interface',
      'dpdk:rte:0',
      '--fifo',
      '/tmp/f',
      '--extcap-capture-filter',
      '',
      '--extcap-control-in',
      '/tmp/in',
      '--extcap-control-out',
      '/tmp/out',
      '--debug',
    ]);
    expect(call).toMatchObject({ kind: 'capture', filter: undefined });
  });

  it('refuses what would otherwise start a capture Wireshark did not ask for', () => {
    expect(usageCode(() => parseExtcapArgs([]))).toBe('BAD_OPTION');
    expect(usageCode(() => parseExtcapArgs(['--capture', '--extcap-interface', 'dpdk:rte:0']))).toBe('BAD_OPTION');
    expect(usageCode(() => parseExtcapArgs(['--capture', '--fifo', '/tmp/f']))).toBe('BAD_OPTION');
    expect(usageCode(() => parseExtcapArgs(['--extcap-dlts']))).toBe('BAD_OPTION');
    expect(usageCode(() => parseExtcapArgs(['--extcap-interfaces', '--frobnicate']))).toBe('BAD_OPTION');
    expect(usageCode(() => parseExtcapArgs(['--extcap-interface']))).toBe('BAD_OPTION');
    const capture = ['--capture', '--extcap-interface', 'dpdk:rte:0', '--fifo', '/tmp/f'];
    expect(usageCode(() => parseExtcapArgs([...capture, '--direction', 'sideways']))).toBe('BAD_OPTION');
    expect(usageCode(() => parseExtcapArgs([...capture, '--snaplen', '-1']))).toBe('BAD_OPTION');
    expect(usageCode(() => parseExtcapArgs([...capture, '--count', '1e3']))).toBe('BAD_OPTION');
    expect(usageCode(() => parseExtcapArgs([...capture, '--buffer', '5000']))).toBe('BAD_OPTION');
  });
});

describe('the capture behind an extcap interface', () => {
  it('takes every queue of the port, the chosen directions, into the FIFO, as a tuple the capture parser accepts', () => {
    const both = parseTuple(captureTuple(3, '/tmp/wireshark_extcap_dpdk-rte-3_X', DEFAULTS));
    expect(both).toMatchObject({
      source: { kind: 'port', port: 3 },
      queue: '*',
      rxDev: '/tmp/wireshark_extcap_dpdk-rte-3_X',
      txDev: '/tmp/wireshark_extcap_dpdk-rte-3_X',
      ringSize: 32768,
      totalNumMbufs: 65535,
    });
    expect(parseTuple(captureTuple(0, '/tmp/f', { ...DEFAULTS, direction: 'rx' }))).toMatchObject({ rxDev: '/tmp/f', txDev: undefined });
    expect(parseTuple(captureTuple(0, '/tmp/f', { ...DEFAULTS, direction: 'tx', buffer: 4096 }))).toMatchObject({
      rxDev: undefined,
      txDev: '/tmp/f',
      ringSize: 4096,
      totalNumMbufs: 8191,
    });
  });

  it('refuses a FIFO path the tuple cannot carry', () => {
    expect(usageCode(() => captureTuple(0, '/tmp/a,b', DEFAULTS))).toBe('BAD_OPTION');
  });
});

describe('extcap --install', () => {
  it('finds the personal extcap folder in tshark -G folders, of Wireshark 4.0 and of later releases', () => {
    const v40 =
      'Temp:                \t/tmp\nPersonal configuration:\t/home/u/.config/wireshark\nExtcap path:         \t/usr/lib/x86_64-linux-gnu/wireshark/extcap\n';
    expect(personalExtcapFolder(v40)).toBe('/home/u/.config/wireshark/extcap');
    const v42 = `${v40}Personal Extcap path:\t/home/u/.local/lib/wireshark/extcap\n`;
    expect(personalExtcapFolder(v42)).toBe('/home/u/.local/lib/wireshark/extcap');
    expect(personalExtcapFolder('Temp:\t/tmp\n')).toBeUndefined();
  });

  it('writes a launcher that execs this node and this CLI with every argument, quoted for the shell', () => {
    const script = launcherScript('/opt/node/bin/node', "/srv/it's here/bin/burstcap");
    const lines = script.split('\n');
    expect(lines[0]).toBe('#!/bin/sh');
    expect(lines).toContain(`exec '/opt/node/bin/node' '/srv/it'\\''s here/bin/burstcap' extcap "$@"`);
  });
});

describe('extcap capture filter check', () => {
  it('prints nothing for a valid filter, and the first line of why for an invalid one, as Wireshark reads it', () => {
    expect(filterVerdict('udp and host 192.0.2.1')).toBe('');
    const why = filterVerdict('tcp port');
    expect(why).toMatch(/^[^\n]*syntax error[^\n]*\n$/);
  });
});
