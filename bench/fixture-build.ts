/**
 * Builds the paced C primary (test/fixtures/primary.c) for the benchmark,
 * into the build output rather than next to its source, and only when the
 * source is newer than the binary.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../src/main/core/paths';

const SOURCE = path.join('test', 'fixtures', 'primary.c');
const OUTPUT = path.join('dist', 'bench', 'build', 'primary');

/** The checkout this module runs from, compiled (dist/bench) or not (bench). */
export function repoRoot(): string {
  return PACKAGE_ROOT;
}

function pkgConfig(flag: string): string[] {
  return execFileSync('pkg-config', [flag, 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
}

function upToDate(binary: string, source: string): boolean {
  try {
    return fs.statSync(binary).mtimeMs >= fs.statSync(source).mtimeMs;
  } catch {
    return false;
  }
}

export function buildFixturePrimary(root = repoRoot()): string {
  const source = path.join(root, SOURCE);
  const binary = path.join(root, OUTPUT);
  if (upToDate(binary, source)) return binary;
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  // A concurrent build must never see a half-written binary.
  const tmp = `${binary}.${process.pid}.tmp`;
  const args = ['-O2', '-std=c11', ...pkgConfig('--cflags'), source, '-o', tmp, ...pkgConfig('--libs'), '-lrte_pdump'];
  const r = spawnSync('cc', args, { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`building ${source} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
  }
  fs.renameSync(tmp, binary);
  return binary;
}
