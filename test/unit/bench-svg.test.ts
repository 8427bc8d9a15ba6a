import { describe, expect, it } from 'vitest';
import { escapeXml, niceCeiling, renderSvg } from '../../bench/report-svg';
import { FULL_SCENARIOS } from '../../bench/scenarios';
import type { Summary, ToolSummary } from '../../bench/summary';

/**
 * Enough of an XML parser to prove well-formedness: one root, every tag
 * closed in order, quoted attributes, no stray '<' or bare '&' in text.
 */
function checkWellFormed(xml: string): string[] {
  const errors: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g;
  let last = 0;
  const checkText = (text: string): void => {
    if (text.includes('<') || text.includes('>')) errors.push(`stray angle bracket in ${JSON.stringify(text.slice(0, 40))}`);
    for (const m of text.matchAll(/&/g)) {
      if (!/^&(lt|gt|amp|apos|quot|#\d+|#x[0-9a-fA-F]+);/.test(text.slice(m.index))) errors.push(`bare & in ${JSON.stringify(text.slice(0, 40))}`);
    }
  };
  for (const m of xml.matchAll(token)) {
    checkText(xml.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2] === undefined) continue;
    const [, closing, name, attrs, selfClosing] = m;
    const attrNames = [...(attrs ?? '').matchAll(/([\w:.-]+)\s*=/g)].map((a) => a[1]);
    if (new Set(attrNames).size !== attrNames.length) errors.push(`duplicate attribute in <${name}>`);
    for (const v of (attrs ?? '').matchAll(/=\s*(?:"([^"]*)"|'([^']*)')/g)) checkText(v[1] ?? v[2] ?? '');
    if (closing) {
      const open = stack.pop();
      if (open !== name) errors.push(`</${name}> closes <${open}>`);
    } else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) {
      roots++;
    }
  }
  checkText(xml.slice(last));
  if (stack.length > 0) errors.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) errors.push(`${roots} root elements`);
  return errors;
}

function tool(pps: number | null, extra: Partial<ToolSummary> = {}): ToolSummary {
  return {
    captured_pps: pps,
    captured_pps_min: pps === null ? null : pps * 0.9,
    captured_pps_max: pps === null ? null : pps * 1.1,
    captured_mbps: null,
    zero_loss_pps: null,
    cpu_s: 1,
    loss: 0,
    drops_reported: null,
    primary_vs_baseline: null,
    runs: 3,
    failed: 0,
    ...extra,
  };
}

const ratios = { 'burstcap_vs_dpdk-pdump': 2, 'burstcap_vs_dpdk-dumpcap': 1.5 };
const fixed = FULL_SCENARIOS.filter((s) => s.kind === 'fixed').slice(0, 2);
const zeroLoss = FULL_SCENARIOS.find((s) => s.kind === 'zero-loss')!;
const summary = {
  [fixed[0]!.name]: { burstcap: tool(4e6), 'dpdk-pdump': tool(1e6), 'dpdk-dumpcap': tool(2e6), ratios },
  [fixed[1]!.name]: { burstcap: tool(3e6), 'dpdk-pdump': tool(null), 'dpdk-dumpcap': tool(null, { skipped: 'rx only' }), ratios },
  [zeroLoss.name]: { burstcap: tool(5e5, { zero_loss_pps: 2.5e5 }), 'dpdk-pdump': tool(2e5, { zero_loss_pps: 1e5 }), ratios },
} as unknown as Summary;

describe('renderSvg', () => {
  const svg = renderSvg([...fixed, zeroLoss], summary, ['burstcap', 'dpdk-pdump', 'dpdk-dumpcap'], 'bench <test> & "chart"');

  it('is well-formed SVG with the SVG namespace and a size', () => {
    expect(checkWellFormed(svg)).toEqual([]);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
  });

  it('draws one bar per tool with a value, skipping tools without one', () => {
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(3 + 1 + 2);
    expect(svg).toContain('<title>burstcap: 4.000 Mpps</title>');
    expect(svg).not.toContain('dpdk-dumpcap: 0');
  });

  it('charts the zero-loss rate for a zero-loss scenario', () => {
    expect(svg).toContain('<title>burstcap: 0.250 Mpps</title>');
    expect(svg).toContain(`${zeroLoss.name} (zero-loss rate)`);
  });

  it('escapes text', () => {
    expect(svg).toContain('bench &lt;test&gt; &amp; &quot;chart&quot;');
  });

  it('stays well-formed with nothing to draw', () => {
    expect(checkWellFormed(renderSvg([], {}, [], 'empty'))).toEqual([]);
  });

  it('the checker itself rejects broken XML', () => {
    expect(checkWellFormed('<svg><g></svg>')).not.toEqual([]);
    expect(checkWellFormed('<svg>a & b</svg>')).not.toEqual([]);
    expect(checkWellFormed('<svg/><svg/>')).not.toEqual([]);
  });
});

describe('niceCeiling and escapeXml', () => {
  it.each([
    [0.7, 1],
    [1, 1],
    [1.2, 2],
    [2.2, 2.5],
    [4, 5],
    [7, 10],
    [42, 50],
    [0, 1],
  ])('rounds %s up to %s', (v, want) => {
    expect(niceCeiling(v)).toBe(want);
  });

  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href='x'>"&"</a>`)).toBe('&lt;a href=&apos;x&apos;&gt;&quot;&amp;&quot;&lt;/a&gt;');
  });
});
