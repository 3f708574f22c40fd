/**
 * The options of every command that reaches the Kubernetes API, declared once; cli.ts adds them
 * to each command declared with `cluster: true`. Light on purpose: no client library here.
 */
import type { CommandInput, OptionDeclaration } from "../command-declaration.js";
import type { KubeAccessOptions } from "./kubeconfig.js";

export const KUBE_ACCESS_OPTIONS: readonly OptionDeclaration[] = [
  {
    flags: "--kubeconfig <file>",
    description: "kubeconfig to use (default: $KUBECONFIG, else ~/.kube/config)",
  },
  { flags: "--context <name>", description: "kubeconfig context to use (default: its current context)" },
];

export function kubeAccess(input: CommandInput): KubeAccessOptions {
  return { kubeconfig: input.string("kubeconfig"), context: input.string("context") };
}
