/**
 * Medians over rounds per scenario and tool, and burstcap's ratios against
 * the peers: the `summary` of the JSON report and the body of the table.
 */
import type { RunRecord } from './run-tool';
import type { Scenario } from './scenarios';
import { ratio, spread, type Spread } from './stats';
import type { ZeroLossResult } from './zero-loss';

export interface ToolSummary {
  captured_pps: number | null;
  captured_pps_min: number | null;
  captured_pps_max: number | null;
  captured_mbps: number | null;
  zero_loss_pps: number | null;
  cpu_s: number | null;
  loss: number | null;
  drops_reported: number | null;
  primary_vs_baseline: number | null;
  runs: number;
  failed: number;
  skipped?: string;
}

export interface Ratios {
  'burstcap_vs_dpdk-pdump': number | null;
  /** Against the better of dumpcap's two formats. */
  'burstcap_vs_dpdk-dumpcap': number | null;
  /** burstcap's pcapng, and its rotated pcap files, against its plain pcap files: present when those variants ran. */
  pcapng_vs_pcap?: number | null;
  rotated_vs_pcap?: number | null;
}

export type ScenarioSummary = Record<string, ToolSummary | Ratios> & { ratios: Ratios };
export type Summary = Record<string, ScenarioSummary>;

const DUMPCAP_VARIANTS = ['dpdk-dumpcap', 'dpdk-dumpcap-pcap'];

function nullable(s: Spread): number | null {
  return s.n === 0 ? null : s.median;
}

function summarizeTool(runs: readonly RunRecord[], zeroLoss: ZeroLossResult | undefined): ToolSummary {
  const good = runs.filter((r) => r.ok && r.metrics !== null);
  // At a searched rate, the figures that matter are those of the run at the zero-loss rate.
  const basis = zeroLoss ? good.filter((r) => r.rate === zeroLoss.rate) : good;
  const m = basis.map((r) => r.metrics!);
  const pps = spread(m.map((x) => x.captured_pps));
  return {
    captured_pps: nullable(pps),
    captured_pps_min: pps.n === 0 ? null : pps.min,
    captured_pps_max: pps.n === 0 ? null : pps.max,
    captured_mbps: nullable(spread(m.map((x) => x.captured_mbps))),
    zero_loss_pps: zeroLoss ? zeroLoss.rate : null,
    cpu_s: nullable(spread(m.map((x) => x.cpu_s))),
    loss: nullable(spread(m.map((x) => x.loss_by_seq ?? x.loss_window))),
    drops_reported: nullable(spread(m.flatMap((x) => (x.drops_reported === null ? [] : [x.drops_reported])))),
    primary_vs_baseline: nullable(spread(m.flatMap((x) => (x.primary_vs_baseline === null ? [] : [x.primary_vs_baseline])))),
    runs: runs.length,
    failed: runs.length - good.length,
  };
}

function headline(s: ToolSummary | undefined, kind: Scenario['kind']): number | null {
  if (s === undefined) return null;
  return kind === 'zero-loss' ? s.zero_loss_pps : s.captured_pps;
}

export function ratiosOf(tools: Record<string, ToolSummary>, kind: Scenario['kind']): Ratios {
  const burstcap = headline(tools['burstcap'], kind);
  const dumpcaps = DUMPCAP_VARIANTS.map((t) => headline(tools[t], kind)).filter((v): v is number => v !== null);
  const ratios: Ratios = {
    'burstcap_vs_dpdk-pdump': ratio(burstcap, headline(tools['dpdk-pdump'], kind)),
    'burstcap_vs_dpdk-dumpcap': ratio(burstcap, dumpcaps.length > 0 ? Math.max(...dumpcaps) : null),
  };
  // What pcapng and rotation cost against plain pcap files, when they ran.
  if (tools['burstcap-pcapng'] !== undefined) ratios['pcapng_vs_pcap'] = ratio(headline(tools['burstcap-pcapng'], kind), burstcap);
  if (tools['burstcap-rotate'] !== undefined) ratios['rotated_vs_pcap'] = ratio(headline(tools['burstcap-rotate'], kind), burstcap);
  return ratios;
}

export function buildSummary(
  scenarios: readonly Scenario[],
  tools: readonly string[],
  runs: readonly RunRecord[],
  zeroLoss: ReadonlyMap<string, ReadonlyMap<string, ZeroLossResult>>,
  skipped: ReadonlyMap<string, ReadonlyMap<string, string>>,
): Summary {
  const summary: Summary = {};
  for (const s of scenarios) {
    const perTool: Record<string, ToolSummary> = {};
    for (const t of tools) {
      const why = skipped.get(s.name)?.get(t);
      const own = runs.filter((r) => r.scenario === s.name && r.tool === t);
      if (why !== undefined && own.length === 0) {
        perTool[t] = { ...summarizeTool([], undefined), skipped: why };
        continue;
      }
      perTool[t] = summarizeTool(own, zeroLoss.get(s.name)?.get(t));
    }
    summary[s.name] = { ...perTool, ratios: ratiosOf(perTool, s.kind) };
  }
  return summary;
}

export function toolEntries(s: ScenarioSummary): [string, ToolSummary][] {
  return Object.entries(s).filter(([k]) => k !== 'ratios') as [string, ToolSummary][];
}
