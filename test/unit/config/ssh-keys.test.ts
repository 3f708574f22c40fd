/**
 * SSH key files named in cluster.yaml, with keys this test generates: the public half or a file
 * that is no key is refused; a missing or group/world-readable key is warned about (ssh skips it
 * and goes on with the agent); and `infra configure` given a .pub key writes nothing.
 */

import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfigText } from "../../../src/config/load.js";
import { PACKAGE_ROOT } from "../../../src/package-root.js";
import { runCli } from "../../helpers/cli.js";

const solo = readFileSync(
  join(PACKAGE_ROOT, "test", "fixtures", "config", "valid", "single-node.yaml"),
  "utf8",
);
let home = "";

/** The OpenSSH one-line form of an Ed25519 public key. */
function openSshPublicKey(raw: Buffer): string {
  const field = (data: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, data.length]), data]);
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]);
  return `ssh-ed25519 ${blob.toString("base64")} test@infra\n`;
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "infra-keys-"));
  mkdirSync(join(home, ".ssh"), { mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const raw = publicKey.export({ type: "spki", format: "der" }).subarray(-32);
  writeFileSync(join(home, ".ssh", "id_ed25519"), privatePem, { mode: 0o600 });
  writeFileSync(join(home, ".ssh", "id_ed25519.pub"), openSshPublicKey(raw), { mode: 0o644 });
  writeFileSync(join(home, ".ssh", "pubkey-no-suffix"), openSshPublicKey(raw), { mode: 0o600 });
  writeFileSync(join(home, ".ssh", "open"), privatePem, { mode: 0o600 });
  chmodSync(join(home, ".ssh", "open"), 0o644);
  writeFileSync(join(home, ".ssh", "notes.txt"), "remember the key\n", { mode: 0o600 });
  mkdirSync(join(home, ".ssh", "dir"));
  execFileSync("mkfifo", [join(home, ".ssh", "fifo")]);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const withKey = (path: string) => solo.replace("acme:\n", `ssh:\n  privateKeyFile: ${path}\nacme:\n`);
const check = (path: string) =>
  validateConfigText(withKey(path), "cluster.yaml", { keyFiles: { home, uid: process.getuid?.() } })
    .problems.filter((p) => p.code.startsWith("SSH_KEY"))
    .map(({ code, severity, message, hint, location }) => ({ code, severity, message, hint, at: location }));

const at = { file: "cluster.yaml", line: 17, column: 19, path: "ssh.privateKeyFile" };

describe("SSH key files", () => {
  it("accepts a private key only its owner can read", () => {
    expect(check("~/.ssh/id_ed25519")).toEqual([]);
  });

  it.each([
    [
      "~/.ssh/id_ed25519.pub",
      "SSH_KEY_PUBLIC",
      "error",
      "~/.ssh/id_ed25519.pub is a public key; ssh needs the private half",
      "name the private key file: ~/.ssh/id_ed25519",
    ],
    [
      "~/.ssh/pubkey-no-suffix",
      "SSH_KEY_PUBLIC",
      "error",
      "~/.ssh/pubkey-no-suffix is a public key; ssh needs the private half",
      "name the private key file (the one without .pub)",
    ],
    [
      "~/.ssh/notes.txt",
      "SSH_KEY_NOT_PRIVATE",
      "error",
      '~/.ssh/notes.txt is not a private key ssh can read (no "-----BEGIN ... PRIVATE KEY-----")',
      "name an OpenSSH or PEM private key file; convert a PuTTY .ppk with puttygen -O private-openssh",
    ],
    [
      "~/.ssh/dir",
      "SSH_KEY_NOT_A_FILE",
      "error",
      "~/.ssh/dir is a directory, not a key file",
      "name the private key file inside it, e.g. ~/.ssh/id_ed25519",
    ],
    [
      "~/.ssh/fifo",
      "SSH_KEY_NOT_A_FILE",
      "error",
      "~/.ssh/fifo is not a regular file",
      "name the private key file, e.g. ~/.ssh/id_ed25519",
    ],
    [
      "~/.ssh/missing",
      "SSH_KEY_NOT_FOUND",
      "warning",
      "the key file ~/.ssh/missing does not exist on this machine",
      "create it (ssh-keygen -t ed25519) or name the key you use; leave privateKeyFile out to use your SSH agent",
    ],
    [
      "~/.ssh/open",
      "SSH_KEY_PERMISSIONS",
      "warning",
      "~/.ssh/open can be read by others (mode 0644); ssh ignores such a key",
      "chmod 600 ~/.ssh/open",
    ],
  ])("%s: %s", (path, code, severity, message, hint) => {
    expect(check(path)).toEqual([{ code, severity, message, hint, at }]);
  });

  it("checks a node's own key too, once per file", () => {
    const text = withKey("~/.ssh/id_ed25519.pub").replace(
      "    ingress: true",
      "    ingress: true\n    ssh:\n      privateKeyFile: ~/.ssh/id_ed25519.pub",
    );
    const { problems } = validateConfigText(text, "cluster.yaml", {
      keyFiles: { home, uid: process.getuid?.() },
    });
    expect(problems.filter((p) => p.code === "SSH_KEY_PUBLIC").map((p) => p.location.path)).toEqual([
      "nodes[0].ssh.privateKeyFile",
      "ssh.privateKeyFile",
    ]);
  });

  it("infra configure refuses the public key and writes nothing", () => {
    const project = mkdtempSync(join(tmpdir(), "infra-keys-project-"));
    try {
      writeFileSync(join(project, "cluster.yaml"), withKey("~/.ssh/id_ed25519.pub"));
      const result = runCli(["configure"], { cwd: project, env: { HOME: home } });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(
        "  ✗ cluster.yaml:17:19 (ssh.privateKeyFile): ~/.ssh/id_ed25519.pub is a public key; ssh needs the private half [SSH_KEY_PUBLIC]",
      );
      expect(readdirSync(project)).toEqual(["cluster.yaml"]);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
