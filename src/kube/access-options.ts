/**
 * The options of every command that reaches the Kubernetes API, declared once; cli.ts adds them
 * to each command declared with `cluster: true`. Light on purpose: no client library here.
 */
import type { CommandInput, OptionDeclaration } from "../command-declaration.js";
import { InfraError } from "../errors.js";
import type { KubeAccessOptions } from "./kubeconfig.js";
import { durationOption } from "./wait.js";

export const KUBE_ACCESS_OPTIONS: readonly OptionDeclaration[] = [
  {
    flags: "--kubeconfig <file>",
    description:
      "kubeconfig to use (default: $KUBECONFIG, else <root>/.infra/kubeconfig, else ~/.kube/config)",
  },
  { flags: "--context <name>", description: "kubeconfig context to use (default: its current context)" },
  {
    flags: "--request-timeout <duration>",
    description: "give up on one API request (retries included) after this long",
    default: "30s",
  },
];

/** The parsed kube access flags; a bad --request-timeout is a usage error (exit 2). */
export function kubeAccess(input: CommandInput): Omit<KubeAccessOptions, "signal"> {
  const timeout = input.string("requestTimeout");
  return {
    kubeconfig: input.string("kubeconfig"),
    context: input.string("context"),
    ...(timeout === undefined ? {} : { requestTimeoutMs: requestTimeout(timeout) }),
  };
}

function requestTimeout(text: string): number {
  const ms = durationOption("--request-timeout", text);
  if (ms < 1000) {
    throw new InfraError(
      "INVALID_DURATION",
      `--request-timeout ${text} is too short: an API request needs at least 1s`,
      {
        kind: "usage",
        location: { path: "--request-timeout" },
        hint: 'use a duration such as "30s" (the default) or "2m"',
      },
    );
  }
  if (ms > MAX_REQUEST_TIMEOUT_MS) {
    throw new InfraError("INVALID_DURATION", `--request-timeout ${text} is too long: at most 24h`, {
      kind: "usage",
      location: { path: "--request-timeout" },
      hint: 'use a duration such as "30s" (the default) or "5m"; waits have their own --timeout',
    });
  }
  return ms;
}

/** Timers hold at most 2^31-1 ms; a day is far more than one request should take. */
const MAX_REQUEST_TIMEOUT_MS = 24 * 3_600_000;
