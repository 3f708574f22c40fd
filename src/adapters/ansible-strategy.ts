/**
 * Ansible's execution strategy for every ansible-playbook `infra` runs. Ansible's default, `linear`,
 * starts a Python module wrapper on the host for every task; Mitogen's `mitogen_linear` keeps one
 * Python interpreter per host and sends it the modules, which cuts the per-task cost. Mitogen is the
 * default since the whole hosts tier passed with it in less time (docs/configuration.md);
 * INFRA_ANSIBLE_STRATEGY=linear chooses Ansible's own per machine: the strategy is a property of the
 * controller's toolchain, not of the cluster, and Mitogen a third-party one that ansible-core may stop
 * loading.
 *
 * Before a run the plugin is imported once with the interpreter ansible-playbook runs on: the import
 * runs Mitogen's own check of the ansible-core release. When it fails (not installed, version skew),
 * the run falls back to `linear` with one warning naming the cause, never a half-run.
 */
import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { InfraError } from "../errors.js";
import { type ExecOptions, type ExecResult, exec } from "./exec.js";

/** The environment variable that chooses the strategy on this machine. */
export const STRATEGY_ENV = "INFRA_ANSIBLE_STRATEGY";
export const ANSIBLE_STRATEGIES = ["linear", "mitogen"] as const;
export type AnsibleStrategyName = (typeof ANSIBLE_STRATEGIES)[number];

/** The Python module of Mitogen's strategy; its directory is what ANSIBLE_STRATEGY_PLUGINS names. */
export const MITOGEN_STRATEGY_MODULE = "ansible_mitogen.plugins.strategy.mitogen_linear";

/** The strategy a run uses: its name, and for Mitogen the plugin directory found in the virtualenv. */
export type AnsibleStrategy = { name: "linear" } | { name: "mitogen"; pluginDir: string };

/** What probing the plugin found: its directory, or why it does not load. */
export type StrategyProbe = { ok: true; pluginDir: string } | { ok: false; cause: string };

/**
 * The strategy asked for on this machine: unset or empty means infra's default (Mitogen when it
 * loads); anything but `linear` or `mitogen` is a configuration error (exit 2).
 */
export function requestedStrategy(env: NodeJS.ProcessEnv): AnsibleStrategyName | undefined {
  const value = env[STRATEGY_ENV]?.trim();
  if (!value) return undefined;
  if ((ANSIBLE_STRATEGIES as readonly string[]).includes(value)) return value as AnsibleStrategyName;
  throw new InfraError(
    "ANSIBLE_STRATEGY_INVALID",
    `${STRATEGY_ENV}=${JSON.stringify(value)} is not an Ansible strategy infra knows`,
    {
      kind: "config",
      location: { file: `$${STRATEGY_ENV}` },
      hint: `set it to ${ANSIBLE_STRATEGIES.join(" or ")}, or unset it for infra's default (mitogen)`,
    },
  );
}

/**
 * The Python Mitogen starts on every host, unless the user's environment or inventory names one.
 * Mitogen's interpreter discovery is not per host: on the hosts tier's VMs it started the Debian 13
 * host with the Python discovered on the Debian 12 one (`/usr/bin/python3.11`) and cached that in the
 * host's facts. Every release the roles support (Debian 12/13, Ubuntu 22.04/24.04, RHEL 9) has this path.
 */
export const MITOGEN_PYTHON = "/usr/bin/python3";

/**
 * The variables a strategy adds to ansible-playbook's environment (pure; unit-tested). `base` is the
 * caller's environment: its ANSIBLE_PYTHON_INTERPRETER is kept.
 */
export function strategyEnv(strategy: AnsibleStrategy, base: NodeJS.ProcessEnv = {}): Record<string, string> {
  if (strategy.name === "mitogen") {
    return {
      ANSIBLE_STRATEGY_PLUGINS: strategy.pluginDir,
      ANSIBLE_STRATEGY: "mitogen_linear",
      ANSIBLE_PYTHON_INTERPRETER: base.ANSIBLE_PYTHON_INTERPRETER || MITOGEN_PYTHON,
    };
  }
  return { ANSIBLE_STRATEGY: "linear" };
}

type Exec = (command: string, args: readonly string[], options: ExecOptions) => Promise<ExecResult>;

/** The interpreter a script runs on: its `#!` line (a virtualenv's ansible-playbook names its Python). */
export async function scriptInterpreter(path: string): Promise<string | undefined> {
  const handle = await open(path, "r").catch(() => undefined);
  if (!handle) return undefined;
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(512), 0, 512, 0);
    const first = buffer.subarray(0, bytesRead).toString("utf8").split("\n")[0] ?? "";
    if (!first.startsWith("#!")) return undefined;
    const [interpreter, argument] = first.slice(2).trim().split(/\s+/);
    // `#!/usr/bin/env python3`: the program env starts
    return interpreter?.endsWith("/env") ? argument : interpreter;
  } finally {
    await handle.close();
  }
}

function onPath(program: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir && existsSync(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

/**
 * Imports Mitogen's strategy with the Python that ansible-playbook (first on `env.PATH`) runs on,
 * which also runs Mitogen's check of the ansible-core release; returns the plugin's directory, or
 * the last line of the import's error.
 */
export async function probeMitogen(env: NodeJS.ProcessEnv, run: Exec = exec): Promise<StrategyProbe> {
  const playbook = onPath("ansible-playbook", env.PATH ?? "");
  if (!playbook) return { ok: false, cause: "ansible-playbook is not installed" };
  const python = await scriptInterpreter(playbook);
  if (!python) return { ok: false, cause: `${playbook} names no Python interpreter` };
  const script = `import os, ${MITOGEN_STRATEGY_MODULE} as m; print(os.path.dirname(m.__file__))`;
  const result = await run(python, ["-c", script], {
    env: { ...env, PYTHONWARNINGS: "ignore" },
    check: false,
    timeoutMs: 60_000,
  }).catch((error: unknown) => ({
    exitCode: -1,
    stdout: "",
    stderr: error instanceof Error ? error.message : String(error),
  }));
  const pluginDir = result.stdout.trim().split("\n").pop() ?? "";
  if (result.exitCode === 0 && pluginDir) return { ok: true, pluginDir };
  const lines = result.stderr.trim().split("\n").filter(Boolean);
  return { ok: false, cause: lines.at(-1)?.trim() || `${python} exited ${result.exitCode}` };
}

/**
 * The strategy of this command's runs: linear when asked for; the user's own ANSIBLE_STRATEGY
 * (undefined: nothing is set) when INFRA_ANSIBLE_STRATEGY is unset and the shell names one; otherwise
 * Mitogen when its plugin loads, else linear after one warning naming the cause.
 */
export async function resolveStrategy(
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
  probe: (env: NodeJS.ProcessEnv) => Promise<StrategyProbe> = probeMitogen,
): Promise<AnsibleStrategy | undefined> {
  const wanted = requestedStrategy(env);
  if (wanted === "linear") return { name: "linear" };
  if (wanted === undefined && env.ANSIBLE_STRATEGY?.trim()) return undefined;
  const found = await probe(env);
  if (found.ok) return { name: "mitogen", pluginDir: found.pluginDir };
  const asked = wanted ? `${STRATEGY_ENV}=mitogen` : "Mitogen, infra's default Ansible strategy";
  warn(
    `${asked}: the plugin does not load (${found.cause}); every playbook runs with Ansible's linear strategy — \`./infra tools install\` installs the pinned plugin beside Ansible, or set ${STRATEGY_ENV}=linear`,
  );
  return { name: "linear" };
}
