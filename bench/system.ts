/**
 * Facts about this machine and its DPDK install that decide how the peer
 * tools must be started: where the PMD plugins are, which binaries link the
 * dpaa mempool driver, what dumpcap's command line accepts.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findOnPath as findProgram } from '../src/main/core/find-on-path';

const LIB_ROOT = '/usr/lib';
const MEMPOOL_DPAA = 'librte_mempool_dpaa.so';
const HUGEPAGES_FREE = /^HugePages_Free:\s+(\d+)/m;
const HUGEPAGE_SIZE_KB = /^Hugepagesize:\s+(\d+)\s+kB/m;

/** The program the shell would run, with links resolved (the report names the real binary). */
export function findOnPath(bin: string): string | undefined {
  const found = findProgram(bin);
  return found === undefined ? undefined : fs.realpathSync(found);
}

/** The PMD plugin directory (pkg-config's pmdsdir is unset on Debian). */
export function pmdsDir(): string | undefined {
  let arches: string[];
  try {
    arches = fs.readdirSync(LIB_ROOT);
  } catch {
    return undefined;
  }
  for (const arch of arches) {
    const dpdk = path.join(LIB_ROOT, arch, 'dpdk');
    let entries: string[];
    try {
      entries = fs.readdirSync(dpdk);
    } catch {
      continue;
    }
    for (const e of entries.filter((n) => n.startsWith('pmds-')).sort()) return path.join(dpdk, e);
  }
  return undefined;
}

/** Shared libraries a binary names in DT_NEEDED. */
export function neededLibraries(binary: string): string[] {
  const r = spawnSync('readelf', ['-d', binary], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`readelf -d ${binary} failed: ${r.stderr || r.error?.message}`);
  return [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
}

/**
 * The library a secondary must preload so that its mempool ops table has the
 * primary's order: needed only when the primary links the dpaa mempool
 * driver itself (Debian's testpmd does); a secondary that loads it anyway
 * beside a primary that does not would get the mismatch the other way round.
 */
export function mempoolPreloadFor(primaryBinary: string): string | undefined {
  const dpaa = neededLibraries(primaryBinary).find((l) => l.startsWith(MEMPOOL_DPAA));
  if (dpaa === undefined) return undefined;
  const dir = pmdsDir();
  const lib = dir === undefined ? undefined : path.join(dir, dpaa);
  if (lib === undefined || !fs.existsSync(lib)) {
    throw new Error(
      `${primaryBinary} links ${dpaa} but it is not in the PMD directory (${dir ?? 'not found'}); the peer tools would capture nothing`,
    );
  }
  return lib;
}

/** dpdk-dumpcap releases before 22.11.x's backport only attach to the default prefix 'rte'. */
export function dumpcapAcceptsFilePrefix(): boolean {
  const r = spawnSync('dpdk-dumpcap', ['--help'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.includes('--file-prefix');
}

export function toolVersion(bin: string, args: string[]): string {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  return (
    text
      .split('\n')
      .find((l) => /\d+\.\d+/.test(l))
      ?.trim() ?? 'unknown'
  );
}

export function dpdkVersion(): string {
  const r = spawnSync('pkg-config', ['--modversion', 'libdpdk'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

export function hugepagesFreeBytes(): number {
  const info = fs.readFileSync('/proc/meminfo', 'utf8');
  const free = Number(HUGEPAGES_FREE.exec(info)?.[1] ?? 0);
  const sizeKb = Number(HUGEPAGE_SIZE_KB.exec(info)?.[1] ?? 0);
  return free * sizeKb * 1024;
}

export interface MachineInfo {
  cpu_model: string;
  cpus: number;
  memory_gb: number;
  kernel: string;
  node: string;
  dpdk: string;
  hostname: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    dpdk: dpdkVersion(),
    hostname: os.hostname(),
  };
}
