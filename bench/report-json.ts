/**
 * The --json document: `{ setup, runs, summary }` as the issue specifies,
 * plus the baselines, zero-loss searches and micro-benchmarks behind them.
 */
import type { MachineInfo } from './system';
import type { MicroReport } from './micro';
import type { RunRecord } from './run-tool';
import type { Summary } from './summary';
import type { ZeroLossResult } from './zero-loss';

export interface ToolSetup {
  command: string;
  workarounds: string[];
}

export interface BenchSetup {
  date: string;
  command: string;
  machine: MachineInfo;
  options: { quick: boolean; rounds: number; duration_s: number; out_dir: string; tools: string[]; scenarios: string[] };
  cpu_placement: { primary_cpu: number; capture_cpu: number; primary_lcore_ids_from: number };
  /** Per tool, per primary (testpmd, fixture): how it was started. */
  tools: Record<string, Record<string, ToolSetup>>;
  primaries: Record<string, string>;
  definitions: Record<string, string>;
}

export interface BenchDocument {
  setup: BenchSetup;
  runs: RunRecord[];
  summary: Summary;
  baselines: { scenario: string; round: number; rate: number | null; primary_pps: number }[];
  zero_loss: Record<string, Record<string, ZeroLossResult>>;
  micro: MicroReport | null;
}

export const DEFINITIONS: Record<string, string> = {
  offered: "packets the captured port's callbacks were handed during the window, from the primary's counters",
  captured: 'packets counted by reading the files back',
  captured_pps: 'captured / window',
  loss: "paced primary: exact, 1 - frames whose sequence number was offered in the window / (offered in the window x directions); testpmd: 1 - captured / offered (the window's edges blur it by a few ms of traffic)",
  intact: 'paced primary: frames of the right length whose sampled bytes match their sequence number',
  drops_reported: "the tool's own drop count: rte_pdump_stats ringfull+nombuf (burstcap, dumpcap); packets its vdev refused (dpdk-pdump)",
  cpu_s: 'user+system CPU seconds of the capture process over its whole life (start-up included), from its rusage',
  primary_vs_baseline: "primary's forwarding rate during the capture / its rate alone in the same round",
  zero_loss_pps: 'highest paced rate (per direction) seen with loss below 0.01% and no damaged frame',
  'ratios.burstcap_vs_dpdk-dumpcap': "against the better of dumpcap's pcapng and pcap (-P) results",
  'ratios.pcapng_vs_pcap': 'burstcap writing pcapng / burstcap writing pcap, same scenario and primary (1 = no cost)',
  'ratios.rotated_vs_pcap': 'burstcap rotating its files (-b filesize) / burstcap writing one pcap file per output',
};

/** Maps keyed by scenario and tool, as plain objects for JSON. */
export function nestedRecord<T>(m: ReadonlyMap<string, ReadonlyMap<string, T>>): Record<string, Record<string, T>> {
  const out: Record<string, Record<string, T>> = {};
  for (const [k, inner] of m) out[k] = Object.fromEntries(inner);
  return out;
}
