import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InfraError } from "../../../src/errors.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { goModFor, selectTools } from "../../../src/toolchain/install.js";
import { cacheRoot, goToolDir, toolBinDir, toolPath, venvDir } from "../../../src/toolchain/paths.js";
import { loadVersions } from "../../../src/toolchain/versions.js";

async function versionsFile(text: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "infra-versions-"));
  await mkdir(join(root, "tools"));
  await writeFile(join(root, "tools", "versions.yaml"), text);
  return root;
}

describe("tools/versions.yaml", () => {
  it("parses the committed pins, one entry per tool, every tool with a version or package", async () => {
    const versions = await loadVersions(PACKAGE_ROOT);
    expect(versions.tools.length).toBeGreaterThanOrEqual(7);
    for (const tool of versions.tools) {
      if (tool.kind === "apt") expect(tool.package).toMatch(/^[a-z0-9.+-]+$/);
      else expect(tool.version).toMatch(/^v?\d+\.\d+/);
    }
  });

  it("rejects an unknown key with the file and the entry's path", async () => {
    const root = await versionsFile(
      'python: "3.12"\ntools:\n  x:\n    kind: pip\n    group: user\n    version: 1.0.0\n    bins: [x]\n    colour: red\n',
    );
    const error = await loadVersions(root).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect((error as InfraError).code).toBe("TOOLS_FILE_INVALID");
    expect((error as InfraError).location?.file).toContain(join("tools", "versions.yaml"));
    expect((error as InfraError).location?.path).toBe("tools.x");
  });

  it("takes a pip library (no programs) by the module doctor imports, and refuses a pip tool with neither", async () => {
    const versions = await loadVersions(PACKAGE_ROOT);
    expect(versions.tools.find((t) => t.name === "mitogen")).toMatchObject({
      kind: "pip",
      group: "user",
      module: "ansible_mitogen.plugins.strategy.mitogen_linear",
      bins: [],
    });
    const root = await versionsFile(
      'python: "3.12"\ntools:\n  x:\n    kind: pip\n    group: user\n    version: 1.0.0\n',
    );
    await expect(loadVersions(root)).rejects.toMatchObject({
      code: "TOOLS_FILE_INVALID",
      location: { path: "tools.x.bins" },
    });
  });

  it("rejects a Go version without the v prefix", async () => {
    const root = await versionsFile(
      'python: "3.12"\ntools:\n  g:\n    kind: go\n    group: tests\n    module: example.com/g\n    version: 1.2.3\n    packages: [example.com/g]\n    bins: [g]\n',
    );
    await expect(loadVersions(root)).rejects.toMatchObject({ location: { path: "tools.g.version" } });
  });
});

describe("tool groups", () => {
  it("the user group is what operating a cluster needs; everything else serves the tests", async () => {
    const versions = await loadVersions(PACKAGE_ROOT);
    const user = selectTools(versions, { names: [], tests: false }).map((t) => t.name);
    expect(user.sort()).toEqual(
      [
        "age",
        "ansible",
        "helm",
        "kubeconform",
        "kustomize",
        "mitogen",
        "openssh-client",
        "opentofu",
        "sops",
      ].sort(),
    );
    const all = selectTools(versions, { names: [], tests: true });
    expect(all).toEqual(versions.tools);
    for (const name of [
      "kubernetes",
      "etcd",
      "velero",
      "versitygw",
      "headscale",
      "tailscale",
      "qemu-system-x86",
    ]) {
      expect(versions.tools.find((t) => t.name === name)?.group, name).toBe("tests");
    }
    // Named tools are installed whatever their group.
    expect(selectTools(versions, { names: ["etcd"], tests: false }).map((t) => t.name)).toEqual(["etcd"]);
  });

  it("rejects a tool without a group, naming the entry", async () => {
    const root = await versionsFile(
      'python: "3.12"\ntools:\n  x:\n    kind: pip\n    version: 1.0.0\n    bins: [x]\n',
    );
    await expect(loadVersions(root)).rejects.toMatchObject({ location: { path: "tools.x.group" } });
  });
});

describe("tool cache layout", () => {
  const env = { HOME: "/home/u", PATH: "/usr/bin" };

  it("keeps the cache outside the clone, honouring INFRA_CACHE_DIR and XDG_CACHE_HOME", () => {
    expect(cacheRoot(env)).toBe("/home/u/.cache/infra-k3s");
    expect(cacheRoot({ ...env, XDG_CACHE_HOME: "/x" })).toBe("/x/infra-k3s");
    expect(cacheRoot({ ...env, INFRA_CACHE_DIR: "/c" })).toBe("/c");
  });

  it("keys the venv by every pip pin, so a bump gets a fresh venv", async () => {
    const versions = await loadVersions(PACKAGE_ROOT);
    const bumped = {
      ...versions,
      tools: versions.tools.map((t) =>
        t.kind === "pip" && t.name === "yamllint" ? { ...t, version: "0.0.1" } : t,
      ),
    };
    expect(venvDir(env, versions)).not.toBe(venvDir(env, bumped));
  });

  it("keeps a Go tool's cache directory when only its group changes (the group is not part of the recipe)", async () => {
    const versions = await loadVersions(PACKAGE_ROOT);
    const sops = versions.tools.find((t) => t.name === "sops");
    if (sops?.kind !== "go") throw new Error("sops is a pinned Go tool");
    expect(goToolDir(env, { ...sops, group: "tests" })).toBe(goToolDir(env, sops));
    expect(goToolDir(env, { ...sops, ldflags: "-s" })).not.toBe(goToolDir(env, sops));
  });

  it("puts every pinned tool's directory before the inherited PATH", async () => {
    const versions = await loadVersions(PACKAGE_ROOT);
    const path = toolPath(env, versions).split(":");
    expect(path.at(-1)).toBe("/usr/bin");
    for (const tool of versions.tools) {
      const dir = toolBinDir(env, versions, tool);
      if (dir) expect(path).toContain(dir);
    }
  });
});

describe("generated Go tools module", () => {
  it("carries the replace and godebug facts and nothing else", () => {
    const text = goModFor({
      name: "kube-apiserver",
      kind: "go",
      group: "tests",
      module: "k8s.io/kubernetes",
      version: "v1.36.3",
      packages: ["k8s.io/kubernetes/cmd/kube-apiserver"],
      replace: ["k8s.io/api => k8s.io/api v0.36.3"],
      godebug: ["default=go1.24"],
      ldflags: "-s -w",
      tags: "",
      cgo: false,
      bins: ["kube-apiserver"],
      versionArgs: ["--version"],
    });
    expect(text).toBe(
      "module infra-k3s.local/tools/kube-apiserver\n\ngo 1.24\n\ngodebug (\n\tdefault=go1.24\n)\n\nreplace (\n\tk8s.io/api => k8s.io/api v0.36.3\n)\n",
    );
  });
});

describe("npm tools", () => {
  const env = { HOME: "/home/u", PATH: "/usr/bin" };

  it("parses the pinned npm tool with its Node.js runtime and keys its directory by the recipe", async () => {
    const versions = await loadVersions(PACKAGE_ROOT);
    const renovate = versions.tools.find((t) => t.name === "renovate");
    expect(renovate).toMatchObject({ kind: "npm", bins: ["renovate", "renovate-config-validator"] });
    if (renovate?.kind !== "npm") throw new Error("renovate is not an npm tool");
    expect(renovate.node).toMatch(/^\d+\.\d+\.\d+$/);
    const dir = toolBinDir(env, versions, renovate) ?? "";
    expect(dir).toMatch(
      new RegExp(`^/home/u/\\.cache/infra-k3s/npm/renovate-${renovate.version}-[0-9a-f]{12}/bin$`),
    );
    const other = toolBinDir(env, versions, { ...renovate, node: "24.0.0" });
    expect(other, "another Node.js is another directory").not.toBe(dir);
    expect(toolPath(env, versions).split(":")).toContain(dir);
  });

  it("rejects an npm version range with the entry's path", async () => {
    const root = await versionsFile(
      'python: "3.12"\ntools:\n  n:\n    kind: npm\n    version: ^1.2.3\n    bins: [n]\n',
    );
    await expect(loadVersions(root)).rejects.toMatchObject({ location: { path: "tools.n.version" } });
  });
});
