// The release checks that run before EAL: which build is loaded, what
// release a primary runs, and the refusal when the two differ.
import { describe, expect, it } from 'vitest';
import { dpdkRelease } from '../../src/main/core/native';
import { addonFile, selectedDpdkRelease } from '../../src/main/core/paths';
import { versionMismatch } from '../../src/main/primary/inspect';
import { versionOfConfigHeader } from '../../src/main/primary/runtime-dir';
import { releaseOfEalAbi } from '../../src/main/primary/unattachable';

const RTE_MAGIC = 19820526;

function configHeader(year: number, month: number, minor: number, magic = RTE_MAGIC): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(magic, 0);
  b.writeUInt32LE(((year << 24) | (month << 16) | (minor << 8)) >>> 0, 4);
  return b;
}

describe('DPDK releases', () => {
  it('reads the release from a version string', () => {
    expect(dpdkRelease('DPDK 22.11.11')).toBe('22.11');
    expect(dpdkRelease('DPDK 24.11.0')).toBe('24.11');
    expect(dpdkRelease('24.11')).toBe('24.11');
  });

  it('selects the addon build by BURSTCAP_DPDK', () => {
    expect(selectedDpdkRelease({})).toBeUndefined();
    expect(selectedDpdkRelease({ BURSTCAP_DPDK: ' ' })).toBeUndefined();
    expect(selectedDpdkRelease({ BURSTCAP_DPDK: '24.11' })).toBe('24.11');
    expect(addonFile(undefined)).toMatch(/\/native\/build\/Release\/burstcap\.node$/);
    expect(addonFile('24.11')).toMatch(/\/native\/build-24\.11\/build\/Release\/burstcap\.node$/);
  });

  it('names the release of a librte_eal ABI version', () => {
    expect(releaseOfEalAbi('23.0')).toBe('22.11');
    expect(releaseOfEalAbi('25.0')).toBe('24.11');
    expect(releaseOfEalAbi('24.1')).toBe('24.03');
    expect(releaseOfEalAbi('24.2')).toBe('24.07');
    expect(releaseOfEalAbi('24.3')).toBeUndefined();
    expect(releaseOfEalAbi('')).toBeUndefined();
  });

  it('reads the primary release from its shared config header', () => {
    expect(versionOfConfigHeader(configHeader(24, 11, 0))).toBe('DPDK 24.11.0');
    expect(versionOfConfigHeader(configHeader(22, 11, 11))).toBe('DPDK 22.11.11');
    expect(versionOfConfigHeader(configHeader(23, 3, 0))).toBe('DPDK 23.03.0');
    expect(versionOfConfigHeader(configHeader(24, 11, 0, 0))).toBeUndefined();
    expect(versionOfConfigHeader(Buffer.alloc(4))).toBeUndefined();
  });

  it('refuses another release, naming both and how to build for the primary', () => {
    expect(versionMismatch('DPDK 22.11.5', 'DPDK 22.11.11', undefined)).toBeUndefined();
    const why = versionMismatch('DPDK 24.11.0', 'DPDK 22.11.11', undefined);
    expect(why).toContain('the primary runs DPDK 24.11.0 but burstcap (the default build) is built against DPDK 22.11.11');
    expect(why).toContain('node scripts/build-addon.js --for 24.11');
    expect(why).toContain('BURSTCAP_DPDK=24.11');
    const back = versionMismatch('DPDK 22.11.11', 'DPDK 24.11.0', '24.11');
    expect(back).toContain('burstcap (the build BURSTCAP_DPDK=24.11 selects) is built against DPDK 24.11.0');
    expect(back).toContain('unset BURSTCAP_DPDK');
    const unsupported = versionMismatch('DPDK 23.11.2', 'DPDK 22.11.11', undefined);
    expect(unsupported).toContain('the primary runs DPDK 23.11.2');
    expect(unsupported).toContain('burstcap supports DPDK 22.11 and 24.11 only');
    expect(unsupported).not.toContain('--for');
  });
});
