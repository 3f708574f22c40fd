/**
 * `infra up`: converge the whole cluster in the order of docs/architecture.md (Data flow) — OpenTofu
 * (DNS records and the R2 bucket), bootstrap.yml, k3s-cluster.yml, the GitOps bootstrap, then wait until Argo CD reports
 * every application Synced and Healthy. One confirmation up front; `--dry-run` plans every layer
 * (tofu plan, playbooks in check mode with --diff, server-side dry-run apply) and changes nothing.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type KubeAccessOptions, kubeconfigFiles } from "../kube/kubeconfig.js";
import { type Outcome, outcome } from "../outcome.js";
import { renderDryRun } from "../phases/ansible-command.js";
import {
  type AnsibleSession,
  CheckRendered,
  CheckVault,
  openAnsibleSession,
  preflightPhase,
  ReadInventory,
  RunPlaybook,
} from "../phases/ansible-phases.js";
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
}

export interface UpResult extends ManagerResult {
  logFile: string;
  kubeconfig: string;
}

/** Where k3s_server fetches the admin kubeconfig (its server rewritten to a Tailscale address). */
export const KUBECONFIG_PATH = join(".infra", "kubeconfig");

export async function upCommand(ctx: CommandContext, options: UpOptions): Promise<Outcome<UpResult>> {
  if (!options.dryRun) {
    await confirmAction(
      ctx,
      "Converge the cluster: apply DNS and the R2 bucket, provision every host, install K3s and bootstrap GitOps?",
      options.yes,
    );
  }
  const session = await openAnsibleSession(ctx.cwd, ctx.env, "up");
  const manager = new Manager({
    reporter: ctx.reporter,
    dryRun: options.dryRun,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const result = await manager.run(upPhases(ctx, session, options));
  // resolved after the run: k3s_server writes .infra/kubeconfig part-way through
  const kubeconfig =
    kubeconfigFiles(options.kube ?? {}, ctx.env, ctx.cwd, ctx.workdir).files[0] ?? KUBECONFIG_PATH;
  return outcome({ ...result, logFile: session.logFile, kubeconfig }, renderUp);
}

/** Connects by the one kubeconfig rule, resolved when the phase runs (after K3s wrote .infra/kubeconfig). */
async function connectNow(ctx: CommandContext, kube: UpOptions["kube"]) {
  const { connect } = await import("../kube/client.js");
  return connect({ ...kube, signal: ctx.signal }, ctx.env, ctx.cwd, ctx.workdir);
}

export function upPhases(ctx: CommandContext, session: AnsibleSession, options: UpOptions): Phase[] {
  return [
    new CheckRendered(session, options.config),
    new ReadInventory(session),
    new CheckVault(session, true),
    preflightPhase(session, { tailscaleKey: true, k3sToken: true, firstServer: false }),
    new CheckTunnelToken(ctx.cwd, ctx.env),
    new ApplyDns(ctx),
    new RunPlaybook(session, {
      title: "Bootstrap every host (common, firewall, tailscale)",
      playbook: "bootstrap.yml",
    }),
    new RunPlaybook(session, {
      title: "Install K3s: servers one at a time, then agents",
      playbook: "k3s-cluster.yml",
    }),
    new BootstrapGitOps(ctx, options.kube),
    new WaitForApplications(ctx, options.kube, options.timeoutMs),
  ];
}

/** OpenTofu through the dns slice: plan in a dry run, apply otherwise (already confirmed). */
class ApplyDns implements Phase {
  readonly title = "Apply DNS records and the R2 bucket (OpenTofu)";
  constructor(private readonly ctx: CommandContext) {}
  async run(phase: PhaseContext): Promise<void> {
    const { dnsApply } = await import("../dns/dns.js");
    const result = await dnsApply(this.ctx, { yes: true, dryRun: phase.dryRun });
    for (const change of result.data.changes) {
      if (phase.dryRun) phase.noteDryRun(change.address, change.action);
    }
    phase.reporter.step("tofu", result.human(result.data).split("\n")[0] ?? "");
  }
}

/** Argo CD, the sops-age Secret and the root Application, by server-side apply. */
class BootstrapGitOps implements Phase {
  readonly title = "Bootstrap GitOps: Argo CD, the age key Secret, the root application";
  constructor(
    private readonly ctx: CommandContext,
    private readonly access: UpOptions["kube"],
  ) {}
  async run(phase: PhaseContext): Promise<void> {
    const { files } = kubeconfigFiles(this.access ?? {}, this.ctx.env, this.ctx.cwd, this.ctx.workdir);
    if (phase.dryRun && !files.some((file) => existsSync(file))) {
      phase.noteDryRun("gitops", "install Argo CD, create argocd/sops-age, apply kubernetes/bootstrap");
      phase.reporter.step(
        "gitops",
        `no kubeconfig at ${files.join(", ")} yet: would bootstrap after K3s is up`,
      );
      return;
    }
    const { gitopsBootstrap } = await import("../gitops/bootstrap.js");
    const kube = await connectNow(this.ctx, this.access);
    const result = await gitopsBootstrap(kube, {
      root: this.ctx.cwd,
      env: this.ctx.env,
      dryRun: phase.dryRun,
      reporter: phase.reporter,
    });
    if (phase.dryRun) for (const r of result.applied) phase.noteDryRun(`${r.kind}/${r.name}`, r.action);
  }
}

interface ApplicationStatus {
  metadata: { name?: string };
  status?: { sync?: { status?: string }; health?: { status?: string; message?: string } };
}

/** Polls Argo CD's Applications until all are Synced and Healthy, printing each change. */
class WaitForApplications implements Phase {
  readonly title = "Wait until every Argo CD application is Synced and Healthy";
  constructor(
    private readonly ctx: CommandContext,
    private readonly access: UpOptions["kube"],
    private readonly timeoutMs: number,
  ) {}
  shouldRun(phase: PhaseContext): boolean {
    return !phase.dryRun;
  }
  async run(phase: PhaseContext): Promise<void> {
    const { waitFor } = await import("../kube/wait.js");
    const kube = await connectNow(this.ctx, this.access);
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
        timeoutMs: this.timeoutMs,
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
}

function renderUp(data: UpResult): string {
  const lines = [
    ...renderDryRun(data),
    `==> Finished in ${formatDuration(data.durationMs)}`,
    `log: ${data.logFile}`,
  ];
  if (!data.dryRun) lines.push(`Tip: export KUBECONFIG=${data.kubeconfig}; infra status`);
  return lines.join("\n");
}
