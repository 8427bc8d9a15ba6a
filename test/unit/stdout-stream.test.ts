// rx-dev=- and tx-dev=-: one stream on stdout, refused (exit 2, before the
// primary is touched) wherever it could not be a live stream.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_OPTION_NAMES, validateCapture } from '../../src/main/options/capture-options';
import { checkJsonTarget } from '../../src/main/capture/report';
import { BurstcapError } from '../../src/main/core/errors';
import type { PortInfo } from '../../src/main/core/native';
import { buildPlan, checkOutputs, checkStdoutStream, STDOUT_PATH } from '../../src/main/capture/plan';
import { parseTuple } from '../../src/main/options/tuple';

function port(id: number, rxq: number, txq: number): PortInfo {
  return {
    port: id,
    name: `net_null${id}`,
    driver: 'net_null',
    mac: '00:00:00:00:00:00',
    rxQueues: rxq,
    txQueues: txq,
    socket: 0,
    linkUp: true,
    linkSpeedMbps: 0,
    probed: true,
  };
}
const PORTS = [port(0, 2, 2)];
const OPTS = { writer: 'native' as const, isInterface: (n: string) => n === '-' || n === 'veth0' };

function usage(fn: () => unknown): BurstcapError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BurstcapError);
    expect((err as BurstcapError).exitStatus).toBe(2);
    return err as BurstcapError;
  }
  throw new Error('not refused');
}

describe('rx-dev=- in the plan', () => {
  it('writes one ring straight to stdout, never to a file named - nor an interface', () => {
    const plan = buildPlan([parseTuple('port=0,queue=1,rx-dev=-')], PORTS, OPTS);
    expect(plan.rings.map((r) => r.sink)).toEqual([{ kind: 'file', path: STDOUT_PATH }]);
    expect(plan.outputs).toEqual([{ path: STDOUT_PATH, format: 'pcap', rings: [0], parts: [] }]);
    expect(plan.interfaces).toEqual([]);
    const ng = buildPlan([parseTuple('port=0,queue=0,tx-dev=-')], PORTS, { ...OPTS, format: 'pcapng' });
    expect(ng.outputs[0]!.format).toBe('pcapng');
  });

  it('writes an output fed by several rings live, by all of them together, not merged at the end', () => {
    const plan = buildPlan([parseTuple('port=0,queue=*,rx-dev=-')], PORTS, OPTS);
    expect(plan.outputs).toEqual([{ path: STDOUT_PATH, format: 'pcap', rings: [0, 1], parts: [], live: true }]);
    expect(plan.rings.map((r) => r.sink)).toEqual([
      { kind: 'file', path: STDOUT_PATH },
      { kind: 'file', path: STDOUT_PATH },
    ]);
    const both = buildPlan([parseTuple('port=0,queue=0,rx-dev=-,tx-dev=-')], PORTS, OPTS);
    expect(both.outputs).toEqual([{ path: STDOUT_PATH, format: 'pcap', rings: [0, 1], parts: [], live: true }]);
  });

  it('writes a FIFO fed by several rings live, and a plain file fed by several rings as merged parts', () => {
    const fifo = buildPlan([parseTuple('port=0,queue=*,rx-dev=/tmp/x.fifo')], PORTS, { ...OPTS, isFifo: () => true });
    expect(fifo.outputs[0]).toMatchObject({ rings: [0, 1], parts: [], live: true });
    const file = buildPlan([parseTuple('port=0,queue=*,rx-dev=/tmp/x.pcap')], PORTS, { ...OPTS, isFifo: () => false });
    expect(file.outputs[0]!.parts).toHaveLength(2);
    expect(file.outputs[0]!.live).toBeUndefined();
    const rotating = buildPlan([parseTuple('port=0,queue=*,rx-dev=/tmp/x.pcap')], PORTS, { ...OPTS, rotating: true, isFifo: () => false });
    expect(rotating.outputs[0]).toMatchObject({ rings: [0, 1], parts: [], live: true });
  });
});

describe('rx-dev=- among the options', () => {
  it('refuses - in two tuples, naming both', () => {
    const err = usage(() => validateCapture({ pdump: ['port=0,queue=0,rx-dev=-', 'port=0,queue=1,tx-dev=-'] }, CLI_OPTION_NAMES));
    expect(err.code).toBe('STDOUT_TWICE');
    expect(err.message).toContain("--pdump 'port=0,queue=0,rx-dev=-' and --pdump 'port=0,queue=1,tx-dev=-'");
  });

  it('refuses --json - with a - output, and rotation or vdevs of stdout', () => {
    const json = usage(() => checkJsonTarget('-', true));
    expect(json.code).toBe('STDOUT_TWICE');
    expect(json.message).toMatch(/--json - and an rx-dev=-/);
    expect(() => checkJsonTarget('-', false)).not.toThrow();
    expect(usage(() => validateCapture({ pdump: ['port=0,queue=0,rx-dev=-'], rotate: ['packets:10'] }, CLI_OPTION_NAMES)).code).toBe(
      'ROTATION_OF_STDOUT',
    );
    expect(usage(() => validateCapture({ pdump: ['port=0,queue=0,rx-dev=-'], writer: 'vdev' }, CLI_OPTION_NAMES)).code).toBe('STDOUT_NEEDS_NATIVE');
  });

  it('takes a file as stdout and refuses a closed one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bc-stdout-'));
    try {
      const file = fs.openSync(path.join(dir, 'out.pcap'), 'w');
      expect(() => checkStdoutStream(file)).not.toThrow();
      const plan = buildPlan([parseTuple('port=0,queue=1,rx-dev=-')], PORTS, OPTS);
      expect(() => checkOutputs(plan, file)).not.toThrow();
      fs.closeSync(file);
      expect(usage(() => checkStdoutStream(file)).code).toBe('STDOUT_CLOSED');
      expect(usage(() => checkOutputs(plan, file)).code).toBe('STDOUT_CLOSED');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
