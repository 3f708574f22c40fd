/** Test workloads: a namespace holding ConfigMaps, Secrets, Deployments and Services. */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { InfraError } from "../../src/errors.js";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import type { ControlPlane } from "./harness.js";

export interface Workload {
  namespace: string;
  objects: { kind: string; name: string }[];
}

/** About `count` objects: 40% ConfigMaps, 30% Secrets, 15% Deployments, 15% Services. */
export function workloadManifest(
  namespace: string,
  count: number,
): { list: unknown; objects: Workload["objects"] } {
  const items: unknown[] = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { app: namespace } } },
  ];
  const objects: Workload["objects"] = [];
  const configMaps = Math.round(count * 0.4);
  const secrets = Math.round(count * 0.3);
  const deployments = Math.round(count * 0.15);
  const services = count - configMaps - secrets - deployments;
  for (let i = 0; i < configMaps; i++) {
    const name = `config-${i}`;
    items.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name,
        namespace,
        labels: { app: namespace, index: String(i) },
        annotations: { note: `cm ${i}` },
      },
      data: {
        "settings.yaml": `index: ${i}\nlevel: info\n`,
        "feature-flags": `a=${i % 2 === 0},b=${i % 3 === 0}`,
      },
      binaryData: { blob: Buffer.from([i, 255 - i, 7]).toString("base64") },
    });
    objects.push({ kind: "ConfigMap", name });
  }
  for (let i = 0; i < secrets; i++) {
    const name = `secret-${i}`;
    items.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace, labels: { app: namespace } },
      type: "Opaque",
      data: {
        password: Buffer.from(`pw-${i}-${"x".repeat(i)}`).toString("base64"),
        user: Buffer.from(`u${i}`).toString("base64"),
      },
    });
    objects.push({ kind: "Secret", name });
  }
  for (let i = 0; i < deployments; i++) {
    const name = `web-${i}`;
    items.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace, labels: { app: name } },
      spec: {
        replicas: 1 + (i % 3),
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              {
                name: "web",
                image: `registry.example/web:${i}.0.0`,
                ports: [{ containerPort: 8080 }],
                env: [{ name: "INDEX", value: String(i) }],
                envFrom: [{ configMapRef: { name: `config-${i % Math.max(configMaps, 1)}` } }],
                resources: { requests: { cpu: "10m", memory: "16Mi" } },
              },
            ],
          },
        },
      },
    });
    objects.push({ kind: "Deployment", name });
  }
  for (let i = 0; i < services; i++) {
    const name = `svc-${i}`;
    items.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, labels: { app: namespace } },
      spec: { selector: { app: `web-${i}` }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    });
    objects.push({ kind: "Service", name });
  }
  return { list: { apiVersion: "v1", kind: "List", items }, objects };
}

export async function createWorkload(
  plane: ControlPlane,
  namespace: string,
  count: number,
): Promise<Workload> {
  const { list, objects } = workloadManifest(namespace, count);
  await plane.apply(list);
  return { namespace, objects };
}

/** Every object of the workload as JSON, keyed "Kind/name". */
export async function snapshot(
  plane: ControlPlane,
  namespace: string,
): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const json = await plane.kubectl([
    "-n",
    namespace,
    "get",
    "configmaps,secrets,deployments,services",
    "-o",
    "json",
  ]);
  for (const item of (JSON.parse(json) as { items: Record<string, unknown>[] }).items) {
    const meta = item.metadata as { name: string };
    if (meta.name === "kube-root-ca.crt") continue;
    out.set(`${item.kind}/${meta.name}`, item);
  }
  return out;
}

/** The parts a restore must bring back unchanged, per kind (written independently of src/dr/compare.ts). */
export function essence(item: Record<string, unknown>): unknown {
  const meta = item.metadata as { labels?: Record<string, string>; annotations?: Record<string, string> };
  const labels = Object.fromEntries(
    Object.entries(meta.labels ?? {}).filter(([k]) => !k.startsWith("velero.io/")),
  );
  const annotations = Object.fromEntries(
    Object.entries(meta.annotations ?? {}).filter(([k]) => k !== "deployment.kubernetes.io/revision"),
  );
  switch (item.kind) {
    case "ConfigMap":
      return { labels, annotations, data: item.data, binaryData: item.binaryData };
    case "Secret":
      return { labels, annotations, type: item.type, data: item.data };
    case "Deployment":
      return { labels, annotations, spec: item.spec };
    case "Service": {
      const { clusterIP: _a, clusterIPs: _b, ...spec } = item.spec as Record<string, unknown>;
      return { labels, annotations, spec };
    }
    default:
      return item;
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI (dist/bin.js, made by `npm run test:controlplane`), running: its output so far and its end. */
export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when `pattern` appears on stderr (progress) or stdout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliRun>;
}

export function startBuiltCli(args: string[], env: NodeJS.ProcessEnv): RunningCli {
  return startProcess(process.execPath, [join(PACKAGE_ROOT, "dist", "bin.js"), ...args], env);
}

/** Any program (a shell pipeline, the upstream velero CLI), watched like the CLI. */
export function startProcess(command: string, args: string[], env: NodeJS.ProcessEnv): RunningCli {
  const child = spawn(command, args, { cwd: PACKAGE_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(stderr) || w.pattern.test(stdout)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
    check();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
    check();
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`no ${pattern} in the output within ${timeoutMs} ms:\n${stderr}\n${stdout}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
        void done.then(() => {
          if (waiters.some((w) => w.pattern === pattern)) {
            clearTimeout(timer);
            reject(new Error(`the CLI exited before ${pattern} appeared:\n${stderr}\n${stdout}`));
          }
        });
      }),
  };
}

/** Runs the real `infra` entry point (src/bin.ts through tsx), as an operator would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(PACKAGE_ROOT, "src", "bin.ts"), ...args], {
      cwd: PACKAGE_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The InfraError a command fails with (any other outcome fails the test). */
export async function rejects(promise: Promise<unknown>): Promise<InfraError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof InfraError) return error;
    throw error;
  }
  throw new Error("expected the command to fail");
}

/** Names of the objects of one kind, sorted (in Velero's namespace unless told). */
export async function names(
  plane: ControlPlane,
  kind: string,
  namespace = plane.veleroNamespace,
): Promise<string[]> {
  const out = await plane.kubectl(["-n", namespace, "get", kind, "-o", "jsonpath={.items[*].metadata.name}"]);
  return out.split(/\s+/).filter(Boolean).sort();
}

export async function waitGone(
  plane: ControlPlane,
  kind: string,
  name: string,
  namespace?: string,
): Promise<void> {
  const args = namespace ? ["-n", namespace] : [];
  await plane
    .kubectl([...args, "wait", "--for=delete", `${kind}/${name}`, "--timeout=180s"])
    .catch(async (error) => {
      const still = await plane.kubectl([...args, "get", kind, name, "--ignore-not-found", "-o", "name"]);
      if (still.trim()) throw error;
    });
}

/** Nodes as a kubelet would register them, Ready or not (there is no kubelet here). */
export async function registerNodes(plane: ControlPlane, nodes: Record<string, boolean>): Promise<void> {
  await plane.apply({
    apiVersion: "v1",
    kind: "List",
    items: Object.keys(nodes).map((name) => ({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/hostname": name } },
    })),
  });
  // node status is a subresource: set the Ready condition explicitly
  for (const [name, ready] of Object.entries(nodes)) {
    const condition = { type: "Ready", status: ready ? "True" : "False", reason: "Test", message: "test" };
    await reportNodeStatus(plane, name, { conditions: [condition] });
  }
}

/** What a kubelet reports about its Node (status is a subresource): the test plays the kubelet. */
export async function reportNodeStatus(
  plane: Pick<ControlPlane, "kubectl">,
  name: string,
  status: Record<string, unknown>,
): Promise<void> {
  await plane.kubectl([
    "patch",
    "node",
    name,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  ]);
}

/**
 * A ValidatingAdmissionPolicy (and its binding) refusing to create ConfigMaps unless `allowed` (CEL) holds,
 * in force when this returns: the API server takes up a new policy asynchronously (a loaded machine took
 * seconds), so it waits until a server-side dry run of `refused`, a ConfigMap in `default` the policy must
 * refuse, is refused with `message`.
 */
export async function refuseConfigMaps(
  plane: ControlPlane,
  name: string,
  allowed: string,
  message: string,
  refused: string,
): Promise<() => Promise<void>> {
  const rule = { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"] };
  await plane.apply({
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: { resourceRules: [rule] },
          validations: [{ expression: allowed, message }],
        },
      },
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name },
        spec: { policyName: name, validationActions: ["Deny"] },
      },
    ],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await plane
      .kubectl(["create", "configmap", refused, "-n", "default", "--dry-run=server", "-o", "name"])
      .then(() => "created")
      .catch((error: unknown) => String(error));
    if (answer.includes(message)) break;
    if (Date.now() > deadline)
      throw new Error(`the admission policy ${name} was not in force after 60 s: ${answer}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return async () => {
    await plane.kubectl(["delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", name]);
  };
}
