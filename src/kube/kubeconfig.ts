/**
 * Finding and loading the kubeconfig, one rule for every command: `--kubeconfig`, else
 * $KUBECONFIG (colon-separated, merged like kubectl: the first file to name an entry wins),
 * else `<root>/.infra/kubeconfig` (written by `infra up`/`cluster init`), else ~/.kube/config;
 * `--context` picks a context. Every failure names the file or context and says what to do.
 *
 * Read with the CLI's one YAML reader (`yaml`, aliases bounded) rather than through
 * @kubernetes/client-node: importing the client library costs over a second before the first
 * request (bench/startup.ts measures it), and a kubeconfig is a small, stable format (clusters,
 * users, contexts). Credentials supported: client certificates
 * and CA (files or inline data), bearer tokens (inline or tokenFile), basic auth, and exec
 * credential plugins (client.authentication.k8s.io v1 and v1beta1).
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { parse } from "yaml";
import { closest } from "../config/suggest.js";
import { InfraError } from "../errors.js";

export interface KubeAccessOptions {
  /** Path to a kubeconfig file (default: see kubeconfigFiles). */
  kubeconfig?: string | undefined;
  /** Context to use (default: the kubeconfig's current context). */
  context?: string | undefined;
  /** Deadline of each API request, retries included (default 30 s). */
  requestTimeoutMs?: number | undefined;
  /** Cancels in-flight requests (the first Ctrl-C). */
  signal?: AbortSignal | undefined;
}

/** Where the kubeconfig came from, in the order of the rule. */
export type KubeconfigSource = "--kubeconfig" | "$KUBECONFIG" | ".infra/kubeconfig" | "~/.kube/config";

/** What a request needs to authenticate: TLS material and an Authorization header. */
export interface KubeAuth {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
  token?: string;
  tokenFile?: string;
  basic?: { username: string; password: string };
  exec?: ExecConfig;
}

export interface ExecConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  /** Directory relative commands resolve against (the kubeconfig's). */
  dir: string;
}

export interface LoadedKubeConfig {
  /** The files read (present ones), in merge order. */
  files: string[];
  source: KubeconfigSource;
  context: string;
  server: string;
  auth: KubeAuth;
}

/** The rule: which files, and why. `root` is the repository root, `workdir` where infra was started. */
export function kubeconfigFiles(
  options: Pick<KubeAccessOptions, "kubeconfig">,
  env: NodeJS.ProcessEnv,
  root: string,
  workdir: string = root,
): { files: string[]; source: KubeconfigSource } {
  if (options.kubeconfig !== undefined) {
    return { files: [resolve(workdir, options.kubeconfig)], source: "--kubeconfig" };
  }
  const fromEnv = (env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  if (fromEnv.length > 0)
    return { files: fromEnv.map((file) => resolve(workdir, file)), source: "$KUBECONFIG" };
  const project = join(root, ".infra", "kubeconfig");
  if (isFile(project)) return { files: [project], source: ".infra/kubeconfig" };
  return { files: [join(env.HOME || homedir(), ".kube", "config")], source: "~/.kube/config" };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

interface Named<T> {
  name: string;
  value: T;
}

interface RawCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
  "proxy-url"?: string;
}

interface RawUser {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  exec?: {
    apiVersion?: string;
    command?: string;
    args?: string[];
    env?: { name: string; value: string }[] | null;
  };
  "auth-provider"?: { name?: string };
}

interface RawContext {
  cluster?: string;
  user?: string;
}

/** One parsed file, paths resolved against its folder (as kubectl does). */
interface ParsedFile {
  file: string;
  currentContext: string | undefined;
  clusters: Named<RawCluster & { dir: string }>[];
  users: Named<RawUser & { dir: string }>[];
  contexts: Named<RawContext>[];
}

function configError(code: string, message: string, file: string, hint: string, cause?: unknown): InfraError {
  return new InfraError(code, message, {
    kind: "config",
    location: { file },
    hint,
    ...(cause === undefined ? {} : { cause }),
  });
}

function readKubeconfig(file: string): ParsedFile | undefined {
  let text: string;
  try {
    if (statSync(file).isDirectory()) {
      throw configError(
        "KUBECONFIG_INVALID",
        `the kubeconfig ${file} is a directory, not a file`,
        file,
        "name the kubeconfig file itself with --kubeconfig",
      );
    }
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof InfraError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    throw configError(
      "KUBECONFIG_UNREADABLE",
      `the kubeconfig ${file} cannot be read (${code ?? String(error)})`,
      file,
      "check the file's permissions, or pass another one with --kubeconfig",
      error,
    );
  }
  let raw: unknown;
  try {
    raw = parse(text, { logLevel: "error", maxAliasCount: 100, uniqueKeys: false });
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    throw configError(
      "KUBECONFIG_INVALID",
      `the kubeconfig ${file} is not valid YAML: ${first}`,
      file,
      "check that the file is a kubeconfig (apiVersion: v1, kind: Config) or pass another one with --kubeconfig",
      error,
    );
  }
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw configError(
      "KUBECONFIG_INVALID",
      `the kubeconfig ${file} is not a mapping`,
      file,
      "check that the file is a kubeconfig (apiVersion: v1, kind: Config) or pass another one with --kubeconfig",
    );
  }
  const doc = raw as Record<string, unknown>;
  const dir = dirname(file);
  const named = <T>(key: string, inner: string): Named<T>[] => {
    const list = doc[key];
    if (list === undefined || list === null) return [];
    if (!Array.isArray(list)) {
      throw configError(
        "KUBECONFIG_INVALID",
        `the kubeconfig ${file}: "${key}" is not a list`,
        file,
        "fix the file or fetch a fresh kubeconfig",
      );
    }
    return list.flatMap((entry) => {
      const item = entry as Record<string, unknown> | null;
      if (!item || typeof item.name !== "string") return [];
      return [{ name: item.name, value: (item[inner] ?? {}) as T }];
    });
  };
  const currentContext = doc["current-context"];
  return {
    file,
    currentContext: typeof currentContext === "string" && currentContext ? currentContext : undefined,
    clusters: named<RawCluster>("clusters", "cluster").map((c) => ({ ...c, value: { ...c.value, dir } })),
    users: named<RawUser>("users", "user").map((u) => ({ ...u, value: { ...u.value, dir } })),
    contexts: named<RawContext>("contexts", "context"),
  };
}

/** Merges like kubectl: the first file that names a cluster, user or context wins; so does its current-context. */
function merge(parsed: ParsedFile[]): Omit<ParsedFile, "file"> {
  const first = <T>(lists: Named<T>[][]): Named<T>[] => {
    const seen = new Map<string, Named<T>>();
    for (const list of lists) for (const item of list) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  return {
    currentContext: parsed.find((p) => p.currentContext)?.currentContext,
    clusters: first(parsed.map((p) => p.clusters)),
    users: first(parsed.map((p) => p.users)),
    contexts: first(parsed.map((p) => p.contexts)),
  };
}

export async function loadKubeConfig(
  options: KubeAccessOptions,
  env: NodeJS.ProcessEnv,
  root: string,
  workdir: string = root,
): Promise<LoadedKubeConfig> {
  const { files, source } = kubeconfigFiles(options, env, root, workdir);
  const parsed = files.map(readKubeconfig).filter((p): p is ParsedFile => p !== undefined);
  const firstFile = parsed[0]?.file ?? files[0] ?? "";
  if (parsed.length === 0) {
    throw configError(
      "KUBECONFIG_NOT_FOUND",
      `no kubeconfig at ${files.join(", ")} (from ${source})`,
      firstFile,
      "fetch the cluster's kubeconfig (`infra cluster init` writes .infra/kubeconfig) or pass one with --kubeconfig or $KUBECONFIG",
    );
  }
  const merged = merge(parsed);
  const contexts = merged.contexts.map((c) => c.name);
  const wanted = options.context ?? merged.currentContext;
  const context = merged.contexts.find((c) => c.name === wanted);
  if (!wanted || !context) {
    const suggestion = wanted ? closest(wanted, contexts) : undefined;
    throw new InfraError(
      "KUBE_CONTEXT_NOT_FOUND",
      wanted
        ? `the kubeconfig ${firstFile} has no context "${wanted}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`
        : `the kubeconfig ${firstFile} has no current context`,
      {
        kind: "config",
        location: { file: firstFile, path: options.context ? "--context" : "current-context" },
        hint: contexts.length
          ? `pass one of these with --context: ${contexts.join(", ")}`
          : "the kubeconfig defines no contexts; fetch a complete kubeconfig from a server node",
      },
    );
  }
  const cluster = merged.clusters.find((c) => c.name === context.value.cluster)?.value;
  if (!cluster?.server) {
    throw configError(
      "KUBECONFIG_INVALID",
      `context "${wanted}" names no cluster with a server address`,
      firstFile,
      "fix the context's cluster entry (server: https://<tailscale-ip>:6443) or pick another with --context",
    );
  }
  try {
    new URL(cluster.server);
  } catch {
    throw configError(
      "KUBECONFIG_INVALID",
      `context "${wanted}": the server "${cluster.server}" is not a URL`,
      firstFile,
      "the server must look like https://<tailscale-ip>:6443",
    );
  }
  const user = context.value.user
    ? merged.users.find((u) => u.name === context.value.user)?.value
    : undefined;
  if (context.value.user && !user) {
    throw configError(
      "KUBECONFIG_INVALID",
      `context "${wanted}" names the user "${context.value.user}", which the kubeconfig does not define`,
      firstFile,
      "fetch a complete kubeconfig from a server node or pick another context with --context",
    );
  }
  return {
    files: parsed.map((p) => p.file),
    source,
    context: wanted,
    server: cluster.server,
    auth: authOf(cluster, user, firstFile),
  };
}

function authOf(
  cluster: RawCluster & { dir: string },
  user: (RawUser & { dir: string }) | undefined,
  file: string,
): KubeAuth {
  const path = (dir: string, p: string) => (isAbsolute(p) ? p : join(dir, p));
  const readMaterial = (
    what: string,
    data: string | undefined,
    filePath: string | undefined,
    dir: string,
  ) => {
    if (data) return Buffer.from(data, "base64");
    if (!filePath) return undefined;
    const full = path(dir, filePath);
    try {
      return readFileSync(full);
    } catch (error) {
      throw configError(
        "KUBECONFIG_INVALID",
        `the kubeconfig's ${what} ${full} cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`,
        file,
        "fetch a fresh kubeconfig (with the certificates inline) from a server node",
        error,
      );
    }
  };
  const auth: KubeAuth = {};
  const ca = readMaterial(
    "certificate-authority",
    cluster["certificate-authority-data"],
    cluster["certificate-authority"],
    cluster.dir,
  );
  if (ca) auth.ca = ca;
  if (cluster["insecure-skip-tls-verify"] === true) auth.insecureSkipTlsVerify = true;
  if (cluster["tls-server-name"]) auth.tlsServerName = cluster["tls-server-name"];
  if (cluster["proxy-url"]) {
    throw configError(
      "KUBECONFIG_UNSUPPORTED",
      `the kubeconfig's cluster uses proxy-url, which infra does not support`,
      file,
      "reach the API server directly over Tailscale (server: https://<tailscale-ip>:6443)",
    );
  }
  if (!user) return auth;
  const cert = readMaterial(
    "client-certificate",
    user["client-certificate-data"],
    user["client-certificate"],
    user.dir,
  );
  const key = readMaterial("client-key", user["client-key-data"], user["client-key"], user.dir);
  if (cert) auth.cert = cert;
  if (key) auth.key = key;
  if (user.token) auth.token = user.token;
  if (user.tokenFile) auth.tokenFile = path(user.dir, user.tokenFile);
  if (user.username !== undefined && user.password !== undefined) {
    auth.basic = { username: String(user.username), password: String(user.password) };
  }
  if (user.exec) {
    if (!user.exec.command) {
      throw configError(
        "KUBECONFIG_INVALID",
        "the kubeconfig's exec plugin names no command",
        file,
        "fix users[].user.exec.command",
      );
    }
    auth.exec = {
      apiVersion: user.exec.apiVersion ?? "client.authentication.k8s.io/v1",
      command: user.exec.command,
      args: user.exec.args ?? [],
      env: user.exec.env ?? [],
      dir: user.dir,
    };
  }
  if (user["auth-provider"]) {
    throw configError(
      "KUBECONFIG_UNSUPPORTED",
      `the kubeconfig's user uses the auth-provider "${user["auth-provider"].name ?? "?"}", which Kubernetes removed`,
      file,
      "use a client certificate, a token or an exec credential plugin (K3s's admin kubeconfig has a client certificate)",
    );
  }
  return auth;
}
