/**
 * Backup + restore round trip through the real control plane (etcd, kube-apiserver, Velero, versitygw on
 * loopback), by `infra` and by the upstream velero CLI (the same binary the harness runs as server) on the
 * same namespace in the same run: `backup create --wait`, delete the namespace (not counted), `restore
 * --wait`. Both run as an operator runs them, one process per command (infra: the built dist/bin.js).
 * Rounds alternate between the two; the medians and their ratio are printed.
 * Run: npm run bench:backup   (BENCH_OBJECTS=500, BENCH_ROUNDS=3)
 */
import { join } from "node:path";
import { PACKAGE_ROOT } from "../src/package-root.js";
import { createWorkload, startProcess } from "../test/controlplane/fixtures.js";
import { type ControlPlane, startControlPlane } from "../test/controlplane/harness.js";

const objects = Number(process.env.BENCH_OBJECTS ?? 500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

/** Seconds one command takes, start to exit; a failure stops the benchmark. */
async function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = Date.now();
  const end = await startProcess(command, args, env).done;
  if (end.code !== 0)
    throw new Error(`${command} ${args.join(" ")} exited ${end.code}:\n${end.stdout}${end.stderr}`);
  return (Date.now() - started) / 1000;
}

interface Trip {
  backup: number;
  restore: number;
}

async function roundTrip(
  plane: ControlPlane,
  ns: string,
  backup: () => Promise<number>,
  restore: () => Promise<number>,
): Promise<Trip> {
  const b = await backup();
  await plane.kubectl(["delete", "namespace", ns, "--wait=true", "--timeout=300s"]);
  return { backup: b, restore: await restore() };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const startedAt = Date.now();
const plane = await startControlPlane();
const setup = (Date.now() - startedAt) / 1000;
let failed = false;
const infraTrips: Trip[] = [];
const veleroTrips: Trip[] = [];
try {
  const ns = `bench-${objects}`;
  await createWorkload(plane, ns, objects);
  const env = {
    ...process.env,
    KUBECONFIG: plane.kubeconfig,
    VELERO_NAMESPACE: plane.veleroNamespace,
    NO_COLOR: "1",
    // this checkout has no cluster.yaml: name the example, which commands that write refuse unless told
    INFRA_CONFIG: join(PACKAGE_ROOT, "cluster.example.yaml"),
  };
  const infra = (...args: string[]) =>
    run(process.execPath, [join(PACKAGE_ROOT, "dist", "bin.js"), ...args], env);
  const velero = (...args: string[]) =>
    run(
      plane.bin.velero,
      [...args, "--kubeconfig", plane.kubeconfig, "--namespace", plane.veleroNamespace],
      env,
    );
  // one untimed round each: page caches, Velero's first Kopia/S3 connections
  await roundTrip(
    plane,
    ns,
    () => infra("backup", "create", "warm-i", "-n", ns, "--wait"),
    () => infra("backup", "restore", "warm-i", "--yes", "--wait"),
  );
  await roundTrip(
    plane,
    ns,
    () => velero("backup", "create", "warm-v", "--include-namespaces", ns, "--wait"),
    () => velero("restore", "create", "warm-v-r", "--from-backup", "warm-v", "--wait"),
  );
  for (let i = 0; i < rounds; i++) {
    infraTrips.push(
      await roundTrip(
        plane,
        ns,
        () => infra("backup", "create", `i-${i}`, "-n", ns, "--wait"),
        () => infra("backup", "restore", `i-${i}`, "--yes", "--wait"),
      ),
    );
    veleroTrips.push(
      await roundTrip(
        plane,
        ns,
        () => velero("backup", "create", `v-${i}`, "--include-namespaces", ns, "--wait"),
        () => velero("restore", "create", `v-${i}-r`, "--from-backup", `v-${i}`, "--wait"),
      ),
    );
  }
} catch (error) {
  failed = true;
  console.error(error instanceof Error ? error.message : error);
} finally {
  await plane.stop(failed);
}
const summary = (trips: Trip[]) => {
  const backup = median(trips.map((t) => t.backup));
  const restore = median(trips.map((t) => t.restore));
  const total = median(trips.map((t) => t.backup + t.restore));
  return { backup, restore, total };
};
console.log(`control plane start: ${setup.toFixed(1)} s; ${objects} objects, ${rounds} rounds, medians:`);
if (!failed) {
  const a = summary(infraTrips);
  const b = summary(veleroTrips);
  const row = (who: string, s: typeof a) =>
    `${who.padEnd(8)} backup ${s.backup.toFixed(2)} s  restore ${s.restore.toFixed(2)} s  round trip ${s.total.toFixed(2)} s`;
  console.log(row("infra", a));
  console.log(row("velero", b));
  console.log(
    `ratio infra/velero: round trip ${(a.total / b.total).toFixed(2)}x (backup ${(a.backup / b.backup).toFixed(2)}x, restore ${(a.restore / b.restore).toFixed(2)}x)`,
  );
}
if (failed) process.exitCode = 1;
