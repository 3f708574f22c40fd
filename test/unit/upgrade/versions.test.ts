import { describe, expect, it } from "vitest";
import { parseK3sVersion } from "../../../src/config/k3s-version.js";
import type { InfraError } from "../../../src/errors.js";
import { checkSkew, parseTarget, versionSlug } from "../../../src/upgrade/versions.js";

const v = (text: string) =>
  parseK3sVersion(text) ??
  (() => {
    throw new Error(text);
  })();
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    return [(error as InfraError).code, (error as InfraError).exitCode];
  }
  return undefined;
};

describe("upgrade target", () => {
  it.each([
    ["1.37", "UPGRADE_VERSION_INVALID"],
    ["v1.37.1", "UPGRADE_VERSION_INVALID"],
    ["v1.37.1+k3s1 ", undefined],
    ["v1.99.0+k3s1", "UPGRADE_VERSION_UNKNOWN"],
    ["v1.35.5+k3s1", "UPGRADE_VERSION_TOO_OLD"],
    ["v1.36.3+k3s1", undefined],
  ])("%s -> %s (usage error)", (text, code) => {
    const result = codeOf(() => parseTarget(text, "--to"));
    expect(result).toEqual(code ? [code, 2] : undefined);
  });

  it("warns about a patch newer than the table knows", () => {
    expect(parseTarget("v1.36.9+k3s1", "--to").warning).toMatch(
      /newer than the newest 1\.36 release this project knows/,
    );
  });

  it("refuses a downgrade of any node and a jump past one minor, before anything (exit 3)", () => {
    const nodes = (versions: string[]) =>
      versions.map((kubeletVersion, i) => ({ name: `n${i}`, kubeletVersion }));
    expect(codeOf(() => checkSkew(v("v1.36.3+k3s1"), nodes(["v1.36.3+k3s2"])))).toEqual([
      "UPGRADE_DOWNGRADE",
      3,
    ]);
    expect(codeOf(() => checkSkew(v("v1.37.1+k3s1"), nodes(["v1.36.3+k3s1", "v1.35.6+k3s1"])))).toEqual([
      "UPGRADE_MINOR_SKIP",
      3,
    ]);
    expect(codeOf(() => checkSkew(v("v1.37.1+k3s1"), nodes(["v1.37.0-rc1"])))).toEqual([
      "UPGRADE_NODE_VERSION_UNKNOWN",
      3,
    ]);
    expect(checkSkew(v("v1.37.1+k3s1"), nodes(["v1.36.3+k3s1", "v1.37.1+k3s1"])).size).toBe(2);
  });

  it("names snapshots without characters K3s or Kubernetes reject", () => {
    expect(versionSlug(v("v1.37.1+k3s1"))).toBe("v1-37-1-k3s1");
  });
});
