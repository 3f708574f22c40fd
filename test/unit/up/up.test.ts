/**
 * `infra up` orchestration with the real phase runner: the layers in the order of docs/architecture.md (Data flow), --dry-run,
 * --until / --skip, a failure in each phase stopping every later one with that phase's error and exit
 * code, an interrupt, and a re-run that goes through to the end. The Ansible runs and the DNS and GitOps
 * layers are fakes that record what they were asked; the hosts tier runs the same command for real.
 */
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PlaybookOptions } from "../../../src/adapters/ansible.js";
import type { CommandContext } from "../../../src/context.js";
import { InfraError } from "../../../src/errors.js";
import type { AnsibleSession } from "../../../src/phases/ansible-phases.js";
import { LAYERS, layerSelection } from "../../../src/phases/layers.js";
import { type UpOptions, type UpSteps, upCommand } from "../../../src/up/up.js";
import { fakeProject, fakeSession, recordingReporter } from "../../helpers/fake-ansible.js";

let dir = "";
const lines: string[] = [];
/** Every layer's work, in the order it happened: `playbook <file> [check]`, `dns`, `gitops`, `wait`. */
let journal: string[] = [];
let playbookCalls: PlaybookOptions[] = [];
const reporter = recordingReporter(lines);

type Failures = Partial<Record<string, unknown>>;

/** A fake Ansible session: records each playbook; throws the error `failures[playbook]` if one is set. */
function session(failures: Failures = {}, env?: NodeJS.ProcessEnv): AnsibleSession {
  return fakeSession(dir, playbookCalls, {
    ...(env ? { env } : {}),
    changes: [{ host: "cp-1", task: "a task" }],
    onRun: (options) => {
      journal.push(`playbook ${options.playbook}${options.check ? " check" : ""}`);
      const failure = failures[options.playbook];
      if (failure !== undefined) throw failure;
    },
  });
}

function steps(failures: Failures = {}): UpSteps {
  const step = async (name: string, dryRun: boolean) => {
    journal.push(`${name}${dryRun ? " check" : ""}`);
    if (failures[name] !== undefined) throw failures[name];
  };
  return {
    applyDns: (_ctx, phase) => step("dns", phase.dryRun),
    bootstrapGitOps: (_ctx, _kubeconfig, phase) => step("gitops", phase.dryRun),
    waitForApplications: (_ctx, _kubeconfig, _timeout, phase) => step("wait", phase.dryRun),
  };
}

function context(signal?: AbortSignal): CommandContext {
  return { cwd: dir, env: {}, reporter, interactive: false, ...(signal ? { signal } : {}) };
}

function options(extra: Partial<UpOptions> & { until?: string; skip?: string[] } = {}): UpOptions {
  const { until, skip, ...rest } = extra;
  return {
    dryRun: false,
    yes: true,
    timeoutMs: 60_000,
    layers: layerSelection({ until, skip }, LAYERS),
    ...rest,
  };
}

const FULL_RUN = [
  "playbook preflight.yml",
  "dns",
  "playbook bootstrap.yml",
  "playbook k3s-cluster.yml",
  "gitops",
  "wait",
];

beforeEach(async () => {
  dir = await fakeProject(["cp-1"], ["wk-1"]);
  lines.length = 0;
  journal = [];
  playbookCalls = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("infra up: the layers in order", () => {
  it("checks every host first, then DNS, hosts, K3s, GitOps and the wait, each once", async () => {
    const out = await upCommand(context(), options(), { session: session(), steps: steps() });
    expect(journal).toEqual(FULL_RUN);
    expect(out.data.phases.map((p) => [p.title, p.status])).toEqual([
      ["Check the inventory against cluster.yaml", "skipped"],
      ["Read the inventory", "done"],
      ["Check the Ansible vault", "done"],
      ["Check every host before changing anything", "done"],
      ["Check the Cloudflare Tunnel's token for cloudflared (ingress.mode tunnel or both)", "done"],
      ["Apply DNS records and the R2 bucket (OpenTofu)", "done"],
      ["Bootstrap every host (common, firewall, tailscale, K3s prerequisites)", "done"],
      ["Install K3s: servers one at a time, then agents", "done"],
      ["Bootstrap GitOps: Argo CD, the age key Secret, the root application", "done"],
      ["Wait until every Argo CD application is Synced and Healthy", "done"],
    ]);
    // The preflight checks what the selected layers need: the Tailscale key (hosts) and the K3s token (k3s).
    expect(playbookCalls[0]?.extraVars).toMatchObject({
      preflight_check_tailscale_key: true,
      preflight_check_k3s_token: true,
    });
    // After the preflight passed, the playbooks skip gathering facts and checking the hosts again.
    expect(playbookCalls[0]?.extraVars?.preflight_passed).toBeUndefined();
    expect(playbookCalls.slice(1).map((c) => c.extraVars?.preflight_passed)).toEqual([true, true]);
    expect(out.data.notRun).toEqual([]);
    expect(out.human(out.data)).toMatch(/Tip: export KUBECONFIG=/);
  });

  it("--dry-run: every playbook in check mode with --diff, DNS planned, GitOps dry-run, no wait", async () => {
    const out = await upCommand(context(), options({ dryRun: true, yes: false }), {
      session: session(),
      steps: steps(),
    });
    expect(journal).toEqual([
      "playbook preflight.yml check",
      "dns check",
      "playbook bootstrap.yml check",
      "playbook k3s-cluster.yml check",
      "gitops check",
    ]);
    expect(playbookCalls.every((c) => c.check === true && c.diff === true)).toBe(true);
    expect(out.data.dryRun).toBe(true);
    expect(out.human(out.data)).toContain("dry-run: these changes would be made:");
    expect(out.human(out.data)).toContain("cp-1: a task");
    expect(out.human(out.data)).not.toContain("Tip:");
  });

  it("a real run without --yes and without a terminal is refused before anything runs", async () => {
    await expect(
      upCommand(context(), options({ yes: false }), { session: session(), steps: steps() }),
    ).rejects.toMatchObject({ code: "CONFIRMATION_REQUIRED", exitCode: 2 });
    expect(journal).toEqual([]);
  });
});

describe("infra up --until / --skip", () => {
  it("--until hosts --skip dns: bootstrap only, its preflight play the command's; the rest skipped with the flag named", async () => {
    const out = await upCommand(context(), options({ until: "hosts", skip: ["dns"] }), {
      session: session(),
      steps: steps(),
    });
    // Nothing changes between the checks and the first playbook: that playbook's own preflight play
    // runs them (one ansible-playbook and one fact gathering fewer).
    expect(journal).toEqual(["playbook bootstrap.yml"]);
    expect(playbookCalls[0]?.extraVars).toEqual({
      preflight_hosts: "k3s_cluster",
      preflight_check_tailscale_key: true,
      preflight_check_k3s_token: false,
      preflight_check_first_server: false,
    });
    expect(out.data.phases.map((p) => p.title)).not.toContain("Check every host before changing anything");
    expect(lines).toContain(
      "--- Skipping phase: Apply DNS records and the R2 bucket (OpenTofu) (--skip dns)",
    );
    expect(lines).toContain(
      "--- Skipping phase: Install K3s: servers one at a time, then agents (--until hosts)",
    );
    expect(out.data.notRun).toEqual([
      { layer: "dns", reason: "--skip dns" },
      { layer: "k3s", reason: "--until hosts" },
      { layer: "gitops", reason: "--until hosts" },
    ]);
    expect(out.human(out.data)).toContain(
      "not run: dns (--skip dns), k3s (--until hosts), gitops (--until hosts); `infra up` converges every layer",
    );
  });

  it("--skip hosts --until k3s --dry-run: the K3s layer alone, in check mode", async () => {
    await upCommand(context(), options({ dryRun: true, until: "k3s", skip: ["dns", "hosts"] }), {
      session: session(),
      steps: steps(),
    });
    expect(journal).toEqual(["playbook k3s-cluster.yml check"]);
    expect(playbookCalls[0]?.extraVars).toMatchObject({
      preflight_check_tailscale_key: false,
      preflight_check_k3s_token: true,
    });
  });

  it("--skip dns: a host that fails the checks of the first playbook's preflight play is exit 3, nothing after it", async () => {
    const unreachable = new InfraError("HOST_UNREACHABLE", "agent-1 is not reachable", { kind: "preflight" });
    const error = await upCommand(context(), options({ skip: ["dns"] }), {
      session: session({ "bootstrap.yml": unreachable }),
      steps: steps(),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "HOST_UNREACHABLE", exitCode: 3 });
    expect(journal).toEqual(["playbook bootstrap.yml"]);
  });

  it("--skip hosts k3s: neither the vault nor the hosts are checked (no Ansible layer runs)", async () => {
    await upCommand(context(), options({ skip: ["hosts", "k3s"] }), {
      session: session({}, {}),
      steps: steps(),
    });
    expect(journal).toEqual(["dns", "gitops", "wait"]);
  });

  it("an unknown layer is a usage error naming the layers", () => {
    expect(() => layerSelection({ until: "kubernetes" }, LAYERS)).toThrowError(
      expect.objectContaining({
        code: "LAYER_UNKNOWN",
        exitCode: 2,
        hint: "use one of: dns, hosts, k3s, gitops",
      }),
    );
    expect(() => layerSelection({ skip: ["dns", "nope"] }, ["hosts", "k3s"])).toThrowError(
      expect.objectContaining({ message: "--skip dns: not a layer of this command" }),
    );
  });
});

describe("infra up: a failure stops every later phase with that phase's error and exit code", () => {
  const runtime = (code: string) => new InfraError(code, `${code.toLowerCase()} happened`);
  const preflight = (code: string) => new InfraError(code, "agent-1 is not reachable", { kind: "preflight" });
  const cases: {
    phase: string;
    playbooks?: Failures;
    steps?: Failures;
    env?: NodeJS.ProcessEnv;
    code: string;
    exitCode: number;
    message: RegExp;
    ran: string[];
  }[] = [
    {
      phase: "vault",
      env: {},
      code: "VAULT_PASSWORD_MISSING",
      exitCode: 3,
      message: /^check the Ansible vault: /,
      ran: [],
    },
    {
      phase: "preflight",
      playbooks: { "preflight.yml": preflight("HOST_UNREACHABLE") },
      code: "HOST_UNREACHABLE",
      exitCode: 3,
      message: /^check every host before changing anything: agent-1 is not reachable$/,
      ran: ["playbook preflight.yml"],
    },
    {
      phase: "dns",
      steps: { dns: runtime("TOFU_FAILED") },
      code: "TOFU_FAILED",
      exitCode: 1,
      message: /^apply DNS records and the R2 bucket \(OpenTofu\): /,
      ran: FULL_RUN.slice(0, 2),
    },
    {
      phase: "hosts",
      playbooks: { "bootstrap.yml": runtime("TASK_FAILED") },
      code: "TASK_FAILED",
      exitCode: 1,
      message: /^bootstrap every host .*: task_failed happened$/,
      ran: FULL_RUN.slice(0, 3),
    },
    {
      phase: "k3s",
      playbooks: { "k3s-cluster.yml": runtime("TASK_FAILED") },
      code: "TASK_FAILED",
      exitCode: 1,
      message: /^install K3s: /,
      ran: FULL_RUN.slice(0, 4),
    },
    {
      phase: "gitops",
      steps: { gitops: new InfraError("AGE_KEY_MISSING", "no age key", { kind: "preflight" }) },
      code: "AGE_KEY_MISSING",
      exitCode: 3,
      message: /^bootstrap GitOps: /,
      ran: FULL_RUN.slice(0, 5),
    },
    {
      phase: "wait",
      steps: { wait: runtime("APPS_NOT_HEALTHY") },
      code: "APPS_NOT_HEALTHY",
      exitCode: 1,
      message: /^wait until every Argo CD application is Synced and Healthy: /,
      ran: FULL_RUN,
    },
    {
      phase: "an unexpected error in a layer",
      steps: { dns: new Error("socket hang up") },
      code: "PHASE_FAILED",
      exitCode: 1,
      message: /^apply DNS records and the R2 bucket \(OpenTofu\): socket hang up$/,
      ran: FULL_RUN.slice(0, 2),
    },
  ];

  for (const c of cases) {
    it(`${c.phase}: ${c.code}, exit ${c.exitCode}, nothing after it`, async () => {
      const error = await upCommand(context(), options(), {
        session: session(c.playbooks, c.env),
        steps: steps(c.steps),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InfraError);
      expect(error).toMatchObject({ code: c.code, exitCode: c.exitCode });
      expect((error as InfraError).message).toMatch(c.message);
      expect(journal).toEqual(c.ran);
    });
  }

  it("an interrupt during the host layer: exit 130, the state line, and no later layer", async () => {
    const controller = new AbortController();
    const interrupted = session();
    interrupted.runPlaybook = async (opts) => {
      journal.push(`playbook ${opts.playbook}`);
      if (opts.playbook === "bootstrap.yml") {
        controller.abort();
        throw new InfraError("INTERRUPTED", "bootstrap.yml was interrupted", { kind: "interrupted" });
      }
      return {
        playbook: opts.playbook,
        exitCode: 0,
        check: false,
        recap: {},
        failures: [],
        changes: [],
        durationMs: 1,
      };
    };
    const error = await upCommand(context(controller.signal), options(), {
      session: interrupted,
      steps: steps(),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INTERRUPTED", exitCode: 130 });
    // the one line on the state left behind, and the command that converges it
    expect((error as InfraError).hint).toMatch(
      /^the hosts of the interrupted phase may be half-configured: re-run `infra up` \(log: /,
    );
    expect(journal).toEqual(["playbook preflight.yml", "dns", "playbook bootstrap.yml"]);
  });

  it("a re-run after a failed layer goes from the top through every layer to the end", async () => {
    const failure = runtime("HOST_UNREACHABLE");
    await expect(
      upCommand(context(), options(), {
        session: session({ "bootstrap.yml": failure }),
        steps: steps(),
      }),
    ).rejects.toMatchObject({ code: "HOST_UNREACHABLE" });
    journal = [];
    const out = await upCommand(context(), options(), { session: session(), steps: steps() });
    expect(journal).toEqual(FULL_RUN);
    expect(out.data.phases.every((p) => p.status !== "failed")).toBe(true);
  });
});
