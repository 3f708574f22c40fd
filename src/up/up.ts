/**
 * `infra up`: converge the whole cluster in the order of docs/architecture.md (Data flow) — OpenTofu
 * (DNS records and the R2 bucket), bootstrap.yml, k3s-cluster.yml, the GitOps bootstrap, then wait until Argo CD reports
 * every application Synced and Healthy. One confirmation up front; `--dry-run` plans every layer
 * (tofu plan, playbooks in check mode with --diff, server-side dry-run apply) and changes nothing.
 * `--until LAYER` stops after a layer and `--skip LAYER` leaves one out (phases/layers.ts). Every
 * host is checked (preflight.yml) before DNS or any host is changed; a failed phase stops the run,
 * and a re-run starts again from the top: the layers before are idempotent and change nothing.
 */
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type KubeAccessOptions, kubeconfigFiles } from "../kube/kubeconfig.js";
import { type Outcome, outcome } from "../outcome.js";
import {
  type PlaybookSummary,
  playbookSummaries,
  renderDryRun,
  rethrowInterrupted,
} from "../phases/ansible-command.js";
import {
  type AnsibleSession,
  bootstrapPhase,
  CheckRendered,
  CheckVault,
  layersPreflight,
  openAnsibleSession,
  ReadInventory,
  RunPlaybook,
} from "../phases/ansible-phases.js";
import {
  allLayers,
  describeLayersNotRun,
  inLayer,
  LAYERS,
  type Layer,
  type LayerNotRun,
  type LayerSelection,
  layerSelection,
  layersNotRun,
  runsLayer,
} from "../phases/layers.js";
import { formatDuration, Manager, type ManagerResult } from "../phases/manager.js";
import type { Phase, PhaseContext } from "../phases/phase.js";
import { CheckTunnelToken } from "../tunnel/preflight.js";
import { confirmAction } from "../ui/confirm.js";

export interface UpOptions {
  dryRun: boolean;
  yes: boolean;
  config?: string;
  /** How long to wait for the applications, in ms. */
  timeoutMs: number;
  /** --kubeconfig, --context, --request-timeout (the one kubeconfig rule: kube/kubeconfig.ts). */
  kube?: Omit<KubeAccessOptions, "signal">;
  /** --until / --skip; default: every layer. */
  layers?: LayerSelection;
}

/** The layers of `infra up` that are not Ansible, and where each is converged (replaceable in tests). */
export interface UpSteps {
  applyDns(ctx: CommandContext, phase: PhaseContext): Promise<void>;
  bootstrapGitOps(ctx: CommandContext, kube: UpOptions["kube"], phase: PhaseContext): Promise<void>;
  waitForApplications(
    ctx: CommandContext,
    kube: UpOptions["kube"],
    timeoutMs: number,
    phase: PhaseContext,
  ): Promise<void>;
}

export interface UpResult extends ManagerResult {
  logFile: string;
  /** What each playbook did, per host (the recap). */
  playbooks: PlaybookSummary[];
  kubeconfig: string;
  /** Layers left out by --until / --skip, with the flag that left each out. */
  notRun: LayerNotRun[];
}

/** What each layer does, for the confirmation question. */
const LAYER_WORK: Record<Layer, string> = {
  dns: "apply DNS and the R2 bucket",
  hosts: "provision every host",
  k3s: "install K3s",
  gitops: "bootstrap GitOps",
};

/** Typed options from the parsed flags (up/commands.ts). */
export async function upOptions(o: Record<string, unknown>): Promise<UpOptions> {
  const { durationOption } = await import("../kube/wait.js");
  return {
    dryRun: o.dryRun === true,
    yes: o.yes === true,
    ...(typeof o.config === "string" ? { config: o.config } : {}),
    timeoutMs: durationOption("--timeout", String(o.timeout ?? "30m")),
    layers: layerSelection(o, LAYERS),
  };
}

/** Where k3s_server fetches the admin kubeconfig (its server rewritten to a Tailscale address). */
export const KUBECONFIG_PATH = join(".infra", "kubeconfig");

export async function upCommand(
  ctx: CommandContext,
  options: UpOptions,
  /** For tests: the Ansible session and the non-Ansible layers to use instead of the real ones. */
  deps: { session?: AnsibleSession; steps?: UpSteps } = {},
): Promise<Outcome<UpResult>> {
  const layers = options.layers ?? allLayers(LAYERS);
  if (!options.dryRun) {
    const work = LAYERS.filter((layer) => runsLayer(layers, layer)).map((layer) => LAYER_WORK[layer]);
    await confirmAction(ctx, `Converge the cluster: ${work.join(", ")}?`, options.yes);
  }
  const session = deps.session ?? (await openAnsibleSession(ctx.cwd, ctx.env, "up", ctx.reporter));
  const manager = new Manager({
    reporter: ctx.reporter,
    dryRun: options.dryRun,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  let result: Awaited<ReturnType<Manager["run"]>>;
  try {
    result = await manager.run(upPhases(ctx, session, { ...options, layers }, deps.steps));
  } catch (error) {
    if (!options.dryRun)
      rethrowInterrupted(error, "infra up", relative(ctx.cwd, session.logFile) || session.logFile);
    throw error;
  }
  // resolved after the run: k3s_server writes .infra/kubeconfig part-way through
  const kubeconfig =
    kubeconfigFiles(options.kube ?? {}, ctx.env, ctx.cwd, ctx.workdir).files[0] ?? KUBECONFIG_PATH;
  return outcome(
    {
      ...result,
      logFile: session.logFile,
      kubeconfig,
      playbooks: playbookSummaries(session),
      notRun: layersNotRun(layers),
    },
    renderUp,
  );
}

/** Connects by the one kubeconfig rule, resolved when the phase runs (after K3s wrote .infra/kubeconfig). */
async function connectNow(ctx: CommandContext, kube: UpOptions["kube"]) {
  const { connect } = await import("../kube/client.js");
  return connect({ ...kube, signal: ctx.signal }, ctx.env, ctx.cwd, ctx.workdir);
}

export function upPhases(
  ctx: CommandContext,
  session: AnsibleSession,
  options: UpOptions & { layers: LayerSelection },
  steps: UpSteps = realSteps,
): Phase[] {
  const { layers } = options;
  const hostsOrK3s = runsLayer(layers, "hosts") || runsLayer(layers, "k3s");
  return [
    new CheckRendered(session, options.config),
    new ReadInventory(session),
    // The vault and the hosts are checked before DNS or any host is changed, whenever a layer needs them
    // (without DNS, the hosts by the first playbook's own preflight play: layersPreflight).
    ...(hostsOrK3s
      ? [
          new CheckVault(session, true),
          ...layersPreflight(session, layers, { beforeOtherChanges: runsLayer(layers, "dns") }),
        ]
      : []),
    // cloudflared's token Secret (ingress mode tunnel), before DNS: what the GitOps layer would sync.
    ...(runsLayer(layers, "gitops") ? [new CheckTunnelToken(ctx.cwd, ctx.env)] : []),
    inLayer("dns", layers, {
      title: "Apply DNS records and the R2 bucket (OpenTofu)",
      run: (phase) => steps.applyDns(ctx, phase),
    }),
    bootstrapPhase(session, layers),
    inLayer(
      "k3s",
      layers,
      new RunPlaybook(session, {
        title: "Install K3s: servers one at a time, then agents",
        playbook: "k3s-cluster.yml",
      }),
    ),
    inLayer("gitops", layers, {
      title: "Bootstrap GitOps: Argo CD, the age key Secret, the root application",
      run: (phase) => steps.bootstrapGitOps(ctx, options.kube, phase),
    }),
    inLayer("gitops", layers, {
      title: "Wait until every Argo CD application is Synced and Healthy",
      shouldRun: (phase) => !phase.dryRun,
      run: (phase) => steps.waitForApplications(ctx, options.kube, options.timeoutMs, phase),
    }),
  ];
}

const realSteps: UpSteps = {
  applyDns,
  bootstrapGitOps,
  waitForApplications,
};

/** OpenTofu through the dns slice: plan in a dry run, apply otherwise (already confirmed). */
async function applyDns(ctx: CommandContext, phase: PhaseContext): Promise<void> {
  const { dnsApply } = await import("../dns/dns.js");
  const result = await dnsApply(ctx, { yes: true, dryRun: phase.dryRun });
  for (const change of result.data.changes) {
    if (phase.dryRun) phase.noteDryRun(change.address, change.action);
  }
  phase.reporter.step("tofu", result.human(result.data).split("\n")[0] ?? "");
}

/** Argo CD, the sops-age Secret and the root Application, by server-side apply. */
async function bootstrapGitOps(
  ctx: CommandContext,
  access: UpOptions["kube"],
  phase: PhaseContext,
): Promise<void> {
  const { files } = kubeconfigFiles(access ?? {}, ctx.env, ctx.cwd, ctx.workdir);
  if (phase.dryRun && !files.some((file) => existsSync(file))) {
    phase.noteDryRun("gitops", "install Argo CD, create argocd/sops-age, apply kubernetes/bootstrap");
    phase.reporter.step(
      "gitops",
      `no kubeconfig at ${files.join(", ")} yet: would bootstrap after K3s is up`,
    );
    return;
  }
  const { gitopsBootstrap } = await import("../gitops/bootstrap.js");
  const kube = await connectNow(ctx, access);
  const result = await gitopsBootstrap(kube, {
    root: ctx.cwd,
    env: ctx.env,
    dryRun: phase.dryRun,
    reporter: phase.reporter,
  });
  if (phase.dryRun) for (const r of result.applied) phase.noteDryRun(`${r.kind}/${r.name}`, r.action);
}

interface ApplicationStatus {
  metadata: { name?: string };
  status?: { sync?: { status?: string }; health?: { status?: string; message?: string } };
}

/** Polls Argo CD's Applications until all are Synced and Healthy, printing each change. */
async function waitForApplications(
  ctx: CommandContext,
  access: UpOptions["kube"],
  timeoutMs: number,
  phase: PhaseContext,
): Promise<void> {
  const { waitFor } = await import("../kube/wait.js");
  const kube = await connectNow(ctx, access);
  const seen = new Map<string, string>();
  await waitFor(
    async () => {
      const apps = await kube.list<ApplicationStatus>(
        "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications",
      );
      for (const app of apps) {
        const state = `${app.status?.sync?.status ?? "Unknown"}/${app.status?.health?.status ?? "Unknown"}`;
        const name = app.metadata.name ?? "?";
        if (seen.get(name) !== state) phase.reporter.step(name, state);
        seen.set(name, state);
      }
      const ready =
        apps.length > 0 &&
        apps.every((a) => a.status?.sync?.status === "Synced" && a.status.health?.status === "Healthy");
      return ready ? apps : undefined;
    },
    {
      timeoutMs,
      intervalMs: 5000,
      what: "every Argo CD application Synced and Healthy",
      hint: "Argo CD goes on syncing in the cluster: `infra status` shows the applications; `infra up` again waits once more",
      onTransient: (error) => phase.reporter.warn(`${error.message}; still waiting`),
      ...(phase.signal ? { signal: phase.signal } : {}),
    },
  ).catch((error: unknown) => {
    // Only a wait that ran out is "not healthy"; an interrupt or an unreachable API keeps its own cause.
    if (!(error instanceof InfraError && error.code === "WAIT_TIMEOUT")) throw error;
    const pending = [...seen].filter(([, s]) => s !== "Synced/Healthy").map(([n, s]) => `${n} (${s})`);
    throw new InfraError(
      "APPS_NOT_HEALTHY",
      `not every application became Synced and Healthy: ${pending.join(", ")}`,
      {
        hint: "look at the application in Argo CD (kubectl -n argocd get applications), fix it in Git, and run `infra up` again",
        cause: error,
      },
    );
  });
}

function renderUp(data: UpResult): string {
  const lines = [
    ...renderDryRun(data),
    ...describeLayersNotRun(data.notRun, "infra up"),
    `==> Finished in ${formatDuration(data.durationMs)}`,
    `log: ${data.logFile}`,
  ];
  if (!data.dryRun && data.notRun.length === 0)
    lines.push(`Tip: export KUBECONFIG=${data.kubeconfig}; infra status`);
  return lines.join("\n");
}
