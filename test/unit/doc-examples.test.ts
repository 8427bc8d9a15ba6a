// Every tuple shown to users, in the README and in --help, must parse: a
// copied example that fails is the first thing a new user meets.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TUPLE_HELP } from '../../src/main/cli/cli';
import { parseTuple } from '../../src/main/options/tuple';

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const EXAMPLE = /--pdump '([^']+)'/g;
/** Placeholders and error-message excerpts, not examples. */
const NOT_EXAMPLES = new Set(['<tuple>', '...']);

function examplesIn(text: string): string[] {
  return [...text.matchAll(EXAMPLE)].map((m) => m[1]!).filter((t) => !NOT_EXAMPLES.has(t));
}

describe('documented examples', () => {
  it.each([
    ['README.md', README],
    ['capture --help', TUPLE_HELP],
  ])('every --pdump tuple in %s parses', (_where, text) => {
    const tuples = examplesIn(text);
    expect(tuples.length).toBeGreaterThan(2);
    const failures = tuples.flatMap((t) => {
      try {
        parseTuple(t);
        return [];
      } catch (err) {
        return [`${t}: ${(err as Error).message}`];
      }
    });
    expect(failures).toEqual([]);
  });
});
