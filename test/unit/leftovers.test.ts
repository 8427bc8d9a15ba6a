import { describe, expect, it } from 'vitest';
import {
  blockingSecondaries,
  captureObjects,
  everyQueueRefs,
  judge,
  ownerOfCommand,
  withDevices,
  type Facts,
  type Secondary,
} from '../../src/main/leftovers/judge';
import type { FoundRecord, OwnerRecordData } from '../../src/main/leftovers/owner-record';

const ZONES = [
  'rte_pdump_stats',
  'RG_bc100r0',
  'MP_bc100p0',
  'MP_bc100p0_0',
  'MP_bc100p0_1',
  'RG_MP_bc100p0',
  'RG_rx_ring_0',
  'MP_pdump_pool_0',
  'RG_MP_pdump_pool_0',
  'RG_dumpcap-300',
  'MP_capture_300',
  'MP_mb_pool_0',
  'RG_MP_mb_pool_0',
];

describe('captureObjects', () => {
  it('maps memzones back to the rings and pools of the three capture tools', () => {
    const objs = captureObjects(ZONES, ['net_null0', 'net_pcap_bc100_0', 'net_pcap_rx_0']);
    const found = objs.map((o) => `${o.kind}:${o.name}:${o.owner}:${o.pid ?? '-'}`).sort();
    expect(found).toEqual(
      [
        'ring:bc100r0:burstcap:100',
        'pool:bc100p0:burstcap:100',
        'vdev:net_pcap_bc100_0:burstcap:100',
        'ring:rx_ring_0:dpdk-pdump:-',
        'pool:pdump_pool_0:dpdk-pdump:-',
        'vdev:net_pcap_rx_0:dpdk-pdump:-',
        'ring:dumpcap-300:dpdk-dumpcap:300',
        'pool:capture_300:dpdk-dumpcap:300',
      ].sort(),
    );
  });
  it("never claims the application's own pools, rings or ports", () => {
    const objs = captureObjects(['MP_mb_pool_0', 'RG_MP_mb_pool_0', 'RG_my_ring', 'MP_bc_pool'], ['net_pcap0', 'net_ring0']);
    expect(objs).toEqual([]);
  });
});

const PRIMARY_CODE = [0x7000_0000n, 0x7100_0000n] as const;
const isPrimaryCode = (a: bigint): boolean => a >= PRIMARY_CODE[0] && a < PRIMARY_CODE[1];
const FOREIGN_CB = '0x7f00000000';
const PRIMARY_CB = '0x70001000';

function record(tag: string, live: boolean, extra: Partial<OwnerRecordData> = {}): FoundRecord {
  return {
    file: `/run/x/burstcap.${tag}.owner`,
    live,
    data: {
      tool: 'burstcap',
      version: 1,
      pid: Number(tag.slice(2)),
      tag,
      mpSocket: `mp_socket_${tag.slice(2)}_1`,
      capturing: true,
      rings: [`${tag}r0`],
      pools: [`${tag}p0`],
      vdevs: [],
      callbacks: [{ port: 0, device: 'net_null0', queue: 0, direction: 1 }],
      leftInPlace: undefined,
      ...extra,
    },
  };
}

function facts(over: Partial<Facts> = {}): Facts {
  return {
    candidates: captureObjects(ZONES, ['net_null0', 'net_pcap_rx_0']),
    records: [record('bc100', false)],
    secondaries: [],
    pools: new Map([
      ['bc100p0', null],
      ['pdump_pool_0', { cacheSize: 250, flags: 16, size: 8191, freeCallbacks: [FOREIGN_CB, '0x0'] }],
      ['capture_300', { cacheSize: 32, flags: 16, size: 8191, freeCallbacks: [FOREIGN_CB] }],
    ]),
    rings: new Map([
      ['rx_ring_0', { flags: 0, count: 10, queuedPool: 'pdump_pool_0' }],
      ['dumpcap-300', { flags: 0, count: 0, queuedPool: '' }],
    ]),
    vdevs: new Map([['net_pcap_rx_0', { driver: 'net_pcap', rxQueues: 0, txQueues: 1 }]]),
    primaryDevices: new Set(['net_null0']),
    isPrimaryCode,
    unreachablePorts: undefined,
    ...over,
  };
}

const names = (list: { object: { kind: string; name: string } }[]): string[] => list.map((s) => `${s.object.kind}:${s.object.name}`).sort();

describe('judge', () => {
  it('finds what dead tools left, each with its evidence', () => {
    const j = judge(facts());
    expect(names(j.stale)).toEqual(
      ['ring:bc100r0', 'pool:bc100p0', 'ring:rx_ring_0', 'pool:pdump_pool_0', 'vdev:net_pcap_rx_0', 'ring:dumpcap-300', 'pool:capture_300'].sort(),
    );
    expect(j.stale.every((s) => s.evidence.length > 0)).toBe(true);
    expect(j.everyQueue).toBe(true);
    expect(j.deadRecords).toEqual(['/run/x/burstcap.bc100.owner']);
  });

  it('keeps burstcap-named objects that no dead owner record lists, and those of a live record', () => {
    const none = judge(facts({ records: [] }));
    expect(names(none.kept).filter((n) => n.includes('bc100'))).toEqual(['pool:bc100p0', 'ring:bc100r0']);
    const live = judge(facts({ records: [record('bc100', true)] }));
    expect(names([...live.stale, ...live.kept]).some((n) => n.includes('bc100'))).toBe(false);
    expect(live.liveQueues.has('0/0/1')).toBe(true);
  });

  it("keeps an application's own rx_ring_0 and pdump_pool_0: the primary populated that pool", () => {
    const own = facts({
      candidates: captureObjects(['RG_rx_ring_0', 'MP_pdump_pool_0', 'RG_MP_pdump_pool_0'], []),
      records: [],
      pools: new Map([['pdump_pool_0', { cacheSize: 250, flags: 16, size: 8191, freeCallbacks: [PRIMARY_CB] }]]),
    });
    const j = judge(own);
    expect(j.stale).toEqual([]);
    expect(names(j.kept)).toEqual(['pool:pdump_pool_0', 'ring:rx_ring_0']);
    expect(j.everyQueue).toBe(false);
  });

  it("a pool with no free callback left counts as dpdk-pdump's only beside a dpdk-pdump-shaped vdev the primary was not started with", () => {
    const cbless = new Map([['pdump_pool_0', { cacheSize: 250, flags: 16, size: 8191, freeCallbacks: ['0x0'] }]]);
    expect(names(judge(facts({ pools: cbless })).stale)).toContain('pool:pdump_pool_0');
    const appVdev = judge(facts({ pools: cbless, primaryDevices: new Set(['net_pcap_rx_0']) }));
    expect(names(appVdev.kept)).toContain('pool:pdump_pool_0');
    const rxVdev = judge(facts({ pools: cbless, vdevs: new Map([['net_pcap_rx_0', { driver: 'net_pcap', rxQueues: 1, txQueues: 1 }]]) }));
    expect(names(rxVdev.kept)).toContain('vdev:net_pcap_rx_0');
  });

  it("keeps a ring that holds other copies than its pool's, or has flags dpdk-pdump does not use", () => {
    const other = judge(
      facts({
        rings: new Map([
          ['rx_ring_0', { flags: 0, count: 3, queuedPool: 'mb_pool_0' }],
          ['dumpcap-300', { flags: 0, count: 0, queuedPool: '' }],
        ]),
      }),
    );
    expect(names(other.kept)).toContain('ring:rx_ring_0');
    const sp = judge(
      facts({
        rings: new Map([
          ['rx_ring_0', { flags: 3, count: 0, queuedPool: '' }],
          ['dumpcap-300', { flags: 0, count: 0, queuedPool: '' }],
        ]),
      }),
    );
    expect(names(sp.kept)).toContain('ring:rx_ring_0');
  });

  it('touches nothing while an unidentified secondary (another PID namespace, say) is attached', () => {
    const stranger: Secondary = { socket: 'mp_socket_2_5', pid: 2, state: 'live', owner: 'unknown', self: false };
    const j = judge(facts({ secondaries: [stranger] }));
    expect(j.stale).toEqual([]);
    expect(j.blockedBy).toEqual([stranger]);
    expect(j.callbacks).toEqual([]);
    expect(j.deadRecords).toEqual([]);
  });

  it("refuses other tools' leftovers while a port of the primary cannot be reached by name", () => {
    const j = judge(facts({ unreachablePorts: "the primary's ports could not all be listed" }));
    expect(names(j.kept)).toContain('ring:rx_ring_0');
    expect(j.kept.find((k) => k.object.name === 'rx_ring_0')?.why).toMatch(/could not all be listed: a callback there may still feed it/);
    expect(names(j.stale)).toContain('ring:bc100r0');
    expect(j.everyQueue).toBe(false);
  });

  it('a port this process could not open but can name is covered: every queue of it is disabled by name', () => {
    const j = judge(facts());
    expect(j.everyQueue).toBe(true);
    const ports = [
      { port: 0, name: 'net_null0', rxQueues: 1, txQueues: 1 },
      { port: 1, name: 'net_pcap0', rxQueues: 2, txQueues: 2 },
    ];
    const refs = everyQueueRefs(ports, new Set(['0/0/2']));
    expect(refs).toEqual([
      { port: 0, device: 'net_null0', queue: 0, direction: 1 },
      { port: 1, device: 'net_pcap0', queue: 0, direction: 1 },
      { port: 1, device: 'net_pcap0', queue: 1, direction: 1 },
      { port: 1, device: 'net_pcap0', queue: 0, direction: 2 },
      { port: 1, device: 'net_pcap0', queue: 1, direction: 2 },
    ]);
  });

  it('recorded callbacks without a device name get it from the port id; one that cannot be named is unresolved, never dropped', () => {
    const ports = [{ port: 1, name: 'net_pcap0', rxQueues: 2, txQueues: 2 }];
    expect(
      withDevices(
        [
          { port: 1, queue: 1, direction: 2 },
          { port: 7, queue: 0, direction: 1 },
        ],
        ports,
      ),
    ).toEqual({
      refs: [{ port: 1, device: 'net_pcap0', queue: 1, direction: 2 }],
      unresolved: [{ port: 7, queue: 0, direction: 1 }],
    });
    expect(withDevices([{ port: 1, device: 'net_pcap9', queue: 0, direction: 1 }], ports).refs).toEqual([
      { port: 1, device: 'net_pcap9', queue: 0, direction: 1 },
    ]);
  });

  it('never disables a recorded callback on a queue a live burstcap now holds', () => {
    const j = judge(
      facts({ candidates: captureObjects(['RG_bc100r0', 'MP_bc100p0'], []), records: [record('bc100', false), record('bc200', true)] }),
    );
    expect(j.callbacks).toEqual([]);
    const k = judge(facts({ candidates: captureObjects(['RG_bc100r0', 'MP_bc100p0'], []), records: [record('bc100', false)] }));
    expect(k.callbacks).toEqual([{ port: 0, device: 'net_null0', queue: 0, direction: 1 }]);
  });
});

describe('blockingSecondaries', () => {
  const s = (over: Partial<Secondary>): Secondary => ({ socket: 'mp_socket_9_1', pid: 9, state: 'live', owner: 'unknown', self: false, ...over });
  it('ignores itself, dead sockets, proven non-capturing tools and burstcaps with a live record', () => {
    const list = [s({ self: true }), s({ state: 'dead' }), s({ owner: 'other' }), s({ socket: 'mp_socket_200_1', owner: 'burstcap' })];
    expect(blockingSecondaries(list, [record('bc200', true)])).toEqual([]);
  });
  it('counts dpdk-pdump, dpdk-dumpcap and anything it cannot identify', () => {
    const list = [s({ owner: 'dpdk-pdump' }), s({ owner: 'dpdk-dumpcap' }), s({ state: 'unknown' })];
    expect(blockingSecondaries(list, [])).toHaveLength(3);
  });
});

describe('owners of live secondaries', () => {
  it('recognises capture tools by command', () => {
    expect(ownerOfCommand('dpdk-pdump', '/usr/bin/dpdk-pdump\0--\0--pdump\0x')).toBe('dpdk-pdump');
    expect(ownerOfCommand('dpdk-dumpcap', '')).toBe('dpdk-dumpcap');
    expect(ownerOfCommand('node', 'node\0/opt/burstcap/dist/src/main/cli/cli.js\0capture\0--pdump\0x')).toBe('burstcap');
    expect(ownerOfCommand('node', 'node\0/usr/local/bin/burstcap\0pdump\0-l\0x')).toBe('burstcap');
  });
  it('does not count burstcap commands that own no callbacks', () => {
    expect(ownerOfCommand('node', 'node\0/opt/burstcap/dist/src/main/cli/cli.js\0list\0--file-prefix\0x')).toBe('other');
    expect(ownerOfCommand('dpdk-proc-info', '/usr/bin/dpdk-proc-info\0--\0--stats')).toBe('other');
  });
  it('counts any other secondary as one that may capture', () => {
    expect(ownerOfCommand('my-capture', '/opt/app/my-capture\0--pdump')).toBe('unknown');
  });
});
