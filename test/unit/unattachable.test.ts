import { describe, expect, it } from 'vitest';
import { describeUnattachable, judgeProcess, mapsFacts, type OwnFacts, type ProcessFacts } from '../../src/main/primary/unattachable';

const HUGE = ['/dev/hugepages/'];
const EAL = '7f0000000000-7f0000100000 r-xp 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/librte_eal.so.23.0';
const EAL_24 = '7f0000000000-7f0000100000 r-xp 00000000 08:01 1234 /usr/lib/x86_64-linux-gnu/librte_eal.so.25.0';
const MEMFD = '100000000-140000000 rw-s 00000000 00:01 99 /memfd:seg_0-0 (deleted)';
const HUGEFILE = '100000000-140000000 rw-s 00000000 00:2f 77 /dev/hugepages/rtemap_0';
const CONFIG = '7f1000000000-7f1000010000 rw-s 00000000 00:19 55 /var/run/dpdk/app1/config';
const LIBC = '7f2000000000-7f2000100000 r-xp 00000000 08:01 42 /usr/lib/x86_64-linux-gnu/libc.so.6';

const OWN: OwnFacts = { eal: '23.0', uid: 0, primaries: new Set([200]) };

function proc(over: Partial<ProcessFacts> & { mapsText?: string } = {}): ProcessFacts {
  const { mapsText, ...rest } = over;
  return { pid: 100, name: 'app', args: ['app'], maps: mapsFacts(mapsText ?? [EAL, MEMFD].join('\n'), HUGE), uid: 0, otherMountNs: false, ...rest };
}

describe('mapsFacts', () => {
  it('reads librte_eal, hugepage memory and shared configs from a maps text', () => {
    expect(mapsFacts([EAL, MEMFD].join('\n'), HUGE)).toEqual({ eal: '23.0', hugepages: true, configs: [] });
    expect(mapsFacts([EAL, HUGEFILE, CONFIG].join('\n'), HUGE)).toEqual({ eal: '23.0', hugepages: true, configs: ['app1'] });
    expect(mapsFacts(LIBC, HUGE)).toEqual({ eal: undefined, hugepages: false, configs: [] });
  });
});

describe('judgeProcess', () => {
  it('names ovs-vswitchd in --in-memory mode although its command line does not show the flag', () => {
    const v = judgeProcess(proc({ name: 'ovs-vswitchd', args: ['ovs-vswitchd', 'unix:/run/db.sock', '--pidfile'] }), OWN);
    expect(describeUnattachable([v!], 'X')).toBe(
      'ovs-vswitchd (pid 100) runs DPDK in --in-memory mode: no secondary process can attach to it; use its own port mirroring and ovs-tcpdump',
    );
  });
  it('tells other applications to start without --in-memory and with rte_pdump_init()', () => {
    const v = judgeProcess(proc({ args: ['app', '--in-memory', '--file-prefix=X'] }), OWN)!;
    expect(v.why).toMatch(/--in-memory mode/);
    expect(v.fix).toMatch(/without --in-memory.*rte_pdump_init\(\)/);
    expect(v.prefix).toBe('X');
    expect(judgeProcess(proc({ args: ['app', '--no-shconf'] }), OWN)!.why).toMatch(/--no-shconf mode/);
  });
  it('leaves alone what can be joined and what is no DPDK process', () => {
    expect(judgeProcess(proc({ mapsText: [EAL, HUGEFILE, CONFIG].join('\n') }), OWN)).toBeUndefined();
    expect(judgeProcess(proc({ pid: 200, mapsText: [EAL, MEMFD].join('\n') }), OWN)).toBeUndefined();
    expect(judgeProcess(proc({ mapsText: EAL }), OWN)).toBeUndefined();
    expect(judgeProcess(proc({ mapsText: [LIBC, MEMFD].join('\n') }), OWN)).toBeUndefined();
  });
  it('names another release, another mount namespace and, for a non-root burstcap, another user', () => {
    expect(judgeProcess(proc({ mapsText: [EAL_24, HUGEFILE, CONFIG].join('\n') }), OWN)!.why).toMatch(
      /librte_eal\.so\.25\.0; burstcap uses librte_eal\.so\.23\.0/,
    );
    expect(judgeProcess(proc({ otherMountNs: true }), OWN)!.why).toMatch(/another mount namespace/);
    expect(judgeProcess(proc({ uid: 1000 }), { ...OWN, uid: 1001 })!.why).toMatch(/as uid 1000/);
    expect(judgeProcess(proc({ uid: 1000, mapsText: [EAL, HUGEFILE, CONFIG].join('\n') }), OWN)).toBeUndefined();
    expect(
      judgeProcess(proc({ args: ['dpdk-proc-info', '--proc-type=secondary'], mapsText: [EAL_24, HUGEFILE, CONFIG].join('\n') }), OWN),
    ).toBeUndefined();
  });
});
