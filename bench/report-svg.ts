/**
 * The chart of the report: captured Mpps per tool, grouped by scenario, with
 * the min-max over rounds as a whisker (zero-loss scenarios show the
 * zero-loss rate). Plain SVG 1.1, so a browser shows the file as it is.
 */
import type { Scenario } from './scenarios';
import { toolEntries, type Summary } from './summary';

const WIDTH_PER_BAR = 28;
const GROUP_GAP = 36;
const MARGIN = { left: 64, right: 24, top: 70, bottom: 90 };
const PLOT_HEIGHT = 300;
const Y_TICKS = 5;
const LEGEND_STEP = 150;
const COLORS = ['#1f77b4', '#aec7e8', '#d62728', '#2ca02c', '#98df8a', '#9467bd', '#8c564b'];
const MPPS = 1e6;

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/** A round axis maximum: 1, 2, 2.5 or 5 times a power of ten, at least `v`. */
export function niceCeiling(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

interface Bar {
  tool: string;
  value: number;
  min: number | null;
  max: number | null;
}

function barsOf(s: Scenario, summary: Summary, tools: readonly string[]): Bar[] {
  const sum = summary[s.name];
  if (!sum) return [];
  const entries = new Map(toolEntries(sum));
  return tools.flatMap((tool) => {
    const t = entries.get(tool);
    if (!t || t.skipped) return [];
    const zero = s.kind === 'zero-loss';
    const value = zero ? t.zero_loss_pps : t.captured_pps;
    if (value === null) return [];
    return [
      {
        tool,
        value: value / MPPS,
        min: zero || t.captured_pps_min === null ? null : t.captured_pps_min / MPPS,
        max: zero || t.captured_pps_max === null ? null : t.captured_pps_max / MPPS,
      },
    ];
  });
}

export function renderSvg(scenarios: readonly Scenario[], summary: Summary, tools: readonly string[], title: string): string {
  const groups = scenarios.map((s) => ({ s, bars: barsOf(s, summary, tools) })).filter((g) => g.bars.length > 0);
  const slots = Math.max(1, ...groups.map((g) => g.bars.length));
  const groupWidth = slots * WIDTH_PER_BAR;
  const plotWidth = Math.max(1, groups.length) * (groupWidth + GROUP_GAP);
  const width = MARGIN.left + MARGIN.right + Math.max(plotWidth, tools.length * LEGEND_STEP);
  const height = MARGIN.top + PLOT_HEIGHT + MARGIN.bottom;
  const top = niceCeiling(Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => Math.max(b.value, b.max ?? 0)))));
  const y = (v: number): number => MARGIN.top + PLOT_HEIGHT - (v / top) * PLOT_HEIGHT;
  const color = (tool: string): string => COLORS[Math.max(0, tools.indexOf(tool)) % COLORS.length]!;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${MARGIN.left}" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  tools.forEach((tool, i) => {
    const x = MARGIN.left + i * LEGEND_STEP;
    parts.push(`<rect x="${x}" y="32" width="12" height="12" fill="${color(tool)}"/>`);
    parts.push(`<text x="${x + 16}" y="42">${escapeXml(tool)}</text>`);
  });
  for (let i = 0; i <= Y_TICKS; i++) {
    const v = (top * i) / Y_TICKS;
    const yy = y(v).toFixed(1);
    parts.push(`<line x1="${MARGIN.left}" y1="${yy}" x2="${width - MARGIN.right}" y2="${yy}" stroke="#dddddd"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${Number(v.toPrecision(3))}</text>`);
  }
  const midY = MARGIN.top + PLOT_HEIGHT / 2;
  parts.push(`<text x="16" y="${midY}" transform="rotate(-90 16 ${midY})" text-anchor="middle">captured Mpps (median; whisker: min-max)</text>`);
  groups.forEach((g, gi) => {
    const gx = MARGIN.left + GROUP_GAP / 2 + gi * (groupWidth + GROUP_GAP);
    g.bars.forEach((b, bi) => {
      const x = gx + bi * WIDTH_PER_BAR;
      const yb = y(b.value);
      parts.push(
        `<rect x="${x + 2}" y="${yb.toFixed(1)}" width="${WIDTH_PER_BAR - 4}" height="${(MARGIN.top + PLOT_HEIGHT - yb).toFixed(1)}" fill="${color(b.tool)}"><title>${escapeXml(`${b.tool}: ${b.value.toFixed(3)} Mpps`)}</title></rect>`,
      );
      if (b.min !== null && b.max !== null) {
        const cx = (x + WIDTH_PER_BAR / 2).toFixed(1);
        parts.push(`<line x1="${cx}" y1="${y(b.min).toFixed(1)}" x2="${cx}" y2="${y(b.max).toFixed(1)}" stroke="#333333"/>`);
      }
      parts.push(
        `<text x="${(x + WIDTH_PER_BAR / 2).toFixed(1)}" y="${(yb - 4).toFixed(1)}" text-anchor="middle" font-size="9">${b.value.toFixed(2)}</text>`,
      );
    });
    const label = g.s.kind === 'zero-loss' ? `${g.s.name} (zero-loss rate)` : g.s.name;
    const lx = (gx + (g.bars.length * WIDTH_PER_BAR) / 2).toFixed(1);
    const ly = MARGIN.top + PLOT_HEIGHT + 14;
    parts.push(`<text x="${lx}" y="${ly}" text-anchor="end" transform="rotate(-30 ${lx} ${ly})">${escapeXml(label)}</text>`);
  });
  parts.push(
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + PLOT_HEIGHT}" x2="${width - MARGIN.right}" y2="${MARGIN.top + PLOT_HEIGHT}" stroke="#000000"/>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
