import { describe, expect, it } from 'vitest';
import { captureObjects, ownerOfCommand, staleObjects, otherLiveCaptures } from '../../src/main/leftovers';

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
    const names = objs.map((o) => `${o.kind}:${o.name}:${o.owner}:${o.pid ?? '-'}`).sort();
    expect(names).toEqual(
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

describe('staleObjects', () => {
  const objs = captureObjects(ZONES, ['net_pcap_rx_0']);
  it('treats objects of dead owners as stale', () => {
    expect(staleObjects(objs, [], 999).length).toBe(objs.length);
  });
  it('keeps objects whose owner is alive, and never reports its own', () => {
    const stale = staleObjects(objs, [{ pid: 300, owner: 'dpdk-dumpcap' }], 100);
    expect(stale.some((o) => o.pid === 300 || o.pid === 100)).toBe(false);
  });
  it("keeps dpdk-pdump's nameless objects while any dpdk-pdump is attached", () => {
    const stale = staleObjects(objs, [{ pid: 7, owner: 'dpdk-pdump' }], 1);
    expect(stale.some((o) => o.owner === 'dpdk-pdump')).toBe(false);
  });
});

describe('owners of live secondaries', () => {
  it('recognises capture tools by command', () => {
    expect(ownerOfCommand('dpdk-pdump', '/usr/bin/dpdk-pdump\0--\0--pdump\0x')).toBe('dpdk-pdump');
    expect(ownerOfCommand('dpdk-dumpcap', '')).toBe('dpdk-dumpcap');
    expect(ownerOfCommand('node', 'node\0/opt/burstcap/dist/src/main/cli.js\0capture\0--pdump\0x')).toBe('burstcap');
    expect(ownerOfCommand('node', 'node\0/usr/local/bin/burstcap\0pdump\0-l\0x')).toBe('burstcap');
  });
  it('does not count burstcap commands that own no callbacks', () => {
    expect(ownerOfCommand('node', 'node\0/opt/burstcap/dist/src/main/cli.js\0list\0--file-prefix\0x')).toBe('other');
    expect(otherLiveCaptures([{ pid: 5, owner: 'other' }, { pid: 6, owner: 'burstcap' }], 6)).toEqual([]);
  });
});
