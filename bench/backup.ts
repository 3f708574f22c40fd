/**
 * Backup + restore round trip through the real control plane (etcd, kube-apiserver, Velero, versitygw on
 * loopback): for namespaces of 50 and 500 objects, `infra backup create --wait`, delete the namespace,
 * `infra backup restore --wait`. Prints seconds per phase. Run: npm run bench:backup
 */
import { backupCreateCommand } from "../src/backup/create.js";
import { backupRestoreCommand } from "../src/backup/restore.js";
import { createWorkload } from "../test/controlplane/fixtures.js";
import { startControlPlane } from "../test/controlplane/harness.js";

const sizes = (process.env.BENCH_SIZES ?? "50,500").split(",").map(Number);
const startedAt = Date.now();
const plane = await startControlPlane();
const setup = (Date.now() - startedAt) / 1000;
const rows: string[] = [];
let failed = false;
try {
  for (const size of sizes) {
    const ns = `bench-${size}`;
    await createWorkload(plane, ns, size);
    const ctx = plane.context();
    const t0 = Date.now();
    const backup = await backupCreateCommand(ctx, {
      name: `bench-${size}`,
      namespaces: [ns],
      wait: true,
      timeout: "20m",
    });
    const t1 = Date.now();
    await plane.kubectl(["delete", "namespace", ns, "--wait=true", "--timeout=300s"]);
    const t2 = Date.now();
    const restore = await backupRestoreCommand(ctx, {
      name: `bench-${size}`,
      yes: true,
      wait: true,
      timeout: "20m",
    });
    const t3 = Date.now();
    if (backup.data.phase !== "Completed" || restore.data.phase !== "Completed") failed = true;
    rows.push(
      `${String(size).padStart(4)} objects  backup ${((t1 - t0) / 1000).toFixed(1)} s (${backup.data.phase}, ${backup.data.itemsBackedUp} items)  ` +
        `namespace deletion ${((t2 - t1) / 1000).toFixed(1)} s  restore ${((t3 - t2) / 1000).toFixed(1)} s (${restore.data.phase}, ${restore.data.itemsRestored} items)  ` +
        `round trip ${((t3 - t0) / 1000).toFixed(1)} s`,
    );
  }
} finally {
  await plane.stop(failed);
}
console.log(
  `control plane start: ${setup.toFixed(1)} s (etcd, kube-apiserver, controller-manager, versitygw, Velero)`,
);
for (const row of rows) console.log(row);
if (failed) process.exitCode = 1;
