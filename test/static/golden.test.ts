/**
 * Golden files and snapshots never update during a test run: on a copy of the repository, a deleted
 * golden, a golden edited by hand and a snapshot that does not exist yet each fail the real unit tests
 * (with the update variables of other tools set), nothing is written; then `npm run golden:update`,
 * the only way, restores exactly the committed files.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/package-root.js";
import { firstDifferentLine, GOLDEN_UPDATE_COMMAND } from "../helpers/golden.js";
import { copyRepository, type RepoCopy } from "../helpers/repo-copy.js";

const DELETED = "test/unit/ansible/golden/k3s-agent.golden";
const EDITED = "test/fixtures/config/golden/ha-3-servers/tofu/cluster.auto.tfvars.json";
const PROBE = "test/unit/snapshot-probe.test.ts";
const GOLDEN_TESTS = ["test/unit/render/render.test.ts", "test/unit/ansible/k3s-config.test.ts"];

let copy: RepoCopy;
const original = (file: string) => readFileSync(join(PACKAGE_ROOT, file), "utf8");
const inCopy = (file: string) => join(copy.dir, file);

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(command, args, {
    cwd: copy.dir,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

beforeAll(async () => {
  copy = await copyRepository();
});

afterAll(async () => {
  await copy?.remove();
});

describe("golden files and snapshots", () => {
  it("a missing golden, a golden edited by hand and a new snapshot fail the run, and nothing is written", async () => {
    await rm(inCopy(DELETED));
    const edited = original(EDITED).replace('"location": "weur"', '"location": "enam"');
    expect(edited).not.toBe(original(EDITED));
    writeFileSync(inCopy(EDITED), edited);
    writeFileSync(
      inCopy(PROBE),
      [
        'import { expect, it } from "vitest";',
        'it("snapshot", () => expect({ written: true }).toMatchSnapshot());',
        'it("file snapshot", () => expect("written").toMatchFileSnapshot("probe.snap.txt"));',
        "",
      ].join("\n"),
    );
    // Whatever another tool or an old habit sets, a test run does not write.
    const env = { UPDATE_GOLDEN: "1", UPDATE_SNAPSHOT: "all", CI: "" };
    const result = run("npx", ["vitest", "run", "--project", "unit", ...GOLDEN_TESTS, PROBE], env);
    expect(result.code, result.output).not.toBe(0);
    expect(result.output).toContain(
      `golden file ${DELETED} is missing: create it with \`${GOLDEN_UPDATE_COMMAND}\``,
    );
    const line = firstDifferentLine(original(EDITED), edited);
    expect(result.output).toContain(`${EDITED}:${line}: the golden file differs from the output`);
    expect(result.output).toMatch(/Snapshots\s+2 failed/);
    expect(existsSync(inCopy(DELETED)), "the missing golden was not recreated").toBe(false);
    expect(readFileSync(inCopy(EDITED), "utf8"), "the edited golden was not rewritten").toBe(edited);
    expect(existsSync(inCopy("test/unit/__snapshots__")), "no snapshot file was written").toBe(false);
    expect(existsSync(inCopy("test/unit/probe.snap.txt")), "no file snapshot was written").toBe(false);
  });

  it(`\`${GOLDEN_UPDATE_COMMAND}\` restores exactly the committed golden files`, async () => {
    await rm(inCopy(PROBE), { force: true });
    // the script itself, narrowed to the two files (it accepts vitest filters)
    const update = run("npm", ["run", "golden:update", "--", ...GOLDEN_TESTS]);
    expect(update.code, update.output).toBe(0);
    expect(update.output).toContain(`golden: wrote ${DELETED}`);
    expect(update.output).toContain(`golden: wrote ${EDITED}`);
    for (const file of [DELETED, EDITED])
      expect(readFileSync(inCopy(file), "utf8"), file).toBe(original(file));
  });
});
