/**
 * Every resource burstcap creates registers its undo step here as it is
 * created; teardown runs the steps in reverse order, each at most once, and
 * keeps going when one fails so that nothing after it leaks.
 */
export interface TeardownFailure { step: string; error: Error }

export class Teardown {
  readonly #steps: { name: string; run: () => unknown }[] = [];

  push(name: string, run: () => unknown): void {
    this.#steps.push({ name, run });
  }

  /** Runs the steps registered after `mark` (newest first); used to stop in stages. */
  mark(): number {
    return this.#steps.length;
  }

  async unwindTo(mark: number): Promise<TeardownFailure[]> {
    const failures: TeardownFailure[] = [];
    while (this.#steps.length > mark) {
      const step = this.#steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        failures.push({ step: step.name, error: err as Error });
      }
    }
    return failures;
  }

  async run(): Promise<TeardownFailure[]> {
    return this.unwindTo(0);
  }
}
