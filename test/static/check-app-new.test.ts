import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { appNewCommand } from "../../src/app/new.js";
import { checkCommand } from "../../src/check/check-command.js";
import { context, copyCommittedTree, isolatedEnv } from "./check-helpers.js";

const cleanup: string[] = [];
afterAll(async () => {
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
});

it("an app scaffolded by `infra app new` builds, validates and passes the stack rules", async () => {
  const root = await copyCommittedTree();
  cleanup.push(root);
  const env = await isolatedEnv();
  const before = await checkCommand(context(root, env));
  await appNewCommand(context(root, env), { name: "blog", dryRun: false });
  const after = await checkCommand(context(root, env));
  expect(after.data.findings.filter((f) => f.severity === "error")).toEqual([]);
  // the app's Deployment, Service and HTTPRoute, plus its Application in the apps root
  expect(after.data.resources).toBe(before.data.resources + 4);
  expect(await readFile(join(root, "kubernetes/apps/kustomization.yaml"), "utf8")).toMatch(
    /resources:\n {2}- blog\/application\.yaml\n/,
  );
});
