/**
 * dpdk-pdump's command line, accepted word for word so that a script switches
 * tools by changing the program name:
 *
 *   burstcap pdump <EAL args> -- --pdump '<tuple>' [--pdump '<tuple>' ...] [--multi] [-g]
 *
 * -g (--group-read) is burstcap's own, as in `burstcap capture`: dpdk-pdump
 * has no way to choose its files' mode.
 *
 * The EAL arguments are passed through untouched; only --file-prefix is read
 * here, because it names the primary whose runtime directory we attach to.
 */
import { usageError } from '../core/errors';
import { parseTuple, type PdumpTuple } from './tuple';

export interface PdumpCommandLine {
  ealArgs: string[];
  filePrefix: string;
  tuples: PdumpTuple[];
  multi: boolean;
  /** -g: files 0640 instead of 0600. */
  groupRead: boolean;
}

/** dpdk-pdump's APP_ARG_TCPDUMP_MAX_TUPLES. */
export const MAX_TUPLES = 54;
/** DPDK's default --file-prefix. */
export const DEFAULT_FILE_PREFIX = 'rte';

const END_OF_EAL_ARGS = '--';
const OPT_PDUMP = '--pdump';
const OPT_MULTI = '--multi';
const OPT_FILE_PREFIX = '--file-prefix';
const OPT_GROUP_READ = ['-g', '--group-read'];
const INLINE_VALUE = '=';

const USAGE = `usage: burstcap pdump [EAL options] -- ${OPT_PDUMP} '<tuple>' [${OPT_PDUMP} '<tuple>' ...] [${OPT_MULTI}] [-g]`;

/** `argv` is everything after the word `pdump`. */
export function parsePdumpArgv(argv: readonly string[]): PdumpCommandLine {
  const split = argv.indexOf(END_OF_EAL_ARGS);
  if (split < 0) {
    const hint = argv.some((arg) => isOption(arg, OPT_PDUMP))
      ? `put '${END_OF_EAL_ARGS}' between the EAL options and ${OPT_PDUMP}`
      : `add '${END_OF_EAL_ARGS} ${OPT_PDUMP} <tuple>' after the EAL options`;
    throw usageError('PDUMP_NO_SEPARATOR', `pdump: missing '${END_OF_EAL_ARGS}' after the EAL options (${hint}); ${USAGE}`);
  }
  const ealArgs = argv.slice(0, split);
  const filePrefix = findFilePrefix(ealArgs);
  const { tuples, multi, groupRead } = parseAppArgs(argv.slice(split + 1));
  return { ealArgs, filePrefix, tuples, multi, groupRead };
}

function parseAppArgs(args: readonly string[]): { tuples: PdumpTuple[]; multi: boolean; groupRead: boolean } {
  const tuples: PdumpTuple[] = [];
  let multi = false;
  let groupRead = false;
  const addTuple = (text: string): void => {
    if (tuples.length === MAX_TUPLES) {
      throw usageError(
        'PDUMP_TOO_MANY_TUPLES',
        `pdump: more than ${MAX_TUPLES} ${OPT_PDUMP} tuples (dpdk-pdump's limit; use queue=* instead of one tuple per queue, or run several captures)`,
      );
    }
    tuples.push(parseTuple(text));
  };

  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === OPT_PDUMP) {
      const value = args[i + 1];
      // A tuple never starts with '-', so a following option means the tuple was forgotten.
      if (value === undefined || value.startsWith('-')) {
        throw usageError('PDUMP_MISSING_VALUE', `pdump: ${OPT_PDUMP} needs a tuple (e.g. ${OPT_PDUMP} 'port=0,queue=*,rx-dev=rx.pcap')`);
      }
      addTuple(value);
      i++;
    } else if (arg.startsWith(OPT_PDUMP + INLINE_VALUE)) {
      addTuple(arg.slice(OPT_PDUMP.length + INLINE_VALUE.length));
    } else if (arg === OPT_MULTI) {
      multi = true;
    } else if (OPT_GROUP_READ.includes(arg)) {
      groupRead = true;
    } else if (arg.startsWith(OPT_MULTI + INLINE_VALUE)) {
      throw usageError('PDUMP_UNEXPECTED_VALUE', `pdump: ${OPT_MULTI} takes no value, got '${arg}' (write just ${OPT_MULTI})`);
    } else if (arg.startsWith('-')) {
      throw usageError(
        'PDUMP_UNKNOWN_OPTION',
        `pdump: unknown option '${arg}' after '${END_OF_EAL_ARGS}' (only ${OPT_PDUMP}, ${OPT_MULTI} and -g go there; EAL options go before '${END_OF_EAL_ARGS}')`,
      );
    } else {
      throw usageError('PDUMP_UNEXPECTED_ARGUMENT', `pdump: unexpected argument '${arg}' (a tuple must follow ${OPT_PDUMP}: ${OPT_PDUMP} '${arg}')`);
    }
  }

  if (tuples.length === 0) {
    throw usageError('PDUMP_NO_TUPLE', `pdump: no ${OPT_PDUMP} tuple given (add ${OPT_PDUMP} 'port=0,queue=*,rx-dev=rx.pcap'); ${USAGE}`);
  }
  return { tuples, multi, groupRead };
}

/** The EAL parses options left to right, so the last --file-prefix wins. */
function findFilePrefix(ealArgs: readonly string[]): string {
  let prefix = DEFAULT_FILE_PREFIX;
  for (let i = 0; i < ealArgs.length; i++) {
    const arg = ealArgs[i] as string;
    let value: string | undefined;
    if (arg === OPT_FILE_PREFIX) {
      value = ealArgs[i + 1];
      // A prefix starting with '-' is far more likely a forgotten value than a real prefix.
      if (value === undefined || value.startsWith('-')) {
        throw usageError('PDUMP_FILE_PREFIX_MISSING', `pdump: ${OPT_FILE_PREFIX} needs a value (e.g. ${OPT_FILE_PREFIX} ${DEFAULT_FILE_PREFIX})`);
      }
      i++;
    } else if (arg.startsWith(OPT_FILE_PREFIX + INLINE_VALUE)) {
      value = arg.slice(OPT_FILE_PREFIX.length + INLINE_VALUE.length);
    } else {
      continue;
    }
    if (value === '') {
      throw usageError(
        'PDUMP_FILE_PREFIX_MISSING',
        `pdump: ${OPT_FILE_PREFIX} has an empty value (give the primary's prefix, e.g. ${OPT_FILE_PREFIX}=${DEFAULT_FILE_PREFIX})`,
      );
    }
    prefix = value;
  }
  return prefix;
}

function isOption(arg: string, option: string): boolean {
  return arg === option || arg.startsWith(option + INLINE_VALUE);
}
