/**
 * Applies a kubeconfig's credentials to a request: TLS material, bearer token (inline, from a
 * tokenFile re-read on each request as kubectl does, or from an exec credential plugin), basic auth.
 * Exec plugins run through the one exec adapter and their credential is kept until it expires.
 */
import { readFile } from "node:fs/promises";
import type https from "node:https";
import { exec } from "../adapters/exec.js";
import { InfraError } from "../errors.js";
import type { ExecConfig, KubeAuth } from "./kubeconfig.js";

interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

export class Credentials {
  private cached: { status: ExecCredentialStatus; expires: number } | undefined;
  /** The plugin run in flight: concurrent requests share it, so the plugin runs once, as in client-go. */
  private pending: Promise<ExecCredentialStatus> | undefined;

  constructor(
    private readonly auth: KubeAuth,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async apply(options: https.RequestOptions, signal?: AbortSignal): Promise<void> {
    const { auth } = this;
    if (auth.ca) options.ca = auth.ca;
    if (auth.cert) options.cert = auth.cert;
    if (auth.key) options.key = auth.key;
    if (auth.insecureSkipTlsVerify) options.rejectUnauthorized = false;
    if (auth.tlsServerName) options.servername = auth.tlsServerName;
    const headers = (options.headers ?? {}) as Record<string, string | number>;
    let token = auth.token;
    if (auth.tokenFile) token = (await readFile(auth.tokenFile, "utf8")).trim();
    if (auth.exec) {
      const status = await this.execCredential(auth.exec, signal);
      if (status.token) token = status.token;
      if (status.clientCertificateData) options.cert = status.clientCertificateData;
      if (status.clientKeyData) options.key = status.clientKeyData;
    }
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (auth.basic) {
      headers.Authorization = `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString("base64")}`;
    }
    options.headers = headers;
  }

  /** Forget a plugin's credential (after a 401, so the next attempt asks the plugin again). */
  invalidate(): void {
    this.cached = undefined;
  }

  private execCredential(config: ExecConfig, signal?: AbortSignal): Promise<ExecCredentialStatus> {
    if (this.cached && this.cached.expires > Date.now() + 10_000) return Promise.resolve(this.cached.status);
    this.pending ??= this.runPlugin(config, signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async runPlugin(config: ExecConfig, signal?: AbortSignal): Promise<ExecCredentialStatus> {
    const env = { ...this.env };
    for (const { name, value } of config.env) env[name] = value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion: config.apiVersion,
      kind: "ExecCredential",
      spec: { interactive: false },
    });
    const result = await exec(config.command, config.args, {
      env,
      cwd: config.dir,
      ...(signal ? { signal } : {}),
    });
    let status: ExecCredentialStatus | undefined;
    try {
      status = (JSON.parse(result.stdout) as { status?: ExecCredentialStatus }).status;
    } catch {
      status = undefined;
    }
    if (!status || (!status.token && !status.clientCertificateData)) {
      throw new InfraError(
        "KUBE_EXEC_CREDENTIAL_INVALID",
        `the kubeconfig's credential plugin ${config.command} printed no ExecCredential with a token or certificate`,
        {
          kind: "config",
          hint: `run \`${config.command} ${config.args.join(" ")}\` yourself to see what it prints`,
        },
      );
    }
    const expires = status.expirationTimestamp
      ? Date.parse(status.expirationTimestamp)
      : Number.POSITIVE_INFINITY;
    this.cached = { status, expires };
    return status;
  }
}
