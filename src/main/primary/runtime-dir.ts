/**
 * Where a DPDK primary keeps its runtime files, and which primaries are alive.
 * DPDK's rule (eal_create_runtime_dir): root uses /var/run/dpdk, other users
 * $XDG_RUNTIME_DIR/dpdk, else /tmp/dpdk; one directory per --file-prefix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { native } from '../core/native';

export function dpdkRuntimeRoot(): string {
  if (process.getuid?.() === 0) return '/var/run/dpdk';
  return path.join(process.env['XDG_RUNTIME_DIR'] ?? '/tmp', 'dpdk');
}

export function runtimeDir(prefix: string): string {
  return path.join(dpdkRuntimeRoot(), prefix);
}

export function configPath(prefix: string): string {
  return path.join(runtimeDir(prefix), 'config');
}

/** RTE_MAGIC, the first word of EAL's shared config (struct rte_mem_config in lib/eal/common/eal_memcfg.h). */
const MEM_CONFIG_MAGIC = 19820526;
const MEM_CONFIG_HEADER_BYTES = 8;

/**
 * "DPDK 24.11.0" from a shared config's header: its magic, then the
 * RTE_VERSION of the primary that wrote it (year << 24 | month << 16 |
 * minor << 8 | release), which EAL itself compares when a secondary joins,
 * after mapping the primary's memory. The same two words since DPDK 19.11.
 * Undefined for anything else. Pure.
 */
export function versionOfConfigHeader(header: Buffer): string | undefined {
  if (header.length < MEM_CONFIG_HEADER_BYTES || header.readUInt32LE(0) !== MEM_CONFIG_MAGIC) return undefined;
  const v = header.readUInt32LE(4);
  return `DPDK ${v >>> 24}.${String((v >>> 16) & 0xff).padStart(2, '0')}.${(v >>> 8) & 0xff}`;
}

/** The release of the primary that wrote this prefix's shared config, read (not mapped) before EAL is initialised. */
export function configVersion(prefix: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(configPath(prefix), 'r');
    const header = Buffer.alloc(MEM_CONFIG_HEADER_BYTES);
    return fs.readSync(fd, header, 0, header.length, 0) === header.length ? versionOfConfigHeader(header) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function telemetrySocket(prefix: string): string {
  return path.join(runtimeDir(prefix), 'dpdk_telemetry.v2');
}

/** Pid of the live primary for this prefix, or 0 when none holds its config lock. */
export function primaryPid(prefix: string): number {
  return native.primaryPid(configPath(prefix));
}

export interface RunningPrimary {
  prefix: string;
  pid: number;
}

/** Every prefix with a live primary: the answer to "which --file-prefix?". */
export function runningPrimaries(): RunningPrimary[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dpdkRuntimeRoot());
  } catch {
    return [];
  }
  return entries
    .map((prefix) => ({ prefix, pid: primaryPid(prefix) }))
    .filter((p) => p.pid > 0)
    .sort((a, b) => a.prefix.localeCompare(b.prefix));
}

/** A process that exists and has not died: a zombie (killed, not yet reaped) counts as dead. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** The primary of `prefix` is still the live process `pid` (its config lock dies with it). */
export function primaryStillAlive(prefix: string, pid: number): boolean {
  return isAlive(pid) && primaryPid(prefix) === pid;
}
