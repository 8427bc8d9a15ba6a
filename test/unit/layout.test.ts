// The source layout's promise, checked: each stage of src/ imports only the
// stages below it, so a newcomer can read them bottom-up and a change low
// down cannot be surprised by a caller from above.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '..', '..', 'src');
/** Each stage may import the stages that come after it in this list, never one before it. */
const STAGES = ['index', 'cli', 'batch', 'api', 'doctor', 'capture', 'leftovers', 'attach', 'primary', 'workers', 'options', 'demo', 'pcap', 'core'];
/** Only the bench command reaches outside src/, and cli.ts loads it only for `burstcap bench`. */
const OUTSIDE_SRC_ALLOWED = new Set(['main/cli/commands/bench.ts']);
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'|import\s*\(?\s*'(\.{1,2}\/[^']+)'/g;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The stage a file under src/ belongs to: its folder under src/main, or src/workers, or the entry. */
function stageOf(file: string): string {
  const rel = path.relative(SRC, file).split(path.sep);
  if (rel[0] === 'index.ts') return 'index';
  if (rel[0] === 'workers') return 'workers';
  if (rel[0] === 'main' && rel.length === 2) return rel[1]!.replace(/\.ts$/, '');
  return rel[1]!;
}

describe('source layout', () => {
  const files = sourceFiles(SRC);

  it('puts every file in a named stage', () => {
    const unknown = files.filter((f) => !STAGES.includes(stageOf(f))).map((f) => path.relative(SRC, f));
    expect(unknown).toEqual([]);
  });

  it('imports only go down the stages, and nothing in src/ imports bench/ or test/ but the bench command', () => {
    const wrong: string[] = [];
    for (const file of files) {
      const from = stageOf(file);
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const target = path.resolve(path.dirname(file), m[1] ?? m[2]!);
        const rel = path.relative(SRC, file);
        if (path.relative(SRC, target).startsWith('..')) {
          if (!OUTSIDE_SRC_ALLOWED.has(rel)) wrong.push(`${rel} imports ${path.relative(SRC, target)} outside src/`);
          continue;
        }
        const to = stageOf(target);
        if (to !== from && STAGES.indexOf(to) <= STAGES.indexOf(from)) wrong.push(`${rel} (${from}) imports ${path.relative(SRC, target)} (${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
