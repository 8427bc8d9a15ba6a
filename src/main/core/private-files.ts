/**
 * Captures hold other people's traffic, so burstcap keeps its files private.
 * Outputs are created 0600, or 0640 with -g/--group-read (as dumpcap does),
 * never wider than the umask allows. Temporary files (per-queue parts,
 * staged vdev outputs) live in a directory made with mkdtemp(3), mode 0700,
 * and are created there with O_EXCL|O_NOFOLLOW: nobody else can read them,
 * swap them for a symlink, or plant a file at a name burstcap will use.
 */
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const GROUP_READ_FILE_MODE = 0o640;

const UMASK_LINE = /^Umask:\s*([0-7]+)$/m;

/**
 * The process umask, read without changing it: process.umask(mask) would
 * briefly widen it for every thread that creates a file meanwhile.
 */
export function currentUmask(): number {
  try {
    const m = UMASK_LINE.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return parseInt(m[1]!, 8);
  } catch {
    // No /proc: fall through.
  }
  return process.umask();
}

/** The mode of a new output file: private or group-readable, and no wider than the umask. */
export function outputMode(groupRead: boolean): number {
  return (groupRead ? GROUP_READ_FILE_MODE : PRIVATE_FILE_MODE) & ~currentUmask();
}

export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/** A new directory `<parent>/<prefix>XXXXXX` that only this user can enter (mkdtemp creates it 0700). */
export function makePrivateDir(parent: string, prefix: string): string {
  return fs.mkdtempSync(path.join(parent, prefix));
}

/** Removes a directory made by makePrivateDir and whatever burstcap left in it. */
export function removePrivateDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Opens `file` for writing with `mode`, also when it already exists (open(2)
 * applies the mode to new files only, and the file now receives packets).
 * exclusive: the file must be new, and a symlink at its path is refused.
 */
export function openPrivateFile(file: string, mode: number, exclusive: boolean): number {
  const { O_WRONLY, O_CREAT, O_TRUNC, O_EXCL, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(file, O_WRONLY | O_CREAT | (exclusive ? O_EXCL | O_NOFOLLOW : O_TRUNC), mode);
  try {
    // Regular files only: run as root, a chmod of /dev/null or /dev/stdout
    // would change the device for everyone.
    const st = fs.fstatSync(fd);
    if (st.isFile() && (st.mode & 0o7777) !== mode) fs.fchmodSync(fd, mode);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/** Writes `text` to `file` with `mode` (see openPrivateFile). */
export function writePrivateFile(file: string, text: string, mode: number): void {
  const fd = openPrivateFile(file, mode, false);
  try {
    fs.writeFileSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}
