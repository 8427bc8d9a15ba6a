// A veth pair whose far end lives in a network namespace made for the test,
// and a tcpdump listening on that far end: packets sent to the near end can
// be read back without touching any real network.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const LISTENING = /listening on /;
const TCPDUMP_START_TIMEOUT_MS = 10_000;
const TCPDUMP_STOP_TIMEOUT_MS = 5_000;
/** IFNAMSIZ is 16 including the NUL. */
const MAX_IFNAME = 15;

function ip(args: readonly string[]): void {
  const res = spawnSync('ip', args, { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    throw new Error(`ip ${args.join(' ')} failed: ${res.error?.message ?? res.stderr.trim()}`);
  }
}

function disableIpv6(iface: string): void {
  const res = spawnSync('sysctl', ['-qw', `net.ipv6.conf.${iface}.disable_ipv6=1`], { encoding: 'utf8' });
  if (res.error || res.status !== 0) throw new Error(`cannot disable IPv6 on ${iface}: ${res.error?.message ?? res.stderr.trim()}`);
}

function ipQuiet(args: readonly string[]): void {
  spawnSync('ip', args, { stdio: 'ignore' });
}

export interface VethPair {
  /** Namespace holding the peer. */
  ns: string;
  /** The end in the root namespace: what burstcap writes to. */
  near: string;
  /** The end inside the namespace: where tcpdump listens. */
  far: string;
}

export interface VethOptions {
  /**
   * false: the near end gets no IPv6 link-local address, so it has no
   * address at all, like an interface kept for capture traffic only.
   */
  ipv6?: boolean;
}

/** Creates the namespace and both ends, brought up. `tag` keeps names unique (e.g. the test's pid). */
export function createVethPair(tag: string, opts: VethOptions = {}): VethPair {
  const pair: VethPair = { ns: `bc${tag}`, near: `bc${tag}a`, far: `bc${tag}b` };
  if (pair.near.length > MAX_IFNAME) throw new Error(`interface name ${pair.near} is too long`);
  removeVethPair(pair);
  try {
    ip(['netns', 'add', pair.ns]);
    ip(['link', 'add', pair.near, 'type', 'veth', 'peer', 'name', pair.far, 'netns', pair.ns]);
    if (opts.ipv6 === false) disableIpv6(pair.near);
    ip(['link', 'set', pair.near, 'up']);
    ip(['netns', 'exec', pair.ns, 'ip', 'link', 'set', pair.far, 'up']);
  } catch (err) {
    removeVethPair(pair);
    throw err;
  }
  return pair;
}

/** Deleting the namespace deletes the peer and with it the near end; idempotent. */
export function removeVethPair(pair: VethPair): void {
  ipQuiet(['link', 'del', pair.near]);
  ipQuiet(['netns', 'del', pair.ns]);
}

export function netnsExists(ns: string): boolean {
  const res = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return res.stdout.split('\n').some((line) => line.split(' ')[0] === ns);
}

export function linkExists(name: string): boolean {
  return spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;
}

/** tcpdump writing what arrives on an interface of a namespace to a file, packet by packet. */
export class NetnsTcpdump {
  readonly #child: ChildProcess;
  #stderr = '';
  readonly #exited: Promise<void>;

  private constructor(ns: string, iface: string, file: string, filter: readonly string[]) {
    // -U: each packet reaches the file as it arrives; -n: no name look-ups.
    this.#child = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-n', '-U', '-i', iface, '-w', file, ...filter], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString('utf8');
    });
    this.#exited = new Promise((resolve) => {
      this.#child.once('close', () => resolve());
      this.#child.once('error', () => resolve());
    });
  }

  static async start(ns: string, iface: string, file: string, filter: readonly string[] = []): Promise<NetnsTcpdump> {
    const td = new NetnsTcpdump(ns, iface, file, filter);
    const deadline = Date.now() + TCPDUMP_START_TIMEOUT_MS;
    while (!LISTENING.test(td.#stderr)) {
      if (td.#child.exitCode !== null || Date.now() > deadline) {
        await td.stop();
        throw new Error(`tcpdump on ${iface} in ${ns} did not start: ${td.#stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return td;
  }

  stderr(): string {
    return this.#stderr;
  }

  /** SIGINT makes tcpdump flush and close its file; SIGKILL if it hangs. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGINT');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), TCPDUMP_STOP_TIMEOUT_MS);
    await this.#exited;
    clearTimeout(timer);
  }
}
