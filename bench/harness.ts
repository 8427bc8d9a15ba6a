/**
 * The benchmark's driver: one primary per scenario (per probe for zero-loss
 * searches), every tool against it in turn, the order rotating from round to
 * round so that no tool always runs first or last, then the summary.
 */
import fs from 'node:fs';
import { native } from '../src/main/core/native';
import { CLI_SCRIPT } from '../src/main/core/paths';
import { makePrivateDir, removePrivateDir } from '../src/main/core/private-files';
import { primaryPid } from '../src/main/primary/runtime-dir';
import { buildFixturePrimary } from './fixture-build';
import { runMicroBenchmarks, type MicroReport } from './micro';
import { startPrimary, type BenchPrimary } from './primaries';
import { cpuPlan, type CpuPlan } from './primary-args';
import { DEFINITIONS, nestedRecord, type BenchDocument, type ToolSetup } from './report-json';
import { formatTable } from './report-table';
import { measureBaseline, runTool, type RunRecord } from './run-tool';
import { ringsOf, selectScenarios, ZERO_LOSS_THRESHOLD, type FixedScenario, type Scenario, type ZeroLossScenario } from './scenarios';
import { median } from './stats';
import { buildSummary } from './summary';
import { dumpcapAcceptsFilePrefix, findOnPath, hugepagesFreeBytes, machineInfo, mempoolPreloadFor } from './system';
import { launchFor, supports, vdevPathProblem, type ToolContext, type ToolName } from './tools';
import { ZeroLossSearch, type ZeroLossResult } from './zero-loss';

/** dumpcap builds without --file-prefix only find a primary under this prefix. */
const DUMPCAP_DEFAULT_PREFIX = 'rte';
/** Rough hugepage needs: the primary's pool plus one default capture pool (65535 mbufs) per ring. */
const PRIMARY_HUGEPAGE_BYTES = 128 << 20;
const RING_HUGEPAGE_BYTES = 170 << 20;
const REQUIRED_COMMANDS = ['dpdk-testpmd', 'dpdk-pdump', 'dpdk-dumpcap', 'stdbuf', 'taskset', 'readelf'];
const FIXTURE_COMMANDS = ['cc', 'pkg-config'];
const PRIMARY_LOG_TAIL = 300;
/** PrimaryProcess's exit status for a primary a signal ended is 128 + the signal's number. */
const SIGNAL_STATUS = 128;

export interface BenchOptions {
  quick: boolean;
  rounds: number;
  durationS: number;
  outDir: string;
  tools: ToolName[];
  scenarios: string[] | undefined;
  micro: boolean;
  microSeconds: number;
  /** Progress lines (stderr). */
  log: (line: string) => void;
  /** Becomes true on Ctrl-C: stop after the current run, clean up, report what was measured. */
  aborted: () => boolean;
  commandLine: string;
}

export interface BenchResult {
  doc: BenchDocument;
  table: string;
  /** Every selected tool produced at least one trusted run in every scenario it supports. */
  complete: boolean;
  problems: string[];
}

class Aborted extends Error {}

function rotate<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function mpps(v: number): string {
  return (v / 1e6).toFixed(3);
}

const ERROR_LINE_CHARS = 400;

function oneLine(text: string): string {
  const flat = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' | ');
  return flat.length > ERROR_LINE_CHARS ? `${flat.slice(0, ERROR_LINE_CHARS)} ...` : flat;
}

function describeRun(r: RunRecord): string {
  if (!r.ok || r.metrics === null) return `FAILED: ${oneLine(r.error ?? 'no measurement')}`;
  const m = r.metrics;
  const loss = m.loss_by_seq ?? m.loss_window;
  return (
    `${mpps(m.captured_pps)} Mpps captured (${m.captured.toLocaleString('en-US')} packets), loss ${(loss * 100).toFixed(2)}%, ` +
    `CPU ${m.cpu_s.toFixed(2)} s, primary ${m.primary_vs_baseline === null ? '-' : `${(m.primary_vs_baseline * 100).toFixed(0)}%`} of its rate alone` +
    `${r.notes.length > 0 ? ` [${r.notes.join('; ')}]` : ''}`
  );
}

class Bench {
  readonly #o: BenchOptions;
  readonly #plan: CpuPlan;
  readonly #dir: string;
  readonly #useRtePrefix: boolean;
  readonly #burstcapCli: string;
  #prefixCounter = 0;
  #fixtureBinary: string | undefined;
  readonly runs: RunRecord[] = [];
  readonly baselines: BenchDocument['baselines'] = [];
  readonly zeroLoss = new Map<string, Map<string, ZeroLossResult>>();
  readonly skipped = new Map<string, Map<string, string>>();
  readonly toolSetups: Record<string, Record<string, ToolSetup>> = {};
  readonly primaries: Record<string, string> = {};
  readonly problems: string[] = [];

  constructor(o: BenchOptions, plan: CpuPlan, useRtePrefix: boolean) {
    this.#o = o;
    this.#plan = plan;
    this.#useRtePrefix = useRtePrefix;
    // The default out dir, /dev/shm, is writable by everyone: a fixed name
    // there could be another user's directory or symlink, and the captures
    // of the benchmark's traffic readable by all. A mkdtemp name is new and 0700.
    fs.mkdirSync(o.outDir, { recursive: true });
    this.#dir = makePrivateDir(o.outDir, 'bcb');
    this.#burstcapCli = CLI_SCRIPT;
  }

  get dir(): string {
    return this.#dir;
  }

  #checkAbort(): void {
    if (this.#o.aborted()) throw new Aborted('interrupted');
  }

  #nextPrefix(): string {
    return this.#useRtePrefix ? DUMPCAP_DEFAULT_PREFIX : `bcb${process.pid}_${this.#prefixCounter++}`;
  }

  #fixture(): string {
    this.#fixtureBinary ??= buildFixturePrimary();
    return this.#fixtureBinary;
  }

  async #start(s: Scenario, rate: number | undefined): Promise<BenchPrimary> {
    const need = PRIMARY_HUGEPAGE_BYTES + ringsOf(s) * RING_HUGEPAGE_BYTES;
    const free = hugepagesFreeBytes();
    if (free < need)
      this.#o.log(
        `warning: ${Math.floor(free / 2 ** 20)} MiB of hugepages free, ${s.name} needs about ${Math.ceil(need / 2 ** 20)} MiB: expect failed runs`,
      );
    const prefix = this.#nextPrefix();
    if (prefix === DUMPCAP_DEFAULT_PREFIX && primaryPid(prefix) > 0) {
      throw new Error(
        `another primary (pid ${primaryPid(prefix)}) already uses --file-prefix ${prefix}, which this dpdk-dumpcap needs; stop it or run without dpdk-dumpcap`,
      );
    }
    const primary = await startPrimary({
      scenario: s,
      rate,
      prefix,
      cpus: this.#plan,
      fixtureBinary: s.primary === 'fixture' ? this.#fixture() : undefined,
    });
    this.primaries[s.name] ??= primary.commandLine;
    return primary;
  }

  async #withPrimary<T>(s: Scenario, rate: number | undefined, body: (p: BenchPrimary) => Promise<T>): Promise<T> {
    const primary = await this.#start(s, rate);
    try {
      return await body(primary);
    } finally {
      await primary.stop();
    }
  }

  #context(primary: BenchPrimary): ToolContext {
    const binary = primary.kind === 'testpmd' ? (findOnPath(primary.binary) ?? primary.binary) : primary.binary;
    return {
      prefix: primary.prefix,
      dumpcapFilePrefix: !this.#useRtePrefix,
      cpu: this.#plan.captureCpu,
      lcoreId: this.#plan.toolLcoreId,
      mempoolPreload: mempoolPreloadFor(binary),
      dir: this.#dir,
      burstcapCli: this.#burstcapCli,
    };
  }

  #toolsFor(s: Scenario): ToolName[] {
    return this.#o.tools.filter((t) => {
      const ok = supports(t, s);
      if (!ok.ok) {
        if (!this.skipped.has(s.name)) this.skipped.set(s.name, new Map());
        this.skipped.get(s.name)!.set(t, ok.why);
      }
      return ok.ok;
    });
  }

  async #run(
    s: Scenario,
    tool: ToolName,
    round: number,
    rate: number | undefined,
    primary: BenchPrimary,
    baseline: number | undefined,
  ): Promise<{ record: RunRecord; tainted: boolean; died: boolean }> {
    const launch = launchFor(tool, this.#context(primary), s);
    const problem = vdevPathProblem(launch);
    if (problem) throw new Error(problem);
    (this.toolSetups[tool] ??= {})[primary.kind] ??= { command: [launch.command, ...launch.args].join(' '), workarounds: launch.workarounds };
    const { record, primaryTainted } = await runTool({
      scenario: s,
      round,
      rate,
      launch,
      primary,
      windowS: this.#o.durationS,
      baselinePps: baseline,
    });
    this.runs.push(record);
    const where = rate === undefined ? `round ${round + 1}/${this.#o.rounds}` : `${mpps(rate)} Mpps`;
    this.#o.log(`[${s.name} ${where}] ${tool}: ${describeRun(record)}`);
    const died = !primary.alive();
    if (died) record.notes.push('the primary died during or right after this run');
    // A primary whose packet loop hangs (seen inside a pdump callback after a peer exited) looks alive.
    const stalled = !died && record.metrics !== null && record.metrics.primary_pps === 0;
    if (stalled) record.notes.push('the primary forwarded nothing during the window');
    return { record, tainted: primaryTainted || died || stalled, died };
  }

  #lastWords(primary: BenchPrimary): string {
    const tail = oneLine(primary.logTail(PRIMARY_LOG_TAIL));
    return tail === '' ? ' (it printed nothing after start-up)' : `; its last output: ${tail}`;
  }

  /** Output paths that DPDK would cut are refused before any primary starts. */
  checkPaths(s: Scenario | undefined): void {
    if (s === undefined) return;
    const ctx: ToolContext = {
      prefix: 'p',
      dumpcapFilePrefix: true,
      cpu: 0,
      lcoreId: 0,
      mempoolPreload: undefined,
      dir: this.#dir,
      burstcapCli: this.#burstcapCli,
    };
    for (const tool of this.#o.tools) {
      const problem = vdevPathProblem(launchFor(tool, ctx, s));
      if (problem) throw new Error(problem);
    }
  }

  /** The running primary, or a fresh one if there is none or it died since the last run. */
  async #ensureAlive(s: FixedScenario, primary: BenchPrimary | undefined): Promise<BenchPrimary> {
    if (primary?.alive()) return primary;
    if (primary) {
      const status = await primary.stop();
      this.problems.push(`${s.name}: the primary died between runs (exit status ${status})${this.#lastWords(primary)}`);
    }
    return this.#start(s, s.rate);
  }

  async fixed(s: FixedScenario): Promise<void> {
    const tools = this.#toolsFor(s);
    if (tools.length === 0) return;
    let primary: BenchPrimary | undefined;
    try {
      for (let round = 0; round < this.#o.rounds; round++) {
        this.#checkAbort();
        primary = await this.#ensureAlive(s, primary);
        let baseline = await measureBaseline(primary, this.#o.durationS);
        if (baseline === 0) {
          this.problems.push(`${s.name} round ${round + 1}: the primary had stopped forwarding; it was restarted`);
          await primary.stop();
          primary = await this.#start(s, s.rate);
          baseline = await measureBaseline(primary, this.#o.durationS);
        }
        this.baselines.push({ scenario: s.name, round, rate: s.rate ?? null, primary_pps: baseline });
        this.#o.log(`[${s.name} round ${round + 1}/${this.#o.rounds}] primary alone: ${mpps(baseline)} Mpps forwarded`);
        for (const tool of rotate(tools, round)) {
          this.#checkAbort();
          primary = await this.#ensureAlive(s, primary);
          const { record, tainted, died } = await this.#run(s, tool, round, s.rate, primary, baseline);
          if (tainted) {
            // Its callbacks or vdevs may still be in the primary: the next tool gets a fresh one.
            const status = await primary.stop();
            this.problems.push(
              died
                ? `${s.name} round ${round + 1}: the primary died (exit status ${status}${status > SIGNAL_STATUS ? `: signal ${status - SIGNAL_STATUS}` : ''}) during or right after the ${tool} run${this.#lastWords(primary)}`
                : `${s.name} round ${round + 1}: ${tool}: ${oneLine(record.error ?? record.notes.join('; '))}; the primary was restarted`,
            );
            primary = undefined;
          }
        }
      }
    } finally {
      await primary?.stop();
    }
  }

  /** Median forwarding rate of each scenario's primary alone, over the rounds measured. */
  baselineMedians(): Map<string, number> {
    const byScenario = new Map<string, number[]>();
    for (const b of this.baselines) byScenario.set(b.scenario, [...(byScenario.get(b.scenario) ?? []), b.primary_pps]);
    return new Map([...byScenario].map(([name, rates]) => [name, median(rates)]));
  }

  async zeroLossSearch(s: ZeroLossScenario): Promise<void> {
    const tools = this.#toolsFor(s);
    const searches = new Map(tools.map((t) => [t, new ZeroLossSearch(s.minRate, s.maxRate, s.steps)]));
    for (let step = 0; ; step++) {
      let probed = false;
      for (const tool of rotate(tools, step)) {
        const search = searches.get(tool)!;
        const rate = search.next();
        if (rate === undefined) continue;
        this.#checkAbort();
        probed = true;
        const { record } = await this.#withPrimary(s, rate, (primary) => this.#run(s, tool, step, rate, primary, undefined));
        const m = record.metrics;
        search.record(rate, record.ok && m !== null && (m.loss_by_seq ?? 1) < ZERO_LOSS_THRESHOLD && (m.damaged ?? 0) === 0);
      }
      if (!probed) break;
    }
    this.zeroLoss.set(s.name, new Map([...searches].map(([t, z]) => [t, z.result()])));
  }
}

function checkCommands(scenarios: readonly Scenario[]): void {
  const needed = [...REQUIRED_COMMANDS, ...(scenarios.some((s) => s.primary === 'fixture') ? FIXTURE_COMMANDS : [])];
  const missing = needed.filter((c) => findOnPath(c) === undefined);
  if (missing.length > 0) throw new Error(`missing commands: ${missing.join(', ')} (run scripts/setup.sh)`);
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const scenarios = selectScenarios(o.scenarios, o.quick);
  checkCommands(scenarios);
  const plan = cpuPlan(native.threadInfo().cpus);
  const wantsDumpcap = o.tools.some((t) => t.startsWith('dpdk-dumpcap'));
  const bench = new Bench(o, plan, wantsDumpcap && !dumpcapAcceptsFilePrefix());
  let micro: MicroReport | null = null;
  let interrupted = false;
  try {
    bench.checkPaths(scenarios[0]);
    for (const s of scenarios) {
      if (s.kind === 'fixed') await bench.fixed(s);
      else await bench.zeroLossSearch(s);
    }
    if (o.micro) {
      o.log('micro-benchmarks ...');
      micro = await runMicroBenchmarks({ dir: bench.dir, maxTime: o.microSeconds });
    }
  } catch (err) {
    if (!(err instanceof Aborted)) throw err;
    interrupted = true;
    bench.problems.push('interrupted: the report covers the runs finished so far');
  } finally {
    removePrivateDir(bench.dir);
  }

  const summary = buildSummary(scenarios, o.tools, bench.runs, bench.zeroLoss, bench.skipped);
  let missing = false;
  for (const s of scenarios) {
    for (const t of o.tools) {
      const entry = summary[s.name]?.[t] as { runs?: number; failed?: number; skipped?: string } | undefined;
      if (!entry || entry.skipped) continue;
      if ((entry.runs ?? 0) - (entry.failed ?? 0) > 0) continue;
      missing = true;
      bench.problems.push(`${s.name}: ${t} has no trusted run`);
    }
  }
  const doc: BenchDocument = {
    setup: {
      date: new Date().toISOString(),
      command: o.commandLine,
      machine: machineInfo(),
      options: {
        quick: o.quick,
        rounds: o.rounds,
        duration_s: o.durationS,
        out_dir: o.outDir,
        tools: o.tools,
        scenarios: scenarios.map((s) => s.name),
      },
      cpu_placement: { primary_cpu: plan.primaryCpu, capture_cpu: plan.captureCpu, primary_lcore_ids_from: plan.primaryLcoreBase },
      tools: bench.toolSetups,
      primaries: bench.primaries,
      definitions: DEFINITIONS,
    },
    runs: bench.runs,
    summary,
    baselines: bench.baselines,
    zero_loss: nestedRecord(bench.zeroLoss),
    micro,
  };
  const table = formatTable({
    scenarios,
    summary,
    zeroLoss: bench.zeroLoss,
    baselines: bench.baselineMedians(),
    rounds: o.rounds,
    windowS: o.durationS,
    micro: micro?.results ?? [],
    writerVsWrite: micro?.writer_vs_write ?? {},
    toolSetups: bench.toolSetups,
  });
  return { doc, table, complete: !interrupted && !missing, problems: bench.problems };
}
