/**
 * Host-tier benchmark: two fresh VMs (Debian 12 and 13) under QEMU software emulation, driven the way a
 * user drives them — infra init, configure, then `infra up --until hosts --skip dns` twice (the first
 * converge, then the re-run that must change nothing) — and the wall time of each step.
 *
 *   npm run bench:hosts            (needs root and `./infra tools install`)
 */
import { PACKAGE_ROOT } from "../src/package-root.js";
import { toolPath } from "../src/toolchain/paths.js";
import { loadVersions } from "../src/toolchain/versions.js";
import { changedTasks } from "../test/hosts/harness/ansible.js";
import { describeInfra, type InfraRun } from "../test/hosts/harness/repo.js";
import { startTestbed } from "../test/hosts/harness/testbed.js";
import { prepareUser, type User } from "../test/hosts/harness/user.js";

const started = Date.now();
const since = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;
process.env.PATH = toolPath(process.env, await loadVersions(PACKAGE_ROOT));
let user: User | undefined;
const bed = await startTestbed({
  log: (line) => console.error(`[hosts] ${line}`),
  whileBooting: async (b) => {
    user = (await prepareUser(b)).user;
  },
});
let exitCode = 0;
try {
  if (!user) throw new Error("the repository was not prepared");
  const ready = since();
  const converge = async (label: string): Promise<InfraRun> => {
    const run = await (user as User).infra(["up", "--until", "hosts", "--skip", "dns", "--yes", "--json"]);
    if (run.code !== 0) {
      exitCode = 1;
      console.error(describeInfra(run));
    }
    console.error(`${label}: exit ${run.code} after ${run.seconds.toFixed(0)}s`);
    return run;
  };
  const first = await converge("first converge");
  const second = await converge("re-run");
  const logOf = (run: InfraRun) => (run.json as { logFile?: string } | undefined)?.logFile;
  const secondLog = logOf(second);
  const changed = secondLog ? await changedTasks(secondLog) : {};
  if (exitCode !== 0) console.error(`a run failed; artifacts kept in ${await bed.keepArtifacts("bench")}`);
  console.log(
    `images: ${Object.values(bed.images)
      .map((i) => `${i.suite} ${i.buildSeconds > 0 ? `built in ${i.buildSeconds}s` : "cached"}`)
      .join(", ")}; VMs up and the repository initialised after ${ready}`,
  );
  console.log(
    `boot to SSH: ${bed.nodes.map((n) => `${n.name} (${n.suite}) ${(bed.bootSeconds[n.name] ?? 0).toFixed(0)}s`).join(", ")}`,
  );
  console.log(
    `infra up --until hosts: first converge ${first.seconds.toFixed(0)}s, re-run ${second.seconds.toFixed(0)}s ` +
      `(tasks changed on the re-run: ${Object.values(changed).flat().length}); apt proxy ${JSON.stringify(bed.aptProxy.stats)}`,
  );
} finally {
  await bed.stop();
}
console.log(`total ${since()}`);
process.exitCode = exitCode;
