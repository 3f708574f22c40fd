/**
 * Where infra acts, through the built CLI on temporary copies of the repository: from every
 * top-level folder, through the `infra` launcher linked onto PATH, with --config and
 * $INFRA_CONFIG, and the refusal to change anything on the example.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { builtCopy, type RepoCopy } from "../../helpers/repo-copy.js";

const FIXTURE = join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "ha-3-servers.yaml");
let root: string;
let copy: RepoCopy;

beforeAll(async () => {
  copy = await builtCopy();
  root = copy.dir;
  copyFileSync(FIXTURE, join(root, "cluster.yaml")); // cluster "prod"; the example is "demo"
});
afterAll(() => copy.remove());

/** Runs the copy's own built CLI from `cwd`. */
const infra = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [join(root, "dist", "bin.js"), ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1", ...env },
    encoding: "utf8",
  });

describe("the repository root, from anywhere inside it", () => {
  it("every top-level folder plans the root's cluster.yaml and says so", () => {
    const folders = readdirSync(root).filter(
      (name) => name !== "node_modules" && statSync(join(root, name)).isDirectory(),
    );
    expect(folders).toEqual(
      expect.arrayContaining([
        ".ci",
        "ansible",
        "kubernetes",
        "tofu",
        "docs",
        "src",
        "test",
        "tools",
        "dist",
      ]),
    );
    for (const folder of folders) {
      const run = infra(["plan", "--json"], join(root, folder));
      expect(run.status, `${folder}: ${run.stderr}`).toBe(0);
      expect(JSON.parse(run.stdout).cluster.name, folder).toBe("prod");
      expect(run.stderr, folder).toContain(`using ${join(root, "cluster.yaml")}`);
    }
  }, 120_000);

  it("configure from kubernetes/ writes only at the root", () => {
    const run = infra(["configure"], join(root, "kubernetes"));
    expect(run.status, run.stderr).toBe(0);
    for (const stray of ["ansible", "tofu", "kubernetes"]) {
      expect(existsSync(join(root, "kubernetes", stray)), `kubernetes/${stray}`).toBe(false);
    }
    // and the root's rendered files now match the root's cluster.yaml, from any folder
    expect(
      spawnSync(process.execPath, [join(root, "dist", "bin.js"), "configure", "--check"], {
        cwd: join(root, "ansible", "roles"),
        encoding: "utf8",
      }).status,
    ).toBe(0);
  });

  it("the launcher works through a symlink on PATH, from a subfolder", () => {
    const bin = join(root, ".test-bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(root, "infra"), join(bin, "infra"));
    const run = spawnSync("infra", ["plan", "--json"], {
      cwd: join(root, "tofu"),
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: "1" },
      encoding: "utf8",
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/npm (ERR|error)|Installing Node dependencies|Building the CLI/);
    expect(JSON.parse(run.stdout).cluster.name).toBe("prod");
  });

  it("the launcher refuses a Node.js older than 20, or one that gives no version, naming what it found", () => {
    const bin = join(root, ".test-old-node");
    mkdirSync(bin, { recursive: true });
    /** The launcher run with this shell script as the `node` on PATH. */
    const launchWith = (script: string) => {
      writeFileSync(join(bin, "node"), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
      return spawnSync(join(root, "infra"), ["plan"], {
        cwd: root,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
        encoding: "utf8",
      });
    };
    const old = launchWith('[ "$1" = --version ] && echo v18.19.1 && exit 0\nexit 99');
    expect(old.status, old.stderr).toBe(3);
    expect(old.stderr).toContain("Node.js v18.19.1 is too old; install Node.js 20 or newer");
    // a node that answers nothing (a broken install) is named, not run
    const broken = launchWith("exit 7");
    expect(broken.status, broken.stderr).toBe(3);
    expect(broken.stderr).toContain("cannot tell which Node.js this is: `node --version` printed ''");
  });

  it("--config and $INFRA_CONFIG choose another file, relative to the working directory", () => {
    const byFlag = infra(["plan", "--json", "--config", "../cluster.example.yaml"], join(root, "docs"));
    expect(byFlag.status, byFlag.stderr).toBe(0);
    expect(JSON.parse(byFlag.stdout).cluster.name).toBe("demo");
    const byEnv = infra(["plan", "--json"], join(root, "docs"), { INFRA_CONFIG: "../cluster.example.yaml" });
    expect(byEnv.status, byEnv.stderr).toBe(0);
    expect(JSON.parse(byEnv.stdout).cluster.name).toBe("demo");
  });
});

describe("the example is not acted on unless told", () => {
  let bare: string;
  let hostsMtime: number;
  let bareCopy: RepoCopy;
  beforeAll(async () => {
    bareCopy = await builtCopy();
    bare = bareCopy.dir;
    hostsMtime = statSync(join(bare, "ansible", "inventory", "hosts.yml")).mtimeMs;
  });
  afterAll(() => bareCopy.remove());

  const run = (args: string[], cwd: string) =>
    spawnSync(process.execPath, [join(bare, "dist", "bin.js"), ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: "1" },
      encoding: "utf8",
    });

  it.each([
    ["configure"],
    ["up", "--yes"],
    ["cluster", "init", "--yes"],
    ["node", "add", "hetzner-fsn1-1", "--yes"],
    ["node", "remove", "hetzner-fsn1-1", "--yes"],
    ["dns", "apply", "--yes"],
    ["backup", "create", "nightly"],
    ["backup", "delete", "nightly", "--yes"],
    ["backup", "restore", "nightly", "--yes"],
    ["dr", "restore-workload", "shop", "--yes"],
    ["dr", "failover", "node-1", "--yes"],
    ["dr", "node-recovery", "node-1", "--yes"],
    ["dr", "drill"],
  ])("infra %s refuses with exit 2, says how to make a cluster.yaml, writes nothing", (...args) => {
    const result = run(args, join(bare, "ansible"));
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain("would act on the example cluster");
    expect(result.stderr).toContain("infra init");
    expect(result.stderr).toContain("--example");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(bare, ".infra"))).toBe(false);
    expect(statSync(join(bare, "ansible", "inventory", "hosts.yml")).mtimeMs).toBe(hostsMtime);
  });

  it("reads and dry runs still work on the example, and --example lifts the refusal", () => {
    expect(run(["plan"], bare).status).toBe(0);
    expect(run(["configure", "--check"], bare).status).toBe(0);
    const told = run(["configure", "--example"], join(bare, "docs"));
    expect(told.status, told.stderr).toBe(0);
    expect(told.stderr).toContain(`using ${join(bare, "cluster.example.yaml")}`);
  });
});
