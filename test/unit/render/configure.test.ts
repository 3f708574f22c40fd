import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CommandContext } from "../../../src/context.js";
import { InfraError } from "../../../src/errors.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { configureCommand } from "../../../src/render/configure.js";
import { RENDERED_FILES } from "../../../src/render/render.js";
import type { Reporter } from "../../../src/ui/reporter.js";

let dir: string;
let lines: string[];

function context(): CommandContext {
  const reporter: Reporter = {
    phase: (t) => lines.push(`phase ${t}`),
    step: (s, m) => lines.push(`${s}: ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
  };
  return { cwd: dir, env: {}, reporter, interactive: false };
}

const ha = readFileSync(
  join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "ha-3-servers.yaml"),
  "utf8",
);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "infra-configure-"));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("infra configure", () => {
  it("renders ./cluster.yaml, and a second run changes nothing", async () => {
    writeFileSync(join(dir, "cluster.yaml"), ha);
    const first = await configureCommand(context(), {});
    expect(first.data.files.map((f) => f.state)).toEqual([
      "written",
      "written",
      "written",
      "written",
      "written",
    ]);
    expect(lines).toContain("info using cluster.yaml");
    const contents = Object.values(RENDERED_FILES).map((p) => readFileSync(join(dir, p), "utf8"));
    const second = await configureCommand(context(), {});
    expect(second.data.files.map((f) => f.state)).toEqual([
      "unchanged",
      "unchanged",
      "unchanged",
      "unchanged",
      "unchanged",
    ]);
    expect(second.human(second.data)).toMatch(/nothing to do/);
    expect(Object.values(RENDERED_FILES).map((p) => readFileSync(join(dir, p), "utf8"))).toEqual(contents);
    const check = await configureCommand(context(), { check: true });
    expect(check.exitCode).toBe(0);
  });

  it("--check lists stale and missing files, exits non-zero and writes nothing", async () => {
    writeFileSync(join(dir, "cluster.yaml"), ha);
    await configureCommand(context(), {});
    writeFileSync(join(dir, "cluster.yaml"), ha.replace("v1.37.1+k3s1", "v1.37.2+k3s1"));
    rmSync(join(dir, RENDERED_FILES.tofuVars));
    const before = readFileSync(join(dir, RENDERED_FILES.clusterVars), "utf8");
    const result = await configureCommand(context(), { check: true });
    expect(result.exitCode).toBe(1);
    expect(result.data.files.map(({ path, state }) => ({ path, state }))).toEqual([
      { path: RENDERED_FILES.inventory, state: "unchanged" },
      { path: RENDERED_FILES.clusterVars, state: "stale" },
      { path: RENDERED_FILES.tofuVars, state: "missing" },
      { path: RENDERED_FILES.clusterValues, state: "stale" },
      { path: RENDERED_FILES.ingressComponent, state: "unchanged" },
    ]);
    // each stale or missing file comes with its unified diff
    expect(result.data.files[1]?.diff).toContain("+k3s_version: v1.37.2+k3s1");
    expect(result.human(result.data)).toMatch(/out of date with cluster\.yaml; run `infra configure`/);
    expect(readFileSync(join(dir, RENDERED_FILES.clusterVars), "utf8")).toBe(before);
    expect(existsSync(join(dir, RENDERED_FILES.tofuVars))).toBe(false);
  });

  it("writes nothing when the config is invalid, and names every problem", async () => {
    writeFileSync(
      join(dir, "cluster.yaml"),
      ha.replace("email: certs@example.org", "email: certs").replace("role: agent", "role: agnet"),
    );
    const error = await configureCommand(context(), {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    const infra = error as InfraError;
    expect(infra.code).toBe("CONFIG_INVALID");
    expect(infra.exitCode).toBe(2);
    expect(infra.message).toBe("invalid config: 2 errors; nothing was changed");
    expect(infra.location?.file).toBe("cluster.yaml");
    expect(infra.details.map((d) => [d.code, d.location?.path, d.location?.line])).toEqual([
      ["CONFIG_INVALID_OPTION", "nodes[3].role", 39],
      ["EMAIL_INVALID", "acme.email", 62],
    ]);
    for (const path of Object.values(RENDERED_FILES)) expect(existsSync(join(dir, path))).toBe(false);
  });

  it("uses the bundled example when there is no cluster.yaml, and says so", async () => {
    const result = await configureCommand(context(), { check: true });
    expect(lines[0]).toMatch(
      /^info using .*cluster\.example\.yaml \(no cluster\.yaml in .*; `infra init` creates one\)$/,
    );
    expect(result.data.files.every((f) => f.state === "missing")).toBe(true);
    // Three documentation addresses and the example.com e-mail Let's Encrypt would refuse.
    expect(lines.filter((l) => l.startsWith("warn ")).length).toBe(4);
  });

  it("reports a missing --config file", async () => {
    const error = (await configureCommand(context(), { config: "nope.yaml" }).catch(
      (e: unknown) => e,
    )) as InfraError;
    expect(error.code).toBe("CONFIG_NOT_FOUND");
    expect(error.location?.file).toBe("nope.yaml");
  });
});

describe("infra configure write failures", () => {
  it("reports a file it cannot write as WRITE_FAILED, naming the file", async () => {
    writeFileSync(join(dir, "cluster.yaml"), ha);
    writeFileSync(join(dir, "tofu"), "a file where a directory must be\n");
    const error = (await configureCommand(context(), {}).catch((e: unknown) => e)) as InfraError;
    expect(error).toBeInstanceOf(InfraError);
    expect(error.code).toBe("WRITE_FAILED");
    expect(error.location?.file).toBe(RENDERED_FILES.tofuVars);
  });
});
