import { describe, expect, it } from 'vitest';
import type { PortInfo } from '../../src/main/core/native';
import { buildPlan } from '../../src/main/capture/plan';
import { parseTuple } from '../../src/main/options/tuple';
import { captureBytes, checkBudget } from '../../src/main/capture/budget';
import { chooseCpus } from '../../src/main/primary/busy-cpus';

function port(id: number, name: string, rxq: number, txq: number): PortInfo {
  return {
    port: id,
    name,
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

const PORTS = [port(0, 'net_null0', 2, 2), port(1, '0000:3b:00.0', 4, 1)];
const OPTS = { writer: 'native' as const, isInterface: (n: string) => n === 'veth0' };

describe('buildPlan', () => {
  it('plans a port this process could not open like any other, with the device name its requests carry', () => {
    const unprobed: PortInfo = { ...port(2, 'net_pcap0', 2, 2), driver: 'net_pcap', probed: false, notProbedReason: "Couldn't open /tmp/x" };
    for (const writer of ['native', 'vdev'] as const) {
      const plan = buildPlan([parseTuple('port=2,queue=*,rx-dev=/o/rx.pcap,tx-dev=veth0')], [...PORTS, unprobed], { ...OPTS, writer });
      expect(plan.rings.map((r) => `${r.port}/${r.portName}/${r.queue}/${r.direction}/${r.sink.kind}`)).toEqual([
        `2/net_pcap0/0/rx/${writer === 'vdev' ? 'vdev-file' : 'file'}`,
        `2/net_pcap0/1/rx/${writer === 'vdev' ? 'vdev-file' : 'file'}`,
        '2/net_pcap0/0/tx/iface',
        '2/net_pcap0/1/tx/iface',
      ]);
    }
    const byName = buildPlan([parseTuple('device_id=net_pcap0,queue=1,rx-dev=/o/rx.pcap')], [...PORTS, unprobed], OPTS);
    expect(byName.rings.map((r) => r.port)).toEqual([2]);
  });
  it('makes one ring per queue and direction and merges them into the named files', () => {
    const plan = buildPlan([parseTuple('port=0,queue=*,rx-dev=/o/rx.pcap,tx-dev=/o/tx.pcap')], PORTS, OPTS);
    expect(plan.rings.map((r) => `${r.port}/${r.queue}/${r.direction}`)).toEqual(['0/0/rx', '0/1/rx', '0/0/tx', '0/1/tx']);
    expect(plan.outputs.map((o) => [o.path, o.parts.length])).toEqual([
      ['/o/rx.pcap', 2],
      ['/o/tx.pcap', 2],
    ]);
    expect(new Set(plan.rings.map((r) => (r.sink as { path: string }).path)).size).toBe(4);
  });
  it('writes directly when one ring feeds a file, and per queue with %q', () => {
    const one = buildPlan([parseTuple('port=0,queue=1,rx-dev=/o/rx.pcap')], PORTS, OPTS);
    expect(one.outputs).toEqual([{ path: '/o/rx.pcap', format: 'pcap', rings: [0], parts: [] }]);
    const perQueue = buildPlan([parseTuple('device_id=0000:3b:00.0,queue=*,rx-dev=/o/rx-q%q.pcap')], PORTS, OPTS);
    expect(perQueue.outputs.map((o) => o.path)).toEqual(['/o/rx-q0.pcap', '/o/rx-q1.pcap', '/o/rx-q2.pcap', '/o/rx-q3.pcap']);
    expect(perQueue.outputs.every((o) => o.parts.length === 0)).toBe(true);
  });
  it('merges rx and tx into one file when both name the same path', () => {
    const plan = buildPlan([parseTuple('port=1,queue=*,rx-dev=/o/all.pcap,tx-dev=/o/all.pcap')], PORTS, OPTS);
    expect(plan.outputs).toHaveLength(1);
    expect(plan.outputs[0]!.parts).toHaveLength(5);
  });
  it('sends to interfaces through vdevs and uses vdevs for files with --writer vdev', () => {
    const plan = buildPlan([parseTuple('port=0,queue=0,rx-dev=veth0,tx-dev=/o/tx.pcap')], PORTS, { ...OPTS, writer: 'vdev' });
    expect(plan.rings.map((r) => r.sink.kind)).toEqual(['iface', 'vdev-file']);
    expect(plan.interfaces).toEqual(['veth0']);
  });
  it('refuses unknown ports and queues, and a queue captured twice, naming what exists', () => {
    expect(() => buildPlan([parseTuple('port=7,queue=0,rx-dev=/o/a')], PORTS, OPTS)).toThrow(/port=7 does not exist.*port 0 \(net_null0\)/);
    expect(() => buildPlan([parseTuple('port=0,queue=2,rx-dev=/o/a')], PORTS, OPTS)).toThrow(/2 rx queue\(s\) \(0-1\), not queue 2/);
    expect(() => buildPlan([parseTuple('device_id=nope,queue=0,rx-dev=/o/a')], PORTS, OPTS)).toThrow(/device_id=nope/);
    expect(() => buildPlan([parseTuple('port=0,queue=*,rx-dev=/o/a'), parseTuple('port=0,queue=1,rx-dev=/o/b')], PORTS, OPTS)).toThrow(
      /queue 1 rx is captured twice/,
    );
  });
});

describe('hugepage budget', () => {
  it('grows with pools and refuses what does not fit, saying how much is needed', () => {
    const plan = buildPlan([parseTuple('port=0,queue=*,rx-dev=/o/rx.pcap')], PORTS, OPTS);
    const need = captureBytes(plan);
    expect(need).toBeGreaterThan(2 * 65535 * 2176);
    const pages = { freeBytes: need, totalBytes: need, pageBytes: 2 << 20 };
    expect(() => checkBudget(plan, pages, 0)).not.toThrow();
    expect(() => checkBudget(plan, { ...pages, freeBytes: need / 2 }, 0)).toThrow(/needs about .* but only .* is free/);
    expect(() => checkBudget(plan, { ...pages, freeBytes: need / 2 }, need)).not.toThrow();
  });
});

describe('chooseCpus', () => {
  it("prefers CPUs the primary's lcores do not run on", () => {
    expect(
      chooseCpus(
        [0, 1, 2, 3],
        new Map([
          [0, [0]],
          [1, [1]],
        ]),
      ),
    ).toEqual([2, 3]);
  });
  it('uses every CPU when the primary runs on all of them, and obeys --cpus', () => {
    expect(
      chooseCpus(
        [0, 1],
        new Map([
          [0, [0]],
          [1, [1]],
        ]),
      ),
    ).toEqual([0, 1]);
    expect(chooseCpus([0, 1], new Map(), [1])).toEqual([1]);
  });
});

describe('chooseCpus with a measured busy set', () => {
  it('avoids the CPUs of polling lcores when the primary has lcores everywhere', () => {
    expect(
      chooseCpus(
        [0, 1],
        new Map([
          [0, [0]],
          [1, [1]],
        ]),
        undefined,
        [1],
      ),
    ).toEqual([0]);
    expect(
      chooseCpus(
        [0, 1],
        new Map([
          [0, [0]],
          [1, [1]],
        ]),
        undefined,
        [0, 1],
      ),
    ).toEqual([0, 1]);
  });
});
