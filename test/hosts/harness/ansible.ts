/**
 * Runs ansible-playbook against the test VMs and reads its output as data: the PLAY RECAP per
 * host, the tasks that reported `changed` (with the host), the failures (with their message) and the
 * wall time per host (from the start of the run to that host's last task result).
 */
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { exec } from "../../../src/adapters/exec.js";
import { PLAYBOOK_TIMEOUT_MS } from "../../helpers/timeouts.js";

export interface HostRecap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export interface PlaybookRun {
  exitCode: number;
  seconds: number;
  recap: Record<string, HostRecap>;
  /** Wall seconds from the start of the run to each host's last task result. */
  hostSeconds: Record<string, number>;
  /** `task name` per host for every task that reported changed. */
  changedTasks: Record<string, string[]>;
  /** The first failure per host: task and message. */
  failures: Record<string, { task: string; unreachable: boolean; message: string }>;
  log: string;
  output: string;
}

export interface PlaybookOptions {
  playbook: string;
  inventory: string[];
  extraVarsFile?: string;
  /** Variables that override the inventory's for this run (ansible-playbook -e, as JSON). */
  extraVars?: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  cwd: string;
  logFile: string;
  /** Called with each output line (e.g. to inject a fault at a given task). */
  onLine?: (line: string) => void;
  limit?: string;
  /** More ansible-playbook arguments, e.g. `--check`. */
  extraArgs?: string[];
}

const RESULT =
  /^(ok|changed|fatal|failed|skipping|unreachable|included|rescued|ignored): \[([^\]]+?)(?: -> [^\]]+)?\]/;
const RECAP =
  /^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)/;

export async function runPlaybook(options: PlaybookOptions): Promise<PlaybookRun> {
  const args = [options.playbook];
  for (const inventory of options.inventory) args.push("-i", inventory);
  if (options.extraVarsFile) args.push("-e", `@${options.extraVarsFile}`);
  if (options.extraVars) args.push("-e", JSON.stringify(options.extraVars));
  if (options.limit) args.push("--limit", options.limit);
  args.push(...(options.extraArgs ?? []));
  const started = Date.now();
  const log = createWriteStream(options.logFile, { flags: "a" });
  log.write(`\n===== ansible-playbook ${args.join(" ")} (${new Date().toISOString()})\n`);
  const hostSeconds: Record<string, number> = {};
  const changedTasks: Record<string, string[]> = {};
  const failures: PlaybookRun["failures"] = {};
  let task = "";
  let pendingFailure: { host: string; unreachable: boolean; lines: string[] } | undefined;
  const flushFailure = () => {
    if (pendingFailure && !failures[pendingFailure.host]) {
      failures[pendingFailure.host] = {
        task,
        unreachable: pendingFailure.unreachable,
        message: pendingFailure.lines.join("\n").trim().slice(0, 2000),
      };
    }
    pendingFailure = undefined;
  };
  const result = await exec("ansible-playbook", args, {
    cwd: options.cwd,
    env: options.env,
    check: false,
    timeoutMs: PLAYBOOK_TIMEOUT_MS,
    onLine: (line) => {
      const elapsed = (Date.now() - started) / 1000;
      log.write(`[${elapsed.toFixed(1).padStart(7)}s] ${line}\n`);
      const taskMatch = /^TASK \[(.+)\]/.exec(line);
      if (taskMatch) {
        flushFailure();
        task = taskMatch[1] ?? "";
      } else if (/^(PLAY|RUNNING HANDLER)/.test(line)) {
        flushFailure();
        const handler = /^RUNNING HANDLER \[(.+)\]/.exec(line);
        if (handler) task = `handler: ${handler[1]}`;
      }
      const m = RESULT.exec(line);
      if (m) {
        const [, status, host] = m;
        if (host && status !== "included") hostSeconds[host] = elapsed;
        if (host && status === "changed") changedTasks[host] = [...(changedTasks[host] ?? []), task];
        if (host && (status === "fatal" || status === "failed")) {
          flushFailure();
          pendingFailure = { host, unreachable: line.includes("UNREACHABLE"), lines: [line] };
        }
      } else if (pendingFailure && line.trim() !== "") {
        pendingFailure.lines.push(line);
      }
      options.onLine?.(line);
    },
  });
  flushFailure();
  log.end(`===== exit ${result.exitCode} after ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  if (Date.now() - started >= PLAYBOOK_TIMEOUT_MS) {
    throw new Error(
      `ansible-playbook ${options.playbook} was stopped after ${PLAYBOOK_TIMEOUT_MS / 60_000} min, hung at task "${task}"; its output: ${options.logFile}`,
    );
  }
  const output = result.stdout + result.stderr;
  const recap: Record<string, HostRecap> = {};
  for (const line of output.split("\n")) {
    const r = RECAP.exec(line.trim());
    if (!r) continue;
    const n = r.slice(2).map(Number);
    recap[r[1] ?? ""] = {
      ok: n[0] ?? 0,
      changed: n[1] ?? 0,
      unreachable: n[2] ?? 0,
      failed: n[3] ?? 0,
      skipped: n[4] ?? 0,
      rescued: n[5] ?? 0,
      ignored: n[6] ?? 0,
    };
  }
  return {
    exitCode: result.exitCode,
    seconds: (Date.now() - started) / 1000,
    recap,
    hostSeconds,
    changedTasks,
    failures,
    log: options.logFile,
    output,
  };
}

/** One line per host saying how it ended, for assertion messages and reports. */
export function describeRun(run: PlaybookRun): string {
  return Object.entries(run.recap)
    .map(([host, r]) => {
      const failure = run.failures[host];
      const state = r.unreachable > 0 ? "UNREACHABLE" : r.failed > 0 ? "FAILED" : "ok";
      const why = failure
        ? ` at task "${failure.task}": ${failure.message.split("\n").slice(0, 4).join(" ")}`
        : "";
      return `${host}: ${state} (ok=${r.ok} changed=${r.changed} failed=${r.failed} unreachable=${r.unreachable})${why}`;
    })
    .join("\n");
}

export function ansibleEnv(
  runDir: string,
  repoAnsibleDir: string,
  base: NodeJS.ProcessEnv,
): NodeJS.ProcessEnv {
  return {
    ...base,
    ANSIBLE_CONFIG: join(repoAnsibleDir, "ansible.cfg"),
    ANSIBLE_ROLES_PATH: join(repoAnsibleDir, "roles"),
    // Fresh VMs reuse names and ports: no fact cache or known host keys shared with other runs.
    ANSIBLE_CACHE_PLUGIN_CONNECTION: join(runDir, "facts"),
    ANSIBLE_SSH_ARGS: [
      "-o ControlMaster=auto -o ControlPersist=60s",
      // A host that stops answering is declared UNREACHABLE instead of hanging the run: 40 s after its
      // network was cut, measured here: these keep-alives end the master connection after 17 s, then
      // the task's ssh, waiting on the master for a session, falls back to a connection of its own and
      // waits ANSIBLE_TIMEOUT (20 s) for the server's greeting.
      "-o ServerAliveInterval=5 -o ServerAliveCountMax=3",
      `-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${join(runDir, "known_hosts")}`,
    ].join(" "),
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(runDir, "cp"),
    ANSIBLE_LOCAL_TEMP: join(runDir, "ansible-tmp"),
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_FORCE_COLOR: "0",
    ANSIBLE_RETRY_FILES_ENABLED: "0",
    ANSIBLE_TIMEOUT: "20",
    PYTHONUNBUFFERED: "1",
  };
}
