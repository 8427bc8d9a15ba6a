// Open vSwitch with DPDK (Debian's openvswitch-switch-dpdk) run from a
// temporary directory: its own ovsdb-server, and ovs-vswitchd-dpdk with a
// net_null port on a netdev bridge. ovs-vswitchd runs in a network namespace
// of its own (unshare), so the bridge's tap device never reaches the host's.
// Everything it starts is killed and its directory, hugepage files and
// runtime files removed by stop(), also after a failed start.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const OVS_VSWITCHD_DPDK = '/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk';
const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const HUGEPAGE_DIR = '/dev/hugepages';
const START_TIMEOUT_MS = 60_000;
const STOP_WAIT_MS = 5_000;
const POLL_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function ovsInstalled(): boolean {
  return existsSync(OVS_VSWITCHD_DPDK) && existsSync(SCHEMA);
}

function alive(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

export class OvsDpdk {
  readonly dir: string;
  /** The --file-prefix given to its EAL (through dpdk-extra). */
  readonly prefix: string;
  #db: ChildProcess | undefined;
  #vswitchd: ChildProcess | undefined;
  #log = '';

  private constructor(dir: string, prefix: string) {
    this.dir = dir;
    this.prefix = prefix;
  }

  get db(): string {
    return `unix:${join(this.dir, 'db.sock')}`;
  }

  /** ovs-vswitchd's pid: the child of unshare, which execs it in place. */
  get pid(): number {
    return this.#vswitchd?.pid ?? -1;
  }

  vswitchdAlive(): boolean {
    return alive(this.#vswitchd);
  }

  log(): string {
    const file = join(this.dir, 'ovs-vswitchd.log');
    return `${existsSync(file) ? readFileSync(file, 'utf8') : ''}${this.#log}`;
  }

  vsctl(...args: string[]): string {
    return execFileSync('ovs-vsctl', [`--db=${this.db}`, '--timeout=10', ...args], { encoding: 'utf8', env: this.#env() });
  }

  #env(): NodeJS.ProcessEnv {
    return { ...process.env, OVS_RUNDIR: this.dir, OVS_DBDIR: this.dir, OVS_LOGDIR: this.dir, OVS_SYSCONFDIR: this.dir };
  }

  static async start(prefix: string): Promise<OvsDpdk> {
    const ovs = new OvsDpdk(mkdtempSync('/tmp/bcovs-'), prefix);
    try {
      await ovs.#start();
      return ovs;
    } catch (err) {
      const log = ovs.log();
      await ovs.stop();
      throw new Error(`${(err as Error).message}\n--- ovs-vswitchd log ---\n${log.slice(-4000)}`, { cause: err });
    }
  }

  async #start(): Promise<void> {
    const env = this.#env();
    const conf = join(this.dir, 'conf.db');
    execFileSync('ovsdb-tool', ['create', conf, SCHEMA], { env });
    // Foreground children: killed by pid, never by name.
    this.#db = spawn(
      'ovsdb-server',
      [
        conf,
        `--remote=punix:${join(this.dir, 'db.sock')}`,
        `--pidfile=${join(this.dir, 'ovsdb-server.pid')}`,
        `--unixctl=${join(this.dir, 'ovsdb-server.ctl')}`,
        `--log-file=${join(this.dir, 'ovsdb-server.log')}`,
      ],
      { env, stdio: 'ignore' },
    );
    await this.#until(() => existsSync(join(this.dir, 'db.sock')), 'ovsdb-server socket');
    this.vsctl('--no-wait', 'init');
    this.vsctl(
      '--no-wait',
      'set',
      'Open_vSwitch',
      '.',
      'other_config:dpdk-init=true',
      `other_config:dpdk-extra=--no-pci --vdev=net_null0 --file-prefix=${this.prefix}`,
      'other_config:dpdk-socket-mem=64',
      'other_config:pmd-cpu-mask=0x2',
      // Its PMD thread sleeps when idle instead of spinning a CPU of a shared machine.
      'other_config:pmd-maxsleep=50000',
    );
    this.#vswitchd = spawn(
      'unshare',
      [
        '--net',
        '--',
        OVS_VSWITCHD_DPDK,
        this.db,
        `--pidfile=${join(this.dir, 'ovs-vswitchd.pid')}`,
        `--unixctl=${join(this.dir, 'ovs-vswitchd.ctl')}`,
        `--log-file=${join(this.dir, 'ovs-vswitchd.log')}`,
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#vswitchd.stdout?.on('data', (c: Buffer) => (this.#log += c.toString()));
    this.#vswitchd.stderr?.on('data', (c: Buffer) => (this.#log += c.toString()));
    await this.#until(() => /DPDK Enabled|EAL ARGS/.test(this.log()) && this.#dpdkInitialised(), 'DPDK initialised in ovs-vswitchd');
    const bridge = `bcbr${process.pid % 100000}`;
    this.vsctl('add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev');
    this.vsctl('add-port', bridge, 'dpdk0', '--', 'set', 'Interface', 'dpdk0', 'type=dpdk', 'options:dpdk-devargs=net_null0');
    await this.#until(() => /dpdk0/.test(this.vsctl('show')) && !/error:/.test(this.vsctl('get', 'Interface', 'dpdk0', 'error')), 'dpdk0 port added');
  }

  #dpdkInitialised(): boolean {
    return /DPDK Enabled - initialized/.test(this.log()) || /dpdk\|INFO\|DPDK Enabled/.test(this.log());
  }

  async #until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      let ok: boolean;
      try {
        ok = check();
      } catch {
        ok = false;
      }
      if (ok) return;
      if (this.#vswitchd && !alive(this.#vswitchd)) throw new Error(`ovs-vswitchd exited while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(POLL_MS);
    }
  }

  async stop(): Promise<void> {
    for (const child of [this.#vswitchd, this.#db]) {
      if (!alive(child)) continue;
      child!.kill('SIGTERM');
      const deadline = Date.now() + STOP_WAIT_MS;
      while (alive(child) && Date.now() < deadline) await sleep(POLL_MS);
      if (alive(child)) child!.kill('SIGKILL');
      while (alive(child) && Date.now() < deadline + STOP_WAIT_MS) await sleep(POLL_MS);
    }
    // --in-memory leaves no hugepage files; a --file-prefix run without it would.
    try {
      for (const f of readdirSync(HUGEPAGE_DIR)) if (f.startsWith(`${this.prefix}map_`)) rmSync(join(HUGEPAGE_DIR, f), { force: true });
    } catch {
      /* no hugetlbfs mounted */
    }
    rmSync(join('/var/run/dpdk', this.prefix), { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
