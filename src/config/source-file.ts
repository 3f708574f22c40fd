/**
 * Reading the config file without trusting what the path names: a directory, a FIFO (which would
 * block a read forever), a device, a file too large to be a cluster description, or bytes that are
 * not UTF-8 each end in a config error naming the file, never in a hang or a stack trace.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { InfraError } from "../errors.js";

/** A 1,000-node cluster.yaml is about 200 KB; 4 MiB leaves room and stops a stray huge file. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

const fail = (code: string, file: string, message: string, hint: string, cause?: unknown) =>
  new InfraError(code, message, {
    kind: "config",
    location: { file },
    hint,
    ...(cause === undefined ? {} : { cause }),
  });

/**
 * The file's text (a UTF-8 byte order mark removed); `display` is the path as shown. `fix` is the next
 * step when the path is not a regular file or is far too large: by default cluster.yaml's (`--config`);
 * another file infra reads (.sops.yaml, the tailnet policy) names its own.
 */
export async function readConfigFile(path: string, display: string, fix?: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw openError(error, display);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) {
      throw fail(
        "CONFIG_NOT_A_FILE",
        display,
        "is a directory, not a config file",
        fix ??
          "name the cluster.yaml file itself (e.g. --config path/to/cluster.yaml), or remove the directory named cluster.yaml",
      );
    }
    if (!stat.isFile()) {
      throw fail(
        "CONFIG_NOT_A_FILE",
        display,
        `is ${kindOf(stat)}, not a regular file`,
        fix ?? "point --config at a cluster.yaml file; infra does not read configs from pipes or devices",
      );
    }
    if (stat.size > MAX_CONFIG_BYTES) {
      throw fail(
        "CONFIG_TOO_LARGE",
        display,
        `is ${(stat.size / 1024 / 1024).toFixed(1)} MiB; a cluster.yaml is far smaller (at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB)`,
        fix ?? "check that --config names your cluster.yaml",
      );
    }
    const bytes = await handle.readFile();
    return decode(bytes, display);
  } catch (error) {
    if (error instanceof InfraError) throw error;
    throw openError(error, display);
  } finally {
    await handle.close();
  }
}

function kindOf(stat: {
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (stat.isFIFO()) return "a named pipe (FIFO)";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  return "not a regular file";
}

function openError(error: unknown, display: string): InfraError {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return fail(
        "CONFIG_NOT_FOUND",
        display,
        "does not exist",
        "check the path, or run `infra init` to write a cluster.yaml",
        error,
      );
    case "EACCES":
    case "EPERM":
      return fail(
        "CONFIG_UNREADABLE",
        display,
        "cannot be read (permission denied)",
        "make the file readable by your user (chmod u+r)",
        error,
      );
    case "ELOOP":
      return fail(
        "CONFIG_UNREADABLE",
        display,
        "is a symbolic link that loops",
        "point the link at the real cluster.yaml",
        error,
      );
    case "EISDIR":
      return fail(
        "CONFIG_NOT_A_FILE",
        display,
        "is a directory, not a config file",
        "name the cluster.yaml file itself",
        error,
      );
    default:
      return fail(
        "CONFIG_UNREADABLE",
        display,
        `cannot be read (${code ?? "unknown error"})`,
        "check the file and try again",
        error,
      );
  }
}

function decode(bytes: Buffer, display: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw fail(
      "CONFIG_NOT_TEXT",
      display,
      "is UTF-16 text; infra reads UTF-8",
      "save the file as UTF-8 (most editors: File > Save with Encoding)",
    );
  }
  try {
    // fatal: invalid UTF-8 is an error, not replacement characters; the BOM is dropped.
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw fail(
      "CONFIG_NOT_TEXT",
      display,
      "is not UTF-8 text (binary data or another encoding)",
      "check that --config names your cluster.yaml, and save it as UTF-8",
      error,
    );
  }
}
