/**
 * How fast `infra check` is, measured two ways (warm: schemas cached, tools installed):
 * 1. On the committed tree: the built CLI (`node dist/bin.js check`, a process per run) against the same
 *    kustomize builds (same prepared copy, same parallelism) plus one kubeconform run, done by hand in the
 *    same session. Prints both medians and the ratio (target: at most 1.5).
 * 2. On a generated tree of 50 Argo CD apps, 500 resources: `infra check --path` (target: under 3 s).
 * Runs interleave the two sides so that machine load hits both alike. BENCH_RUNS (default 5).
 * Run: npm run bench:check
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { exec } from "../src/adapters/exec.js";
import { decrypter, prepareWorkTree } from "../src/check/build.js";
import { ensureSchemas, schemaLocation } from "../src/check/schema-cache.js";
import { loadSources } from "../src/check/source.js";
import { PACKAGE_ROOT } from "../src/package-root.js";
import { toolPath } from "../src/toolchain/paths.js";
import { loadVersions } from "../src/toolchain/versions.js";
import { copyCommittedTree, isolatedEnv } from "../test/static/check-helpers.js";

const runs = Number(process.env.BENCH_RUNS ?? 5);
const env = await isolatedEnv();
env.PATH = toolPath(env, await loadVersions(PACKAGE_ROOT));
const schemas = await ensureSchemas(env);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Timed {
  /** Wall time, ms. */
  wall: number;
  /** CPU time of the process and its children (user + system), ms. */
  cpu: number;
}

/** Runs a command under /usr/bin/time: wall and CPU time of it and its children. */
async function timed(
  command: string,
  args: string[],
  cwd: string,
): Promise<Timed & { stdout: string; exitCode: number }> {
  const started = performance.now();
  const result = await exec("/usr/bin/time", ["-f", "infra-bench-cpu %U %S", command, ...args], {
    cwd,
    env,
    check: false,
  });
  const wall = performance.now() - started;
  const [, user, system] = /infra-bench-cpu ([\d.]+) ([\d.]+)/.exec(result.stderr) ?? [];
  return {
    wall,
    cpu: (Number(user) + Number(system)) * 1000,
    stdout: result.stdout,
    exitCode: result.exitCode,
  };
}

/** One `infra check` process (fails on an internal error or findings). */
async function infraCheck(
  cwd: string,
  args: string[] = [],
): Promise<Timed & { resources: number; kustomizations: number }> {
  const run = await timed(
    process.execPath,
    [join(PACKAGE_ROOT, "dist/bin.js"), "check", "--json", ...args],
    cwd,
  );
  const data = JSON.parse(run.stdout) as { resources: number; kustomizations: number; findings: unknown[] };
  if (run.exitCode !== 0)
    throw new Error(`infra check exited ${run.exitCode}: ${JSON.stringify(data.findings, null, 2)}`);
  return { wall: run.wall, cpu: run.cpu, resources: data.resources, kustomizations: data.kustomizations };
}

/**
 * The same builds and one kubeconform run, as a person would type them: a shell running the builds in
 * parallel (as many at once as infra check does) into one stream validated by one kubeconform process,
 * on the same prepared copy (KSOPS generators and remote entries already resolved).
 */
async function byHand(root: string, dir: string): Promise<Timed> {
  const sources = await loadSources(root, dir);
  const tree = await prepareWorkTree({ root, dir, sources, env }, decrypter(root, env, new Map(), false), []);
  try {
    const dirs = tree.roots.map((r) => r.dir).join("\n");
    await writeFile(join(tree.dir, "roots.txt"), `${dirs}\n`);
    const script = [
      `xargs -P ${availableParallelism() + 1} -I{} sh -c 'kustomize build --enable-alpha-plugins --enable-exec {} > "$(echo {} | tr / _).out"' < roots.txt`,
      `for f in *.out; do echo ---; cat "$f"; done | kubeconform -strict -output json -schema-location '${schemaLocation(schemas)}' -n 4 - > /dev/null || true`,
    ].join("\n");
    return await timed("bash", ["-c", script], tree.dir);
  } finally {
    await rm(tree.dir, { recursive: true, force: true });
  }
}

/** 50 apps of 10 resources, each deployed by its own Application (500 resources, 51 builds). */
async function generatedTree(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "check-bench-"));
  const url = "https://github.com/example/bench.git";
  await exec("git", ["init", "-q", root]);
  await exec("git", ["remote", "add", "origin", url], { cwd: root });
  const apps: string[] = [];
  // Each Application deploys one folder: apps/<name>, and gateway/ for gateway.yaml.
  for (let i = 0; i < 50; i++) {
    const name = `app-${String(i).padStart(2, "0")}`;
    apps.push(`${name}.yaml`);
    const dir = join(root, "kubernetes/apps", name);
    await mkdir(dir, { recursive: true });
    const labels = `app.kubernetes.io/name: ${name}`;
    const files: Record<string, string> = {
      "kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: ${name}\nresources:\n${["deployment", "service", "route", "config", "account", "pdb", "hpa", "policy", "role", "binding"].map((f) => `  - ${f}.yaml\n`).join("")}`,
      "deployment.yaml": `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    matchLabels: {${labels}}\n  template:\n    metadata:\n      labels: {${labels}}\n    spec:\n      serviceAccountName: ${name}\n      securityContext: {runAsNonRoot: true, runAsUser: 1000}\n      containers:\n        - name: app\n          image: traefik/whoami:v1.11.0\n          ports: [{name: http, containerPort: 8080}]\n          readinessProbe: {httpGet: {path: /health, port: http}}\n          resources: {requests: {cpu: 5m, memory: 16Mi}, limits: {memory: 32Mi}}\n          envFrom: [{configMapRef: {name: ${name}}}]\n`,
      "service.yaml": `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector: {${labels}}\n  ports: [{name: http, port: 80, targetPort: http}]\n`,
      "route.yaml": `apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: ${name}\nspec:\n  parentRefs: [{name: public, namespace: gateway, sectionName: websecure}]\n  hostnames: [${name}.example.com]\n  rules: [{backendRefs: [{name: ${name}, port: 80}]}]\n`,
      "config.yaml": `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  LOG_LEVEL: info\n`,
      "account.yaml": `apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ${name}\n`,
      "pdb.yaml": `apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: ${name}\nspec:\n  maxUnavailable: 1\n  selector:\n    matchLabels: {${labels}}\n`,
      "hpa.yaml": `apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: ${name}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: ${name}}\n  minReplicas: 1\n  maxReplicas: 3\n`,
      "policy.yaml": `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\nspec:\n  podSelector:\n    matchLabels: {${labels}}\n  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: gateway}}}]}]\n`,
      "role.yaml": `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: ${name}\nrules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]\n`,
      "binding.yaml": `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: ${name}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${name}}\nsubjects: [{kind: ServiceAccount, name: ${name}}]\n`,
    };
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  }
  const argocd = join(root, "kubernetes/argocd");
  await mkdir(argocd, { recursive: true });
  for (const file of [...apps, "gateway.yaml"]) {
    const name = file.replace(/\.yaml$/, "");
    await writeFile(
      join(argocd, file),
      `apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: ${name}\n  namespace: argocd\nspec:\n  project: default\n  source: {repoURL: "${url}", targetRevision: main, path: kubernetes/${name === "gateway" ? "gateway" : `apps/${name}`}}\n  destination: {server: "https://kubernetes.default.svc", namespace: ${name}}\n`,
    );
  }
  await mkdir(join(root, "kubernetes/gateway"), { recursive: true });
  await writeFile(
    join(root, "kubernetes/gateway/gateway.yaml"),
    `apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: public\n  namespace: gateway\nspec:\n  gatewayClassName: traefik\n  listeners:\n    - {name: websecure, port: 8443, protocol: HTTPS, hostname: "*.example.com", tls: {certificateRefs: [{name: wildcard-tls}]}, allowedRoutes: {namespaces: {from: All}}}\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: wildcard-tls\n  namespace: gateway\nspec:\n  secretName: wildcard-tls\n  dnsNames: [example.com, "*.example.com"]\n  issuerRef: {kind: ClusterIssuer, name: letsencrypt}\n`,
  );
  return root;
}

const root = await copyCommittedTree();
const generated = await generatedTree();
const report = (label: string, values: Timed[]) =>
  `  ${label}: wall ${values.map((v) => seconds(v.wall)).join(" ")}  median ${seconds(median(values.map((v) => v.wall)))}, CPU median ${seconds(median(values.map((v) => v.cpu)))}`;
const ratios = (ours: Timed[], theirs: Timed[]) =>
  `  ratio: wall ${(median(ours.map((v) => v.wall)) / median(theirs.map((v) => v.wall))).toFixed(2)}x, CPU ${(median(ours.map((v) => v.cpu)) / median(theirs.map((v) => v.cpu))).toFixed(2)}x (target <= 1.5x)`;
try {
  // Warm-up (page cache, kustomize and kubeconform binaries).
  const sizes = await infraCheck(root);
  await byHand(root, "kubernetes");
  const big = await infraCheck(generated, ["--path", "kubernetes"]);
  const cli: Timed[] = [];
  const hand: Timed[] = [];
  const large: Timed[] = [];
  const largeHand: Timed[] = [];
  for (let i = 0; i < runs; i++) {
    cli.push(await infraCheck(root));
    hand.push(await byHand(root, "kubernetes"));
    large.push(await infraCheck(generated, ["--path", "kubernetes"]));
    largeHand.push(await byHand(generated, "kubernetes"));
  }
  console.log(
    `load average: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} (${availableParallelism()} cores), ${runs} runs each`,
  );
  console.log(`committed tree (${sizes.kustomizations} kustomizations, ${sizes.resources} resources):`);
  console.log(report("infra check (CLI process)            ", cli));
  console.log(report("same builds + one kubeconform by hand", hand));
  console.log(ratios(cli, hand));
  console.log(`generated tree (${big.kustomizations} kustomizations, ${big.resources} resources):`);
  console.log(report("infra check --path (target < 3 s)    ", large));
  console.log(report("same builds + one kubeconform by hand", largeHand));
  console.log(ratios(large, largeHand));
} finally {
  await rm(root, { recursive: true, force: true });
  await rm(generated, { recursive: true, force: true });
}
