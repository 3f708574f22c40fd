import { describe, expect, it } from "vitest";
import { InfraError } from "../../../src/errors.js";
import { formatDuration, Manager } from "../../../src/phases/manager.js";
import type { Phase, PhaseContext } from "../../../src/phases/phase.js";
import type { Reporter } from "../../../src/ui/reporter.js";

function recorder(): { reporter: Reporter; lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    reporter: {
      phase: (t) => lines.push(`==> Running phase: ${t}`),
      step: (s, m) => lines.push(`${s}: ${m}`),
      info: (m) => lines.push(m),
      warn: (m) => lines.push(`warning: ${m}`),
    },
  };
}

/** A fake phase that records every call into a shared journal. */
function fake(
  title: string,
  journal: string[],
  behaviour: Partial<{ fail: unknown; skip: boolean; cleanUpFails: boolean; noCleanUp: boolean }> = {},
): Phase {
  const phase: Phase = {
    title,
    async prepare() {
      journal.push(`prepare ${title}`);
    },
    shouldRun() {
      journal.push(`shouldRun ${title}`);
      return !behaviour.skip;
    },
    async run() {
      journal.push(`run ${title}`);
      if (behaviour.fail !== undefined) throw behaviour.fail;
    },
  };
  if (!behaviour.noCleanUp) {
    phase.cleanUp = async () => {
      journal.push(`cleanUp ${title}`);
      if (behaviour.cleanUpFails) throw new Error("cannot clean");
    };
  }
  return phase;
}

describe("phase manager", () => {
  it("runs phases in order: prepare, shouldRun, run; announces each", async () => {
    const journal: string[] = [];
    const { reporter, lines } = recorder();
    const result = await new Manager({ reporter }).run([
      fake("Connect to hosts", journal),
      fake("Install servers", journal),
    ]);
    expect(journal).toEqual([
      "prepare Connect to hosts",
      "shouldRun Connect to hosts",
      "run Connect to hosts",
      "prepare Install servers",
      "shouldRun Install servers",
      "run Install servers",
    ]);
    expect(lines).toEqual(["==> Running phase: Connect to hosts", "==> Running phase: Install servers"]);
    expect(result.phases.map((p) => p.status)).toEqual(["done", "done"]);
    expect(result.dryRun).toBe(false);
  });

  it("skips a phase whose shouldRun is false, without announcing it", async () => {
    const journal: string[] = [];
    const { reporter, lines } = recorder();
    const result = await new Manager({ reporter }).run([
      fake("A", journal, { skip: true }),
      fake("B", journal),
    ]);
    expect(journal).not.toContain("run A");
    expect(lines).toEqual(["==> Running phase: B"]);
    expect(result.phases).toMatchObject([
      { title: "A", status: "skipped" },
      { title: "B", status: "done" },
    ]);
  });

  it("on failure cleans up the phases that ran in reverse order, then rethrows naming the phase", async () => {
    const journal: string[] = [];
    const { reporter, lines } = recorder();
    const boom = new InfraError("TASK_FAILED", 'h1: task "Install" failed', {
      kind: "runtime",
      hint: "log: x.log",
    });
    const manager = new Manager({ reporter });
    const run = manager.run([
      fake("First", journal),
      fake("Skipped", journal, { skip: true }),
      fake("Second", journal, { noCleanUp: true }),
      fake("Third", journal, { fail: boom }),
      fake("Never", journal),
    ]);
    await expect(run).rejects.toMatchObject({
      code: "TASK_FAILED",
      kind: "runtime",
      hint: "log: x.log",
      message: 'third: h1: task "Install" failed',
    });
    expect(journal.filter((j) => j.startsWith("cleanUp"))).toEqual(["cleanUp Third", "cleanUp First"]);
    expect(journal).not.toContain("run Never");
    expect(journal).not.toContain("cleanUp Skipped");
    expect(lines).toContain("* Running clean-up for phase: Third");
  });

  it("keeps the exit code kind of the cause (preflight stays exit 3)", async () => {
    const journal: string[] = [];
    const cause = new InfraError("HOST_UNREACHABLE", "h2 is not reachable over SSH", { kind: "preflight" });
    const error = await new Manager({ reporter: recorder().reporter })
      .run([fake("Check every host", journal, { fail: cause })])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect((error as InfraError).exitCode).toBe(3);
  });

  it("wraps a plain Error as PHASE_FAILED and warns when a clean-up fails", async () => {
    const journal: string[] = [];
    const { reporter, lines } = recorder();
    const error = await new Manager({ reporter })
      .run([
        fake("Lock", journal, { cleanUpFails: true }),
        fake("Work", journal, { fail: new Error("disk full") }),
      ])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "PHASE_FAILED", message: "work: disk full" });
    expect(lines).toContain('warning: clean-up of "Lock" failed: cannot clean');
  });

  it("dry run: wet() records instead of acting; noteDryRun collects findings", async () => {
    let acted = false;
    const { reporter, lines } = recorder();
    const phase: Phase = {
      title: "Cordon node",
      async run(ctx: PhaseContext) {
        await ctx.wet("wk-1", "cordon the node", async () => {
          acted = true;
        });
        ctx.noteDryRun("wk-2", "Ensure ufw is enabled");
      },
    };
    const result = await new Manager({ reporter, dryRun: true }).run([phase]);
    expect(acted).toBe(false);
    expect(result.dryRunActions).toEqual([
      { subject: "wk-1", message: "cordon the node" },
      { subject: "wk-2", message: "Ensure ufw is enabled" },
    ]);
    expect(lines).toContain("wk-1: dry-run: would cordon the node");
  });

  it("wet() acts when not in a dry run", async () => {
    let acted = false;
    const phase: Phase = {
      title: "Cordon node",
      async run(ctx) {
        await ctx.wet("wk-1", "cordon", async () => {
          acted = true;
        });
      },
    };
    const result = await new Manager({ reporter: recorder().reporter }).run([phase]);
    expect(acted).toBe(true);
    expect(result.dryRunActions).toEqual([]);
  });

  it("stops before the next phase when interrupted", async () => {
    const journal: string[] = [];
    const controller = new AbortController();
    const first: Phase = {
      title: "First",
      async run() {
        controller.abort();
      },
      async cleanUp() {
        journal.push("cleanUp First");
      },
    };
    const error = await new Manager({ reporter: recorder().reporter, signal: controller.signal })
      .run([first, fake("Second", journal)])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INTERRUPTED", kind: "interrupted" });
    expect((error as InfraError).exitCode).toBe(130);
    expect(journal).toEqual(["cleanUp First"]);
  });

  it("measures durations with the injected clock", async () => {
    let t = 0;
    const phase: Phase = {
      title: "Slow",
      async run() {
        t += 75_000;
      },
    };
    const result = await new Manager({ reporter: recorder().reporter, now: () => t }).run([phase]);
    expect(result.durationMs).toBe(75_000);
    expect(formatDuration(result.durationMs)).toBe("1m15s");
    expect(formatDuration(3_000)).toBe("3s");
  });
});
