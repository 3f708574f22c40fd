/**
 * Finding and loading the kubeconfig: `--kubeconfig`, else $KUBECONFIG (colon-separated, merged
 * like kubectl does), else ~/.kube/config; `--context` picks a context. Every failure names the
 * file or context and says what to do.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { InfraError } from "../errors.js";

export interface KubeAccessOptions {
  /** Path to a kubeconfig file (default: $KUBECONFIG, else ~/.kube/config). */
  kubeconfig?: string | undefined;
  /** Context to use (default: the kubeconfig's current context). */
  context?: string | undefined;
}

export interface LoadedKubeConfig {
  kc: KubeConfig;
  files: string[];
  context: string;
  server: string;
}

export function kubeconfigFiles(options: KubeAccessOptions, env: NodeJS.ProcessEnv, cwd: string): string[] {
  if (options.kubeconfig) return [resolve(cwd, options.kubeconfig)];
  const fromEnv = (env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  if (fromEnv.length > 0) return fromEnv.map((file) => resolve(cwd, file));
  return [join(env.HOME ?? homedir(), ".kube", "config")];
}

export async function loadKubeConfig(
  options: KubeAccessOptions,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<LoadedKubeConfig> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const files = kubeconfigFiles(options, env, cwd);
  const present = files.filter((file) => existsSync(file));
  if (present.length === 0) {
    const where = options.kubeconfig
      ? "--kubeconfig"
      : env.KUBECONFIG
        ? "$KUBECONFIG"
        : "the default location";
    throw new InfraError("KUBECONFIG_NOT_FOUND", `no kubeconfig at ${files.join(", ")} (${where})`, {
      location: { file: files[0] },
      hint: "fetch the cluster's kubeconfig (see docs/disaster-recovery.md) and pass it with --kubeconfig or $KUBECONFIG",
    });
  }
  const kc = new KubeConfig();
  for (const [index, file] of present.entries()) {
    const one = index === 0 ? kc : new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (error) {
      throw new InfraError(
        "KUBECONFIG_INVALID",
        `the kubeconfig ${file} cannot be read: ${firstLine(error)}`,
        {
          location: { file },
          hint: "check that the file is a kubeconfig (apiVersion: v1, kind: Config) or pass another one with --kubeconfig",
          cause: error,
        },
      );
    }
    // the first file's current context wins, like kubectl
    if (index > 0) kc.mergeConfig(one, true);
  }
  const contexts = kc.getContexts().map((c) => c.name);
  const wanted = options.context ?? kc.getCurrentContext();
  if (!wanted || !contexts.includes(wanted)) {
    throw new InfraError(
      "KUBE_CONTEXT_NOT_FOUND",
      wanted ? `the kubeconfig has no context "${wanted}"` : "the kubeconfig has no current context",
      {
        location: { file: present[0], path: options.context ? "--context" : "current-context" },
        hint: contexts.length
          ? `pass one of these with --context: ${contexts.join(", ")}`
          : "the kubeconfig defines no contexts; fetch a complete kubeconfig from a server node",
      },
    );
  }
  kc.setCurrentContext(wanted);
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new InfraError("KUBECONFIG_INVALID", `context "${wanted}" names no cluster with a server address`, {
      location: { file: present[0], path: `contexts.${wanted}.cluster` },
      hint: "fix the context's cluster entry (server: https://<tailscale-ip>:6443) or pick another with --context",
    });
  }
  return { kc, files: present, context: wanted, server: cluster.server };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0] ?? text;
}
