// Open vSwitch with DPDK runs its EAL --in-memory (it appends the flag
// itself) and does not link librte_pdump: no secondary can join it. burstcap
// must say so, naming ovs-vswitchd and what to use instead, from capture,
// list and doctor alike, within seconds, with exit 1, and leave OVS running.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, errorLines, EXIT_FAILURE, runBurstcap } from '../helpers/burstcap';
import { isProcessAlive } from '../helpers/burstcap-faults';
import { removeDir, shortTempDir } from '../helpers/capture';
import { OvsDpdk, ovsInstalled } from '../helpers/ovs';

/** "Within a few seconds": the whole command, Node's start included. */
const ANSWER_MS = 5_000;
const OVS_START_TIMEOUT_MS = 90_000;
const IN_MEMORY =
  /ovs-vswitchd \(pid (\d+)\) runs DPDK in --in-memory mode: no secondary process can attach to it; use its own port mirroring and ovs-tcpdump/;

let ovs: OvsDpdk | undefined;
let dir: string;

beforeAll(async () => {
  if (!ovsInstalled()) throw new Error('openvswitch-switch-dpdk is not installed: run scripts/setup.sh');
  dir = shortTempDir();
  ovs = await OvsDpdk.start(`bcovs${process.pid}`);
}, OVS_START_TIMEOUT_MS);

afterAll(async () => {
  await ovs?.stop();
  removeDir(dir);
});

describe('Open vSwitch with DPDK', () => {
  it('is what this test means: --in-memory is not on its command line, its log shows it, and it has no runtime directory', () => {
    const o = ovs!;
    const cmdline = readFileSync(`/proc/${o.pid}/cmdline`, 'utf8');
    expect(cmdline).not.toContain('--in-memory');
    expect(o.log()).toMatch(/EAL ARGS: .*--in-memory/);
    expect(o.log()).toContain(`--file-prefix=${o.prefix}`);
    expect(readFileSync(`/proc/${o.pid}/maps`, 'utf8')).toMatch(/librte_eal\.so/);
    expect(o.vsctl('show')).toMatch(/type: dpdk/);
  });

  const commands: [string, string[]][] = [
    ['capture', ['capture', '--file-prefix', '<prefix>', '-a', '1', '--pdump', 'port=0,queue=*,rx-dev=<dir>/rx.pcap']],
    ['list', ['list', '--file-prefix', '<prefix>']],
    ['doctor', ['doctor', '--file-prefix', '<prefix>']],
  ];
  for (const [name, template] of commands) {
    it(`${name} names ovs-vswitchd and its in-memory mode, exit 1 within seconds; OVS keeps running`, async () => {
      const o = ovs!;
      const args = template.map((a) => a.replace('<prefix>', o.prefix).replace('<dir>', dir));
      const started = Date.now();
      const result = await runBurstcap(args);
      const tookMs = Date.now() - started;
      const context = describeResult(args, result);
      expect(result.code, context).toBe(EXIT_FAILURE);
      expect(tookMs, context).toBeLessThan(ANSWER_MS);
      // doctor prints its checks on stdout; capture and list print one error line.
      const text = name === 'doctor' ? result.stdout : result.stderr;
      const match = IN_MEMORY.exec(text);
      expect(match, context).not.toBeNull();
      expect(Number(match![1]), context).toBe(o.pid);
      expect(text, context).toContain(`no DPDK primary is running with --file-prefix ${o.prefix} that a secondary can join`);
      if (name === 'doctor') expect(result.stdout, context).toMatch(/^\[FAIL\] primary +no DPDK primary/m);
      else expect(errorLines(result.stderr), context).toHaveLength(1);
      // Touched nothing: no file was created, OVS runs and answers.
      expect(() => readFileSync(join(dir, 'rx.pcap'))).toThrow();
      expect(isProcessAlive(o.pid)).toBe(true);
      expect(o.vswitchdAlive()).toBe(true);
      expect(o.vsctl('show'), 'ovs-vsctl show still answers').toMatch(/dpdk0/);
    });
  }
});
