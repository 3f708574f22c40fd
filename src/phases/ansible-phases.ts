/**
 * Phases that drive Ansible: check the vault, find a node in the inventory, run the preflight play,
 * run a playbook (check mode with --diff in a dry run) with progress per play and per host.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  ansibleDirFor,
  checkVault,
  type PlaybookEvent,
  type PlaybookOptions,
  type PlaybookResult,
  pinnedPath,
  playbookEnv,
  readInventoryNodes,
  runLogPath,
  runPlaybook,
} from "../adapters/ansible.js";
import { resolveStrategy } from "../adapters/ansible-strategy.js";
import { InfraError } from "../errors.js";
import type { Reporter } from "../ui/reporter.js";
import { inLayer, type LayerSelection, runsLayer } from "./layers.js";
import type { Phase, PhaseContext } from "./phase.js";

export type NodeRole = "server" | "agent";

/** What the Ansible phases of one command share: where Ansible runs, its environment, the log. */
export interface AnsibleSession {
  cwd: string;
  ansibleDir: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Results of the playbooks run so far, in order. */
  results: PlaybookResult[];
  /** The node a node command acts on (set by ResolveNode). */
  target?: { name: string; role: NodeRole };
  /** The first server of the inventory (set by ResolveNode / ReadInventory). */
  firstServer?: string;
  /**
   * Set once this command's preflight phase passed: the playbooks after it skip their own fact gathering
   * and host checks (their imported preflight play; the facts come from Ansible's fact cache, written by
   * the preflight seconds before). Under emulation that saves tens of seconds a playbook.
   */
  preflightPassed?: boolean;
  /**
   * The checks of this command's preflight when no phase of its own runs them (see layersPreflight): the
   * next playbook runs them in the preflight play it imports first, before it changes anything.
   */
  pendingPreflight?: Record<string, unknown>;
  /** Runs a playbook; replaceable in tests. */
  runPlaybook: typeof runPlaybook;
}

/**
 * Where and how this command runs Ansible. The execution strategy (INFRA_ANSIBLE_STRATEGY) is resolved
 * here, once per command: a Mitogen plugin that does not load gives one warning and
 * every playbook of the command runs with the default strategy. (Whatever the strategy, the first play of
 * every playbook meets the hosts with Ansible's own SSH connection: playbooks/preflight.yml.)
 */
export async function openAnsibleSession(
  cwd: string,
  env: NodeJS.ProcessEnv,
  command: string,
  reporter: Pick<Reporter, "warn">,
): Promise<AnsibleSession> {
  const ansibleDir = ansibleDirFor(cwd);
  const path = await pinnedPath(env);
  const strategy = await resolveStrategy({ ...env, PATH: path }, (message) => reporter.warn(message));
  return {
    cwd,
    ansibleDir,
    env: playbookEnv(env, ansibleDir, path, strategy),
    logFile: runLogPath(cwd, command),
    results: [],
    runPlaybook,
  };
}

/** Stops before any host is touched when the vault is plaintext, missing or cannot be opened. */
export class CheckVault implements Phase {
  readonly title = "Check the Ansible vault";
  constructor(
    private readonly session: AnsibleSession,
    private readonly needSecrets: boolean,
  ) {}
  async run(ctx: PhaseContext): Promise<void> {
    const state = await checkVault(
      this.session.ansibleDir,
      this.session.env,
      this.session.cwd,
      this.needSecrets,
    );
    ctx.reporter.step("vault", state === "encrypted" ? "encrypted, password file set" : "not used");
  }
}

/**
 * Stops when the rendered inventory is not what cluster.yaml renders to (a node added to cluster.yaml
 * without `infra configure`, or a hand edit). Runs when the project has a cluster.yaml (or --config).
 */
export class CheckRendered implements Phase {
  readonly title = "Check the inventory against cluster.yaml";
  constructor(
    private readonly session: AnsibleSession,
    private readonly config?: string,
  ) {}
  shouldRun(): boolean {
    return this.config !== undefined || existsSync(join(this.session.cwd, "cluster.yaml"));
  }
  async run(ctx: PhaseContext): Promise<void> {
    const { configureCommand } = await import("../render/configure.js");
    const options: { check: boolean; config?: string } = { check: true };
    if (this.config !== undefined) options.config = this.config;
    const result = await configureCommand(
      { cwd: this.session.cwd, env: this.session.env, reporter: ctx.reporter, interactive: false },
      options,
    );
    const stale = result.data.files.filter((f) => f.path.startsWith("ansible/") && f.state !== "unchanged");
    if (stale.length > 0) {
      throw new InfraError(
        "INVENTORY_STALE",
        `${stale.map((f) => `${f.path} (${f.state})`).join(", ")} ${stale.length === 1 ? "does" : "do"} not match ${result.data.source}`,
        {
          kind: "preflight",
          hint: "render it: infra configure (then commit the result), and run this again",
        },
      );
    }
    ctx.reporter.step("inventory", `matches ${result.data.source}`);
  }
}

/** Reads the inventory's servers and agents; for node commands, finds the node by name. */
export class ReadInventory implements Phase {
  readonly title = "Read the inventory";
  constructor(
    private readonly session: AnsibleSession,
    private readonly nodeName?: string,
  ) {}
  async run(ctx: PhaseContext): Promise<void> {
    const nodes = await readInventoryNodes(this.session.ansibleDir, this.session.cwd);
    const first = nodes.servers[0];
    if (!first) {
      throw new InfraError("NO_SERVER", "the inventory has no K3s server (group k3s_masters is empty)", {
        kind: "config",
        hint: "give at least one node the server role in cluster.yaml, then run infra configure",
      });
    }
    this.session.firstServer = first;
    ctx.reporter.step(
      "inventory",
      `${nodes.servers.length} server(s), ${nodes.agents.length} agent(s); first server ${first}`,
    );
    if (this.nodeName === undefined) return;
    const role: NodeRole | undefined = nodes.servers.includes(this.nodeName)
      ? "server"
      : nodes.agents.includes(this.nodeName)
        ? "agent"
        : undefined;
    if (!role) {
      const known = [...nodes.servers, ...nodes.agents].join(", ") || "(none)";
      throw new InfraError("NODE_NOT_FOUND", `there is no node "${this.nodeName}" in the inventory`, {
        kind: "usage",
        hint: `known nodes: ${known}. Add the node to cluster.yaml and run infra configure first.`,
      });
    }
    this.session.target = { name: this.nodeName, role };
    ctx.reporter.step(this.nodeName, role);
  }
}

export interface RunPlaybookSpec {
  title: string;
  /** The playbook file in ansible/playbooks, or a function choosing it when the phase runs. */
  playbook: string | ((session: AnsibleSession) => string);
  /** Hosts to limit to, computed when the phase runs (after the inventory was read). */
  limit?: (session: AnsibleSession) => string[] | undefined;
  extraVars?: Record<string, unknown>;
  /** This is the command's preflight: when it passes, the session says so (see preflightPassed). */
  preflight?: boolean;
}

/** Runs one playbook; in a dry run, in check mode with --diff, reporting what would change. */
export class RunPlaybook implements Phase {
  readonly title: string;
  constructor(
    private readonly session: AnsibleSession,
    private readonly spec: RunPlaybookSpec,
  ) {
    this.title = spec.title;
  }

  async run(ctx: PhaseContext): Promise<void> {
    const playbook =
      typeof this.spec.playbook === "function" ? this.spec.playbook(this.session) : this.spec.playbook;
    const options: PlaybookOptions = { playbook };
    const limit = this.spec.limit?.(this.session);
    if (limit && limit.length > 0) options.limit = limit;
    if (this.spec.extraVars) options.extraVars = this.spec.extraVars;
    const { pendingPreflight, preflightPassed } = this.session;
    // This playbook runs the command's preflight: as the preflight phase, or in its own imported preflight
    // play when no phase ran it (the command's checks override the import's defaults).
    const preflight = this.spec.preflight === true || (!preflightPassed && pendingPreflight !== undefined);
    if (preflight && !this.spec.preflight) options.extraVars = { ...options.extraVars, ...pendingPreflight };
    if (preflightPassed && !this.spec.preflight)
      options.extraVars = { ...options.extraVars, preflight_passed: true };
    if (ctx.dryRun) {
      options.check = true;
      options.diff = true;
    }
    ctx.reporter.step(
      playbook,
      `${ctx.dryRun ? "check mode --diff, " : ""}${limit ? `limit ${limit.join(",")}` : "all hosts"}`,
    );
    const runner: Parameters<typeof runPlaybook>[1] = {
      ansibleDir: this.session.ansibleDir,
      env: this.session.env,
      logFile: this.session.logFile,
      onEvent: (event) => reportEvent(ctx, event, ctx.dryRun),
    };
    if (ctx.signal) runner.signal = ctx.signal;
    const result = await this.session.runPlaybook(options, runner);
    this.session.results.push(result);
    if (preflight) this.session.preflightPassed = true;
    for (const change of result.changes) ctx.noteDryRun(change.host, change.task);
    for (const [host, recap] of Object.entries(result.recap)) {
      ctx.reporter.step(
        host,
        `ok=${recap.ok} changed=${recap.changed} failed=${recap.failures} unreachable=${recap.unreachable}`,
      );
    }
  }
}

/** Progress: one line per play, one per host result that changed (or would), failed or was unreachable. */
export function reportEvent(ctx: PhaseContext, event: PlaybookEvent, dryRun: boolean): void {
  if (event.type === "play") ctx.reporter.info(`  play: ${event.name}`);
  else if (event.type === "result") {
    if (event.status === "changed")
      ctx.reporter.step(event.host, `${dryRun ? "would change" : "changed"}: ${event.task}`);
    else if (event.status === "failed")
      ctx.reporter.step(event.host, `failed: ${event.task}${event.message ? ` — ${event.message}` : ""}`);
    else if (event.status === "unreachable")
      ctx.reporter.step(event.host, `unreachable${event.message ? `: ${event.message}` : ""}`);
  }
}

export interface PreflightChecks {
  tailscaleKey: boolean;
  k3sToken: boolean;
  firstServer: boolean;
}

/** The extra variables that turn the preflight play's checks on (playbooks/preflight.yml). */
function preflightVars(checks: PreflightChecks): Record<string, unknown> {
  return {
    preflight_hosts: "k3s_cluster",
    preflight_check_tailscale_key: checks.tailscaleKey,
    preflight_check_k3s_token: checks.k3sToken,
    preflight_check_first_server: checks.firstServer,
  };
}

/** The preflight play alone, with every check on: nothing is changed on any host if it fails. */
export function preflightPhase(
  session: AnsibleSession,
  checks: PreflightChecks,
  limit?: (session: AnsibleSession) => string[] | undefined,
): RunPlaybook {
  const spec: RunPlaybookSpec = {
    title: "Check every host before changing anything",
    playbook: "preflight.yml",
    preflight: true,
    extraVars: preflightVars(checks),
  };
  if (limit) spec.limit = limit;
  return new RunPlaybook(session, spec);
}

/**
 * The preflight for the selected layers: the Tailscale key when the host layer runs, the K3s token
 * when the K3s layer does (and, for a join, the first server answering).
 *
 * With `beforeOtherChanges` (a phase that changes something outside the hosts, DNS, runs between it and
 * the first playbook) it is a phase of its own. Otherwise it returns no phase: the command's first
 * playbook runs these checks in the preflight play every playbook imports first, on the same hosts and
 * before it changes anything — one ansible-playbook, one connection to each host and one fact gathering
 * fewer a command (seconds a host on a small VPS). A failure there is still a preflight failure (exit 3).
 * `limit` then goes unused: every caller limits its playbooks to the hosts it limits the checks to.
 */
export function layersPreflight(
  session: AnsibleSession,
  layers: LayerSelection,
  options: {
    joinsFirstServer?: boolean;
    limit?: (session: AnsibleSession) => string[] | undefined;
    beforeOtherChanges?: boolean;
  } = {},
): Phase[] {
  const checks: PreflightChecks = {
    tailscaleKey: runsLayer(layers, "hosts"),
    k3sToken: runsLayer(layers, "k3s"),
    firstServer: options.joinsFirstServer === true && runsLayer(layers, "k3s"),
  };
  if (options.beforeOtherChanges) return [preflightPhase(session, checks, options.limit)];
  session.pendingPreflight = preflightVars(checks);
  return [];
}

/** The host layer: bootstrap.yml on every host, or on one node. */
export function bootstrapPhase(session: AnsibleSession, layers: LayerSelection, node?: string): Phase {
  const roles = "common, firewall, tailscale, K3s prerequisites";
  const spec: RunPlaybookSpec = node
    ? { title: `Bootstrap ${node} (${roles})`, playbook: "bootstrap.yml", limit: () => [node] }
    : { title: `Bootstrap every host (${roles})`, playbook: "bootstrap.yml" };
  return inLayer("hosts", layers, new RunPlaybook(session, spec));
}
