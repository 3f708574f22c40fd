/**
 * Child programs, for real. Cancelling one stops everything it started: a real ansible-playbook (local
 * connection) running a long task is cancelled through the exec adapter's signal, as the first
 * Ctrl-C does; afterwards neither ansible-playbook, its worker, nor the task's command is left.
 * And a playbook that does not parse is reported with ansible's own message.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { playbookEnv, runPlaybook } from "../../src/adapters/ansible.js";
import { exec } from "../../src/adapters/exec.js";
import { InfraError } from "../../src/errors.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { processesWith } from "../helpers/processes.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "infra-exec-cancel-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("exec cancellation", () => {
  it("stops ansible-playbook, its forks and the task's command, and rejects with the abort reason", async () => {
    const seconds = `${300 + Math.floor(Math.random() * 1000) / 1000}`; // a unique marker on the task's command line
    const playbook = join(dir, "long.yml");
    writeFileSync(
      playbook,
      [
        "- name: A long task",
        "  hosts: localhost",
        "  connection: local",
        "  gather_facts: false",
        "  tasks:",
        "    - name: Sleep",
        `      ansible.builtin.command: sleep ${seconds}`,
        "      changed_when: false",
        "",
      ].join("\n"),
    );
    const controller = new AbortController();
    const reason = new InfraError("INTERRUPTED", "interrupted by SIGINT", { kind: "interrupted" });
    let started: () => void = () => undefined;
    const taskStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const run = exec("ansible-playbook", ["-i", "localhost,", playbook], {
      cwd: dir,
      env: { ...process.env, ANSIBLE_LOCAL_TEMP: join(dir, "tmp"), ANSIBLE_NOCOLOR: "1" },
      signal: controller.signal,
      onLine: (line) => {
        if (line.includes("TASK [Sleep]")) started();
      },
    });
    const outcome = run.then(
      () => "resolved",
      (error: unknown) => error,
    );
    await taskStarted;
    // the task's command runs (in a fork of ansible-playbook)
    for (let i = 0; i < 100 && processesWith(`sleep ${seconds}`).length === 0; i++) await sleep(100);
    expect(processesWith(`sleep ${seconds}`)).toHaveLength(1);
    expect(processesWith(playbook).length).toBeGreaterThanOrEqual(1);

    controller.abort(reason);
    expect(await outcome).toBe(reason);
    // nothing of the run is left: poll briefly, the grace period is a few seconds at most
    for (
      let i = 0;
      i < 100 && processesWith(playbook).length + processesWith(`sleep ${seconds}`).length > 0;
      i++
    ) {
      await sleep(100);
    }
    expect(processesWith(playbook)).toEqual([]);
    expect(processesWith(`sleep ${seconds}`)).toEqual([]);
  });

  it("stops a program's background children too (its whole process group)", async () => {
    const marker = `${400 + Math.floor(Math.random() * 1000) / 1000}`;
    const controller = new AbortController();
    const reason = new InfraError("INTERRUPTED", "interrupted by SIGTERM", { kind: "interrupted" });
    // a shell that leaves a background child: killing the shell alone would orphan it
    const run = exec("sh", ["-c", `sleep ${marker} & echo started; wait`], {
      signal: controller.signal,
      onLine: (line) => {
        if (line === "started") controller.abort(reason);
      },
    }).then(
      () => "resolved",
      (error: unknown) => error,
    );
    expect(await run).toBe(reason);
    for (let i = 0; i < 100 && processesWith(`sleep ${marker}`).length > 0; i++) await sleep(100);
    expect(processesWith(`sleep ${marker}`)).toEqual([]);
  });

  it("a playbook that does not parse is reported as such, with ansible's message (real ansible-playbook)", async () => {
    const playbook = join(dir, "broken.yml");
    writeFileSync(playbook, "- hosts: all\n  tasks:\n    - name: x\n      debug: {msg: [unclosed\n");
    const ansibleDir = join(PACKAGE_ROOT, "ansible");
    const error = (await runPlaybook(
      { playbook, inventory: "localhost," },
      {
        ansibleDir,
        env: playbookEnv(process.env, ansibleDir, process.env.PATH ?? ""),
        logFile: join(dir, "broken.log"),
      },
    ).catch((e: unknown) => e)) as InfraError;
    expect(error).toBeInstanceOf(InfraError);
    expect(error.code).toBe("PLAYBOOK_INVALID");
    expect(error.message).toMatch(/does not parse: YAML parsing failed/);
    expect(error.message).toContain(playbook);
    expect(error.exitCode).toBe(2);
  });
});
