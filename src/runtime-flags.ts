/**
 * V8 settings for a short-lived command-line process, applied before anything else is loaded.
 *
 * `--no-opt`: no optimising (TurboFan) compilation. A command's JavaScript runs for well under a
 * second, most of it once; optimising it costs CPU time on background threads that the programs the
 * command starts (kustomize, kubeconform, ansible) need. The interpreter and the baseline compiler
 * still run. Figures with and without it: docs/testing.md, "Benchmarks". V8 reads the flag each time
 * it considers optimising a function, so it takes effect when set here, at run time (a shebang cannot
 * pass it to node).
 */
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--no-opt");
