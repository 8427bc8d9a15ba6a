/**
 * Every resource burstcap creates registers its undo step here as it is
 * created; teardown runs the steps in reverse order, each at most once, and
 * keeps going when one fails so that nothing after it leaks.
 */
export interface TeardownFailure {
  step: string;
  error: Error;
}

export class Teardown {
  readonly #steps: { name: string; run: () => unknown }[] = [];
  readonly #final: { name: string; run: () => unknown }[] = [];

  push(name: string, run: () => unknown): void {
    this.#steps.push({ name, run });
  }

  /**
   * A step that run() takes after every other one and unwindTo() never
   * does: for what must outlive the files and their merge after the
   * capture (the private directory of the parts), yet go on every exit.
   */
  pushFinal(name: string, run: () => unknown): void {
    this.#final.push({ name, run });
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
    const failures = await this.unwindTo(0);
    while (this.#final.length > 0) {
      const step = this.#final.pop()!;
      try {
        await step.run();
      } catch (err) {
        failures.push({ step: step.name, error: err as Error });
      }
    }
    return failures;
  }
}
