/**
 * The checks of role k3s_artifacts, run by Ansible itself on this machine (connection local): the K3s
 * roles never keep an install script whose SHA-256 is not pinned, and air-gapped they never copy a
 * binary that does not match the release's checksum file. The "k3s" and "install.sh" files here are
 * random bytes made by the test — the test shows the gate, not K3s (which cannot be had here).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { exec } from "../../../src/adapters/exec.js";
import { ANSIBLE_DIR, ansibleTestEnv, buildInventory } from "./fixture-inventory.js";

let dir = "";
/** Ansible's output per case (host), from one run over every case: a failing case stops only its host. */
const outputs: Record<string, { failed: boolean; output: string }> = {};
const files: Record<string, { path: string; scriptSha256: string; binarySha256: string }> = {};
const listedBinary = createHash("sha256").update(randomBytes(32)).digest("hex");
const wrongScript = createHash("sha256").update(randomBytes(8)).digest("hex");

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** An air-gap directory: a `k3s`, an `install.sh`, and the release's checksum file for amd64. */
async function airgapDir(name: string, options: { binaryListed?: string } = {}) {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  const binary = randomBytes(4096);
  const script = randomBytes(512);
  await writeFile(join(path, "k3s"), binary);
  await writeFile(join(path, "install.sh"), script);
  await writeFile(
    join(path, "sha256sum-amd64.txt"),
    [
      `${sha256(randomBytes(16))}  k3s-airgap-images-amd64.tar.zst`,
      `${options.binaryListed ?? sha256(binary)}  k3s`,
      `${sha256(randomBytes(16))}  k3s-arm64`,
      "",
    ].join("\n"),
  );
  return { path, scriptSha256: sha256(script), binarySha256: sha256(binary) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "infra-k3s-artifacts-"));
  const env = await ansibleTestEnv(dir);
  const inventory = await buildInventory(dir, "fixture");
  files.good = await airgapDir("good");
  files.badBinary = await airgapDir("bad-binary", { binaryListed: listedBinary });
  files.badScript = await airgapDir("bad-script");
  const empty = join(dir, "empty");
  await mkdir(empty, { recursive: true });
  const airgap = (path: string, script: string) => ({
    k3s_artifacts_method: "airgap",
    k3s_artifacts_airgap_src_dir: path,
    k3s_artifacts_script_sha256: script,
  });
  // One host per case, each with its own variables, beside the fixture inventory (for the group vars).
  const cases: Record<string, Record<string, unknown>> = {
    "script-pinned": {},
    "script-unpinned": { k3s_version: "v1.36.9+k3s1" },
    "airgap-good": airgap(files.good.path, files.good.scriptSha256),
    "airgap-bad-binary": airgap(files.badBinary.path, files.badBinary.scriptSha256),
    "airgap-bad-script": airgap(files.badScript.path, wrongScript),
    "airgap-missing": { k3s_artifacts_method: "airgap", k3s_artifacts_airgap_src_dir: empty },
  };
  const casesInventory = join(dir, "cases.yml");
  await writeFile(
    casesInventory,
    stringify({ k3s_cluster: { children: { k3s_workers: { hosts: cases } } } }),
  );
  const playbook = join(dir, "preflight.yml");
  await writeFile(
    playbook,
    stringify([
      {
        name: "The checks of k3s_artifacts",
        hosts: Object.keys(cases).join(","),
        connection: "local",
        gather_facts: true,
        gather_subset: ["min"],
        tasks: [
          {
            name: "Check what K3s would be installed from",
            "ansible.builtin.include_role": { name: "k3s_artifacts", tasks_from: "preflight.yml" },
          },
        ],
      },
    ]),
  );
  const run = await exec("ansible-playbook", ["-i", inventory, "-i", casesInventory, playbook], {
    cwd: ANSIBLE_DIR,
    env: { ...env, ANSIBLE_STDOUT_CALLBACK: "ansible.posix.jsonl", ANSIBLE_LOAD_CALLBACK_PLUGINS: "1" },
    check: false,
    timeoutMs: 120_000,
  });
  for (const host of Object.keys(cases)) outputs[host] = { failed: false, output: "" };
  for (const line of run.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const event = JSON.parse(line) as { _event?: string; hosts?: Record<string, { msg?: string }> };
    if (event._event !== "v2_runner_on_failed") continue;
    for (const [host, result] of Object.entries(event.hosts ?? {})) {
      outputs[host] = { failed: true, output: String(result.msg ?? "") };
    }
  }
  if (Object.keys(cases).some((h) => outputs[h] === undefined)) throw new Error(run.stdout + run.stderr);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("k3s_artifacts: nothing unchecked is run", () => {
  it("script: the default K3s version has a pinned install script checksum", () => {
    expect(outputs["script-pinned"]).toEqual({ failed: false, output: "" });
  });

  it("script: a K3s version without a pinned checksum stops the run, saying where to pin it", () => {
    const { failed, output } = outputs["script-unpinned"] ?? { failed: false, output: "" };
    expect(failed).toBe(true);
    expect(output).toContain("No SHA-256 is pinned for the K3s install script of v1.36.9+k3s1");
    expect(output).toContain("k3s_install_script_checksums in");
    expect(output).toContain("https://raw.githubusercontent.com/k3s-io/k3s/v1.36.9%2Bk3s1/install.sh");
  });

  it("airgap: a binary that matches the release checksum and a pinned script pass", () => {
    expect(outputs["airgap-good"]).toEqual({ failed: false, output: "" });
  });

  it("airgap: a binary whose checksum is not the release's is refused, naming both checksums", () => {
    const { failed, output } = outputs["airgap-bad-binary"] ?? { failed: false, output: "" };
    expect(failed).toBe(true);
    expect(output).toContain("The air-gap K3s binary does not match the release checksum");
    expect(output).toContain(listedBinary);
    expect(output).toContain(files.badBinary?.binarySha256);
    expect(output).toContain("Nothing was installed.");
  });

  it("airgap: an install script that is not the pinned one is refused", () => {
    const { failed, output } = outputs["airgap-bad-script"] ?? { failed: false, output: "" };
    expect(failed).toBe(true);
    expect(output).toContain("The air-gap install.sh does not have the pinned SHA-256");
    expect(output).toContain(files.badScript?.scriptSha256);
  });

  it("airgap: missing files are named", () => {
    const { failed, output } = outputs["airgap-missing"] ?? { failed: false, output: "" };
    expect(failed).toBe(true);
    expect(output).toContain("The airgap method needs, in k3s_artifacts_airgap_src_dir");
    expect(output).toContain("sha256sum-amd64.txt");
  });
});
