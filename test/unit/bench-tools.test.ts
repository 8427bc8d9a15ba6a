import { describe, expect, it } from 'vitest';
import { statFields } from '../../bench/cpu-time';
import { cpuPlan, fixtureArgs, testpmdArgs } from '../../bench/primary-args';
import { FULL_SCENARIOS, QUICK_SCENARIOS, rateLabel, ringsOf, scenarioName, selectScenarios } from '../../bench/scenarios';
import { launchFor, parseReport, supports, TOOL_NAMES, vdevPathProblem, type ToolContext } from '../../bench/tools';

const ctx: ToolContext = {
  prefix: 'bcb1_0',
  dumpcapFilePrefix: true,
  cpu: 1,
  lcoreId: 1,
  mempoolPreload: '/usr/lib/x/dpdk/pmds-23.0/librte_mempool_dpaa.so.23',
  dir: '/dev/shm/bcb1',
  burstcapCli: '/repo/dist/src/main/cli/cli.js',
};
const rxtx = QUICK_SCENARIOS[0]!;
const rxOnly = FULL_SCENARIOS.find((s) => s.directions === 'rx')!;

describe('launchFor', () => {
  it('runs burstcap on the shared CPU with the same tuple as dpdk-pdump, JSON summary on', () => {
    const l = launchFor('burstcap', ctx, rxtx);
    expect(l.args).toEqual(expect.arrayContaining(['capture', '--file-prefix', 'bcb1_0', '--cpus', '1', '--json', '/dev/shm/bcb1/bc.json']));
    expect(l.args).toContain('port=0,queue=*,rx-dev=/dev/shm/bcb1/bc-rx.pcap,tx-dev=/dev/shm/bcb1/bc-tx.pcap');
    expect(l.env).toEqual({});
    expect(l.outputs.map((o) => o.directions)).toEqual([1, 1]);
  });

  it('adds --writer vdev for burstcap-vdev', () => {
    expect(launchFor('burstcap-vdev', ctx, rxtx).args.slice(-2)).toEqual(['--writer', 'vdev']);
  });

  it('writes pcapng files for burstcap-pcapng, and rotates for burstcap-rotate, naming its rotated files by stem', () => {
    expect(launchFor('burstcap-pcapng', ctx, rxtx).args).toContain(
      'port=0,queue=*,rx-dev=/dev/shm/bcb1/bcng-rx.pcapng,tx-dev=/dev/shm/bcb1/bcng-tx.pcapng',
    );
    const r = launchFor('burstcap-rotate', ctx, rxtx);
    const at = r.args.indexOf('-b');
    expect(r.args[at + 1]).toMatch(/^filesize:\d+$/);
    expect(at).toBeLessThan(r.args.indexOf('--pdump'));
    expect(r.rotatedStems).toEqual(['bcr-rx', 'bcr-tx']);
    expect(launchFor('burstcap', ctx, rxtx).rotatedStems).toBeUndefined();
  });

  it('measures rotation only at the maximum rate', () => {
    const paced = FULL_SCENARIOS.find((s) => s.primary === 'fixture')!;
    expect(supports('burstcap-rotate', paced).ok).toBe(false);
    expect(supports('burstcap-rotate', rxtx).ok).toBe(rxtx.primary === 'testpmd');
    expect(supports('burstcap-pcapng', paced).ok).toBe(true);
  });

  it('gives dpdk-pdump its own lcore id and the preload, and says so', () => {
    const l = launchFor('dpdk-pdump', ctx, rxOnly);
    expect(l.args).toEqual(
      expect.arrayContaining(['dpdk-pdump', '--lcores', '1@1', '--file-prefix=bcb1_0', '--pdump', 'port=0,queue=*,rx-dev=/dev/shm/bcb1/pd-rx.pcap']),
    );
    expect(l.env).toEqual({ LD_PRELOAD: ctx.mempoolPreload });
    expect(l.workarounds.join(' ')).toMatch(/--lcores 1@1.*LD_PRELOAD=/);
    expect(l.outputs).toHaveLength(1);
  });

  it('pins dumpcap with taskset, keeps it quiet, one file for both directions', () => {
    const ng = launchFor('dpdk-dumpcap', ctx, rxtx);
    expect(ng.command).toBe('taskset');
    expect(ng.args).toEqual(['-c', '1', 'dpdk-dumpcap', '-q', '-i', '0', '-w', '/dev/shm/bcb1/dc.pcapng', '--file-prefix=bcb1_0']);
    expect(ng.outputs).toEqual([{ path: '/dev/shm/bcb1/dc.pcapng', directions: 2 }]);
    const pcap = launchFor('dpdk-dumpcap-pcap', { ...ctx, dumpcapFilePrefix: false, mempoolPreload: undefined }, rxtx);
    expect(pcap.args).toContain('-P');
    expect(pcap.args.some((a) => a.startsWith('--file-prefix'))).toBe(false);
    expect(pcap.env).toEqual({});
    expect(pcap.workarounds.join(' ')).toMatch(/no mempool preload.*--file-prefix rte/);
  });

  it('every tool has a ready marker and at least one output', () => {
    for (const t of TOOL_NAMES) {
      const l = launchFor(t, ctx, rxtx);
      expect(l.ready).toBeInstanceOf(RegExp);
      expect(l.outputs.length).toBeGreaterThan(0);
    }
  });
});

describe('supports and vdevPathProblem', () => {
  it('skips dumpcap when only rx is captured', () => {
    expect(supports('dpdk-dumpcap', rxOnly)).toMatchObject({ ok: false });
    expect(supports('dpdk-dumpcap', rxtx)).toEqual({ ok: true });
    expect(supports('dpdk-pdump', rxOnly)).toEqual({ ok: true });
  });

  it("refuses paths DPDK would cut in dpdk-pdump's vdev arguments", () => {
    const long = { ...ctx, dir: `/mnt/${'x'.repeat(60)}` };
    expect(vdevPathProblem(launchFor('dpdk-pdump', long, rxtx))).toMatch(/cuts vdev arguments/);
    expect(vdevPathProblem(launchFor('burstcap-vdev', long, rxtx))).toBeUndefined();
    expect(vdevPathProblem(launchFor('burstcap', long, rxtx))).toBeUndefined();
    expect(vdevPathProblem(launchFor('dpdk-pdump', ctx, rxtx))).toBeUndefined();
  });
});

describe('parseReport', () => {
  it("reads burstcap's JSON summary", () => {
    expect(parseReport('burstcap', '', { packets: 10, dropped: 3 })).toMatchObject({ packets: 10, drops: 3 });
  });

  it("reads dpdk-pdump's debug statistics, which have no drop count", () => {
    const out =
      '##### PDUMP DEBUG STATS #####\n -packets dequeued:\t\t\t2856318\n -packets transmitted to vdev:\t\t2856000\n -packets freed:\t\t\t318\n';
    expect(parseReport('dpdk-pdump', out, undefined)).toEqual({
      packets: 2856000,
      drops: undefined,
      dropsMeaning: 'not reported by dpdk-pdump',
      other: { dequeued: 2856318, freed_by_vdev: 318 },
    });
  });

  it("reads dumpcap's received/dropped line", () => {
    const out = "\nPackets received/dropped on interface 'net_null0': 13724096/12943640 (51.5)\n";
    expect(parseReport('dpdk-dumpcap', out, undefined)).toMatchObject({ drops: 12943640 });
    expect(parseReport('dpdk-dumpcap-pcap', 'nothing', undefined).drops).toBeUndefined();
  });
});

describe('primaries and CPU placement', () => {
  it('puts the primary on the first CPU, the tools on the last, lcore ids above the CPU numbers', () => {
    expect(cpuPlan([1, 0])).toEqual({ primaryCpu: 0, captureCpu: 1, primaryLcoreBase: 2, toolLcoreId: 1 });
    expect(() => cpuPlan([])).toThrow();
  });

  it('starts testpmd with its main lcore beside the tools and one forwarding lcore', () => {
    const a = testpmdArgs({ queues: 2, frameSize: 1500 }, 'p', cpuPlan([0, 1]));
    expect(a.slice(0, 2)).toEqual(['--lcores', '2@1,3@0']);
    expect(a).toEqual(expect.arrayContaining(['net_null0,size=1500', 'net_null1,size=1500', '--rxq=2', '--txq=2', '--nb-cores=1', '--auto-start']));
    expect(testpmdArgs({ queues: 1, frameSize: 64 }, 'p', cpuPlan([0, 1]))).toContain('net_null0');
  });

  it('starts the paced primary with known frames at the asked rate', () => {
    const a = fixtureArgs({ queues: 1, frameSize: 64 }, 250_000, 'p', cpuPlan([0, 1]));
    expect(a).toEqual(expect.arrayContaining(['--lcores', '2@0', 'net_ring0', '--known', '--rate', '250000', '--exit-on-eof']));
  });
});

describe('scenarios', () => {
  it('names scenarios after directions, queues, size and rate', () => {
    expect(scenarioName({ directions: 'rxtx', queues: 4, frameSize: 64 }, 'max')).toBe('rxtx-q4-64B-max');
    expect([rateLabel(250_000), rateLabel(2_000_000), rateLabel(1_500_000), rateLabel(999)]).toEqual(['250kpps', '2Mpps', '1.5Mpps', '999pps']);
  });

  it('has unique names and the quick subset: rx+tx, 1 queue, maximum rate', () => {
    expect(new Set(FULL_SCENARIOS.map((s) => s.name)).size).toBe(FULL_SCENARIOS.length);
    expect(QUICK_SCENARIOS.map((s) => s.name)).toEqual(['rxtx-q1-64B-max']);
    expect(ringsOf(FULL_SCENARIOS.find((s) => s.queues === 4)!)).toBe(8);
  });

  it('selects by name and refuses unknown names', () => {
    expect(selectScenarios(['rx-q1-64B-max'], true).map((s) => s.name)).toEqual(['rx-q1-64B-max']);
    expect(selectScenarios(undefined, false)).toHaveLength(FULL_SCENARIOS.length);
    expect(() => selectScenarios(['nope'], false)).toThrow(/unknown scenario nope/);
  });
});

describe('statFields', () => {
  it('numbers fields like proc(5), even with spaces and parentheses in the command name', () => {
    const line = '1234 (node (x) y) S 1 2 3 4 5 6 7 8 9 10 111 222 333 444 20 0';
    const f = statFields(line);
    expect(f.get(3)).toBeNaN();
    expect([f.get(14), f.get(15), f.get(16), f.get(17)]).toEqual([111, 222, 333, 444]);
  });
});
