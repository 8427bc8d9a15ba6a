/**
 * Proof of ownership for what a capture creates in the primary. Before it
 * creates a ring, a pool, a vdev or a callback, a capture writes the name into
 * its owner record, a file in the primary's runtime directory on which it
 * holds an flock for as long as it lives. The kernel drops the lock however
 * the capture dies, in any PID namespace; so a record whose lock is free
 * proves that everything it lists belongs to a dead capture, and a later
 * capture or `burstcap cleanup` may remove exactly that, and nothing that
 * merely looks like it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CallbackRef } from '../core/native';
import { native } from '../core/native';
import { captureTag } from '../core/object-names';
import { runtimeDir } from '../primary/runtime-dir';

const RECORD_PREFIX = 'burstcap.';
const RECORD_SUFFIX = '.owner';
const RECORD_VERSION = 1;
/** Tags of processes with the same pid in other PID namespaces: bc<pid>, bc<pid>a, ... */
const TAG_SUFFIXES = ['', ...'abcdefghijklmnopqrstuvwxyz'];

export type OwnedKind = 'ring' | 'pool' | 'vdev';

export interface OwnerRecordData {
  tool: 'burstcap';
  version: number;
  pid: number;
  tag: string;
  /** The EAL multi-process socket of the owner: names it among the primary's secondaries. */
  mpSocket: string | undefined;
  capturing: boolean;
  rings: string[];
  pools: string[];
  vdevs: string[];
  /** Callbacks asked for (answered or not); removed once the primary acknowledged their disable. */
  callbacks: CallbackRef[];
  /** Set when the owner exited leaving objects in place, with why. */
  leftInPlace: string | undefined;
}

export interface FoundRecord {
  file: string;
  data: OwnerRecordData | undefined;
  /** Its owner still holds the lock. */
  live: boolean;
}

const LISTS: Record<OwnedKind, 'rings' | 'pools' | 'vdevs'> = { ring: 'rings', pool: 'pools', vdev: 'vdevs' };

function recordFile(prefix: string, tag: string): string {
  return path.join(runtimeDir(prefix), `${RECORD_PREFIX}${tag}${RECORD_SUFFIX}`);
}

function ownSocket(prefix: string): string | undefined {
  const mine = `mp_socket_${process.pid}_`;
  try {
    const dir = runtimeDir(prefix);
    const found = fs
      .readdirSync(dir)
      .filter((e) => e.startsWith(mine))
      .map((e) => ({ e, t: fs.statSync(path.join(dir, e)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    return found[0]?.e;
  } catch {
    return undefined;
  }
}

export class OwnerRecord {
  readonly #file: string;
  readonly #fd: number;
  readonly #data: OwnerRecordData;
  #closed = false;

  private constructor(file: string, fd: number, data: OwnerRecordData) {
    this.#file = file;
    this.#fd = fd;
    this.#data = data;
    this.#write();
  }

  /** Takes a record for this process; call once EAL is attached (its socket exists then). */
  static open(prefix: string, capturing: boolean): OwnerRecord {
    for (const suffix of TAG_SUFFIXES) {
      const tag = captureTag(process.pid, suffix);
      const file = recordFile(prefix, tag);
      const fd = native.lockFile(file, true);
      if (fd < 0) continue; // a live process of another PID namespace has this pid
      return new OwnerRecord(file, fd, {
        tool: 'burstcap',
        version: RECORD_VERSION,
        pid: process.pid,
        tag,
        mpSocket: ownSocket(prefix),
        capturing,
        rings: [],
        pools: [],
        vdevs: [],
        callbacks: [],
        leftInPlace: undefined,
      });
    }
    throw new Error(`every owner record name for pid ${process.pid} is held`);
  }

  get tag(): string {
    return this.#data.tag;
  }

  get file(): string {
    return this.#file;
  }

  /** Written before the object is created, so that no kill can leave it unlisted. */
  add(kind: OwnedKind, name: string): void {
    this.#data[LISTS[kind]].push(name);
    this.#write();
  }

  remove(kind: OwnedKind, name: string): void {
    const list = this.#data[LISTS[kind]];
    const i = list.indexOf(name);
    if (i >= 0) list.splice(i, 1);
    this.#write();
  }

  addCallbacks(refs: readonly CallbackRef[]): void {
    this.#data.callbacks.push(...refs);
    this.#write();
  }

  /** The callbacks that may still be installed: the rest were refused or acknowledged removed. */
  setCallbacks(refs: readonly CallbackRef[]): void {
    this.#data.callbacks = [...refs];
    this.#write();
  }

  /**
   * Ends the record: deleted when nothing it lists remains, else kept (the
   * lock released) with the reason, for a later cleanup to act on.
   */
  close(leftInPlace: string | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    const d = this.#data;
    const empty = d.rings.length + d.pools.length + d.vdevs.length + d.callbacks.length === 0;
    if (empty) fs.rmSync(this.#file, { force: true });
    else {
      d.leftInPlace = leftInPlace ?? 'the capture ended before removing them';
      this.#write();
    }
    native.unlockFile(this.#fd);
  }

  #write(): void {
    // In place, not by rename: the lock belongs to this inode.
    fs.writeFileSync(this.#file, `${JSON.stringify(this.#data, null, 2)}\n`, { mode: 0o600 });
  }
}

function parseRecord(text: string): OwnerRecordData | undefined {
  try {
    const d = JSON.parse(text) as Partial<OwnerRecordData>;
    if (d.tool !== 'burstcap' || typeof d.tag !== 'string' || !Array.isArray(d.rings) || !Array.isArray(d.pools)) return undefined;
    return { vdevs: [], callbacks: [], mpSocket: undefined, leftInPlace: undefined, capturing: true, ...d } as OwnerRecordData;
  } catch {
    return undefined;
  }
}

/** Every owner record of this primary; `live` is read before the contents, which a dead owner can no longer change. */
export function ownerRecords(prefix: string): FoundRecord[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(runtimeDir(prefix));
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.startsWith(RECORD_PREFIX) && e.endsWith(RECORD_SUFFIX))
    .map((e) => {
      const file = path.join(runtimeDir(prefix), e);
      const live = native.lockHeld(file);
      let data: OwnerRecordData | undefined;
      try {
        data = parseRecord(fs.readFileSync(file, 'utf8'));
      } catch {
        data = undefined;
      }
      return { file, data, live };
    });
}
