import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { appNewCommand } from "../../../src/app/new.js";
import type { CommandContext } from "../../../src/context.js";
import { InfraError } from "../../../src/errors.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { silentReporter } from "../../../src/ui/reporter.js";

let root: string;
let ctx: CommandContext;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "app-new-"));
  await cp(join(PACKAGE_ROOT, "kubernetes", "apps"), join(root, "kubernetes", "apps"), { recursive: true });
  ctx = { cwd: root, env: process.env, reporter: silentReporter, interactive: false };
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const appsRoot = async () => parse(await readFile(join(root, "kubernetes/apps/kustomization.yaml"), "utf8"));

describe("infra app new", () => {
  it("scaffolds the app from the template and registers it", async () => {
    const result = await appNewCommand(ctx, { name: "blog", dryRun: false });
    expect(result.data.registered).toBe("blog/application.yaml");
    const files = (await readdir(join(root, "kubernetes/apps/blog"))).sort();
    expect(files).toEqual(
      [
        "application.yaml",
        "deployment.yaml",
        "httproute.yaml",
        "kustomization.yaml",
        "secret-generator.yaml",
        "secret.sops.yaml.example",
        "service.yaml",
      ].sort(),
    );
    const app = parse(await readFile(join(root, "kubernetes/apps/blog/application.yaml"), "utf8"));
    expect(app.metadata.name).toBe("blog");
    expect(app.spec.source.path).toBe("kubernetes/apps/blog");
    expect(app.spec.destination.namespace).toBe("blog");
    const route = await readFile(join(root, "kubernetes/apps/blog/httproute.yaml"), "utf8");
    expect(route).toContain("- blog.cluster-domain");
    expect(route).not.toContain("app-template");
    expect((await appsRoot()).resources).toEqual(["blog/application.yaml"]);
    // comments of the apps root survive
    expect(await readFile(join(root, "kubernetes/apps/kustomization.yaml"), "utf8")).toContain(
      "# The team's applications",
    );
  });

  it("keeps the registrations sorted and refuses an existing app (idempotent: nothing changes)", async () => {
    await appNewCommand(ctx, { name: "wiki", dryRun: false });
    await appNewCommand(ctx, { name: "blog", dryRun: false });
    const before = await readFile(join(root, "kubernetes/apps/kustomization.yaml"), "utf8");
    await expect(appNewCommand(ctx, { name: "blog", dryRun: false })).rejects.toMatchObject({
      code: "APP_EXISTS",
      kind: "usage",
    });
    expect(await readFile(join(root, "kubernetes/apps/kustomization.yaml"), "utf8")).toBe(before);
    expect((await appsRoot()).resources).toEqual(["blog/application.yaml", "wiki/application.yaml"]);
  });

  it("--dry-run lists the files and writes nothing", async () => {
    const result = await appNewCommand(ctx, { name: "blog", dryRun: true });
    expect(result.data.files).toContain(join("kubernetes/apps/blog", "deployment.yaml"));
    expect(result.human(result.data)).toContain("Dry run");
    await expect(readdir(join(root, "kubernetes/apps/blog"))).rejects.toThrow();
    expect((await appsRoot()).resources).toEqual([]);
  });

  it.each(["Blog", "-blog", "a_b", "kube-system", "argocd", "x".repeat(54)])(
    "refuses the name %s",
    async (name) => {
      const error = await appNewCommand(ctx, { name, dryRun: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InfraError);
      expect((error as InfraError).kind).toBe("usage");
    },
  );

  it("says where to run it when there is no template", async () => {
    const elsewhere: CommandContext = { ...ctx, cwd: tmpdir() };
    await expect(appNewCommand(elsewhere, { name: "blog", dryRun: false })).rejects.toMatchObject({
      code: "APP_TEMPLATE_MISSING",
    });
  });
});
