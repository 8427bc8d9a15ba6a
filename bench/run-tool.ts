/**
 * One run: start a capture tool, wait until its callbacks are enabled, read
 * the primary's counters, let it capture for the window, read them again,
 * stop it with SIGINT as a user would, then read its files back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { countPackets } from '../src/main/pcap/reader';
import { childCpuMark, childCpuSince, processCpuSeconds } from './cpu-time';
import { FixtureFrameCheck, type SeqWindow } from './fixture-frames';
import { computeRun, type FileResult, type RunMetrics } from './measure';
import type { BenchPrimary, PrimaryCounters } from './primaries';
import type { Scenario } from './scenarios';
import { parseReport, type OutputFile, type ToolLaunch, type ToolReport } from './tools';

const READY_TIMEOUT_MS = 60_000;
/** Long enough for burstcap to merge per-queue files of a long window. */
const STOP_TIMEOUT_MS = 60_000;
const KILL_WAIT_MS = 5_000;
const OUTPUT_LIMIT = 256 * 1024;
const ERROR_TAIL = 1_500;
/** How often the tool's own CPU counters are read while it runs. */
const CPU_SAMPLE_MS = 100;

export interface RunRecord {
  scenario: string;
  tool: string;
  round: number;
  /** Offered rate per direction of the paced primary; null at maximum rate. */
  rate: number | null;
  ok: boolean;
  error: string | null;
  notes: string[];
  exit_code: number | null;
  startup_s: number;
  files: FileResult[];
  tool_report: ToolReport;
  metrics: RunMetrics | null;
}

class ToolProcess {
  readonly child: ChildProcess;
  output = '';
  exitCode: number | null | undefined;
  signal: NodeJS.Signals | null = null;
  readonly exited: Promise<number | null>;
  /** Its CPU seconds at the last sample: a lower bound once it has exited. */
  lastCpuSample = 0;
  readonly #watchers = new Set<() => void>();
  readonly #sampler: NodeJS.Timeout;

  constructor(launch: ToolLaunch) {
    // Its own process group: a Ctrl-C at the terminal reaches the bench, which ends the run itself.
    this.child = spawn(launch.command, launch.args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...launch.env }, detached: true });
    const onData = (d: Buffer): void => {
      this.output += d.toString();
      if (this.output.length > OUTPUT_LIMIT) this.output = this.output.slice(-OUTPUT_LIMIT);
      for (const w of this.#watchers) w();
    };
    this.#sampler = setInterval(() => this.sampleCpu(), CPU_SAMPLE_MS);
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        clearInterval(this.#sampler);
        this.output += `\n${err.message}`;
        this.exitCode = null;
        resolve(null);
      });
      // 'close', not 'exit': the last lines (the tool's own statistics) may still be in the pipe at exit.
      this.child.on('close', (code, signal) => {
        clearInterval(this.#sampler);
        this.exitCode = code ?? (signal ? null : 0);
        this.signal = signal;
        for (const w of this.#watchers) w();
        resolve(this.exitCode);
      });
    });
  }

  waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#watchers.delete(check);
      };
      const check = (): void => {
        if (re.test(this.output)) {
          done();
          resolve();
        } else if (this.exitCode !== undefined) {
          done();
          reject(new Error(`${this.describeExit()} before it was capturing:\n${this.output.slice(-ERROR_TAIL)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`did not start capturing within ${timeoutMs} ms:\n${this.output.slice(-ERROR_TAIL)}`));
      }, timeoutMs);
      this.#watchers.add(check);
      check();
    });
  }

  sampleCpu(): void {
    const pid = this.child.pid;
    const cpu = pid === undefined || this.exitCode !== undefined ? undefined : processCpuSeconds(pid);
    if (cpu !== undefined) this.lastCpuSample = cpu;
  }

  describeExit(): string {
    return this.signal ? `died of ${this.signal}` : `exited with status ${this.exitCode}`;
  }

  /** SIGINT, then SIGKILL if it does not finish; true if it had to be killed. */
  async stop(timeoutMs: number): Promise<boolean> {
    if (this.exitCode !== undefined) return false;
    this.child.kill('SIGINT');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.child.kill('SIGKILL');
    }, timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return killed;
  }
}

export interface RunRequest {
  scenario: Scenario;
  round: number;
  rate: number | undefined;
  launch: ToolLaunch;
  primary: BenchPrimary;
  windowS: number;
  baselinePps: number | undefined;
}

export interface RunOutcome {
  record: RunRecord;
  /** The tool was killed or crashed: the primary may keep its callbacks and vdevs, and must be restarted. */
  primaryTainted: boolean;
}

/** The rotated files of a launch, in name order (capture order), each holding one direction. */
function rotatedFiles(launch: ToolLaunch): OutputFile[] {
  const stems = launch.rotatedStems ?? [];
  if (stems.length === 0 || launch.outputs.length === 0) return [];
  const dir = path.dirname(launch.outputs[0]!.path);
  return fs
    .readdirSync(dir)
    .filter((name) => stems.some((stem) => name.startsWith(`${stem}_`)))
    .sort()
    .map((name) => ({ path: path.join(dir, name), directions: 1 }));
}

function removeOutputs(launch: ToolLaunch): void {
  // dumpcap opens its file without O_TRUNC: a longer old file would leave stale records behind.
  for (const o of [...launch.outputs, ...rotatedFiles(launch)]) fs.rmSync(o.path, { force: true });
  if (launch.jsonFile) fs.rmSync(launch.jsonFile, { force: true });
}

/** `window`: the sequence numbers the paced primary offered during the run's window, when it is the primary. */
function readFiles(req: RunRequest, window: SeqWindow | undefined): FileResult[] {
  const outputs = req.launch.rotatedStems !== undefined ? rotatedFiles(req.launch) : req.launch.outputs;
  return outputs.map((o) => {
    if (!fs.existsSync(o.path)) return { file: o.path, format: 'missing', packets: 0, bytes: 0, directions: o.directions };
    const check = window ? new FixtureFrameCheck(req.scenario.frameSize, window) : undefined;
    const c = countPackets(o.path, check?.visit);
    return { file: o.path, format: c.format, packets: c.packets, bytes: c.bytes, directions: o.directions, seq: check?.result() };
  });
}

function readJson(file: string | undefined): unknown {
  if (file === undefined) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runTool(req: RunRequest): Promise<RunOutcome> {
  const { launch } = req;
  const record: RunRecord = {
    scenario: req.scenario.name,
    tool: launch.tool,
    round: req.round,
    rate: req.rate ?? null,
    ok: false,
    error: null,
    notes: [],
    exit_code: null,
    startup_s: 0,
    files: [],
    tool_report: { packets: undefined, drops: undefined, dropsMeaning: undefined },
    metrics: null,
  };
  removeOutputs(launch);
  const cpuMark = childCpuMark();
  const started = process.hrtime.bigint();
  const tool = new ToolProcess(launch);
  let before: PrimaryCounters | undefined;
  let after: PrimaryCounters | undefined;
  let killed: boolean;
  try {
    await tool.waitFor(launch.ready, READY_TIMEOUT_MS);
    record.startup_s = Number(process.hrtime.bigint() - started) / 1e9;
    before = await req.primary.counters();
    await sleep(req.windowS * 1000);
    after = await req.primary.counters();
  } catch (err) {
    record.error = (err as Error).message;
  } finally {
    tool.sampleCpu();
    killed = await tool.stop(STOP_TIMEOUT_MS);
    if (killed) await Promise.race([tool.exited, sleep(KILL_WAIT_MS)]);
  }
  const reaped = childCpuSince(cpuMark);
  // A primary that died meanwhile was reaped too, and its CPU time would count as the tool's.
  const primaryDied = !req.primary.alive();
  const cpuS = primaryDied ? tool.lastCpuSample : reaped;
  record.exit_code = tool.exitCode ?? null;
  if (killed) record.error ??= `did not exit within ${STOP_TIMEOUT_MS} ms of SIGINT and was killed:\n${tool.output.slice(-ERROR_TAIL)}`;
  else if (record.error === null && tool.exitCode !== 0) record.error = `${tool.describeExit()}:\n${tool.output.slice(-ERROR_TAIL)}`;
  try {
    record.tool_report = parseReport(launch.tool, tool.output, readJson(launch.jsonFile));
    const window = req.primary.kind === 'fixture' && before && after ? { from: before.tx, to: after.tx } : undefined;
    record.files = readFiles(req, window);
  } catch (err) {
    record.error ??= `reading its output back: ${(err as Error).message}`;
  } finally {
    removeOutputs(launch);
  }
  if (before && after) {
    record.metrics = computeRun({
      directions: req.scenario.directions,
      before,
      after,
      files: record.files,
      report: record.tool_report,
      cpuS,
      baselinePps: req.baselinePps,
    });
    if (record.metrics.captured === 0) record.error ??= 'captured nothing: its numbers are not trusted';
    if ((record.metrics.damaged ?? 0) > 0) record.notes.push(`${record.metrics.damaged} frames cut or mixed with other packets' bytes`);
    if (primaryDied)
      record.notes.push(`CPU time sampled before its exit (${CPU_SAMPLE_MS} ms steps): the primary died and was reaped in the same window`);
    if (record.metrics.primary_tx_dropped > 0) record.notes.push(`the primary's tx refused ${record.metrics.primary_tx_dropped} packets`);
  }
  record.ok = record.error === null;
  // A tool that crashed or was killed may have left callbacks or vdevs in the primary.
  return { record, primaryTainted: killed || tool.signal !== null };
}

/** The primary's forwarding rate over a window with no capture attached. */
export async function measureBaseline(primary: BenchPrimary, windowS: number): Promise<number> {
  const before = await primary.counters();
  await sleep(windowS * 1000);
  const after = await primary.counters();
  return (after.forwarded - before.forwarded) / (Number(after.atNs - before.atNs) / 1e9);
}
