import { createInterface } from "node:readline/promises";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";

/**
 * Asks before a destructive or costly action. `--yes` skips the question; without a terminal and
 * without `--yes` the command refuses (CONFIRMATION_REQUIRED, exit 2) and changes nothing.
 */
export async function confirmAction(
  ctx: CommandContext,
  question: string,
  yes: boolean | undefined,
): Promise<void> {
  if (yes) return;
  if (!ctx.interactive) {
    throw new InfraError("CONFIRMATION_REQUIRED", `${question} — refusing without confirmation`, {
      kind: "usage",
      hint: "re-run with --yes to confirm, or with --dry-run to see what would change",
    });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  // readline takes Ctrl-C from the terminal: hand it to bin.ts's handler, which aborts ctx.signal
  rl.on("SIGINT", () => process.kill(process.pid, "SIGINT"));
  try {
    const answer = await rl
      .question(`${question} [y/N] `, ctx.signal ? { signal: ctx.signal } : {})
      .catch((error: unknown) => {
        if (ctx.signal?.aborted) {
          throw new InfraError("CANCELLED", "cancelled at the question; nothing was changed", {
            kind: "interrupted",
          });
        }
        throw error;
      });
    if (!/^y(es)?$/i.test(answer.trim())) {
      throw new InfraError("CANCELLED", "cancelled; nothing was changed", { kind: "interrupted" });
    }
  } finally {
    rl.close();
  }
}
