/**
 * The CLI on a flaky network, against the real kube-apiserver (and Velero) of the control-plane
 * tier, through the built CLI: the one kubeconfig rule, request timeouts that hold, retries
 * across an API server that is stopped and started again (during `status` and during
 * `backup create --wait`), and SIGINT/SIGTERM during a wait.
 */
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { startCli } from "../helpers/cli.js";
import { childrenOf, processesWith } from "../helpers/processes.js";
import { type ControlPlane, freePort, startControlPlane } from "./harness.js";

let plane: ControlPlane;
let project: string;
let home: string;
/** A kubeconfig whose server refuses connections (a closed loopback port), same credentials. */
let dead: string;

/** The environment of a user without $KUBECONFIG, with a fresh home. */
const userEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  KUBECONFIG: "",
  HOME: home,
  VELERO_NAMESPACE: plane.veleroNamespace,
  ...extra,
});

/** `context` renamed, so that --verbose shows which file was used. */
async function kubeconfigNamed(file: string, context: string, server?: string): Promise<void> {
  let text = readFileSync(plane.kubeconfig, "utf8").replaceAll("admin@test", context);
  if (server) text = text.replace(/https:\/\/127\.0\.0\.1:\d+/, server);
  await writeFile(file, text);
}

beforeAll(async () => {
  plane = await startControlPlane();
  project = await mkdtemp(join(tmpdir(), "infra-cp-cli-"));
  home = await mkdtemp(join(tmpdir(), "infra-cp-cli-home-"));
  await copyFile(
    join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "ha-3-servers.yaml"),
    join(project, "cluster.yaml"),
  );
  dead = join(plane.dir, "dead.kubeconfig");
  await kubeconfigNamed(dead, "dead", `https://127.0.0.1:${await freePort()}`);
  await plane.apply({
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "flaky" } },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", namespace: "flaky" },
        data: { a: "1" },
      },
    ],
  });
});

afterAll(async () => {
  plane?.resumeApiServer();
  await plane?.stop(false);
  await rm(project, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

describe("one kubeconfig rule: --kubeconfig > $KUBECONFIG > <root>/.infra/kubeconfig > ~/.kube/config", () => {
  const status = (args: string[], env: NodeJS.ProcessEnv, cwd = project) =>
    startCli(["status", "--verbose", "--request-timeout", "5s", ...args], { cwd, env: userEnv(env) }).done;

  it("each level wins over the ones after it, and --verbose names the file and context", async () => {
    await mkdir(join(home, ".kube"), { recursive: true });
    const homeConfig = join(home, ".kube", "config");
    const projectConfig = join(project, ".infra", "kubeconfig");
    await mkdir(join(project, ".infra"), { recursive: true });
    const envConfig = join(plane.dir, "env.kubeconfig");
    const flagConfig = join(plane.dir, "flag.kubeconfig");

    // ~/.kube/config alone
    await kubeconfigNamed(homeConfig, "home");
    let run = await status([], {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`kubeconfig: ${homeConfig} (from ~/.kube/config), context home`);

    // <root>/.infra/kubeconfig over ~/.kube/config (which now points at a dead server), from a subfolder
    await writeFile(homeConfig, readFileSync(dead));
    await kubeconfigNamed(projectConfig, "project");
    await mkdir(join(project, "docs"), { recursive: true });
    run = await status([], {}, join(project, "docs"));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`kubeconfig: ${projectConfig} (from .infra/kubeconfig), context project`);

    // $KUBECONFIG over .infra/kubeconfig
    await writeFile(projectConfig, readFileSync(dead));
    await kubeconfigNamed(envConfig, "env");
    run = await status([], { KUBECONFIG: envConfig });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`kubeconfig: ${envConfig} (from $KUBECONFIG), context env`);

    // --kubeconfig over $KUBECONFIG
    await kubeconfigNamed(flagConfig, "flag");
    run = await status(["--kubeconfig", flagConfig], { KUBECONFIG: dead });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`kubeconfig: ${flagConfig} (from --kubeconfig), context flag`);
  });

  it("--context picks another context of the same file", async () => {
    const both = join(plane.dir, "both.kubeconfig");
    const good = readFileSync(plane.kubeconfig, "utf8");
    // the current context points at the dead server; --context admin@test at the real one
    const text = `${good.replace("current-context: admin@test", "current-context: dead")}`
      .replace(
        "clusters:\n",
        `clusters:\n- name: dead\n  cluster:\n    server: https://127.0.0.1:${await freePort()}\n`,
      )
      .replace("contexts:\n", "contexts:\n- name: dead\n  context:\n    cluster: dead\n    user: admin\n");
    await writeFile(both, text);
    const run = await status(["--kubeconfig", both, "--context", "admin@test"], {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("context admin@test");
  });
});

describe("request timeouts and retries against the real API server", () => {
  it("a stopped API server that comes back during `status`: retried, then answered", async () => {
    await plane.stopApiServer();
    const run = startCli(
      ["status", "-o", "json", "--verbose", "--request-timeout", "3m", "--kubeconfig", plane.kubeconfig],
      {
        env: userEnv(),
      },
    );
    try {
      await run.waitFor(/ECONNREFUSED\); retry 2/);
    } finally {
      await plane.startApiServer();
    }
    const result = await run.done;
    const status = JSON.parse(result.stdout) as {
      context: string;
      applications: { error?: unknown };
      backups: { error?: unknown; findings?: { severity: string }[] };
    };
    // every part was read after the retries; exit 1 only for a backup finding of this loaded plane
    expect(status.context).toBe("admin@test");
    expect(status.applications.error).toBeUndefined();
    expect(status.backups.error).toBeUndefined();
    const atRisk = (status.backups.findings ?? []).some((f) => f.severity === "error");
    expect(result.code, result.stderr).toBe(atRisk ? 1 : 0);
  });

  it("an API server that accepts connections but never answers: the request timeout holds", async () => {
    plane.pauseApiServer();
    try {
      const started = Date.now();
      const result = await startCli(["status", "--request-timeout", "4s", "--kubeconfig", plane.kubeconfig], {
        env: userEnv(),
      }).done;
      process.stderr.write(`status against a frozen API server ended after ${Date.now() - started} ms\n`);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /no answer from the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ within 4 s/,
      );
      expect(result.stderr).toContain("--request-timeout waits longer");
    } finally {
      plane.resumeApiServer();
    }
  });

  it("`backup create --wait` survives the API server going away and coming back", async () => {
    await plane.stopVelero(); // the backup stays New until Velero runs again
    const run = startCli(
      // short requests, so that the outage reaches the wait itself (not only one request's retries)
      [
        "backup",
        "create",
        "across-restart",
        "-n",
        "flaky",
        "--wait",
        "--timeout",
        "5m",
        "--request-timeout",
        "2s",
        "--verbose",
      ],
      { env: userEnv({ KUBECONFIG: plane.kubeconfig }), cwd: project },
    );
    await run.waitFor(/across-restart: /);
    await plane.stopApiServer();
    await sleep(3000);
    await plane.startApiServer();
    await plane.startVelero();
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(
      /unreachable: ECONNREFUSED; still waiting for backup across-restart to finish/,
    );
    expect(result.stdout).toContain("✓ Backup across-restart Completed");
  });
});

describe("interrupts during `backup create --wait` (real API)", () => {
  it.each(["SIGINT", "SIGTERM"] as const)("%s: exit 130, the state line, no child left", async (signal) => {
    await plane.stopVelero(); // keeps the backup from finishing while we interrupt the wait
    try {
      const name = `interrupted-${signal.toLowerCase()}`;
      const run = startCli(["backup", "create", name, "-n", "flaky", "--wait"], {
        env: userEnv({ KUBECONFIG: plane.kubeconfig }),
        cwd: project,
      });
      await run.waitFor(new RegExp(`${name}: `));
      const pid = run.child.pid as number;
      const children = childrenOf(pid);
      run.child.kill(signal);
      const result = await run.done;
      expect(result.code, result.stderr).toBe(130);
      expect(result.stderr).toContain(`✗ interrupted while waiting for backup ${name} to finish`);
      expect(result.stderr).toContain(
        `the backup continues in the cluster; follow it with \`infra backup describe ${name}\``,
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(children.filter((child) => existsSync(`/proc/${child}`))).toEqual([]);
      // the backup is still there, as the line says
      expect(
        await plane.kubectl(["-n", plane.veleroNamespace, "get", "backup", name, "-o", "name"]),
      ).toContain(name);
    } finally {
      await plane.startVelero();
    }
  });

  it("SIGINT while a kubeconfig's credential plugin hangs: the plugin is stopped too, exit 130", async () => {
    const marker = `${300 + Math.floor(Math.random() * 1000) / 1000}`;
    const plugin = join(plane.dir, "hanging-credential-plugin");
    await writeFile(plugin, `#!/bin/sh\nsleep ${marker}\n`);
    chmodSync(plugin, 0o755);
    const kubeconfig = join(plane.dir, "plugin.kubeconfig");
    const text = readFileSync(plane.kubeconfig, "utf8").replace(
      / {4}client-certificate: .*\n {4}client-key: .*\n/,
      `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ${plugin}\n      interactiveMode: Never\n`,
    );
    await writeFile(kubeconfig, text);
    const run = startCli(["backup", "list", "--verbose", "--kubeconfig", kubeconfig], { env: userEnv() });
    await run.waitFor(/exec: .*hanging-credential-plugin/);
    for (let i = 0; i < 100 && processesWith(`sleep ${marker}`).length === 0; i++) await sleep(100);
    expect(processesWith(`sleep ${marker}`)).toHaveLength(1);
    run.child.kill("SIGINT");
    const result = await run.done;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain("✗ interrupted by SIGINT");
    for (let i = 0; i < 100 && processesWith(`sleep ${marker}`).length > 0; i++) await sleep(100);
    expect(processesWith(`sleep ${marker}`)).toEqual([]);
  });
});
