/**
 * The control blocks each drain worker shares with the main thread: one
 * BigInt64Array per worker and one shared by all of a capture's workers, over
 * SharedArrayBuffers. Their layout is defined once, in
 * native/src/control_layout.h; the addon exports it by name and this module
 * reads it from there (on first use, so that importing burstcap does not load
 * the addon). The names below are only the TypeScript spelling of that table:
 * a name the addon does not export is an error at the first capture.
 */
import { BurstcapError } from '../main/core/errors';
import { native } from '../main/core/native';

const SLOT_NAMES = [
  'Control',
  'Packets',
  'Bytes',
  'WireBytes',
  'Bursts',
  'Errno',
  'Malformed',
  'OverQuota',
  'Queued',
  'Polling',
  'Tid',
  'Cpu',
  'FilesClosed',
  'FileBytes',
  'FilesFull',
] as const;
const CONTROL_NAMES = ['Run', 'Finish', 'Abort'] as const;
const SHARED_SLOT_NAMES = ['Quota', 'ClockOffset'] as const;

export type SlotName = (typeof SLOT_NAMES)[number];
export type ControlName = (typeof CONTROL_NAMES)[number];
export type SharedSlotName = (typeof SHARED_SLOT_NAMES)[number];

export interface ControlLayout {
  slots: Record<SlotName, number>;
  slotCount: number;
  control: Record<ControlName, number>;
  sharedSlots: Record<SharedSlotName, number>;
  sharedSlotCount: number;
  offsetUndecided: bigint;
}

function checkNames<N extends string>(table: Record<string, number>, names: readonly N[], what: string): Record<N, number> {
  for (const name of names) {
    if (typeof table[name] !== 'number') {
      throw new BurstcapError(
        'ADDON_MISMATCH',
        `the native addon defines no ${what} '${name}': it was built from other sources; run 'npm run build'`,
      );
    }
  }
  return table;
}

let layout: ControlLayout | undefined;

export function controlLayout(): ControlLayout {
  if (layout !== undefined) return layout;
  const raw = native.controlLayout();
  layout = {
    ...raw,
    slots: checkNames(raw.slots, SLOT_NAMES, 'control slot'),
    control: checkNames(raw.control, CONTROL_NAMES, 'control value'),
    sharedSlots: checkNames(raw.sharedSlots, SHARED_SLOT_NAMES, 'shared slot'),
  };
  return layout;
}

/** Index of a worker's slot. */
export function slot(name: SlotName): number {
  return controlLayout().slots[name];
}

/** A value main writes into the Control slot. */
export function control(name: ControlName): bigint {
  return BigInt(controlLayout().control[name]);
}

export function newControlBlock(): SharedArrayBuffer {
  return new SharedArrayBuffer(controlLayout().slotCount * BigInt64Array.BYTES_PER_ELEMENT);
}

export function newSharedBlock(count: number | undefined): SharedArrayBuffer {
  const l = controlLayout();
  const sab = new SharedArrayBuffer(l.sharedSlotCount * BigInt64Array.BYTES_PER_ELEMENT);
  const slots = new BigInt64Array(sab);
  Atomics.store(slots, l.sharedSlots.Quota, BigInt(count ?? -1));
  Atomics.store(slots, l.sharedSlots.ClockOffset, l.offsetUndecided);
  return sab;
}
