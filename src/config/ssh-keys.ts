/**
 * The SSH private key files cluster.yaml names, checked on the operator's machine as ssh will use
 * them (the schema already holds each path to ~/ or absolute): the file must be a private key, not
 * the `.pub` half. A missing file or one readable by others is a warning: ssh skips such a key and
 * goes on with the agent.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import type { Finding, PathSegment } from "./rules.js";
import type { ClusterConfig } from "./schema.js";

export interface KeyFileContext {
  home: string;
  /** The current user's id (ssh only checks the mode of keys the user owns). */
  uid: number | undefined;
}

/** The first bytes of every private key format OpenSSH reads. */
const PRIVATE_KEY = /-----BEGIN (OPENSSH |RSA |DSA |EC |ENCRYPTED )?PRIVATE KEY-----/;
const PUBLIC_KEY =
  /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(-cert-v01@openssh\.com)? /;

export function checkKeyFiles(config: ClusterConfig, context: KeyFileContext): Finding[] {
  const fields: { path: PathSegment[]; file: string }[] = [];
  if (config.ssh.privateKeyFile)
    fields.push({ path: ["ssh", "privateKeyFile"], file: config.ssh.privateKeyFile });
  config.nodes.forEach((node, index) => {
    if (node.ssh?.privateKeyFile)
      fields.push({ path: ["nodes", index, "ssh", "privateKeyFile"], file: node.ssh.privateKeyFile });
  });
  const findings: Finding[] = [];
  const checked = new Map<string, Omit<Finding, "path"> | undefined>();
  for (const { path, file } of fields) {
    if (!checked.has(file)) checked.set(file, checkKeyFile(file, context));
    const finding = checked.get(file);
    if (finding) findings.push({ ...finding, path });
  }
  return findings;
}

function checkKeyFile(file: string, context: KeyFileContext): Omit<Finding, "path"> | undefined {
  const error = (code: string, message: string, hint: string) => ({
    code,
    severity: "error" as const,
    message,
    hint,
  });
  const path = file.startsWith("~") ? join(context.home, file.slice(1)) : file;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO must not block
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      // ssh warns about a missing identity file and goes on with the agent: a warning here too.
      return {
        code: "SSH_KEY_NOT_FOUND",
        severity: "warning",
        message: `the key file ${file} does not exist on this machine`,
        hint: "create it (ssh-keygen -t ed25519) or name the key you use; leave privateKeyFile out to use your SSH agent",
      };
    if (code === "EISDIR")
      return error(
        "SSH_KEY_NOT_A_FILE",
        `${file} is a directory, not a key file`,
        "name the private key file inside it, e.g. ~/.ssh/id_ed25519",
      );
    return error(
      "SSH_KEY_UNREADABLE",
      `the key file ${file} cannot be read (${code ?? "error"})`,
      "make it readable by your user: chmod 600 the file",
    );
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory())
      return error(
        "SSH_KEY_NOT_A_FILE",
        `${file} is a directory, not a key file`,
        "name the private key file inside it, e.g. ~/.ssh/id_ed25519",
      );
    if (!stat.isFile())
      return error(
        "SSH_KEY_NOT_A_FILE",
        `${file} is not a regular file`,
        "name the private key file, e.g. ~/.ssh/id_ed25519",
      );
    const head = Buffer.alloc(4096);
    const length = readSync(fd, head, 0, head.length, 0);
    const text = head.subarray(0, length).toString("latin1");
    if (file.endsWith(".pub") || PUBLIC_KEY.test(text)) {
      return error(
        "SSH_KEY_PUBLIC",
        `${file} is a public key; ssh needs the private half`,
        `name the private key file${file.endsWith(".pub") ? `: ${file.slice(0, -4)}` : " (the one without .pub)"}`,
      );
    }
    if (!PRIVATE_KEY.test(text)) {
      return error(
        "SSH_KEY_NOT_PRIVATE",
        `${file} is not a private key ssh can read (no "-----BEGIN ... PRIVATE KEY-----")`,
        "name an OpenSSH or PEM private key file; convert a PuTTY .ppk with puttygen -O private-openssh",
      );
    }
    if ((stat.mode & 0o077) !== 0 && (context.uid === undefined || stat.uid === context.uid)) {
      return {
        code: "SSH_KEY_PERMISSIONS",
        severity: "warning",
        message: `${file} can be read by others (mode ${(stat.mode & 0o777).toString(8).padStart(4, "0")}); ssh ignores such a key`,
        hint: `chmod 600 ${file}`,
      };
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
