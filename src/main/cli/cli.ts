#!/usr/bin/env node
/**
 * burstcap's command line. Exit status: 0 done, 2 bad usage (nothing was
 * touched in the primary), 1 runtime failure. Errors are one line on stderr:
 * `burstcap: error: <what happened and how to fix it>`.
 */
import { Command, CommanderError, Option } from 'commander';
import { CLI_OPTION_NAMES, DEFAULT_FILE_PREFIX, validateCapture } from '../options/capture-options';
import { parseAutostops } from '../options/rotation';
import { packageVersion } from '../core/paths';
import { runBatchCommand } from '../batch/run';
import { runCaptureCommand } from './commands/capture';
import { runCleanupCommand } from './commands/cleanup';
import { runDemoCommand } from './commands/demo';
import { runDoctorCommand } from './commands/doctor';
import { runExtcapCommand } from './commands/extcap';
import { runListCommand } from './commands/list';
import { isBurstcapError, runtimeError } from '../core/errors';
import { parsePdumpArgv } from '../options/pdump-argv';
import type { PdumpTuple } from '../options/tuple';

/** The demo's capture window: its 2000 packets are replayed well within it. */
const DEMO_SECONDS = 3;
const EXIT_USAGE = 2;
const EXIT_FAILURE = 1;

export const TUPLE_HELP = `
Tuples (the --pdump syntax of dpdk-pdump):
  (port=<id>|device_id=<name>),queue=<n|*>,rx-dev=<file|iface>,tx-dev=<file|iface>
     [,ring-size=<pow2, default 32768>][,mbuf-size=<bytes, default 2176>]
     [,total-num-mbufs=<1025-65535, default 65535>]
  queue=*       one ring and one pinned worker per queue and direction; the file
                still holds every packet of the port, merged in capture-time order
  %q in a path  keeps one file per queue instead (rx-dev=/tmp/rx-q%q.pcap)
  rx-dev = tx-dev   one file with both directions, in capture-time order
  an interface name (e.g. veth0) sends the packets to that interface instead
  rx-dev=-      stdout, as the packets arrive (one queue and direction):
                burstcap capture --pdump 'port=0,queue=0,rx-dev=-' | tshark -r -

Files are pcap with nanosecond timestamps taken by the primary when it
handled each packet; tcpdump, tshark and Wireshark read them. They are
created 0600 (0640 with -g), less what the umask removes; per-queue parts
wait for their merge in a private .burstcap-XXXXXX directory beside the file.

Formats:
  a path ending in .pcapng, or --format pcapng for every output, is pcapng:
  one interface per port (name, driver, MAC, snaplen, the -f filter), every
  packet with its direction (inbound rx, outbound tx) and queue, and the
  pdump counters as interface statistics at the end.

Rotation and stop conditions (as dumpcap's -b and -a):
  -b filesize:<kB>   new file before this size would be passed (kB = 1000 B)
  -b duration:<s>    new file every <s> seconds from the capture's start
  -b interval:<s>    new file at every multiple of <s> on the wall clock
  -b packets:<n>     new file every <n> packets
  -b files:<n>       ring buffer: keep only the newest <n> files of each output
  -a duration:<s>  -a filesize:<kB>  -a files:<n>  -a packets:<n>   stop then
  --post-rotate <command>   run "<command> <file>" for every file a rotation
                   closed (tcpdump's -z), in the background
  Rotated files are named <base>_<nnnnn>_<YYYYmmddHHMMSS>.<ext>: they sort in
  capture order, and each is complete on its own. An output merged from
  several rings (queue=*, or rx and tx in one file) does not rotate: give
  each ring its own file (%q, separate rx-dev and tx-dev).

Live view:
  On a terminal, a table redrawn every second (or --stats-interval): per
  port, queue and direction its packets/s, MB/s (10^6 bytes of packet data),
  ring fill, the primary's drops (ringfull, nombuf), the current file and its
  size, and the totals. Off a terminal, --stats-interval <s> prints one line
  per interval. --stats-json <file|-> writes the same figures as one JSON
  object per interval, and a last one ("final": true) with the summary's
  counters. -q silences the table and the lines, not a --stats-json file.

Examples:
  burstcap capture --file-prefix rte --pdump 'port=0,queue=*,rx-dev=/tmp/rx.pcap,tx-dev=/tmp/tx.pcap'
  burstcap capture --file-prefix app1 -a 10 --json - \\
      --pdump 'port=0,queue=*,rx-dev=/tmp/p0.pcap,tx-dev=/tmp/p0.pcap'
  burstcap capture --pdump 'port=1,queue=*,rx-dev=/tmp/rx-q%q.pcap' -c 100000 -s 128
  burstcap capture -f 'tcp port 443 and host 10.0.0.1' --pdump 'port=0,queue=*,rx-dev=/tmp/tls.pcap'
  burstcap capture --pdump 'port=0,queue=*,rx-dev=/tmp/p0.pcapng,tx-dev=/tmp/p0.pcapng'
  burstcap capture -b filesize:100000 -b files:10 --post-rotate gzip \\
      --pdump 'port=0,queue=*,rx-dev=/tmp/rx-q%q.pcapng'
  burstcap capture --stats-interval 5 --stats-json /tmp/stats.ndjson \\
      --pdump 'port=0,queue=*,rx-dev=/tmp/rx.pcap' 2>/tmp/capture.log
`;

const BATCH_HELP = `
Each job takes the long options of burstcap capture as keys (file-prefix, pdump,
count, duration, filter, snaplen, cpus, writer, group-read, eal, verbose,
stats-interval, stats-json), plus name and dir; defaults apply to every job.
Output paths may use {job}, {port}, {queue} (one file per queue), {dir} and
{date} (the batch's start, YYYYmmdd-HHMMSS); a stats-json file {job}, {dir}, {date}.

Jobs against different primaries, or different queues of one primary, run in
parallel; jobs capturing the same queue of one primary run one after another,
in file order.

Example (jobs.yaml):
  defaults: { duration: 10, dir: /var/tmp/caps }
  jobs:
    - { name: app1, file-prefix: app1, pdump: ['port=0,queue=*,rx-dev={dir}/{job}-{date}.pcap'] }
    - { name: app2, file-prefix: app2, pdump: ['port=0,queue=*,rx-dev={dir}/{job}-q{queue}.pcap'] }
`;

const EXTCAP_HELP = `
Wireshark calls burstcap extcap itself; a user runs it only to install it:
  burstcap extcap --install     a launcher in Wireshark's personal extcap folder
                                (as tshark -G folders names it); prints where
  burstcap extcap --uninstall   removes that launcher
Then Wireshark and tshark list one interface per port of each running primary:
  dpdk:<file-prefix>:<port>     e.g. dpdk:rte:0 (tshark -D)
Listing attaches to no primary: it reads the runtime directories and asks each
primary's telemetry socket for its ports (a primary run with --no-telemetry is
not listed). A capture takes every queue of the port, rx and tx by default,
written live into Wireshark's pipe as pcapng; the capture filter is the
primary-side filter (-f of burstcap capture). Wireshark's SIGTERM (Stop) stops
it as Ctrl-C does: callbacks off, rings drained, everything freed.

Options in Wireshark's interface dialog (or tshark -o extcap.<iface>.<option>):
  --direction rx|tx|both   which packets (default both)
  --snaplen <bytes>        bytes kept of each packet (0: whole)
  --count <packets>        stop after this many (0: until stopped)
  --buffer <packets>       ring size per queue and direction, 4096-32768

Examples:
  burstcap extcap --install
  tshark -D
  tshark -i dpdk:rte:0 -f 'udp port 53' -a duration:10 -w /tmp/dns.pcapng
  wireshark -k -i dpdk:rte:0

The protocol calls, for reference (all print on stdout):
  --extcap-interfaces  --extcap-dlts --extcap-interface <i>
  --extcap-config --extcap-interface <i>
  --extcap-capture-filter <f> --extcap-interface <i>   (prints why <f> is invalid, or nothing)
  --capture --extcap-interface <i> --fifo <path> [--extcap-capture-filter <f>] [options]
`;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

type BenchModule = typeof import('./commands/bench');

/**
 * The benchmark's code (bench/) and its devDependency (benchmark) are loaded
 * only when `burstcap bench` runs: an install without them (npm install -g,
 * npm ci --omit=dev) runs every other command.
 */
function loadBench(): BenchModule {
  try {
    // Loaded on demand (see above): an import would load it for every command.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('./commands/bench') as BenchModule;
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    throw runtimeError(
      'BENCH_UNAVAILABLE',
      `burstcap bench needs the benchmark code and the development dependencies, which an installed package leaves out (${(err as Error).message.split('\n')[0]}); ` +
        'run it from a source checkout: npm ci && npm run bench',
    );
  }
}

function buildProgram(): Command {
  const program = new Command('burstcap')
    .description('Capture packets from a running DPDK application (the primary) into pcap files, one pinned worker per port, queue and direction.')
    .version(packageVersion())
    .showHelpAfterError('(add --help for usage)');

  program
    .command('capture')
    .description('attach to a running primary and capture until Ctrl-C, -c or -a')
    .option('--file-prefix <prefix>', "the primary's EAL --file-prefix", DEFAULT_FILE_PREFIX)
    .option('--pdump <tuple>', 'what to capture and where (repeatable; see below)', collect, [])
    .option('-c, --count <packets>', 'stop after this many packets in total')
    .option(
      '-a, --duration <condition>',
      'stop after this long (10, 2.5, 500ms, 2m, duration:10), or at filesize:<kB>, files:<n>, packets:<n> (repeatable)',
      collect,
      [],
    )
    .option(
      '-b, --ring-buffer <limit>',
      'rotate files at filesize:<kB>, duration:<s>, interval:<s> or packets:<n>; files:<n> keeps the newest n (repeatable)',
      collect,
      [],
    )
    .option('--post-rotate <command>', "run '<command> <file>' for each file a rotation closed, as tcpdump's -z")
    .addOption(new Option('--format <format>', 'pcap or pcapng for every output (a .pcapng path is pcapng anyway)').default('pcap'))
    .option(
      '-f, --filter <expression>',
      "capture only packets matching this pcap-filter expression, as tcpdump's (e.g. 'tcp port 443'); the primary tests each packet and copies only the matches",
    )
    .option(
      '-s, --snaplen <bytes>',
      'copy at most this many bytes of each packet, e.g. 128 for headers only; the primary copies less (default: whole packets)',
    )
    .option('--json <file|->', 'write the summary as JSON to a file, or - for stdout')
    .option('-g, --group-read', "make the files readable by the owner's group (0640) instead of the owner only (0600), as dumpcap's -g")
    .option('--cpus <list>', 'CPUs for the worker threads, e.g. 1 or 0-3 (default: CPUs the primary does not poll on)')
    .addOption(new Option('--writer <kind>', 'native: burstcap writes the files; vdev: net_pcap vdevs write them, like dpdk-pdump').default('native'))
    .option('--eal <arg>', 'extra EAL argument for the secondary, e.g. --eal=-d --eal=<lib> (repeatable)', collect, [])
    .option('--stats-interval <seconds>', 'seconds between live statistics (default 1; 0.5, 500ms, 2m); off a terminal, print one line per interval')
    .option('--stats-json <file|->', 'write the live statistics as one JSON object per interval (NDJSON) to a file, or - for stdout')
    .option('-q, --quiet', 'no live table or --stats-interval lines (--stats-json is still written)')
    .option('-v, --verbose', "show DPDK's own log")
    .addHelpText('after', TUPLE_HELP)
    .action(async (o: Record<string, unknown>) => {
      // The same checks as the library's capture(): one place, capture-options.ts.
      const request = validateCapture(
        {
          filePrefix: o['filePrefix'] as string,
          pdump: o['pdump'] as string[],
          count: o['count'] as string | undefined,
          duration: o['duration'] as string[],
          rotate: o['ringBuffer'] as string[],
          postRotate: o['postRotate'] as string | undefined,
          format: o['format'] as string,
          filter: o['filter'] as string | undefined,
          snaplen: o['snaplen'] as string | undefined,
          cpus: o['cpus'] as string | undefined,
          writer: o['writer'] as string,
          groupRead: o['groupRead'] === true,
          eal: o['eal'] as string[],
          verbose: o['verbose'] as boolean | undefined,
          statsInterval: o['statsInterval'] as string | undefined,
        },
        CLI_OPTION_NAMES,
      );
      process.exitCode = await runCaptureCommand({
        ...request,
        json: o['json'] as string | undefined,
        statsJson: o['statsJson'] as string | undefined,
        quiet: o['quiet'] as boolean | undefined,
      });
    });

  program
    .command('batch')
    .description('run the captures of a job file (JSON or YAML), each in its own process, in parallel where they do not conflict')
    .argument('<jobs-file>', 'jobs.json, jobs.yaml or jobs.yml: { defaults: {...}, jobs: [{ name, file-prefix, pdump, ... }] }')
    .option('--parallel <n>', 'run at most this many jobs at once (default: the CPUs this process may use)')
    .option('--dry-run', 'check every job (keys, primaries, ports and queues, outputs, hugepages) without starting any')
    .option('--json <file|->', "write every job's status, exit code and summary as JSON")
    .option('--continue-on-error', 'keep starting jobs after one fails (by default the first failure stops the batch)')
    .addHelpText('after', BATCH_HELP)
    .action(async (file: string, o: Record<string, unknown>) => {
      process.exitCode = await runBatchCommand({
        file,
        parallel: o['parallel'] as string | undefined,
        dryRun: o['dryRun'] === true,
        json: o['json'] as string | undefined,
        continueOnError: o['continueOnError'] === true,
      });
    });

  program
    .command('pdump')
    .description("dpdk-pdump's own command line: burstcap pdump <EAL args> -- --pdump '<tuple>' [...] [--multi]")
    .argument('[args...]')
    .helpOption(false)
    .addHelpText(
      'after',
      "\nExample:\n  burstcap pdump -l 1 --file-prefix rte -- --pdump 'port=0,queue=*,rx-dev=/tmp/rx.pcap'\n(lcore options are replaced by a free lcore id; --multi is accepted: every ring has its own worker anyway;\n -g after -- makes the files 0640 instead of 0600)\n",
    );

  program
    .command('extcap')
    .description("Wireshark's extcap: --install lists every DPDK port as dpdk:<file-prefix>:<port> in Wireshark and tshark")
    .argument('[args...]', "the protocol's arguments (below); only --help reaches this parser")
    .allowUnknownOption()
    .addHelpText('after', EXTCAP_HELP);

  program
    .command('list')
    .description("list the primary's ports: id, name, driver, MAC, rx/tx queues, link")
    .option('--file-prefix <prefix>', "the primary's EAL --file-prefix", DEFAULT_FILE_PREFIX)
    .option('--json', 'print JSON')
    .option('-v, --verbose', "show DPDK's own log")
    .action((o: Record<string, unknown>) => {
      process.exitCode = runListCommand({
        prefix: o['filePrefix'] as string,
        json: Boolean(o['json']),
        verbose: o['verbose'] as boolean | undefined,
      });
    });

  program
    .command('cleanup')
    .description('remove callbacks, rings, pools and vdevs that killed captures (burstcap, dpdk-pdump, dpdk-dumpcap) left in the primary')
    .option('--file-prefix <prefix>', "the primary's EAL --file-prefix", DEFAULT_FILE_PREFIX)
    .option('--json', 'print JSON')
    .option('-v, --verbose', "show DPDK's own log")
    .action(async (o: Record<string, unknown>) => {
      process.exitCode = await runCleanupCommand({
        prefix: o['filePrefix'] as string,
        json: Boolean(o['json']),
        verbose: o['verbose'] as boolean | undefined,
      });
    });

  program
    .command('doctor')
    .description('check hugepages, permissions, the primary, pdump, versions, mempool ops, lcores and CPUs; print each with its fix')
    .option('--file-prefix <prefix>', 'also check the primary with this EAL --file-prefix')
    .option('--json', 'print JSON')
    .action(async (o: Record<string, unknown>) => {
      process.exitCode = await runDoctorCommand({ prefix: o['filePrefix'] as string | undefined, json: Boolean(o['json']) });
    });

  program
    .command('demo')
    .description('start a dpdk-testpmd primary replaying known packets on 2 queues, capture rx and tx, show the result')
    .option('-a, --duration <seconds>', 'how long to capture', String(DEMO_SECONDS))
    .option('--keep', 'keep the capture files (printed at the end)')
    .action(async (o: Record<string, unknown>) => {
      process.exitCode = await runDemoCommand({
        durationS: parseAutostops([o['duration'] as string]).durationS ?? DEMO_SECONDS,
        keep: Boolean(o['keep']),
      });
    });

  program
    .command('bench')
    .description('throughput benchmark: burstcap against dpdk-pdump and dpdk-dumpcap on primaries it starts itself')
    .option('--quick', 'rx+tx, 1 queue, maximum rate, 3 rounds: under a minute')
    .option('--json <file>', 'write the full report as JSON')
    .option('--svg <file>', 'write a bar chart of captured Mpps per tool and scenario')
    .option('--out-dir <dir>', 'where the tools write their files (default /dev/shm, a tmpfs)')
    .option('--rounds <n>', 'rounds per scenario (default 3 with --quick, else 5)')
    .option('--duration <seconds>', 'capture window of each run (default 1 with --quick, else 5)')
    .option('--tools <list>', 'comma-separated: burstcap,burstcap-vdev,dpdk-pdump,dpdk-dumpcap,dpdk-dumpcap-pcap')
    .option('--scenarios <list>', 'comma-separated scenario names (default: all, or the quick one)')
    .option('--no-micro', 'skip the micro-benchmarks (pcap writer, tuple parsing, merge)')
    .action(async (o: Record<string, unknown>) => {
      const bench = loadBench();
      process.exitCode = await bench.runBenchCommand(bench.benchCommandFrom(o));
    });

  return program;
}

async function runPdump(args: string[]): Promise<number> {
  const line = parsePdumpArgv(args);
  const tuples: PdumpTuple[] = line.tuples;
  return runCaptureCommand({ prefix: line.filePrefix, tuples, writer: 'native', extraEal: line.ealArgs, groupRead: line.groupRead });
}

function reportError(err: unknown): number {
  if (isBurstcapError(err)) {
    process.stderr.write(`burstcap: error: ${err.message}\n`);
    if (err.detail && process.env['BURSTCAP_DEBUG']) process.stderr.write(err.detail);
    return err.exitStatus;
  }
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
  process.stderr.write(`burstcap: error: ${(err as Error).stack ?? String(err)}\n`);
  return EXIT_FAILURE;
}

/**
 * A closed stdout or stderr (`| head`, a terminal that went away) ends no
 * capture: Node reports EPIPE and EBADF as 'error' events, which would
 * otherwise be thrown as uncaught exceptions in the middle of a stop. What
 * is written to them afterwards is dropped; the capture still stops on its
 * own conditions and tears down in order.
 */
function tolerateClosedStdio(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  }
}

export async function main(argv: string[]): Promise<number> {
  tolerateClosedStdio();
  try {
    if (argv[0] === 'pdump' && !argv.includes('--help') && !argv.includes('-h')) return await runPdump(argv.slice(1));
    // Wireshark's arguments are the protocol's (--extcap-*, --fifo), read by its own parser.
    if (argv[0] === 'extcap' && !argv.includes('--help') && !argv.includes('-h')) return await runExtcapCommand(argv.slice(1));
    const program = buildProgram();
    program.exitOverride();
    program.configureOutput({ outputError: (str, write) => write(`burstcap: ${str.replace(/^error: /, 'error: ')}`) });
    for (const c of program.commands) {
      c.exitOverride();
      c.configureOutput({ outputError: (str, write) => write(`burstcap: ${str}`) });
    }
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportError(err);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => process.exit(reportError(err)),
  );
}
