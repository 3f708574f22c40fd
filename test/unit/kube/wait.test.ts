/**
 * waitFor's wake (a watch telling the poll that the object changed): the next check runs at once
 * instead of after the interval, a wake during a check is not lost, and the wake's signal ends with
 * the wait. Fake timers: no time passes unless the test advances it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { waitFor } from "../../../src/kube/wait.js";

const OPTIONS = { timeoutMs: 600_000, intervalMs: 60_000, what: "the test", hint: "none" };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Lets pending promise callbacks run without advancing the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe("waitFor with a wake", () => {
  it("checks again at once when woken, not after the interval", async () => {
    let wake: (() => void) | undefined;
    let checks = 0;
    const done = waitFor(async () => (++checks >= 2 ? "done" : undefined), {
      ...OPTIONS,
      wake: (w) => {
        wake = w;
      },
    });
    await settle();
    expect(checks).toBe(1);
    wake?.();
    await settle();
    expect(checks).toBe(2);
    await expect(done).resolves.toBe("done");
    expect(vi.getTimerCount()).toBe(0); // no pause left behind to hold the process open
  });

  it("does not lose a wake that comes while a check is running", async () => {
    let wake: (() => void) | undefined;
    let checks = 0;
    const done = waitFor(
      async () => {
        checks++;
        if (checks === 1) wake?.(); // the object changed after this read
        return checks >= 2 ? "done" : undefined;
      },
      {
        ...OPTIONS,
        wake: (w) => {
          wake = w;
        },
      },
    );
    await settle();
    expect(checks).toBe(2);
    await expect(done).resolves.toBe("done");
  });

  it("still polls at the interval when no wake comes, and ends the wake's signal with the wait", async () => {
    let watching: AbortSignal | undefined;
    let checks = 0;
    const done = waitFor(async () => (++checks >= 3 ? "done" : undefined), {
      ...OPTIONS,
      wake: (_w, signal) => {
        watching = signal;
      },
    });
    await settle();
    expect(checks).toBe(1);
    expect(watching?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(OPTIONS.intervalMs);
    expect(checks).toBe(2);
    await vi.advanceTimersByTimeAsync(OPTIONS.intervalMs);
    await expect(done).resolves.toBe("done");
    expect(watching?.aborted).toBe(true);
  });

  it("ends the pause when the user interrupts", async () => {
    const controller = new AbortController();
    const done = waitFor(async () => undefined, { ...OPTIONS, signal: controller.signal });
    const outcome = expect(done).rejects.toMatchObject({ code: "INTERRUPTED" });
    await settle();
    controller.abort();
    await settle();
    await outcome;
    expect(vi.getTimerCount()).toBe(0);
  });
});
