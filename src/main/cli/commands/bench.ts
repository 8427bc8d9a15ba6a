/**
 * `burstcap bench`: the throughput benchmark against dpdk-pdump and
 * dpdk-dumpcap on primaries it starts itself (code in bench/). Progress goes
 * to stderr, the table to stdout, the report to --json and --svg files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runBench } from '../../../../bench/harness';
import { renderSvg } from '../../../../bench/report-svg';
import { selectScenarios } from '../../../../bench/scenarios';
import { QUICK_TOOLS, TOOL_NAMES, type ToolName } from '../../../../bench/tools';
import { parseCount, parseDuration } from '../../options/cpu-list';
import { isBurstcapError, runtimeError, usageError } from '../../core/errors';
import { checkJsonTarget, writeJson } from '../../capture/report';

const DEFAULT_OUT_DIR = '/dev/shm';
const QUICK = { rounds: 3, durationS: 1, microSeconds: 0.2 };
const FULL = { rounds: 5, durationS: 5, microSeconds: 1 };

export interface BenchCommand {
  quick: boolean;
  json?: string | undefined;
  svg?: string | undefined;
  outDir?: string | undefined;
  rounds?: number | undefined;
  durationS?: number | undefined;
  tools?: ToolName[] | undefined;
  scenarios?: string[] | undefined;
  micro?: boolean | undefined;
}

function listOption(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function parseTools(text: string): ToolName[] {
  const names = listOption(text);
  const known: readonly string[] = TOOL_NAMES;
  const bad = names.filter((n) => !known.includes(n));
  if (bad.length > 0 || names.length === 0) throw usageError('BAD_TOOLS', `--tools ${text}: choose from ${TOOL_NAMES.join(', ')}`);
  return [...new Set(names)] as ToolName[];
}

/** Commander's option object to a typed command; every value checked here. */
export function benchCommandFrom(o: Record<string, unknown>): BenchCommand {
  const str = (k: string): string | undefined => {
    const v = o[k];
    return v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
  };
  const scenarios = str('scenarios') === undefined ? undefined : listOption(str('scenarios')!);
  if (scenarios !== undefined) {
    try {
      selectScenarios(scenarios, false);
    } catch (err) {
      throw usageError('BAD_SCENARIOS', `--scenarios: ${(err as Error).message}`);
    }
  }
  return {
    quick: Boolean(o['quick']),
    json: str('json'),
    svg: str('svg'),
    outDir: str('outDir'),
    rounds: str('rounds') === undefined ? undefined : parseCount(str('rounds')!, '--rounds'),
    durationS: str('duration') === undefined ? undefined : parseDuration(str('duration')!, '--duration'),
    tools: str('tools') === undefined ? undefined : parseTools(str('tools')!),
    scenarios,
    micro: o['micro'] === undefined ? undefined : Boolean(o['micro']),
  };
}

export async function runBenchCommand(cmd: BenchCommand): Promise<number> {
  checkJsonTarget(cmd.json);
  checkJsonTarget(cmd.svg);
  const outDir = path.resolve(cmd.outDir ?? DEFAULT_OUT_DIR);
  if (!fs.existsSync(outDir)) throw usageError('OUT_DIR_MISSING', `--out-dir ${outDir} does not exist`);
  if (process.getuid?.() !== 0) throw usageError('NOT_ROOT', 'the benchmark starts DPDK primaries (hugepages): run it as root');
  const defaults = cmd.quick ? QUICK : FULL;
  let aborted = false;
  const onSignal = (): void => {
    if (!aborted) process.stderr.write('bench: stopping after the current run ...\n');
    aborted = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runBench({
      quick: cmd.quick,
      rounds: cmd.rounds ?? defaults.rounds,
      durationS: cmd.durationS ?? defaults.durationS,
      outDir,
      tools: cmd.tools ?? (cmd.quick ? [...QUICK_TOOLS] : [...TOOL_NAMES]),
      scenarios: cmd.scenarios,
      micro: cmd.micro ?? true,
      microSeconds: defaults.microSeconds,
      log: (line) => process.stderr.write(`bench: ${line}\n`),
      aborted: () => aborted,
      commandLine: ['burstcap', ...process.argv.slice(2)].join(' '),
    });
    process.stdout.write(`\n${result.table}`);
    if (cmd.json !== undefined) writeJson(cmd.json, result.doc);
    if (cmd.svg !== undefined) {
      const title = `burstcap bench on ${result.doc.setup.machine.cpus} CPUs (${result.doc.setup.machine.cpu_model}), ${result.doc.setup.date.slice(0, 10)}`;
      const scenarios = selectScenarios(result.doc.setup.options.scenarios, false);
      fs.writeFileSync(cmd.svg, renderSvg(scenarios, result.doc.summary, result.doc.setup.options.tools, title));
    }
    for (const p of result.problems) process.stderr.write(`burstcap: warning: ${p}\n`);
    return result.complete ? 0 : 1;
  } catch (err) {
    // The harness throws plain errors (a primary that would not start, a missing tool): one line, not a stack.
    if (isBurstcapError(err)) throw err;
    throw runtimeError('BENCH_FAILED', `bench: ${(err as Error).message}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
