/**
 * Host-tier benchmark: two fresh Debian 12 VMs under QEMU software emulation, bootstrap.yml plus
 * k3s_prereq run twice (first converge, then the re-run), and the wall time of each per VM.
 *
 *   npm run bench:hosts            (needs root and `./infra tools install`)
 *
 * Per VM, a run's time is from the start of ansible-playbook to that host's last task result.
 */
import { PACKAGE_ROOT } from "../src/package-root.js";
import { toolPath } from "../src/toolchain/paths.js";
import { loadVersions } from "../src/toolchain/versions.js";
import { describeRun } from "../test/hosts/harness/ansible.js";
import { startCluster } from "../test/hosts/harness/cluster.js";

const started = Date.now();
process.env.PATH = toolPath(process.env, await loadVersions(PACKAGE_ROOT));
const cluster = await startCluster({ log: (line) => console.error(`[hosts] ${line}`) });
let exitCode = 0;
try {
  const ready = (Date.now() - started) / 1000;
  const first = await cluster.run("bench-1");
  console.error(describeRun(first));
  const second = await cluster.run("bench-2");
  console.error(describeRun(second));
  if (first.exitCode !== 0 || second.exitCode !== 0) {
    exitCode = 1;
    console.error(`a run failed; artifacts kept in ${await cluster.keepArtifacts("bench")}`);
  }
  const changed = Object.values(second.recap).reduce((sum, r) => sum + r.changed, 0);
  console.log(
    `image: ${cluster.image.buildSeconds > 0 ? `built in ${cluster.image.buildSeconds}s` : "cached"}; ` +
      `VMs up and headscale ready after ${ready.toFixed(0)}s`,
  );
  console.log("vm          boot-to-ssh  first-converge  re-run");
  for (const node of cluster.nodes) {
    const cells = [
      node.name.padEnd(12),
      `${(cluster.bootSeconds[node.name] ?? 0).toFixed(0)}s`.padStart(11),
      `${(first.hostSeconds[node.name] ?? 0).toFixed(0)}s`.padStart(16),
      `${(second.hostSeconds[node.name] ?? 0).toFixed(0)}s`.padStart(8),
    ];
    console.log(cells.join(""));
  }
  console.log(
    `playbook wall time: first ${first.seconds.toFixed(0)}s, re-run ${second.seconds.toFixed(0)}s ` +
      `(changed on re-run: ${changed}); apt proxy ${JSON.stringify(cluster.aptProxy.stats)}`,
  );
} finally {
  await cluster.stop();
}
console.log(`total ${((Date.now() - started) / 1000).toFixed(0)}s`);
process.exitCode = exitCode;
