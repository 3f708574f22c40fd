/**
 * A real control plane on loopback for the backup/DR tests: etcd, kube-apiserver (RBAC on, client
 * certificates generated here), kube-controller-manager (namespace finalisation, garbage collection,
 * service accounts), an S3-compatible object store (versitygw, posix backend, path-style, region "auto"
 * like R2) and a Velero server running out of cluster with the AWS plugin and the Kopia uploader.
 *
 * There is no scheduler and no kubelet: Deployments get no pods. Objects round-trip through the API,
 * Velero and the bucket exactly as in a cluster; pod volumes are not exercised here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { exec } from "../../src/adapters/exec.js";
import type { CommandContext } from "../../src/context.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { toolBinDir } from "../../src/toolchain/paths.js";
import { loadVersions } from "../../src/toolchain/versions.js";
import type { Reporter } from "../../src/ui/reporter.js";

export interface ControlPlane {
  dir: string;
  kubeconfig: string;
  server: string;
  bin: Record<ToolBinary, string>;
  s3: {
    endpoint: string;
    bucket: string;
    prefix: string;
    accessKey: string;
    secretKey: string;
    root: string;
  };
  veleroNamespace: string;
  /** A kubeconfig for a user authenticated by a client certificate (CN=user, O=groups) valid `days` (default 2). */
  userKubeconfig(user: string, groups?: string[], days?: number): Promise<string>;
  kubectl(args: string[], input?: string): Promise<string>;
  /** `kubectl apply` of one object or a List. */
  apply(object: unknown): Promise<string>;
  /** A CommandContext for calling `infra` commands in-process against this control plane. */
  context(options?: { kubeconfig?: string; lines?: string[] }): CommandContext;
  stopVelero(): Promise<void>;
  startVelero(): Promise<void>;
  /** A crash: SIGKILL, no shutdown of its own. */
  killVelero(): Promise<void>;
  /** The object store stops answering (SIGSTOP) and resumes (SIGCONT): uploads hang meanwhile. */
  freezeObjectStore(frozen: boolean): void;
  /** Stops kube-apiserver (SIGTERM); the port then refuses connections. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and waits until it is ready. */
  startApiServer(): Promise<void>;
  /** Freezes kube-apiserver (SIGSTOP): connections are accepted by the kernel but never answered. */
  pauseApiServer(): void;
  resumeApiServer(): void;
  /** Process id of a component (for tests that watch processes). */
  pid(name: string): number | undefined;
  stop(keep: boolean): Promise<void>;
}

type ToolBinary =
  | "etcd"
  | "kube-apiserver"
  | "kube-controller-manager"
  | "velero"
  | "velero-plugin-for-aws"
  | "versitygw";

const TOOLS: Record<ToolBinary, { tool: string; bin: string }> = {
  etcd: { tool: "etcd", bin: "server" },
  "kube-apiserver": { tool: "kubernetes", bin: "kube-apiserver" },
  "kube-controller-manager": { tool: "kubernetes", bin: "kube-controller-manager" },
  velero: { tool: "velero", bin: "velero" },
  "velero-plugin-for-aws": { tool: "velero-plugin-for-aws", bin: "velero-plugin-for-aws" },
  versitygw: { tool: "versitygw", bin: "versitygw" },
};

/** Exact paths of the pinned binaries; a missing one fails with the install command. */
export async function toolBinaries(
  required: ToolBinary[] = Object.keys(TOOLS) as ToolBinary[],
): Promise<Record<ToolBinary, string>> {
  const versions = await loadVersions(PACKAGE_ROOT);
  const out = {} as Record<ToolBinary, string>;
  const missing = new Set<string>();
  for (const [key, { tool, bin }] of Object.entries(TOOLS) as [ToolBinary, { tool: string; bin: string }][]) {
    const spec = versions.tools.find((t) => t.name === tool);
    const dir = spec ? toolBinDir(process.env, versions, spec) : undefined;
    const path = dir ? join(dir, bin) : "";
    if (required.includes(key) && (!path || !existsSync(path))) missing.add(tool);
    out[key] = path;
  }
  if (missing.size > 0) {
    throw new Error(`control-plane tools missing: run ./infra tools install ${[...missing].join(" ")}`);
  }
  return out;
}

/** How often Velero validates a backup location here (R2 in a cluster: Velero's default, 1m). */
const STORE_VALIDATION_FREQUENCY = "5s";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await exec("openssl", args, { cwd: dir });
}

interface Pki {
  ca: string;
  caKey: string;
}

async function makeCert(
  dir: string,
  pki: Pki,
  name: string,
  subject: string,
  extensions: string,
  days = 2,
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await openssl(
    dir,
    ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      subject,
    ]),
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    pki.ca,
    "-CAkey",
    pki.caKey,
    "-CAcreateserial",
    "-out",
    cert,
    "-days",
    String(days),
    "-extfile",
    ext,
  ]);
  return { cert, key };
}

function kubeconfigYaml(server: string, ca: string, cert: string, key: string, user: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: test\n  cluster:\n    server: ${server}\n    certificate-authority: ${ca}`,
    "users:",
    `- name: ${user}\n  user:\n    client-certificate: ${cert}\n    client-key: ${key}`,
    "contexts:",
    `- name: ${user}@test\n  context:\n    cluster: test\n    user: ${user}`,
    `current-context: ${user}@test`,
    "",
  ].join("\n");
}

class Processes {
  private readonly children = new Map<string, ChildProcess>();
  constructor(private readonly logs: string) {}

  private readonly groups = new Set<string>();

  /** `group`: its own process group, so a kill takes its children (Velero's plugin processes) too. */
  start(
    name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
    group = false,
  ): ChildProcess {
    const log = createWriteStream(join(this.logs, `${name}.log`), { flags: "a" });
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: group });
    if (group) this.groups.add(name);
    else this.groups.delete(name);
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.children.set(name, child);
    return child;
  }

  signal(name: string, signal: NodeJS.Signals): void {
    this.children.get(name)?.kill(signal);
  }

  async kill(name: string): Promise<void> {
    const child = this.children.get(name);
    this.children.delete(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    this.killAll(name, child);
    await exited;
  }

  private killAll(name: string, child: ChildProcess): void {
    if (this.groups.has(name) && child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
        return;
      } catch {
        // the group is gone already
      }
    }
    child.kill("SIGKILL");
  }

  pid(name: string): number | undefined {
    return this.children.get(name)?.pid;
  }

  alive(name: string): boolean {
    const child = this.children.get(name);
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  async stop(name: string): Promise<void> {
    const child = this.children.get(name);
    this.children.delete(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => this.killAll(name, child), 10_000);
    await exited;
    clearTimeout(timer);
    // Velero does not always stop its plugin processes: take what is left of its group
    if (this.groups.has(name)) this.killAll(name, child);
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.children.keys()].reverse()) await this.stop(name);
  }
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  logs: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(500);
  }
  throw new Error(
    `timed out after ${timeoutMs / 1000}s waiting for ${what} (${lastError}); logs in ${logs}\n${await logTails(logs)}`,
  );
}

/** The last lines of every server's log: what each was doing when a wait gave up or a test failed. */
async function logTails(logs: string, lines = 15): Promise<string> {
  const names = (await readdir(logs).catch(() => [] as string[])).filter((n) => n.endsWith(".log")).sort();
  const tails = await Promise.all(
    names.map(async (name) => {
      const text = await readFile(join(logs, name), "utf8").catch(() => "");
      return `--- ${name} (last ${lines} lines)\n${text.trimEnd().split("\n").slice(-lines).join("\n")}`;
    }),
  );
  return tails.join("\n");
}

/** velero: false leaves Velero out; s3: true starts the S3 store even then. */
export async function startControlPlane(
  options: { velero?: boolean; s3?: boolean } = {},
): Promise<ControlPlane> {
  const withS3 = options.velero !== false || options.s3 === true;
  const bin = await toolBinaries(
    options.velero === false
      ? ["etcd", "kube-apiserver", "kube-controller-manager", ...(withS3 ? (["versitygw"] as const) : [])]
      : undefined,
  );
  const dir = await mkdtemp(join(tmpdir(), "infra-cp-"));
  const logs = join(dir, "logs");
  const pki = join(dir, "pki");
  for (const sub of [
    logs,
    pki,
    join(dir, "etcd"),
    join(dir, "s3"),
    join(dir, "sidecar"),
    join(dir, "plugins"),
    join(dir, "tmp"),
    join(dir, "home"),
  ]) {
    await mkdir(sub, { recursive: true });
  }
  const procs = new Processes(logs);
  const stop = async (keep: boolean) => {
    await procs.stopAll();
    if (!keep) await rm(dir, { recursive: true, force: true });
    else process.stderr.write(`control-plane logs kept in ${logs}\n${await logTails(logs)}\n`);
  };
  try {
    // --- certificates
    const caKey = join(pki, "ca.key");
    const ca = join(pki, "ca.crt");
    await openssl(
      pki,
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
        "-keyout",
        caKey,
        "-out",
        ca,
        "-days",
        "2",
        "-subj",
        "/CN=infra-test-ca",
      ]),
    );
    const authority = { ca, caKey };
    const serving = await makeCert(
      pki,
      authority,
      "apiserver",
      "/CN=kube-apiserver",
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n",
    );
    const clientExt = "extendedKeyUsage=clientAuth\n";
    const admin = await makeCert(pki, authority, "admin", "/O=system:masters/CN=infra-admin", clientExt);
    // in system:masters: the per-controller roles need --use-service-account-credentials and a token signer round trip
    const kcm = await makeCert(
      pki,
      authority,
      "kcm",
      "/O=system:masters/CN=system:kube-controller-manager",
      clientExt,
    );
    const saKey = join(pki, "sa.key");
    const saPub = join(pki, "sa.pub");
    await openssl(pki, ["genrsa", "-out", saKey, "2048"]);
    await openssl(pki, ["rsa", "-in", saKey, "-pubout", "-out", saPub]);

    // --- etcd
    const [etcdClient, etcdPeer, apiPort, s3Port] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    procs.start("etcd", bin.etcd, [
      "--name=test",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=test=http://127.0.0.1:${etcdPeer}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await until("etcd", async () => (await fetch(`${etcdUrl}/health`)).ok, 60_000, logs);

    // --- kube-apiserver (stopped and started again by the tests of flaky networks)
    const server = `https://127.0.0.1:${apiPort}`;
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, "apiserver")}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--client-ca-file=${ca}`,
      // as K3s runs it: kubelets (and the flannel watchdog) write their own Node with node credentials
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NodeRestriction",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      "--service-cluster-ip-range=10.43.0.0/16",
      // Endpoints may not hold loopback addresses, so don't maintain the `kubernetes` Service's
      "--endpoint-reconciler-type=none",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
      "--allow-privileged=true",
      "--v=1",
    ];
    procs.start("kube-apiserver", bin["kube-apiserver"], apiServerArgs);
    const kubeconfig = join(dir, "admin.kubeconfig");
    await writeFile(kubeconfig, kubeconfigYaml(server, ca, admin.cert, admin.key, "admin"));
    const kubectl = async (args: string[], input?: string) =>
      (await exec("kubectl", ["--kubeconfig", kubeconfig, ...args], input === undefined ? {} : { input }))
        .stdout;
    const apiServerReady = () =>
      until(
        "kube-apiserver /readyz",
        async () => {
          if (!procs.alive("kube-apiserver")) throw new Error("kube-apiserver exited");
          return (await kubectl(["get", "--raw", "/readyz"])).trim() === "ok";
        },
        180_000,
        logs,
      );
    await apiServerReady();

    // --- kube-controller-manager: namespace deletion, garbage collection, service accounts
    const kcmConfig = join(dir, "kcm.kubeconfig");
    await writeFile(kcmConfig, kubeconfigYaml(server, ca, kcm.cert, kcm.key, "kcm"));
    procs.start("kube-controller-manager", bin["kube-controller-manager"], [
      `--kubeconfig=${kcmConfig}`,
      `--authentication-kubeconfig=${kcmConfig}`,
      `--authorization-kubeconfig=${kcmConfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${await freePort()}`,
      `--cert-dir=${join(dir, "kcm")}`,
      "--leader-elect=false",
      `--service-account-private-key-file=${saKey}`,
      `--root-ca-file=${ca}`,
      "--use-service-account-credentials=false",
      "--controllers=namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller,disruption-controller",
      "--v=1",
    ]);

    // --- S3-compatible object store (versitygw, posix backend)
    const accessKey = `AK${randomBytes(8).toString("hex").toUpperCase()}`;
    const secretKey = randomBytes(24).toString("base64url");
    const s3Root = join(dir, "s3");
    const bucket = "velero-test";
    await mkdir(join(s3Root, bucket));
    const endpoint = `http://127.0.0.1:${s3Port}`;
    if (withS3) {
      procs.start("versitygw", bin.versitygw, [
        "--port",
        `127.0.0.1:${s3Port}`,
        "--access",
        accessKey,
        "--secret",
        secretKey,
        "--region",
        "auto",
        "--quiet",
        "posix",
        "--sidecar",
        join(dir, "sidecar"),
        s3Root,
      ]);
      await until("versitygw", async () => (await fetch(`${endpoint}/`)).status > 0, 30_000, logs);
    }

    const veleroNamespace = "velero";
    const plane: ControlPlane = {
      dir,
      kubeconfig,
      server,
      bin,
      s3: { endpoint, bucket, prefix: "k3s-test", accessKey, secretKey, root: s3Root },
      veleroNamespace,
      kubectl,
      apply: (object) => kubectl(["apply", "-f", "-"], JSON.stringify(object)),
      async userKubeconfig(user, groups = [], days = 2) {
        const subject = `${groups.map((g) => `/O=${g}`).join("")}/CN=${user}`;
        const pair = await makeCert(pki, authority, `user-${user}`, subject, clientExt, days);
        const file = join(dir, `${user}.kubeconfig`);
        await writeFile(file, kubeconfigYaml(server, ca, pair.cert, pair.key, user));
        return file;
      },
      context(opts = {}) {
        const lines = opts.lines ?? [];
        const reporter: Reporter = {
          phase: (t) => lines.push(`==> ${t}`),
          step: (s, m) => lines.push(`${s}: ${m}`),
          info: (m) => lines.push(m),
          warn: (m) => lines.push(`warning: ${m}`),
        };
        return {
          cwd: PACKAGE_ROOT,
          env: {
            ...process.env,
            KUBECONFIG: opts.kubeconfig ?? kubeconfig,
            VELERO_NAMESPACE: veleroNamespace,
          },
          reporter,
          interactive: false,
        };
      },
      startVelero: async () => {
        // Velero 1.18's controller-runtime metrics listener is fixed at :8080: another control plane's
        // Velero may hold it for a while, and this one then exits at once; it is started again until free.
        // Its own metrics and profiler ports are chosen free, but another process may take one meanwhile.
        const deadline = Date.now() + 300_000;
        for (;;) {
          const started = Math.floor(Date.now() / 1000) * 1000; // status times have whole seconds
          // Two ports free now and different: each is released before the next is asked for.
          const metrics = await freePort();
          let profiler = await freePort();
          while (profiler === metrics) profiler = await freePort();
          const child = procs.start(
            "velero",
            bin.velero,
            [
              "server",
              `--kubeconfig=${kubeconfig}`,
              `--namespace=${veleroNamespace}`,
              `--plugin-dir=${join(dir, "plugins")}`,
              "--uploader-type=kopia",
              `--metrics-address=127.0.0.1:${metrics}`,
              `--profiler-address=127.0.0.1:${profiler}`,
              `--store-validation-frequency=${STORE_VALIDATION_FREQUENCY}`,
              "--backup-sync-period=10s",
              "--garbage-collection-frequency=1h",
              "--log-level=info",
            ],
            {
              ...process.env,
              TMPDIR: join(dir, "tmp"),
              HOME: join(dir, "home"),
              VELERO_NAMESPACE: veleroNamespace,
            },
            true,
          );
          let stderr = "";
          child.stderr?.on("data", (c: Buffer) => {
            stderr = (stderr + c.toString()).slice(-4000);
          });
          // ready: this server has validated the location (a stale "Available" from before does not count)
          while (Date.now() < deadline && procs.alive("velero")) {
            const validated = await kubectl([
              "-n",
              veleroNamespace,
              "get",
              "backupstoragelocation",
              "default",
              "-o",
              "jsonpath={.status.phase} {.status.lastValidationTime}",
            ]).catch(() => "");
            const [phase, time] = validated.split(" ");
            if (phase === "Available" && Date.parse(time ?? "") >= started) return;
            await sleep(500);
          }
          // A port taken since it was chosen (:8080 above, or one of ours by another process): again.
          if (
            !procs.alive("velero") &&
            /bind: address already in use/.test(stderr) &&
            Date.now() < deadline
          ) {
            await sleep(3000);
            continue;
          }
          throw new Error(`velero server did not validate its backup storage location; logs in ${logs}`);
        }
      },
      stopVelero: () => procs.stop("velero"),
      killVelero: () => procs.kill("velero"),
      freezeObjectStore: (frozen) => procs.signal("versitygw", frozen ? "SIGSTOP" : "SIGCONT"),
      stopApiServer: () => procs.stop("kube-apiserver"),
      async startApiServer() {
        procs.start("kube-apiserver", bin["kube-apiserver"], apiServerArgs);
        await apiServerReady();
      },
      pauseApiServer: () => procs.signal("kube-apiserver", "SIGSTOP"),
      resumeApiServer: () => procs.signal("kube-apiserver", "SIGCONT"),
      pid: (name) => procs.pid(name),
      stop,
    };

    if (options.velero !== false) await installVelero(plane);
    return plane;
  } catch (error) {
    await stop(true);
    throw error;
  }
}

/** A BackupStorageLocation on the plane's S3 store, set as R2 needs it (path style, no checksum). */
export function backupLocation(
  plane: ControlPlane,
  name: string,
  objectStorage: { bucket: string; prefix?: string },
  isDefault = false,
): Record<string, unknown> {
  return {
    apiVersion: "velero.io/v1",
    kind: "BackupStorageLocation",
    metadata: { name, namespace: plane.veleroNamespace },
    spec: {
      provider: "aws",
      default: isDefault,
      accessMode: "ReadWrite",
      // as the server's --store-validation-frequency: `infra status` judges staleness by it
      validationFrequency: STORE_VALIDATION_FREQUENCY,
      objectStorage,
      credential: { name: "velero-r2", key: "cloud" },
      config: { region: "auto", s3ForcePathStyle: "true", s3Url: plane.s3.endpoint, checksumAlgorithm: "" },
    },
  };
}

/** Velero's CRDs (printed by the built binary), its namespace, credentials, location and server. */
export async function installVelero(plane: ControlPlane): Promise<void> {
  const crds = (await exec(plane.bin.velero, ["install", "--crds-only", "--dry-run", "-o", "yaml"])).stdout;
  await plane.kubectl(["apply", "--server-side", "-f", "-"], crds);
  await plane.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"]);
  await symlink(plane.bin["velero-plugin-for-aws"], join(plane.dir, "plugins", "velero-plugin-for-aws"));
  const credentials = `[default]\naws_access_key_id=${plane.s3.accessKey}\naws_secret_access_key=${plane.s3.secretKey}\n`;
  const manifest = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: plane.veleroNamespace } },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "velero-r2", namespace: plane.veleroNamespace },
      stringData: { cloud: credentials },
    },
    // Velero's restore controller reads its own Deployment (for the restore helper's image and settings);
    // out of cluster there is none, so declare it (no scheduler here: it never runs a pod)
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "velero", namespace: plane.veleroNamespace, labels: { component: "velero" } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { deploy: "velero" } },
        template: {
          metadata: { labels: { deploy: "velero" } },
          spec: { containers: [{ name: "velero", image: "velero/velero:v1.18.3", args: ["server"] }] },
        },
      },
    },
    backupLocation(plane, "default", { bucket: plane.s3.bucket, prefix: plane.s3.prefix }, true),
  ];
  await plane.apply({ apiVersion: "v1", kind: "List", items: manifest });
  await plane.startVelero();
}

/** The last lines of a component's log, for assertion messages. */
export async function logTail(plane: ControlPlane, name: string, lines = 40): Promise<string> {
  const text = await readFile(join(plane.dir, "logs", `${name}.log`), "utf8").catch(() => "");
  return text.split("\n").slice(-lines).join("\n");
}
