/** The benchmark's table on stdout: medians with the min-max over rounds. */
import type { MicroResult } from './micro';
import type { Scenario } from './scenarios';
import type { ScenarioSummary, Summary } from './summary';
import { toolEntries } from './summary';
import type { ZeroLossResult } from './zero-loss';

const MPPS = 1e6;

/** Three decimals (kpps resolution) up to 100 Mpps, where only the primary's own rates go. */
function mpps(v: number | null): string {
  return v === null ? '-' : (v / MPPS).toFixed(v >= 100 * MPPS ? 1 : 3);
}

function pct(v: number | null, digits = 1): string {
  return v === null ? '-' : `${(v * 100).toFixed(digits)}%`;
}

function num(v: number | null, digits: number): string {
  return v === null ? '-' : v.toFixed(digits);
}

function count(v: number | null): string {
  return v === null ? '-' : Math.round(v).toLocaleString('en-US');
}

function times(v: number | null): string {
  return v === null ? '-' : `${v.toFixed(2)}x`;
}

/** Left-aligned first column, right-aligned numbers. */
export function formatColumns(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function fixedRows(s: ScenarioSummary): string[][] {
  const rows = [['tool', 'captured Mpps', '(min-max)', 'MB/s', 'loss', 'drops (tool)', 'CPU s', 'primary vs alone', 'runs']];
  for (const [tool, t] of toolEntries(s)) {
    if (t.skipped) continue;
    rows.push([
      tool,
      mpps(t.captured_pps),
      t.captured_pps_min === null ? '' : `(${mpps(t.captured_pps_min)}-${mpps(t.captured_pps_max)})`,
      num(t.captured_mbps, 1),
      pct(t.loss, 2),
      count(t.drops_reported),
      num(t.cpu_s, 2),
      pct(t.primary_vs_baseline, 0),
      t.failed > 0 ? `${t.runs - t.failed}/${t.runs} ok` : String(t.runs),
    ]);
  }
  return rows;
}

function zeroLossRows(s: ScenarioSummary, results: ReadonlyMap<string, ZeroLossResult> | undefined): string[][] {
  const rows = [['tool', 'zero-loss Mpps', 'CPU s there', 'probes (Mpps, + pass, - loss)']];
  for (const [tool, t] of toolEntries(s)) {
    const r = results?.get(tool);
    const probes = r?.probes.map((p) => `${mpps(p.rate)}${p.pass ? '+' : '-'}`).join(' ') ?? '';
    const rate = t.zero_loss_pps === null ? '-' : `${r?.atCeiling ? '>=' : ''}${mpps(t.zero_loss_pps)}`;
    if (!t.skipped) rows.push([tool, rate, num(t.cpu_s, 2), probes]);
  }
  return rows;
}

export interface TableContext {
  scenarios: readonly Scenario[];
  summary: Summary;
  zeroLoss: ReadonlyMap<string, ReadonlyMap<string, ZeroLossResult>>;
  baselines: ReadonlyMap<string, number>;
  rounds: number;
  windowS: number;
  micro: readonly MicroResult[];
  writerVsWrite: Readonly<Record<string, number>>;
  toolSetups: Readonly<Record<string, Readonly<Record<string, { workarounds: string[] }>>>>;
}

const PRIMARY_NAMES: Record<string, string> = { testpmd: 'with dpdk-testpmd', fixture: 'with the paced primary' };

function setupLines(setups: TableContext['toolSetups']): string[] {
  const out = ['how each tool was run'];
  for (const [tool, perPrimary] of Object.entries(setups)) {
    for (const [kind, setup] of Object.entries(perPrimary)) out.push(`  ${tool} ${PRIMARY_NAMES[kind] ?? kind}: ${setup.workarounds.join('; ')}`);
  }
  return out;
}

export function formatTable(ctx: TableContext): string {
  const out: string[] = [];
  for (const s of ctx.scenarios) {
    const sum = ctx.summary[s.name];
    if (!sum) continue;
    const base = ctx.baselines.get(s.name);
    const source = s.primary === 'testpmd' ? 'dpdk-testpmd io over net_null, maximum rate' : 'paced C primary over net_ring';
    const how = s.kind === 'zero-loss' ? `bisection, ${s.steps} steps, ${ctx.windowS} s windows` : `${ctx.rounds} rounds, ${ctx.windowS} s windows`;
    out.push(`${s.name}: ${source}; ${how}${base === undefined ? '' : `; primary alone ${mpps(base)} Mpps`}`);
    out.push(formatColumns(s.kind === 'zero-loss' ? zeroLossRows(sum, ctx.zeroLoss.get(s.name)) : fixedRows(sum)));
    for (const [tool, t] of toolEntries(sum)) if (t.skipped) out.push(`  ${tool} skipped: ${t.skipped}`);
    const r = sum.ratios;
    out.push(`  burstcap vs dpdk-pdump ${times(r['burstcap_vs_dpdk-pdump'])}, vs dpdk-dumpcap ${times(r['burstcap_vs_dpdk-dumpcap'])}`);
    const own = (
      [
        ['pcapng', r.pcapng_vs_pcap],
        ['rotated', r.rotated_vs_pcap],
      ] as const
    ).flatMap(([what, v]) => (v === undefined || v === null ? [] : [`${what} ${(v * 100).toFixed(1)}%`]));
    if (own.length > 0) out.push(`  burstcap's own formats against its pcap files: ${own.join(', ')}`);
    out.push('');
  }
  if (ctx.micro.length > 0) {
    out.push('micro-benchmarks');
    out.push(
      formatColumns([
        ['benchmark', 'rate', 'unit', '±%', 'samples'],
        ...ctx.micro.map((m) => [m.name, m.rate.toFixed(m.rate >= 100 ? 0 : 2), m.unit, m.rme.toFixed(1), String(m.samples)]),
      ]),
    );
    const ratios = Object.entries(ctx.writerVsWrite).map(([size, r]) => `${size} ${(r * 100).toFixed(0)}%`);
    if (ratios.length > 0) out.push(`  pcap writer throughput relative to write(2): ${ratios.join(', ')}`);
    out.push('');
  }
  if (Object.keys(ctx.toolSetups).length > 0) out.push(...setupLines(ctx.toolSetups), '');
  return out.join('\n');
}
