import { describe, expect, it } from 'vitest';
import { computeRun, type FileResult } from '../../bench/measure';
import type { PrimaryCounters } from '../../bench/primaries';
import { DEFINITIONS, nestedRecord, type BenchDocument } from '../../bench/report-json';
import { formatColumns, formatTable } from '../../bench/report-table';
import type { RunRecord } from '../../bench/run-tool';
import { FULL_SCENARIOS, QUICK_SCENARIOS, type Scenario } from '../../bench/scenarios';
import { buildSummary, ratiosOf, type ToolSummary } from '../../bench/summary';
import type { ZeroLossResult } from '../../bench/zero-loss';

const S = 1_000_000_000n;

function counters(rx: number, tx: number, forwarded: number, atS: number): PrimaryCounters {
  return { rx, tx, forwarded, txDropped: 0, atNs: BigInt(atS) * S };
}

function file(packets: number, directions = 1, seq?: FileResult['seq']): FileResult {
  return { file: `/dev/shm/x${packets}.pcap`, format: 'pcap', packets, bytes: packets * 64, directions, seq };
}

const noReport = { packets: undefined, drops: undefined, dropsMeaning: undefined };

describe('computeRun', () => {
  it('derives rates, loss and the cost to the primary from the window', () => {
    const m = computeRun({
      directions: 'rxtx',
      before: counters(1000, 1000, 0, 10),
      after: counters(3000, 3000, 4000, 12),
      files: [file(1500), file(1000)],
      report: { ...noReport, drops: 1400 },
      cpuS: 0.75,
      baselinePps: 4000,
    });
    expect(m.window_s).toBe(2);
    expect(m.offered).toBe(4000);
    expect(m.captured).toBe(2500);
    expect(m.captured_pps).toBe(1250);
    expect(m.captured_mbps).toBeCloseTo((2500 * 64) / 2 / 1e6);
    expect(m.drops_window).toBe(1500);
    expect(m.loss_window).toBeCloseTo(0.375);
    expect(m.drops_reported).toBe(1400);
    expect(m.primary_pps).toBe(2000);
    expect(m.primary_vs_baseline).toBe(0.5);
    expect(m.loss_by_seq).toBeNull();
  });

  it('counts only rx as offered for an rx-only capture', () => {
    const m = computeRun({
      directions: 'rx',
      before: counters(0, 0, 0, 0),
      after: counters(100, 900, 0, 1),
      files: [file(100)],
      report: noReport,
      cpuS: 0,
      baselinePps: undefined,
    });
    expect(m.offered).toBe(100);
    expect(m.loss_window).toBe(0);
    expect(m.primary_vs_baseline).toBeNull();
  });

  it('takes the exact loss from the sequence numbers offered in the window when the frames carry them', () => {
    const seq = (packets: number, inWindow: number): FileResult['seq'] => ({ packets, inWindow, minSeq: 0, maxSeq: 0, intact: packets, damaged: 0 });
    const m = computeRun({
      directions: 'rxtx',
      // The paced primary's tx counter is its next sequence number: the window is [5000, 5500).
      before: counters(4990, 5000, 0, 0),
      after: counters(5490, 5500, 500, 1),
      files: [file(1000, 2, seq(1000, 990))],
      report: noReport,
      cpuS: 0,
      baselinePps: undefined,
    });
    expect(m.offered_by_seq).toBe(1000);
    expect(m.captured_by_seq).toBe(990);
    expect(m.loss_by_seq).toBeCloseTo(0.01);
    expect(m.intact).toBe(1000);
  });
});

function run(scenario: string, tool: string, round: number, pps: number, extra: Partial<RunRecord> = {}): RunRecord {
  const metrics = computeRun({
    directions: 'rxtx',
    before: counters(0, 0, 0, 0),
    after: counters(pps, pps, pps, 1),
    files: [file(pps)],
    report: noReport,
    cpuS: 1 + round,
    baselinePps: pps * 2,
  });
  return {
    scenario,
    tool,
    round,
    rate: null,
    ok: true,
    error: null,
    notes: [],
    exit_code: 0,
    startup_s: 1,
    files: [],
    tool_report: noReport,
    metrics,
    ...extra,
  };
}

const quick = QUICK_SCENARIOS[0]!;

describe('buildSummary', () => {
  const runs = [
    run(quick.name, 'burstcap', 0, 4000),
    run(quick.name, 'burstcap', 1, 3000),
    run(quick.name, 'burstcap', 2, 5000),
    run(quick.name, 'dpdk-pdump', 0, 1000),
    run(quick.name, 'dpdk-pdump', 1, 1000, { ok: false, error: 'captured nothing' }),
    run(quick.name, 'dpdk-dumpcap', 0, 2000),
    run(quick.name, 'dpdk-dumpcap-pcap', 0, 2500),
  ];
  const summary = buildSummary([quick], ['burstcap', 'dpdk-pdump', 'dpdk-dumpcap', 'dpdk-dumpcap-pcap'], runs, new Map(), new Map());
  const entry = summary[quick.name]!;

  it('has the shape the issue asks for: scenario -> tool -> captured_pps, zero_loss_pps, cpu_s, and ratios', () => {
    for (const tool of ['burstcap', 'dpdk-pdump', 'dpdk-dumpcap']) {
      expect(entry[tool]).toHaveProperty('captured_pps');
      expect(entry[tool]).toHaveProperty('zero_loss_pps');
      expect(entry[tool]).toHaveProperty('cpu_s');
    }
    expect(Object.keys(entry.ratios).sort()).toEqual(['burstcap_vs_dpdk-dumpcap', 'burstcap_vs_dpdk-pdump']);
  });

  it('takes medians and min/max over the trusted runs only', () => {
    const b = entry['burstcap'] as ToolSummary;
    expect(b.captured_pps).toBe(4000);
    expect([b.captured_pps_min, b.captured_pps_max]).toEqual([3000, 5000]);
    expect(b.cpu_s).toBe(2);
    const p = entry['dpdk-pdump'] as ToolSummary;
    expect(p).toMatchObject({ captured_pps: 1000, runs: 2, failed: 1 });
  });

  it('compares burstcap with dpdk-pdump and with the better dumpcap format', () => {
    expect(entry.ratios['burstcap_vs_dpdk-pdump']).toBe(4);
    expect(entry.ratios['burstcap_vs_dpdk-dumpcap']).toBe(4000 / 2500);
  });

  it('marks a tool skipped in a scenario it cannot run', () => {
    const rx = FULL_SCENARIOS.find((s) => s.directions === 'rx')!;
    const s = buildSummary(
      [rx],
      ['burstcap', 'dpdk-dumpcap'],
      [run(rx.name, 'burstcap', 0, 10)],
      new Map(),
      new Map([[rx.name, new Map([['dpdk-dumpcap', 'both directions only']])]]),
    );
    expect((s[rx.name]!['dpdk-dumpcap'] as ToolSummary).skipped).toBe('both directions only');
    expect(s[rx.name]!.ratios['burstcap_vs_dpdk-dumpcap']).toBeNull();
  });

  it('uses the zero-loss rate as the headline of a zero-loss scenario', () => {
    const zl = FULL_SCENARIOS.find((s) => s.kind === 'zero-loss')!;
    const result = (rate: number): ZeroLossResult => ({ rate, atCeiling: false, probes: [{ rate, pass: true }] });
    const zruns = [
      { ...run(zl.name, 'burstcap', 0, 600_000), rate: 300_000 },
      { ...run(zl.name, 'dpdk-pdump', 0, 200_000), rate: 100_000 },
    ];
    const zmap = new Map([
      [
        zl.name,
        new Map([
          ['burstcap', result(300_000)],
          ['dpdk-pdump', result(100_000)],
        ]),
      ],
    ]);
    const s = buildSummary([zl], ['burstcap', 'dpdk-pdump'], zruns, zmap, new Map());
    expect((s[zl.name]!['burstcap'] as ToolSummary).zero_loss_pps).toBe(300_000);
    expect((s[zl.name]!['burstcap'] as ToolSummary).captured_pps).toBe(600_000);
    expect(s[zl.name]!.ratios['burstcap_vs_dpdk-pdump']).toBe(3);
  });

  it("reports burstcap's pcapng and rotated files against its pcap files only when those variants ran", () => {
    const t = (pps: number): ToolSummary => ({ captured_pps: pps }) as ToolSummary;
    const r = ratiosOf({ burstcap: t(4_000_000), 'burstcap-pcapng': t(3_900_000), 'burstcap-rotate': t(4_000_000) }, 'fixed');
    expect(r.pcapng_vs_pcap).toBeCloseTo(0.975);
    expect(r.rotated_vs_pcap).toBe(1);
    expect(ratiosOf({ burstcap: t(1) }, 'fixed')).not.toHaveProperty('pcapng_vs_pcap');
  });

  it('gives null ratios when a side is missing', () => {
    expect(ratiosOf({}, 'fixed')).toEqual({ 'burstcap_vs_dpdk-pdump': null, 'burstcap_vs_dpdk-dumpcap': null });
  });
});

describe('the JSON document', () => {
  it('survives JSON with setup, runs and summary at the top', () => {
    const runs = [run(quick.name, 'burstcap', 0, 100)];
    const doc: BenchDocument = {
      setup: {
        date: '2024-01-01T00:00:00.000Z',
        command: 'burstcap bench --quick',
        machine: { cpu_model: 'x', cpus: 2, memory_gb: 24, kernel: 'Linux', node: 'v20', dpdk: '22.11', hostname: 'h' },
        options: { quick: true, rounds: 3, duration_s: 1.5, out_dir: '/dev/shm', tools: ['burstcap'], scenarios: [quick.name] },
        cpu_placement: { primary_cpu: 0, capture_cpu: 1, primary_lcore_ids_from: 2 },
        tools: { burstcap: { testpmd: { command: 'node cli.js capture', workarounds: ['--cpus 1'] } } },
        primaries: { [quick.name]: 'dpdk-testpmd ...' },
        definitions: DEFINITIONS,
      },
      runs,
      summary: buildSummary([quick], ['burstcap'], runs, new Map(), new Map()),
      baselines: [{ scenario: quick.name, round: 0, rate: null, primary_pps: 200 }],
      zero_loss: nestedRecord(new Map([['s', new Map([['burstcap', { rate: 1, atCeiling: false, probes: [] }]])]])),
      micro: null,
    };
    const back = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(expect.arrayContaining(['setup', 'runs', 'summary']));
    const summary = back['summary'] as Record<string, Record<string, Record<string, unknown>>>;
    expect(summary[quick.name]!['burstcap']!['captured_pps']).toBe(100);
    expect(summary[quick.name]!['ratios']).toEqual({ 'burstcap_vs_dpdk-pdump': null, 'burstcap_vs_dpdk-dumpcap': null });
    expect((back['zero_loss'] as Record<string, unknown>)['s']).toEqual({ burstcap: { rate: 1, atCeiling: false, probes: [] } });
  });
});

describe('the table', () => {
  it('aligns columns: text left, numbers right', () => {
    expect(
      formatColumns([
        ['tool', 'pps'],
        ['burstcap', '12'],
        ['x', '1234'],
      ]),
    ).toBe('tool       pps\nburstcap    12\nx         1234');
  });

  it('shows each scenario with medians, ranges, ratios and skipped tools', () => {
    const scenarios: Scenario[] = [quick];
    const runs = [run(quick.name, 'burstcap', 0, 2_000_000), run(quick.name, 'dpdk-pdump', 0, 1_000_000)];
    const summary = buildSummary(
      scenarios,
      ['burstcap', 'dpdk-pdump', 'dpdk-dumpcap'],
      runs,
      new Map(),
      new Map([[quick.name, new Map([['dpdk-dumpcap', 'not here']])]]),
    );
    const text = formatTable({
      scenarios,
      summary,
      zeroLoss: new Map(),
      baselines: new Map([[quick.name, 50e6]]),
      rounds: 1,
      windowS: 1,
      micro: [],
      writerVsWrite: {},
      toolSetups: { 'dpdk-pdump': { testpmd: { workarounds: ['LD_PRELOAD=x'] } } },
    });
    expect(text).toContain(`${quick.name}: dpdk-testpmd`);
    expect(text).toMatch(/burstcap\s+2\.000\s+\(2\.000-2\.000\)/);
    expect(text).toContain('burstcap vs dpdk-pdump 2.00x, vs dpdk-dumpcap -');
    expect(text).toContain('dpdk-dumpcap skipped: not here');
    expect(text).toContain('dpdk-pdump with dpdk-testpmd: LD_PRELOAD=x');
  });
});
