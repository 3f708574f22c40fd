/**
 * Ansible: runs the pinned `ansible-playbook` with the `ansible.posix.jsonl` stdout callback, so each
 * play, task and host result arrives as one JSON line. The lines become progress (per play and per
 * host), a recap per host, and — on failure — an error that names the failed task and host. Every
 * line the tool prints is kept in a log file per run (.infra/logs/).
 */
import { existsSync } from "node:fs";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative } from "node:path";
import { InfraError } from "../errors.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { toolPath } from "../toolchain/paths.js";
import { loadVersions } from "../toolchain/versions.js";
import { type AnsibleStrategy, strategyEnv } from "./ansible-strategy.js";
import { type ExecOptions, type ExecResult, exec, tail } from "./exec.js";

export interface PlaybookOptions {
  /** Playbook file name in ansible/playbooks (e.g. "bootstrap.yml") or an absolute path. */
  playbook: string;
  /** Inventory source; default: the one ansible.cfg names (inventory/hosts.yml). */
  inventory?: string;
  /** Hosts or groups to limit the run to (--limit). */
  limit?: readonly string[];
  /** Check mode (--check): change nothing, report what would change. */
  check?: boolean;
  /** Show file differences (--diff). */
  diff?: boolean;
  /** Extra variables, passed as one JSON document (-e '{...}'). */
  extraVars?: Record<string, unknown>;
  tags?: readonly string[];
  skipTags?: readonly string[];
}

export type HostStatus = "ok" | "changed" | "failed" | "unreachable" | "skipped";

/** One thing that happened in a run, as read from the jsonl callback. */
export type PlaybookEvent =
  | { type: "play"; name: string }
  | { type: "task"; name: string; play: string }
  | {
      type: "result";
      host: string;
      task: string;
      play: string;
      status: HostStatus;
      message?: string;
      items?: number;
      /** A command check mode skips because it cannot predict it: a real run would run it. */
      wouldRun?: boolean;
    }
  | { type: "stats"; stats: Record<string, HostRecap> };

export interface HostRecap {
  ok: number;
  changed: number;
  failures: number;
  unreachable: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export interface HostFailure {
  host: string;
  play: string;
  task: string;
  message: string;
  unreachable: boolean;
}

export interface PlaybookResult {
  playbook: string;
  exitCode: number;
  check: boolean;
  recap: Record<string, HostRecap>;
  failures: HostFailure[];
  /** In check mode: the tasks that would change something, per host. */
  changes: { host: string; task: string }[];
  durationMs: number;
}

/** The arguments of one ansible-playbook run (pure; unit-tested). */
export function playbookArgv(options: PlaybookOptions): string[] {
  const args: string[] = [];
  if (options.inventory) args.push("--inventory", options.inventory);
  if (options.limit && options.limit.length > 0) args.push("--limit", options.limit.join(","));
  if (options.check) args.push("--check");
  if (options.diff) args.push("--diff");
  if (options.tags && options.tags.length > 0) args.push("--tags", options.tags.join(","));
  if (options.skipTags && options.skipTags.length > 0) args.push("--skip-tags", options.skipTags.join(","));
  if (options.extraVars && Object.keys(options.extraVars).length > 0) {
    args.push("--extra-vars", JSON.stringify(options.extraVars));
  }
  args.push(isAbsolute(options.playbook) ? options.playbook : join("playbooks", options.playbook));
  return args;
}

/**
 * The environment of a run: the pinned tools first on PATH, this repository's ansible.cfg, the
 * JSON-lines callback on stdout, no colour, no retry files. The vault password file is taken from
 * the caller's ANSIBLE_VAULT_PASSWORD_FILE (never from a committed file). A strategy, when one was
 * chosen (ansible-strategy.ts), sets ANSIBLE_STRATEGY (and for Mitogen its plugin directory).
 */
export function playbookEnv(
  base: NodeJS.ProcessEnv,
  ansibleDir: string,
  path: string,
  strategy?: AnsibleStrategy,
): NodeJS.ProcessEnv {
  return {
    ...base,
    ...(strategy ? strategyEnv(strategy, base) : {}),
    PATH: path,
    ANSIBLE_CONFIG: join(ansibleDir, "ansible.cfg"),
    ANSIBLE_STDOUT_CALLBACK: "ansible.posix.jsonl",
    ANSIBLE_LOAD_CALLBACK_PLUGINS: "1",
    ANSIBLE_NOCOLOR: "1",
    ANSIBLE_FORCE_COLOR: "0",
    ANSIBLE_RETRY_FILES_ENABLED: "0",
    PYTHONUNBUFFERED: "1",
  };
}

interface JsonlHostResult {
  changed?: boolean;
  failed?: boolean;
  skipped?: boolean;
  unreachable?: boolean;
  msg?: unknown;
  stderr?: unknown;
  results?: unknown[];
}

interface JsonlLine {
  _event?: string;
  play?: { name?: string };
  task?: { name?: string };
  hosts?: Record<string, JsonlHostResult>;
  stats?: Record<string, Partial<HostRecap>>;
}

/** What the command module says in check mode about a command it skips (it cannot tell what it would do). */
const WOULD_RUN = /would have run if not in check mode/i;

/** Reads the best one-line explanation out of a host result. */
function resultMessage(result: JsonlHostResult): string | undefined {
  const parts: string[] = [];
  if (typeof result.msg === "string" && result.msg.trim()) parts.push(result.msg.trim());
  if (typeof result.stderr === "string" && result.stderr.trim()) parts.push(tail(result.stderr, 3));
  if (parts.length === 0 && Array.isArray(result.results)) {
    for (const item of result.results) {
      const one = item as JsonlHostResult;
      if (one?.failed && typeof one.msg === "string") parts.push(one.msg.trim());
    }
  }
  return parts.length > 0 ? parts.join(" — ") : undefined;
}

/**
 * Turns the callback's JSON lines into events, remembering the current play and task. Lines that
 * are not JSON (warnings, deprecations) are ignored here; they still go to the log.
 */
export class PlaybookEventParser {
  private play = "";
  private task = "";

  parse(line: string): PlaybookEvent[] {
    const text = line.trim();
    if (!text.startsWith("{")) return [];
    let data: JsonlLine;
    try {
      data = JSON.parse(text) as JsonlLine;
    } catch {
      return [];
    }
    switch (data._event) {
      case "v2_playbook_on_play_start":
        this.play = data.play?.name ?? "";
        return [{ type: "play", name: this.play }];
      case "v2_playbook_on_task_start":
      case "v2_playbook_on_handler_task_start":
        this.task = data.task?.name ?? "";
        return [{ type: "task", name: this.task, play: this.play }];
      case "v2_runner_on_start":
        return [];
      case "v2_runner_on_ok":
      case "v2_runner_on_failed":
      case "v2_runner_on_unreachable":
      case "v2_runner_on_skipped": {
        const task = data.task?.name ?? this.task;
        const events: PlaybookEvent[] = [];
        for (const [host, result] of Object.entries(data.hosts ?? {})) {
          let status: HostStatus;
          if (data._event === "v2_runner_on_unreachable" || result.unreachable) status = "unreachable";
          else if (data._event === "v2_runner_on_failed") status = "failed";
          else if (data._event === "v2_runner_on_skipped") status = "skipped";
          else status = result.changed ? "changed" : "ok";
          const message = status === "failed" || status === "unreachable" ? resultMessage(result) : undefined;
          const event: PlaybookEvent = { type: "result", host, task, play: this.play, status };
          if (message !== undefined) event.message = message;
          if (status === "skipped" && typeof result.msg === "string" && WOULD_RUN.test(result.msg))
            event.wouldRun = true;
          events.push(event);
        }
        return events;
      }
      case "v2_playbook_on_stats": {
        const stats: Record<string, HostRecap> = {};
        for (const [host, s] of Object.entries(data.stats ?? {})) {
          stats[host] = {
            ok: s.ok ?? 0,
            changed: s.changed ?? 0,
            failures: s.failures ?? 0,
            unreachable: s.unreachable ?? 0,
            skipped: s.skipped ?? 0,
            rescued: s.rescued ?? 0,
            ignored: s.ignored ?? 0,
          };
        }
        return [{ type: "stats", stats }];
      }
      default:
        return [];
    }
  }
}

/** Where this repository's Ansible tree is: the project's own (ctx.cwd) or the bundled one. */
export function ansibleDirFor(cwd: string): string {
  const own = join(cwd, "ansible");
  return existsSync(join(own, "ansible.cfg")) ? own : join(PACKAGE_ROOT, "ansible");
}

export const VAULT_FILE = join("inventory", "group_vars", "all", "vault.yml");

export type VaultState = "missing" | "plaintext" | "encrypted";

export async function vaultState(ansibleDir: string): Promise<VaultState> {
  const file = join(ansibleDir, VAULT_FILE);
  if (!existsSync(file)) return "missing";
  const head = (await readFile(file, "utf8")).slice(0, 64);
  return head.startsWith("$ANSIBLE_VAULT;") ? "encrypted" : "plaintext";
}

/**
 * Checks the vault before anything runs: it must exist when secrets are needed, it must be
 * encrypted, and an encrypted vault needs ANSIBLE_VAULT_PASSWORD_FILE pointing at a readable file.
 */
export async function checkVault(
  ansibleDir: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  needSecrets: boolean,
): Promise<VaultState> {
  const state = await vaultState(ansibleDir);
  const file = relative(cwd, join(ansibleDir, VAULT_FILE)) || VAULT_FILE;
  if (state === "plaintext") {
    throw new InfraError("VAULT_NOT_ENCRYPTED", `${file} is not encrypted`, {
      kind: "preflight",
      location: { file },
      hint: `encrypt it before anything else (and before committing): ansible-vault encrypt ${file}`,
    });
  }
  if (state === "missing" && needSecrets) {
    throw new InfraError("VAULT_MISSING", `the Ansible vault ${file} does not exist`, {
      kind: "preflight",
      location: { file },
      hint: "run `infra init`: it creates the vault (encrypted, with a password file outside the repository) and .envrc, which points ANSIBLE_VAULT_PASSWORD_FILE at that file",
    });
  }
  if (state === "encrypted") {
    const passwordFile = env.ANSIBLE_VAULT_PASSWORD_FILE;
    if (!passwordFile) {
      throw new InfraError("VAULT_PASSWORD_MISSING", `${file} is encrypted but no vault password is given`, {
        kind: "preflight",
        location: { file },
        hint: "export ANSIBLE_VAULT_PASSWORD_FILE=<path of the file holding the vault password> (see .envrc.example)",
      });
    }
    if (!existsSync(passwordFile)) {
      throw new InfraError(
        "VAULT_PASSWORD_MISSING",
        `the vault password file ${passwordFile} does not exist`,
        {
          kind: "preflight",
          location: { file: passwordFile },
          hint: "point ANSIBLE_VAULT_PASSWORD_FILE at the file holding the vault password",
        },
      );
    }
  }
  return state;
}

/** A log file per run, under .infra/logs/ of the project. */
export function runLogPath(cwd: string, command: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return join(cwd, ".infra", "logs", `${stamp}-${command.replace(/[^a-z0-9]+/gi, "-")}.log`);
}

export interface RunnerOptions {
  ansibleDir: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  signal?: AbortSignal;
  onEvent?: (event: PlaybookEvent) => void;
  /** For tests: the exec to use. */
  exec?: (command: string, args: readonly string[], options: ExecOptions) => Promise<ExecResult>;
}

/** PATH with the pinned tools first (tools/versions.yaml). */
export async function pinnedPath(env: NodeJS.ProcessEnv): Promise<string> {
  return toolPath(env, await loadVersions(PACKAGE_ROOT));
}

/** Classifies a failed run that printed no host failure (vault, syntax, inventory errors). */
function toolError(result: ExecResult, playbook: string, logFile: string): InfraError {
  const text = `${result.stderr}\n${result.stdout}`;
  const log = `log: ${logFile}`;
  if (/Decryption failed/i.test(text)) {
    return new InfraError(
      "VAULT_PASSWORD_WRONG",
      `${playbook}: the vault password does not open the vault; nothing was changed on any host`,
      {
        kind: "preflight",
        hint: `ANSIBLE_VAULT_PASSWORD_FILE must hold the password the vault was encrypted with (if it was lost, re-create the vault: docs/runbooks/rotate-secrets.md); ${log}`,
      },
    );
  }
  if (/no vault secrets|vault password/i.test(text)) {
    return new InfraError("VAULT_PASSWORD_MISSING", `${playbook}: the vault could not be decrypted`, {
      kind: "preflight",
      hint: `set ANSIBLE_VAULT_PASSWORD_FILE to the file holding the right vault password; ${log}`,
    });
  }
  // ansible's own error ("[ERROR]: YAML parsing failed ..." / "ERROR! ..."), with its Origin line
  const errorAt = text.split("\n").findIndex((l) => /^(\[ERROR\]:|ERROR!)/.test(l.trim()));
  if (errorAt >= 0) {
    const lines = text.split("\n").slice(errorAt);
    const message = (lines[0] ?? "").replace(/^(\[ERROR\]:|ERROR!)\s*/, "").trim();
    const origin = lines
      .find((l) => /^Origin:/.test(l.trim()))
      ?.trim()
      .replace(/^Origin:\s*/, "");
    const where = origin ? ` (${origin})` : "";
    if (/pars|syntax|could not be found|not a valid attribute|conflicting action/i.test(message)) {
      return new InfraError("PLAYBOOK_INVALID", `${playbook} does not parse: ${message}${where}`, {
        kind: "config",
        hint: `fix the playbook at that place; ${log}`,
      });
    }
    return new InfraError("ANSIBLE_FAILED", `${playbook} failed: ${message}${where}`, { hint: log });
  }
  const lines = text
    .split("\n")
    .filter((l) => l.trim() && !l.trim().startsWith("{"))
    .join("\n");
  return new InfraError(
    "ANSIBLE_FAILED",
    `${playbook} failed (exit ${result.exitCode}): ${tail(lines, 6) || "(no output)"}`,
    {
      hint: log,
    },
  );
}

/** The error for a run in which hosts failed or were unreachable: names the task and the host. */
export function failureError(result: PlaybookResult, logFile: string): InfraError {
  const first = result.failures[0];
  const log = `log: ${logFile}`;
  if (!first) {
    return new InfraError("ANSIBLE_FAILED", `${result.playbook} failed (exit ${result.exitCode})`, {
      hint: log,
    });
  }
  const details = result.failures.map((f) => ({
    code: f.unreachable ? "HOST_UNREACHABLE" : "TASK_FAILED",
    message: `${f.host}: ${f.task}${f.message ? ` — ${f.message}` : ""}`,
  }));
  const unreachable = result.failures.filter((f) => f.unreachable).map((f) => f.host);
  const inPreflight = result.failures.some((f) => /^preflight/i.test(f.play));
  if (unreachable.length > 0) {
    return new InfraError(
      "HOST_UNREACHABLE",
      `${unreachable.join(", ")} ${unreachable.length === 1 ? "is" : "are"} not reachable over SSH`,
      {
        kind: inPreflight ? "preflight" : "runtime",
        details,
        hint: `${inPreflight ? "nothing was changed on any host. " : ""}check that the host is running and that SSH works to its tailscale_ip or public_ip with ansible_user/ansible_port from cluster.yaml; ${log}`,
      },
    );
  }
  const assertion = first.message ?? "";
  return new InfraError(
    inPreflight ? "PREFLIGHT_FAILED" : "TASK_FAILED",
    `${first.host}: task "${first.task}" failed${assertion ? `: ${assertion}` : ""}`,
    {
      kind: inPreflight ? "preflight" : "runtime",
      details: details.length > 1 ? details : [],
      hint: inPreflight ? `nothing was changed on any host; ${log}` : log,
    },
  );
}

/**
 * Runs one playbook. Resolves with the recap on success; rejects with an InfraError naming the
 * failed task and host (or the vault/inventory problem) otherwise.
 */
export async function runPlaybook(options: PlaybookOptions, runner: RunnerOptions): Promise<PlaybookResult> {
  const started = Date.now();
  const args = playbookArgv(options);
  // which strategy ran is in the log (INFRA_ANSIBLE_STRATEGY, ansible-strategy.ts)
  const strategy = runner.env.ANSIBLE_STRATEGY ? ` (strategy ${runner.env.ANSIBLE_STRATEGY})` : "";
  await mkdir(dirname(runner.logFile), { recursive: true });
  await appendFile(
    runner.logFile,
    `\n===== ${new Date().toISOString()} ansible-playbook ${args.map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ")}${strategy}\n`,
  );
  const parser = new PlaybookEventParser();
  const result: PlaybookResult = {
    playbook: options.playbook,
    exitCode: 0,
    check: options.check === true,
    recap: {},
    failures: [],
    changes: [],
    durationMs: 0,
  };
  let pending = Promise.resolve();
  const onLine = (line: string, stream: "stdout" | "stderr") => {
    pending = pending.then(() => appendFile(runner.logFile, `${stream === "stderr" ? "! " : ""}${line}\n`));
    if (stream !== "stdout") return;
    for (const event of parser.parse(line)) {
      if (event.type === "result") {
        if (event.status === "failed" || event.status === "unreachable") {
          result.failures.push({
            host: event.host,
            play: event.play,
            task: event.task,
            message: event.message ?? "",
            unreachable: event.status === "unreachable",
          });
        } else if (event.status === "changed" && options.check) {
          result.changes.push({ host: event.host, task: event.task });
        } else if (event.wouldRun && options.check) {
          result.changes.push({
            host: event.host,
            task: `${event.task} (a command; check mode does not run it)`,
          });
        }
      } else if (event.type === "stats") {
        result.recap = event.stats;
      }
      runner.onEvent?.(event);
    }
  };
  const run = runner.exec ?? exec;
  const execOptions: ExecOptions = { cwd: runner.ansibleDir, env: runner.env, onLine, check: false };
  if (runner.signal) execOptions.signal = runner.signal;
  let outcome: ExecResult;
  try {
    outcome = await run("ansible-playbook", args, execOptions);
  } catch (error) {
    await pending;
    if (error instanceof InfraError && error.code === "TOOL_NOT_FOUND") {
      throw new InfraError("TOOL_NOT_FOUND", "ansible-playbook was not found", {
        kind: "preflight",
        hint: "install the pinned Ansible: ./infra tools install ansible",
        cause: error,
      });
    }
    if (runner.signal?.aborted) {
      throw new InfraError("INTERRUPTED", `${options.playbook} was interrupted`, {
        kind: "interrupted",
        hint: `log: ${runner.logFile}`,
      });
    }
    throw error;
  }
  await pending;
  result.exitCode = outcome.exitCode;
  result.durationMs = Date.now() - started;
  if (outcome.exitCode !== 0) {
    if (result.failures.length > 0) throw failureError(result, runner.logFile);
    throw toolError(outcome, options.playbook, runner.logFile);
  }
  return result;
}

/** The nodes of the rendered inventory (ansible/inventory/hosts.yml) by group. */
export interface InventoryNodes {
  servers: string[];
  agents: string[];
}

/** Reads the node names per group from the rendered inventory (CONTRACT §1), without Ansible. */
export async function readInventoryNodes(ansibleDir: string, cwd: string): Promise<InventoryNodes> {
  const file = join(ansibleDir, "inventory", "hosts.yml");
  const shown = relative(cwd, file) || file;
  if (!existsSync(file)) {
    throw new InfraError("INVENTORY_MISSING", `the inventory ${shown} does not exist`, {
      kind: "preflight",
      location: { file: shown },
      hint: "render it from cluster.yaml: infra configure",
    });
  }
  const { parse } = await import("yaml");
  const doc = (parse(await readFile(file, "utf8")) ?? {}) as Record<string, unknown>;
  const groupHosts = (name: string): string[] => {
    const found = findGroup(doc, name);
    const hosts = found?.hosts;
    return hosts && typeof hosts === "object" ? Object.keys(hosts as object) : [];
  };
  return { servers: groupHosts("k3s_masters"), agents: groupHosts("k3s_workers") };
}

function findGroup(node: unknown, name: string): Record<string, unknown> | undefined {
  if (!node || typeof node !== "object") return undefined;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key === name && value && typeof value === "object") return value as Record<string, unknown>;
    if (key === "children" || key === "all" || key === "k3s_cluster") {
      const inner = findGroup(value, name);
      if (inner) return inner;
    }
  }
  return undefined;
}
