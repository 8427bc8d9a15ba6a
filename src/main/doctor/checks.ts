/**
 * Every precondition of a capture, one check each, with the fix: what the
 * library's doctor() resolves to and `burstcap doctor` prints. Checks that
 * need the primary attach to it; nothing is created.
 */
import fs from 'node:fs';
import { attach, requireUnusedEal, type Attachment } from '../attach/attach';
import { workerCpus } from '../primary/busy-cpus';
import { hugepageState } from '../capture/budget';
import { judgeLeftovers } from '../leftovers/cleanup';
import { describeObject } from '../leftovers/judge';
import { freeLcoreId } from '../primary/lcores';
import { native } from '../core/native';
import { checkVersion, inspectPrimary, primaryPorts, probeFailures, type PrimaryFacts } from '../primary/inspect';
import { formatBytes } from '../capture/report';
import { runningPrimaries } from '../primary/runtime-dir';

/** One line of `doctor`: what was checked, whether it passed, what was seen, and the fix when it failed. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

function check(name: string, run: () => string): Check {
  try {
    return { name, ok: true, detail: run() };
  } catch (err) {
    const [detail, fix] = (err as Error).message.split(' — fix: ') as [string, string | undefined];
    return fix === undefined ? { name, ok: false, detail } : { name, ok: false, detail, fix };
  }
}

function fail(detail: string, fix: string): never {
  throw new Error(`${detail} — fix: ${fix}`);
}

function systemChecks(): Check[] {
  return [
    check('privileges', () => {
      if (process.getuid?.() !== 0)
        fail('not running as root', 'run burstcap as root (or as the user running the primary, with access to /dev/hugepages)');
      return 'running as root';
    }),
    check('hugepages', () => {
      const h = hugepageState();
      if (h.totalBytes === 0) fail('no hugepages reserved', 'echo 1024 > /proc/sys/vm/nr_hugepages');
      const mounted = fs
        .readFileSync('/proc/mounts', 'utf8')
        .split('\n')
        .some((l) => l.split(' ')[2] === 'hugetlbfs');
      if (!mounted) fail('no hugetlbfs mounted', 'mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages');
      if (h.freeBytes < 256 * 1024 * 1024) {
        fail(
          `only ${formatBytes(h.freeBytes)} of ${formatBytes(h.totalBytes)} hugepage memory free`,
          'reserve more pages, or use smaller pools (total-num-mbufs=)',
        );
      }
      return `${formatBytes(h.freeBytes)} of ${formatBytes(h.totalBytes)} free in ${formatBytes(h.pageBytes)} pages`;
    }),
    check('DPDK', () => `burstcap is built against ${native.version()}`),
    check('pcap tools', () => {
      const have = ['tcpdump', 'tshark', 'capinfos'].filter((t) => (process.env['PATH'] ?? '').split(':').some((d) => fs.existsSync(`${d}/${t}`)));
      if (have.length < 3) fail(`found only ${have.join(', ') || 'none'} of tcpdump, tshark, capinfos`, 'apt-get install tcpdump tshark');
      return 'tcpdump, tshark and capinfos are installed';
    }),
  ];
}

async function primaryChecks(prefix: string, allowReexec: boolean): Promise<Check[]> {
  const checks: Check[] = [];
  let inspected: PrimaryFacts | undefined;
  checks.push(
    check('primary', () => {
      inspected = inspectPrimary(prefix);
      return `pid ${inspected.pid}, ${inspected.version ?? 'version unknown (telemetry off)'}, lcores ${[...inspected.lcores.keys()].join(',')}`;
    }),
  );
  if (!inspected) return checks;
  const facts = inspected;
  // Measured before attaching, as a capture does, so doctor names the same CPUs.
  const cpus = await workerCpus(native.threadInfo().cpus, facts.lcores, facts.pid);
  checks.push(check('version', () => (checkVersion(facts), `the primary and burstcap both run DPDK ${native.version().replace(/^DPDK /, '')}`)));
  checks.push(
    check('lcore id', () => `burstcap will use lcore id ${freeLcoreId(facts.lcores)} (the primary uses ${[...facts.lcores.keys()].join(',')})`),
  );
  let attachment: Attachment | undefined;
  checks.push(
    check('attach', () => {
      attachment = attach({ prefix, mainCpu: native.threadInfo().cpus[0] ?? 0, allowReexec });
      return `attached as a secondary (lcore id ${attachment.lcoreId})`;
    }),
  );
  if (!attachment) {
    const last = checks[checks.length - 1]!;
    if (/rte_pdump_init/.test(last.detail)) last.name = 'pdump';
    return checks;
  }
  const a = attachment;
  try {
    checks.push(check('pdump', () => 'the primary called rte_pdump_init()'));
    checks.push(
      check('mempool ops', () => {
        return a.mempoolOps.changed
          ? `orders differed (primary: ${a.mempoolOps.primary.slice(0, 4).join(', ')}, ...); burstcap aligned its own`
          : 'same order in both processes';
      }),
    );
    checks.push(check('worker CPUs', () => `workers go to CPU(s) ${cpus.join(',')} by default`));
    checks.push(
      check('ports', () => {
        const { ports } = primaryPorts(prefix, native.listPorts(), probeFailures(native.ealLog(200)));
        if (ports.length === 0) fail('the primary has no ports this process can see', 'see burstcap list -v for probe errors');
        return ports
          .map((p) => `${p.port}:${p.name} (${p.rxQueues} rxq, ${p.txQueues} txq${p.probed ? '' : ', not opened here: captured by name'})`)
          .join(', ');
      }),
    );
    checks.push(
      check('leftovers', () => {
        const { stale } = judgeLeftovers(prefix, a.primary.pid).judgement;
        if (stale.length > 0)
          fail(`left by dead captures: ${stale.map((s) => describeObject(s.object)).join(', ')}`, `burstcap cleanup --file-prefix ${prefix}`);
        return 'no rings, pools or vdevs left by dead captures';
      }),
    );
  } finally {
    native.detach();
  }
  return checks;
}

/**
 * Every check, without a primary or with one (then it attaches: this
 * process's one EAL, refused up front when it was already used).
 */
export async function doctorChecks(prefix: string | undefined, allowReexec: boolean): Promise<Check[]> {
  if (prefix !== undefined) requireUnusedEal();
  const checks = systemChecks();
  if (prefix !== undefined) {
    checks.push(...(await primaryChecks(prefix, allowReexec)));
  } else {
    const running = runningPrimaries();
    checks.push({
      name: 'primaries',
      ok: true,
      detail:
        running.length === 0
          ? 'none running'
          : running.map((p) => `--file-prefix ${p.prefix} (pid ${p.pid})`).join(', ') + ' (add --file-prefix to check one)',
    });
  }
  return checks;
}
