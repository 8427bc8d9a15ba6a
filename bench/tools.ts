/**
 * How each capture tool is started against the bench's primary, what tells
 * that it is capturing, and what it reports about itself at the end. Every
 * tool writes to the same directory, gets the same CPU, and is stopped the
 * same way (SIGINT); the peers get the two workarounds they need here to
 * capture anything at all, and each launch says which ones it got.
 */
import path from 'node:path';
import type { Scenario } from './scenarios';

export const TOOL_NAMES = [
  'burstcap',
  'burstcap-vdev',
  'burstcap-pcapng',
  'burstcap-rotate',
  'dpdk-pdump',
  'dpdk-dumpcap',
  'dpdk-dumpcap-pcap',
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export const QUICK_TOOLS: readonly ToolName[] = ['burstcap', 'dpdk-pdump', 'dpdk-dumpcap'];

/**
 * burstcap-rotate's file size (-b filesize, kB): a new file every ~0.2 s per
 * output at the primary's full rate, so a 1 s window closes several and the
 * cost of a rotation (close, open, header) shows against one file.
 */
export const ROTATE_FILESIZE_KB = 50_000;

/** DPDK 22.11 passes a vdev's argument string to secondaries cut at 63 characters ("tx_pcap=" + path). */
export const MAX_VDEV_PATH = 54;

export interface ToolContext {
  prefix: string;
  /** Whether the tool must be told the prefix (dumpcap without --file-prefix only knows 'rte'). */
  dumpcapFilePrefix: boolean;
  /** The CPU every capture tool runs on: one the primary does not poll on. */
  cpu: number;
  /** An lcore id the primary does not use (its ids start above the CPU numbers). */
  lcoreId: number;
  /** Library to LD_PRELOAD into the peers, when the primary links it. */
  mempoolPreload: string | undefined;
  dir: string;
  burstcapCli: string;
}

export interface OutputFile {
  path: string;
  /** Directions whose packets this file holds. */
  directions: number;
}

export interface ToolLaunch {
  tool: ToolName;
  command: string;
  args: string[];
  env: Record<string, string>;
  outputs: OutputFile[];
  /** Printed once the tool's pdump callbacks are enabled. */
  ready: RegExp;
  /** burstcap's --json summary. */
  jsonFile: string | undefined;
  /**
   * Rotated outputs: the files in the output directory whose names start
   * with `<stem>_` (dumpcap's rotated names) are this tool's, each holding one direction.
   */
  rotatedStems?: string[];
  /** The help each tool needed, for the report. */
  workarounds: string[];
}

export interface ToolReport {
  /** Packets the tool says it wrote. */
  packets: number | undefined;
  /** Packets the tool says were dropped (rte_pdump_stats where it reads them). */
  drops: number | undefined;
  /** What the drop figure counts. */
  dropsMeaning: string | undefined;
  /** Other figures the tool printed about itself. */
  other?: Record<string, number>;
}

export function supports(tool: ToolName, s: Scenario): { ok: true } | { ok: false; why: string } {
  const dumpcap = tool === 'dpdk-dumpcap' || tool === 'dpdk-dumpcap-pcap';
  if (dumpcap && s.directions === 'rx') return { ok: false, why: 'dpdk-dumpcap always captures both directions (RTE_PDUMP_FLAG_RXTX)' };
  if (tool === 'burstcap-rotate' && s.primary === 'fixture') {
    return { ok: false, why: "the paced primary's sequence check counts one file per direction; rotation is measured at the maximum rate" };
  }
  return { ok: true };
}

function pdumpTuple(s: Scenario, rx: string, tx: string): string {
  return s.directions === 'rxtx' ? `port=0,queue=*,rx-dev=${rx},tx-dev=${tx}` : `port=0,queue=*,rx-dev=${rx}`;
}

function splitOutputs(s: Scenario, dir: string, stem: string, ext = 'pcap'): { rx: string; tx: string; outputs: OutputFile[] } {
  const rx = path.join(dir, `${stem}-rx.${ext}`);
  const tx = path.join(dir, `${stem}-tx.${ext}`);
  const outputs =
    s.directions === 'rxtx'
      ? [
          { path: rx, directions: 1 },
          { path: tx, directions: 1 },
        ]
      : [{ path: rx, directions: 1 }];
  return { rx, tx, outputs };
}

function preloadEnv(ctx: ToolContext): { env: Record<string, string>; note: string[] } {
  if (ctx.mempoolPreload === undefined) return { env: {}, note: ['no mempool preload (the primary does not link librte_mempool_dpaa)'] };
  return {
    env: { LD_PRELOAD: ctx.mempoolPreload },
    note: [`LD_PRELOAD=${ctx.mempoolPreload} (the primary links it: mempool ops order)`],
  };
}

/** burstcap as users run it (pcap files by its own writer), through net_pcap vdevs, as pcapng, and rotating. */
type BurstcapVariant = 'native' | 'vdev' | 'pcapng' | 'rotate';
const BURSTCAP_VARIANTS: Record<BurstcapVariant, { tool: ToolName; stem: string }> = {
  native: { tool: 'burstcap', stem: 'bc' },
  vdev: { tool: 'burstcap-vdev', stem: 'bcv' },
  pcapng: { tool: 'burstcap-pcapng', stem: 'bcng' },
  rotate: { tool: 'burstcap-rotate', stem: 'bcr' },
};

function burstcap(ctx: ToolContext, s: Scenario, variant: BurstcapVariant): ToolLaunch {
  const { tool, stem } = BURSTCAP_VARIANTS[variant];
  const { rx, tx, outputs } = splitOutputs(s, ctx.dir, stem, variant === 'pcapng' ? 'pcapng' : 'pcap');
  const jsonFile = path.join(ctx.dir, `${stem}.json`);
  const args = [
    ctx.burstcapCli,
    'capture',
    '--file-prefix',
    ctx.prefix,
    '-q',
    '--json',
    jsonFile,
    '--cpus',
    String(ctx.cpu),
    '--pdump',
    pdumpTuple(s, rx, tx),
  ];
  if (variant === 'vdev') args.push('--writer', 'vdev');
  if (variant === 'rotate') args.splice(args.indexOf('--pdump'), 0, '-b', `filesize:${ROTATE_FILESIZE_KB}`);
  const launch: ToolLaunch = {
    tool,
    command: process.execPath,
    args,
    env: {},
    outputs,
    ready: /Capturing on port/,
    jsonFile,
    workarounds: [`--cpus ${ctx.cpu} (the CPU the peers get)`, 'mempool ops and lcore id: handled by burstcap itself'],
  };
  if (variant === 'rotate') {
    launch.rotatedStems = outputs.map((o) => path.basename(o.path, '.pcap'));
    launch.workarounds.push(`-b filesize:${ROTATE_FILESIZE_KB} (a new file every ${ROTATE_FILESIZE_KB / 1000} MB per output)`);
  }
  return launch;
}

function dpdkPdump(ctx: ToolContext, s: Scenario): ToolLaunch {
  const { rx, tx, outputs } = splitOutputs(s, ctx.dir, 'pd');
  const preload = preloadEnv(ctx);
  return {
    tool: 'dpdk-pdump',
    // stdout is a pipe: without stdbuf its "core (N)" line only arrives at exit.
    command: 'stdbuf',
    args: [
      '-o0',
      'dpdk-pdump',
      '--lcores',
      `${ctx.lcoreId}@${ctx.cpu}`,
      '--no-pci',
      `--file-prefix=${ctx.prefix}`,
      '--',
      '--pdump',
      pdumpTuple(s, rx, tx),
    ],
    env: preload.env,
    outputs,
    ready: /core \(\d+\)/,
    jsonFile: undefined,
    workarounds: [`--lcores ${ctx.lcoreId}@${ctx.cpu} (an lcore id the primary does not use)`, ...preload.note],
  };
}

function dpdkDumpcap(ctx: ToolContext, pcapng: boolean): ToolLaunch {
  const file = path.join(ctx.dir, pcapng ? 'dc.pcapng' : 'dc.pcap');
  const preload = preloadEnv(ctx);
  const prefixArgs = ctx.dumpcapFilePrefix ? [`--file-prefix=${ctx.prefix}`] : [];
  return {
    tool: pcapng ? 'dpdk-dumpcap' : 'dpdk-dumpcap-pcap',
    // dumpcap takes no EAL options: its lcore ids are its CPU mask, so the
    // mask is what gives it an id the primary does not use.
    command: 'taskset',
    args: ['-c', String(ctx.cpu), 'dpdk-dumpcap', '-q', '-i', '0', '-w', file, ...(pcapng ? [] : ['-P']), ...prefixArgs],
    env: preload.env,
    outputs: [{ path: file, directions: 2 }],
    // With -q its last line before enabling the callbacks; without -q it
    // would print a counter per burst, which costs it CPU.
    ready: /^File: /m,
    jsonFile: undefined,
    workarounds: [
      `taskset -c ${ctx.cpu} (lcore id ${ctx.cpu} from its CPU mask; the primary's lcore ids start above the CPU numbers)`,
      ...preload.note,
      ctx.dumpcapFilePrefix ? `--file-prefix=${ctx.prefix}` : 'primary started with --file-prefix rte (this dumpcap has no --file-prefix)',
      'one file for both directions (dumpcap cannot split them)',
    ],
  };
}

export function launchFor(tool: ToolName, ctx: ToolContext, s: Scenario): ToolLaunch {
  switch (tool) {
    case 'burstcap':
      return burstcap(ctx, s, 'native');
    case 'burstcap-vdev':
      return burstcap(ctx, s, 'vdev');
    case 'burstcap-pcapng':
      return burstcap(ctx, s, 'pcapng');
    case 'burstcap-rotate':
      return burstcap(ctx, s, 'rotate');
    case 'dpdk-pdump':
      return dpdkPdump(ctx, s);
    case 'dpdk-dumpcap':
      return dpdkDumpcap(ctx, true);
    case 'dpdk-dumpcap-pcap':
      return dpdkDumpcap(ctx, false);
  }
}

/**
 * dpdk-pdump puts its paths into vdev argument strings, which DPDK cuts at 63
 * characters (burstcap's vdev writer stages long paths itself).
 */
export function vdevPathProblem(launch: ToolLaunch): string | undefined {
  if (launch.tool !== 'dpdk-pdump') return undefined;
  const long = launch.outputs.find((o) => o.path.length > MAX_VDEV_PATH);
  return long ? `${long.path} is longer than ${MAX_VDEV_PATH} characters: DPDK cuts vdev arguments at 63; use a shorter --out-dir` : undefined;
}

const PDUMP_DEQUEUED = /packets dequeued:\s+(\d+)/;
const PDUMP_TX = /packets transmitted to vdev:\s+(\d+)/;
const PDUMP_FREED = /packets freed:\s+(\d+)/;
const DUMPCAP_STATS = /Packets received\/dropped on interface '[^']*': (\d+)\/(\d+)/;

export function parseReport(tool: ToolName, output: string, json: unknown): ToolReport {
  switch (tool) {
    case 'burstcap':
    case 'burstcap-vdev':
    case 'burstcap-pcapng':
    case 'burstcap-rotate': {
      const j = json as { packets?: number; dropped?: number } | undefined;
      return { packets: j?.packets, drops: j?.dropped, dropsMeaning: 'rte_pdump_stats ringfull + nombuf' };
    }
    case 'dpdk-pdump': {
      const tx = PDUMP_TX.exec(output);
      const freed = PDUMP_FREED.exec(output);
      const dequeued = PDUMP_DEQUEUED.exec(output);
      // It never reads rte_pdump_stats: packets dropped on its full ring appear nowhere in its output.
      const other: Record<string, number> = {};
      if (dequeued) other['dequeued'] = Number(dequeued[1]);
      if (freed) other['freed_by_vdev'] = Number(freed[1]);
      return { packets: tx ? Number(tx[1]) : undefined, drops: undefined, dropsMeaning: 'not reported by dpdk-pdump', other };
    }
    case 'dpdk-dumpcap':
    case 'dpdk-dumpcap-pcap': {
      const m = DUMPCAP_STATS.exec(output);
      return { packets: undefined, drops: m ? Number(m[2]) : undefined, dropsMeaning: 'rte_pdump_stats ringfull + nombuf' };
    }
  }
}
