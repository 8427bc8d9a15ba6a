/**
 * The library from a program's side: a process of its own loads 'burstcap'
 * (require and import), captures from a primary until its AbortSignal fires,
 * and gets typed errors for what it asked wrongly or twice.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixturePrimary } from '../helpers/fixture-primary';
import { walkPcap } from '../helpers/pcap';

const FIXTURES = path.resolve(__dirname, '..', 'fixtures');
const RATE = 20_000;
const ABORT_AFTER_MS = 1_500;
const CHILD_TIMEOUT_MS = 30_000;

interface StepResult {
  ok: boolean;
  value?: {
    result: { packets: number; stop_reason: string; files: { file: string; packets: number }[]; outputs: unknown[]; errors: string[] };
    progress: { packets: number; rings: Record<string, unknown>[] }[];
  };
  error?: { typed: boolean; code: string; kind: string; exitStatus: number; message: string };
}
interface ChildOutput {
  module: string;
  exports?: string[];
  results: StepResult[];
  mustExitNow: boolean;
}

let primary: FixturePrimary;
let dir: string;

beforeAll(async () => {
  primary = await FixturePrimary.start({ rate: RATE, known: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bclib'));
});

afterAll(async () => {
  await primary?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A library process cannot re-exec itself as the CLI does when Node's own
 * mappings take the primary's addresses (a few percent of attaches here, see
 * attach.ts): the README tells callers to retry in a new process, and so
 * does this.
 */
const ADDRESS_CONFLICT_RETRIES = 3;

function runChild(script: string, steps: object[]): ChildOutput {
  let r = spawnSync(process.execPath, [path.join(FIXTURES, script), JSON.stringify(steps)], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  for (let i = 0; i < ADDRESS_CONFLICT_RETRIES && r.stdout.includes('"EAL_ADDRESS_CONFLICT"'); i++) {
    r = spawnSync(process.execPath, [path.join(FIXTURES, script), JSON.stringify(steps)], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  }
  if (r.status !== 0) throw new Error(`${script} exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as ChildOutput;
}

function captureStep(name: string): object {
  const rx = path.join(dir, `${name}-rx.pcap`);
  const tx = path.join(dir, `${name}-tx.pcap`);
  return { call: 'capture', filePrefix: primary.prefix, pdump: [`port=0,queue=*,rx-dev=${rx},tx-dev=${tx}`], abortAfterMs: ABORT_AFTER_MS };
}

function expectGoodCapture(out: ChildOutput): void {
  expect(out.results).toHaveLength(1);
  const step = out.results[0]!;
  expect(step.error).toBeUndefined();
  const { result, progress } = step.value!;
  expect(result.stop_reason).toBe('signal');
  expect(result.errors).toEqual([]);
  expect(result.packets).toBeGreaterThan(0);
  expect(result.files).toHaveLength(2);
  for (const f of result.files) {
    // Every file is a whole pcap holding what the summary says.
    expect(walkPcap(f.file).records).toBe(f.packets);
    expect(f.packets).toBeGreaterThan(0);
  }
  // The progress events name every ring with its own counters.
  expect(progress.length).toBeGreaterThan(0);
  const last = progress[progress.length - 1]!;
  expect(last.rings).toHaveLength(result.outputs.length);
  for (const r of last.rings) {
    expect(Object.keys(r).sort()).toEqual([
      'bytes',
      'direction',
      'dropped',
      'file',
      'fileBytes',
      'nombuf',
      'packets',
      'port',
      'queue',
      'queued',
      'ringSize',
      'ringfull',
    ]);
    expect(r['dropped']).toBe((r['ringfull'] as number) + (r['nombuf'] as number));
  }
  expect(last.rings.reduce((s, r) => s + (r['packets'] as number), 0)).toBe(last.packets);
  expect(out.mustExitNow).toBe(false);
}

describe('the library', () => {
  it('captures from CommonJS until the AbortSignal fires', () => {
    const out = runChild('library-capture.cjs', [captureStep('cjs')]);
    expect(out.module).toBe('cjs');
    expectGoodCapture(out);
  });

  it('captures from an ES module until the AbortSignal fires', () => {
    const out = runChild('library-capture.mjs', [captureStep('esm')]);
    expect(out.module).toBe('esm');
    expect(out.exports).toEqual(expect.arrayContaining(['BurstcapError', 'capture', 'cleanup', 'doctor', 'listPorts']));
    expectGoodCapture(out);
  });

  it('rejects a port that does not exist, then any second EAL use in the process', () => {
    const rx = path.join(dir, 'none-rx.pcap');
    const out = runChild('library-capture.cjs', [
      { call: 'capture', filePrefix: primary.prefix, pdump: [`port=7,queue=*,rx-dev=${rx}`] },
      captureStep('second'),
      { call: 'listPorts', filePrefix: primary.prefix },
    ]);
    const [noPort, second, list] = out.results as [StepResult, StepResult, StepResult];
    expect(noPort.error).toMatchObject({ typed: true, code: 'NO_SUCH_PORT', kind: 'usage', exitStatus: 2 });
    expect(noPort.error!.message).toContain('port=7');
    for (const again of [second, list]) {
      expect(again.error).toMatchObject({ typed: true, code: 'EAL_ALREADY_USED', exitStatus: 2 });
      expect(again.error!.message).toMatch(/only once per process.*its own process/);
    }
    // Nothing was written for the refused captures.
    expect(fs.existsSync(rx)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'second-rx.pcap'))).toBe(false);
  });
});
