/**
 * Where burstcap's own files are, found once by walking up from this module
 * to burstcap's package.json. The answer is the same from the compiled tree
 * (dist/src/...), from the sources (tests run them) and from an installed
 * package, so no module counts '..' for itself and a move cannot break one.
 */
import fs from 'node:fs';
import path from 'node:path';

const PACKAGE_NAME = 'burstcap';

interface PackageJson {
  name?: string;
  version?: string;
}

function readPackage(dir: string): PackageJson | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (readPackage(dir)?.name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no ${PACKAGE_NAME} package.json above ${from}`);
  }
}

/** The checkout or installed package this module belongs to. */
export const PACKAGE_ROOT = findRoot(__dirname);

/** The version in package.json, which sits outside the compiled tree and is read, not imported. */
export function packageVersion(): string {
  return readPackage(PACKAGE_ROOT)?.version ?? 'unknown';
}

/** The compiled CLI: what child processes (demo, batch jobs, tests) run. */
export const CLI_SCRIPT = path.join(PACKAGE_ROOT, 'dist', 'src', 'main', 'cli', 'cli.js');

/**
 * Names the DPDK release whose addon build to load (`BURSTCAP_DPDK=24.11`):
 * `node scripts/build-addon.js --for 24.11` builds it beside the default one,
 * which is built against the DPDK pkg-config finds (Debian's 22.11).
 */
export const DPDK_RELEASE_ENV = 'BURSTCAP_DPDK';

/** The release named by BURSTCAP_DPDK, or undefined for the default build. */
export function selectedDpdkRelease(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[DPDK_RELEASE_ENV]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The native addon as node-gyp builds it: the default build, or the one for the selected release. */
export function addonFile(release: string | undefined = selectedDpdkRelease()): string {
  const dir = release === undefined ? path.join(PACKAGE_ROOT, 'native') : path.join(PACKAGE_ROOT, 'native', `build-${release}`);
  return path.join(dir, 'build', 'Release', 'burstcap.node');
}
