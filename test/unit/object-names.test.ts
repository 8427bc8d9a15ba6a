import { describe, expect, it } from 'vitest';
import { captureTag, OBJECT_NAME_PATTERNS, poolName, ringName, vdevName } from '../../src/main/core/object-names';
import { captureObjects } from '../../src/main/leftovers/judge';

describe('object names', () => {
  it('are recognised again by the patterns cleanup uses, with the creating pid', () => {
    for (const tag of [captureTag(4242), captureTag(4242, 'b')]) {
      expect(OBJECT_NAME_PATTERNS.ring.exec(ringName(tag, 3))?.[1]).toBe('4242');
      expect(OBJECT_NAME_PATTERNS.pool.exec(poolName(tag, 0))?.[1]).toBe('4242');
      expect(OBJECT_NAME_PATTERNS.vdev.exec(vdevName(tag, 12))?.[1]).toBe('4242');
    }
  });
  it('fit DPDK ring and pool name limits for any pid and many rings', () => {
    const tag = captureTag(4194304, 'z');
    expect(ringName(tag, 127).length).toBeLessThanOrEqual(26);
    expect(poolName(tag, 127).length).toBeLessThanOrEqual(26);
  });
  it('are what cleanup finds among the memzones and ports a capture leaves', () => {
    const tag = captureTag(99, 'a');
    const zones = [
      `RG_${ringName(tag, 0)}`,
      `MP_${poolName(tag, 0)}`,
      `MP_${poolName(tag, 0)}_0`,
      `RG_MP_${poolName(tag, 0)}`,
      'MP_mbuf_pool_socket_0',
    ];
    const found = captureObjects(zones, [vdevName(tag, 0), 'net_null0']);
    expect(found.map((o) => `${o.kind}:${o.name}:${o.owner}`).sort()).toEqual(
      [`pool:${poolName(tag, 0)}:burstcap`, `ring:${ringName(tag, 0)}:burstcap`, `vdev:${vdevName(tag, 0)}:burstcap`].sort(),
    );
  });
  it('do not match each other', () => {
    const tag = captureTag(7);
    expect(OBJECT_NAME_PATTERNS.pool.test(ringName(tag, 1))).toBe(false);
    expect(OBJECT_NAME_PATTERNS.ring.test(poolName(tag, 1))).toBe(false);
  });
});
