/**
 * `burstcap extcap --install`: a launcher in Wireshark's personal extcap
 * folder, so that Wireshark, tshark and dumpcap list burstcap's interfaces
 * for this user. The folder is Wireshark's own answer (`tshark -G folders`),
 * never a guess: it moved between releases (4.0: <config>/extcap, 4.1 and
 * later: ~/.local/lib/wireshark/extcap) and follows HOME and XDG_CONFIG_HOME.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { findOnPath } from '../../core/find-on-path';
import { PACKAGE_ROOT } from '../../core/paths';
import { runtimeError } from '../../core/errors';

/** The launcher's file name: Wireshark shows no file names, but a user looking into the folder does. */
export const LAUNCHER_NAME = 'burstcap';
/** The second line of every launcher: how --install knows a file it may replace or remove. */
const LAUNCHER_MARK = '# burstcap extcap launcher';
const LAUNCHER_MODE = 0o755;
const TSHARK_TIMEOUT_MS = 30_000;

/**
 * The personal extcap folder in `tshark -G folders` output: its own line in
 * Wireshark 4.1 and later, else the `extcap` folder of the personal
 * configuration (4.0 and before). undefined when neither is there.
 */
export function personalExtcapFolder(foldersOutput: string): string | undefined {
  const folders = new Map<string, string>();
  for (const l of foldersOutput.split('\n')) {
    const colon = l.indexOf(':');
    if (colon > 0) folders.set(l.slice(0, colon).trim(), l.slice(colon + 1).trim());
  }
  const own = folders.get('Personal Extcap path');
  if (own) return own;
  const config = folders.get('Personal configuration');
  return config ? path.join(config, 'extcap') : undefined;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A shell script that runs `burstcap extcap` with this Node and this
 * installation: Wireshark starts extcaps with its own environment, where
 * neither may be on PATH. `exec`, so that Wireshark's SIGTERM reaches the
 * capture itself.
 */
export function launcherScript(nodePath: string, cliPath: string): string {
  return [
    '#!/bin/sh',
    LAUNCHER_MARK,
    "# Wireshark runs it to list and capture DPDK ports (dpdk:<file-prefix>:<port>); 'burstcap extcap --uninstall' removes it.",
    `exec ${shellQuote(nodePath)} ${shellQuote(cliPath)} extcap "$@"`,
    '',
  ].join('\n');
}

function findExtcapFolder(): string {
  const tshark = findOnPath('tshark');
  if (tshark === undefined) {
    throw runtimeError(
      'TSHARK_NOT_FOUND',
      'tshark is not on PATH: install Wireshark (Debian: apt-get install tshark), which also says where its extcap folder is',
    );
  }
  const r = spawnSync(tshark, ['-G', 'folders'], { encoding: 'utf8', timeout: TSHARK_TIMEOUT_MS });
  const folder = r.status === 0 ? personalExtcapFolder(r.stdout) : undefined;
  if (folder === undefined) {
    throw runtimeError(
      'EXTCAP_FOLDER_UNKNOWN',
      `'tshark -G folders' did not name a personal extcap folder (${r.error?.message ?? `exit ${r.status}`}): copy the launcher into the folder Wireshark's About > Folders shows`,
    );
  }
  return folder;
}

function isOurLauncher(file: string): boolean {
  try {
    return fs.readFileSync(file, 'utf8').split('\n')[1] === LAUNCHER_MARK;
  } catch {
    return false;
  }
}

/** Writes the launcher (replacing an older one of ours, never anything else) and says where. */
export function installLauncher(): string {
  const folder = findExtcapFolder();
  const file = path.join(folder, LAUNCHER_NAME);
  if (fs.existsSync(file) && !isOurLauncher(file)) {
    throw runtimeError('EXTCAP_NAME_TAKEN', `${file} exists and is not a burstcap launcher: move it away and install again`);
  }
  fs.mkdirSync(folder, { recursive: true });
  // Written beside it and renamed: Wireshark may run the folder's programs at any moment.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, launcherScript(process.execPath, path.join(PACKAGE_ROOT, 'bin', 'burstcap')), { mode: LAUNCHER_MODE });
  fs.chmodSync(tmp, LAUNCHER_MODE);
  fs.renameSync(tmp, file);
  return file;
}

/** Removes the launcher; returns its path, or undefined when there was none of ours. */
export function uninstallLauncher(): string | undefined {
  const file = path.join(findExtcapFolder(), LAUNCHER_NAME);
  if (!isOurLauncher(file)) return undefined;
  fs.rmSync(file);
  return file;
}
