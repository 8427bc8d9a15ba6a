/**
 * What the benchmark measures: each scenario fixes the primary, the captured
 * directions, the queue count, the frame size and the offered rate. Maximum
 * rate comes from dpdk-testpmd over net_null (far more than any capture
 * takes); fixed and searched rates from the paced C primary.
 */
export type Directions = 'rx' | 'rxtx';
export type PrimaryKind = 'testpmd' | 'fixture';

export interface FixedScenario {
  kind: 'fixed';
  name: string;
  primary: PrimaryKind;
  directions: Directions;
  queues: number;
  frameSize: number;
  /** Offered packets per second per direction; undefined = as fast as the primary goes. */
  rate: number | undefined;
}

export interface ZeroLossScenario {
  kind: 'zero-loss';
  name: string;
  primary: 'fixture';
  directions: Directions;
  queues: number;
  frameSize: number;
  /** Search range in packets per second per direction. */
  minRate: number;
  maxRate: number;
  steps: number;
}

export type Scenario = FixedScenario | ZeroLossScenario;

const SMALL_FRAME = 64;
const LARGE_FRAME = 1500;
const PACED_RATES = [250_000, 500_000, 1_000_000, 2_000_000];
const ZERO_LOSS_MIN_RATE = 100_000;
const ZERO_LOSS_MAX_RATE = 8_000_000;
const ZERO_LOSS_STEPS = 5;
/** 0.01 %: the definition of "zero loss". */
export const ZERO_LOSS_THRESHOLD = 1e-4;

export function rateLabel(pps: number): string {
  if (pps >= 1e6 && pps % 1e5 === 0) return `${pps / 1e6}Mpps`;
  if (pps >= 1e3 && pps % 1e3 === 0) return `${pps / 1e3}kpps`;
  return `${pps}pps`;
}

export function scenarioName(s: { directions: Directions; queues: number; frameSize: number }, rate: string): string {
  return `${s.directions}-q${s.queues}-${s.frameSize}B-${rate}`;
}

function maxRate(directions: Directions, queues: number, frameSize: number): FixedScenario {
  const base = { directions, queues, frameSize };
  return { kind: 'fixed', name: scenarioName(base, 'max'), primary: 'testpmd', ...base, rate: undefined };
}

function paced(rate: number): FixedScenario {
  const base = { directions: 'rxtx' as const, queues: 1, frameSize: SMALL_FRAME };
  return { kind: 'fixed', name: scenarioName(base, rateLabel(rate)), primary: 'fixture', ...base, rate };
}

function zeroLoss(frameSize: number): ZeroLossScenario {
  const base = { directions: 'rxtx' as const, queues: 1, frameSize };
  return {
    kind: 'zero-loss',
    name: scenarioName(base, 'zeroloss'),
    primary: 'fixture',
    ...base,
    minRate: ZERO_LOSS_MIN_RATE,
    maxRate: ZERO_LOSS_MAX_RATE,
    steps: ZERO_LOSS_STEPS,
  };
}

/** --quick: the headline scenario only. */
export const QUICK_SCENARIOS: readonly Scenario[] = [maxRate('rxtx', 1, SMALL_FRAME)];

export const FULL_SCENARIOS: readonly Scenario[] = [
  maxRate('rxtx', 1, SMALL_FRAME),
  maxRate('rx', 1, SMALL_FRAME),
  maxRate('rxtx', 2, SMALL_FRAME),
  maxRate('rxtx', 4, SMALL_FRAME),
  maxRate('rxtx', 1, LARGE_FRAME),
  ...PACED_RATES.map(paced),
  zeroLoss(SMALL_FRAME),
];

export function selectScenarios(names: readonly string[] | undefined, quick: boolean): Scenario[] {
  const pool = quick ? QUICK_SCENARIOS : FULL_SCENARIOS;
  if (names === undefined || names.length === 0) return [...pool];
  const all = new Map(FULL_SCENARIOS.map((s) => [s.name, s]));
  return names.map((n) => {
    const s = all.get(n);
    if (s === undefined) throw new Error(`unknown scenario ${n}; known: ${[...all.keys()].join(', ')}`);
    return s;
  });
}

/** Capture rings a tool needs: one per queue and direction (burstcap's layout). */
export function ringsOf(s: Scenario): number {
  return s.queues * (s.directions === 'rxtx' ? 2 : 1);
}
