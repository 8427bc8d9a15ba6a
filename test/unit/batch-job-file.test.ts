import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJobText, readJobDocument } from '../../src/main/batch/job-file';
import { expandPath, formatDate } from '../../src/main/batch/templates';
import { parseTuple } from '../../src/main/options/tuple';
import { rejected } from '../helpers/errors';

const FILE = 'jobs.json';
const DATE = '20260102-030405';

const read = (doc: unknown) => readJobDocument(doc, FILE, DATE);

describe('templates', () => {
  const tuple = parseTuple('port=3,queue=*,rx-dev=x');
  const values = { job: 'web', dir: '/caps', date: DATE };

  it("replaces {job}, {port}, {dir}, {date}, and {queue} by the capture's per-queue %q", () => {
    expect(expandPath('{dir}/{job}-p{port}-q{queue}-{date}.pcap', tuple, values, 'w')).toBe(`/caps/web-p3-q%q-${DATE}.pcap`);
  });

  it('keeps doubled braces as literal ones', () => {
    expect(expandPath('/x/{{a}}-{job}.pcap', tuple, values, 'w')).toBe('/x/{a}-web.pcap');
  });

  it('refuses an unknown template, a lone brace, {dir} without a dir, {port} of a device and a bare %q', () => {
    expect(rejected(() => expandPath('/x/{jbo}.pcap', tuple, values, 'w')).message).toMatch(/unknown template \{jbo\}/);
    expect(rejected(() => expandPath('/x/{job.pcap', tuple, values, 'w')).message).toMatch(/unmatched '\{'/);
    expect(rejected(() => expandPath('{dir}/a.pcap', tuple, { ...values, dir: undefined }, 'w')).message).toMatch(
      /no.*dir key|neither the job nor the defaults/,
    );
    expect(rejected(() => expandPath('/x/{port}.pcap', parseTuple('device_id=net_ring0,queue=0,rx-dev=x'), values, 'w')).message).toMatch(
      /\{port\} needs port=<id>/,
    );
    expect(rejected(() => expandPath('/x/rx-%q.pcap', tuple, values, 'w')).message).toMatch(/writes \{queue\} instead/);
  });

  it('formats the date as YYYYmmdd-HHMMSS', () => {
    expect(formatDate(new Date(2026, 0, 2, 3, 4, 5))).toBe('20260102-030405');
  });
});

describe('job file', () => {
  it("merges defaults into each job, expands templates and builds the child's arguments", () => {
    const jobs = read({
      defaults: { 'file-prefix': 'app', duration: 10, dir: '/caps', snaplen: 128 },
      jobs: [
        { name: 'a', pdump: 'port=0,queue=*,rx-dev={dir}/{job}-q{queue}.pcap', count: '100' },
        { name: 'b', 'file-prefix': 'other', pdump: ['port=1,queue=0,tx-dev=/t/{job}-{date}.pcap'], eal: ['-d', 'lib.so'], 'group-read': true },
      ],
    });
    expect(jobs.map((j) => j.name)).toEqual(['a', 'b']);
    expect(jobs[0]!.request).toMatchObject({ prefix: 'app', durationS: 10, snaplen: 128, count: 100 });
    expect(jobs[0]!.request.tuples[0]!.rxDev).toBe('/caps/a-q%q.pcap');
    expect(jobs[0]!.args).toEqual([
      '--file-prefix=app',
      '--pdump=port=0,queue=*,rx-dev=/caps/a-q%q.pcap',
      '--count=100',
      '--duration=10',
      '--snaplen=128',
    ]);
    expect(jobs[1]!.request).toMatchObject({ prefix: 'other', groupRead: true, extraEal: ['-d', 'lib.so'] });
    expect(jobs[1]!.args).toEqual([
      '--file-prefix=other',
      `--pdump=port=1,queue=0,tx-dev=/t/b-${DATE}.pcap`,
      '--duration=10',
      '--snaplen=128',
      '--group-read',
      '--eal=-d',
      '--eal=lib.so',
    ]);
  });

  it('passes stats-interval on, and expands a stats-json file per job', () => {
    const jobs = read({
      defaults: { dir: '/caps', 'stats-interval': '500ms', 'stats-json': '{dir}/{job}-{date}.ndjson' },
      jobs: [
        { name: 'a', pdump: 'port=0,queue=0,rx-dev=/t/a.pcap' },
        { name: 'b', pdump: 'port=1,queue=0,rx-dev=/t/b.pcap', 'stats-interval': 2 },
      ],
    });
    expect(jobs[0]!.request.statsIntervalS).toBe(0.5);
    expect(jobs[0]!.args).toEqual(['--pdump=port=0,queue=0,rx-dev=/t/a.pcap', '--stats-interval=500ms', `--stats-json=/caps/a-${DATE}.ndjson`]);
    expect(jobs[1]!.args).toEqual(['--pdump=port=1,queue=0,rx-dev=/t/b.pcap', '--stats-interval=2', `--stats-json=/caps/b-${DATE}.ndjson`]);
  });

  it('refuses a stats-json of stdout, of one tuple, shared by two jobs, and a bad stats-interval', () => {
    const job = (extra: object, name = 'a') => ({ name, pdump: `port=0,queue=0,rx-dev=/t/${name}.pcap`, ...extra });
    expect(rejected(() => read({ jobs: [job({ 'stats-json': '-' })] })).message).toMatch(/job 'a': stats-json: - is the capture's stdout/);
    expect(rejected(() => read({ jobs: [job({ 'stats-json': '/t/{port}.ndjson' })] })).message).toMatch(/uses \{port\}, but this file is one/);
    expect(rejected(() => read({ jobs: [job({ 'stats-json': 5 })] })).code).toBe('BATCH_BAD_STATS_JSON');
    const shared = { 'stats-json': '/t/stats.ndjson' };
    expect(rejected(() => read({ jobs: [job(shared), job(shared, 'b')] })).code).toBe('BATCH_SAME_OUTPUT');
    expect(rejected(() => read({ jobs: [job({ 'stats-interval': '0.01' })] })).message).toMatch(/job 'a': stats-interval 0\.01: give from 0\.1 s/);
  });

  it('names jobs job1, job2, ... when they have no name', () => {
    expect(read({ jobs: [{ pdump: 'port=0,queue=0,rx-dev=/t/{job}.pcap' }] })[0]!.name).toBe('job1');
  });

  it('refuses an unknown key, naming the job and the key', () => {
    const err = rejected(() => read({ jobs: [{ name: 'web', pdump: 'port=0,queue=0,rx-dev=/t/a.pcap', durration: 5 }] }));
    expect(err.code).toBe('BATCH_UNKNOWN_KEY');
    expect(err.message).toMatch(/^jobs\.json: job 'web': unknown key durration/);
    expect(rejected(() => read({ defaults: { snaplenn: 1 }, jobs: [{}] })).message).toMatch(/defaults: unknown key snaplenn/);
    expect(rejected(() => read({ jobs: [{ name: 'w', json: 'x' }] })).message).toMatch(/job 'w': json is set by the batch/);
    expect(rejected(() => read({ job: [] })).message).toMatch(/unknown top-level key job/);
  });

  it("checks values with the capture's own validation, naming the job", () => {
    const bad = (extra: object) => rejected(() => read({ jobs: [{ name: 'x', pdump: 'port=0,queue=0,rx-dev=/t/a.pcap', ...extra }] }));
    expect(bad({ count: -1 })).toMatchObject({ code: 'BAD_COUNT', kind: 'usage' });
    expect(bad({ count: -1 }).message).toMatch(/^jobs\.json: job 'x': count '-1'/);
    expect(bad({ duration: 'soon' }).code).toBe('BAD_DURATION');
    expect(bad({ writer: 'disk' }).code).toBe('BAD_WRITER');
    expect(bad({ 'group-read': 'yes' }).code).toBe('BAD_OPTION');
    expect(bad({ filter: 'tcp port' }).message).toMatch(/job 'x': filter 'tcp port'/);
    expect(rejected(() => read({ jobs: [{ name: 'x', pdump: 'port=0,queue=0,rx-dev=/t/a.pcap,ring-size=1000' }] })).message).toMatch(
      /job 'x': --pdump .*not a power of two/,
    );
    expect(rejected(() => read({ jobs: [{ name: 'x' }] })).code).toBe('NO_TUPLE');
  });

  it('names every bad job at once, one line each', () => {
    const err = rejected(() =>
      read({
        jobs: [
          { name: 'a', pdump: 'port=0,queue=0,rx-dev=/t/a.pcap', count: 'x' },
          { name: 'ok', pdump: 'port=0,queue=0,rx-dev=/t/o.pcap' },
          { name: 'b', colour: 1 },
        ],
      }),
    );
    expect(err.message.split('\n')).toEqual([
      expect.stringMatching(/^jobs\.json: job 'a': count 'x'/),
      expect.stringMatching(/^jobs\.json: job 'b': unknown key colour/),
    ]);
  });

  it('refuses two jobs of one name, a name unfit for a file name, and two jobs writing one file', () => {
    const job = (name: string, file: string) => ({ name, pdump: `port=0,queue=0,rx-dev=${file}` });
    expect(rejected(() => read({ jobs: [job('a', '/t/1.pcap'), job('a', '/t/2.pcap')] })).code).toBe('BATCH_DUPLICATE_NAME');
    expect(rejected(() => read({ jobs: [job('../a', '/t/1.pcap')] })).code).toBe('BATCH_BAD_NAME');
    expect(rejected(() => read({ jobs: [job('a', '/t/1.pcap'), job('b', '/t/1.pcap')] })).message).toMatch(
      /jobs 'a' and 'b' both write \/t\/1\.pcap/,
    );
  });

  it('reads YAML and JSON into the same jobs, and refuses what does not parse', () => {
    const yaml = parseJobText('defaults:\n  duration: 5\njobs:\n  - name: a\n    pdump: [ "port=0,queue=*,rx-dev=/t/{job}.pcap" ]\n', 'jobs.yaml');
    const json = parseJobText('{"defaults":{"duration":5},"jobs":[{"name":"a","pdump":["port=0,queue=*,rx-dev=/t/{job}.pcap"]}]}', 'jobs.json');
    expect(yaml).toEqual(json);
    expect(rejected(() => parseJobText('jobs: [\n', 'j.yml')).code).toBe('BATCH_FILE_SYNTAX');
    expect(rejected(() => parseJobText('jobs:\n  - a: 1\n    a: 2\n', 'j.yaml')).code).toBe('BATCH_FILE_SYNTAX');
    expect(rejected(() => parseJobText('{', 'j.json')).code).toBe('BATCH_FILE_SYNTAX');
    expect(rejected(() => parseJobText('{}', 'j.txt')).code).toBe('BATCH_FILE_TYPE');
  });
});

describe("the README's batch examples", () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### batch'), readme.indexOf('### pdump'));
  const block = (lang: string): string => {
    const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
    if (!m) throw new Error(`no ${lang} example in the README's batch section`);
    return m[1]!;
  };

  it('are valid job files, and the YAML and the JSON are the same jobs', () => {
    const fromYaml = readJobDocument(parseJobText(block('yaml'), 'jobs.yaml'), 'jobs.yaml', DATE);
    const fromJson = readJobDocument(parseJobText(block('json'), 'jobs.json'), 'jobs.json', DATE);
    expect(fromYaml.map((j) => j.args)).toEqual(fromJson.map((j) => j.args));
    expect(fromYaml.map((j) => j.name)).toEqual(['app1-port0', 'app1-port1', 'app2']);
  });
});
