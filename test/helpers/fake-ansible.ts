/**
 * A project on disk with a rendered inventory and an encrypted-looking vault, and a fake Ansible session
 * over it that records every playbook it is asked to run (the k0sctl MockRunner style): for the unit tests
 * of the commands that drive Ansible through phases.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PlaybookOptions, PlaybookResult, RunnerOptions } from "../../src/adapters/ansible.js";
import type { AnsibleSession } from "../../src/phases/ansible-phases.js";
import type { Reporter } from "../../src/ui/reporter.js";

/** A reporter that keeps every line as the terminal would show it. */
export function recordingReporter(lines: string[]): Reporter {
  return {
    phase: (t) => lines.push(`==> Running phase: ${t}`),
    step: (s, m) => lines.push(`${s}: ${m}`),
    info: (m) => lines.push(m),
    warn: (m) => lines.push(`warning: ${m}`),
  };
}

/** A temporary project: inventory with these servers and agents, a vault and its password file. */
export async function fakeProject(servers: string[], agents: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "infra-phases-"));
  const hosts = (names: string[]) => names.map((n) => `        ${n}: {}\n`).join("");
  await mkdir(join(dir, "ansible", "inventory", "group_vars", "all"), { recursive: true });
  await writeFile(
    join(dir, "ansible", "inventory", "hosts.yml"),
    `k3s_cluster:\n  children:\n    k3s_masters:\n      hosts:\n${hosts(servers)}    k3s_workers:\n      hosts:\n${hosts(agents)}`,
  );
  await writeFile(
    join(dir, "ansible", "inventory", "group_vars", "all", "vault.yml"),
    "$ANSIBLE_VAULT;1.1;AES256\n3132\n",
  );
  await writeFile(join(dir, "vault-pass"), "not-a-real-password\n");
  return dir;
}

export interface FakeSessionOptions {
  env?: NodeJS.ProcessEnv;
  /** Called for each playbook before it "runs"; throw to make the run fail. */
  onRun?: (options: PlaybookOptions) => void;
  /** What check mode reports would change. */
  changes?: PlaybookResult["changes"];
}

/** A session over the project whose runs succeed (or throw what `onRun` throws), recorded in `calls`. */
export function fakeSession(
  dir: string,
  calls: PlaybookOptions[],
  options: FakeSessionOptions = {},
): AnsibleSession {
  const env = options.env ?? { ANSIBLE_VAULT_PASSWORD_FILE: join(dir, "vault-pass") };
  return {
    cwd: dir,
    ansibleDir: join(dir, "ansible"),
    env,
    logFile: join(dir, ".infra", "logs", "test.log"),
    results: [],
    runPlaybook: async (playbook: PlaybookOptions, runner: RunnerOptions) => {
      calls.push(playbook);
      runner.onEvent?.({ type: "play", name: `play of ${playbook.playbook}` });
      options.onRun?.(playbook);
      return {
        playbook: playbook.playbook,
        exitCode: 0,
        check: playbook.check === true,
        recap: {
          "cp-1": { ok: 3, changed: 1, failures: 0, unreachable: 0, skipped: 0, rescued: 0, ignored: 0 },
        },
        failures: [],
        changes: playbook.check ? (options.changes ?? []) : [],
        durationMs: 5,
      };
    },
  };
}
