/**
 * How `infra init` asks: questions on the terminal (stderr, so stdout stays data), secrets
 * without echo, and the one rule for replacing an existing file.
 */
import { Writable } from "node:stream";
import { InfraError } from "../errors.js";

/** How init asks questions; the terminal by default, a script in tests. */
export interface Prompter {
  ask(question: string, fallback?: string): Promise<string>;
  /** Asks without echoing the answer (a token, a key). */
  secret(question: string): Promise<string>;
  /** Says why an answer was not accepted (the question is then asked again). */
  tell(message: string): Promise<void>;
  close(): void;
}

/** Why a file would be replaced, and (when the usual "--yes or move it aside" is not enough) the hint. */
export interface ReplaceReason {
  why: string;
  hint?: string;
}

/**
 * An existing file that would change is replaced only with `--yes` or a "yes" at the question;
 * otherwise init stops before writing anything (exit 2).
 */
export async function confirmReplace(
  label: string,
  reason: string | ReplaceReason,
  yes: boolean | undefined,
  io: Prompter | undefined,
): Promise<void> {
  const { why, hint } = typeof reason === "string" ? { why: reason, hint: undefined } : reason;
  if (yes) return;
  if (io) {
    const answer = await io.ask(`${label} ${why}. Replace it? [y/N]`, "n");
    if (/^y(es)?$/i.test(answer.trim())) return;
    throw new InfraError("INIT_DECLINED", `${label} was kept; nothing was written`, {
      kind: "usage",
      location: { file: label },
      hint: hint ?? `move ${label} aside, or answer yes to replace it`,
    });
  }
  throw new InfraError("INIT_WOULD_OVERWRITE", `${label} ${why}; nothing was written`, {
    kind: "usage",
    location: { file: label },
    hint: hint ?? "pass --yes to replace it, or move it aside first",
  });
}

/** Questions on the terminal. Ctrl+C or Ctrl+D stops init before any write. */
export async function terminalPrompter(signal: AbortSignal | undefined): Promise<Prompter> {
  const { createInterface } = await import("node:readline/promises");
  // Echo goes through this stream, so a secret's answer can be kept off the screen.
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const stop = new AbortController();
  rl.on("SIGINT", () => stop.abort());
  rl.on("close", () => stop.abort());
  signal?.addEventListener("abort", () => stop.abort(), { once: true });
  const question = async (text: string): Promise<string> => {
    try {
      return await rl.question(text, { signal: stop.signal });
    } catch (error) {
      if (stop.signal.aborted || (error as Error).name === "AbortError") {
        throw new InfraError("INIT_ABORTED", "init stopped at a question; nothing was written", {
          kind: "interrupted",
          hint: "run `infra init` again, or pass the answers as flags and environment variables (see `infra init --help`)",
        });
      }
      throw error;
    }
  };
  return {
    ask: (text, fallback) => question(`${text}${fallback ? ` [${fallback}]` : ""}: `),
    secret: async (text) => {
      process.stderr.write(`${text} (input hidden): `);
      muted = true;
      try {
        return await question("");
      } finally {
        muted = false;
        process.stderr.write("\n");
      }
    },
    tell: async (message) => {
      process.stderr.write(`  ✗ ${message}\n`);
    },
    close: () => rl.close(),
  };
}
