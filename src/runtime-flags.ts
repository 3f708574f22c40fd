/**
 * V8 settings for a short-lived command-line process, applied before anything else is loaded.
 *
 * `--no-opt`: no optimising (TurboFan) compilation. A command's JavaScript runs for well under a
 * second, most of it once; optimising it costs CPU time on background threads that the programs the
 * command starts (kustomize, kubeconform, ansible) need. The interpreter and the baseline compiler
 * still run. Set here, at run time, because a shebang cannot pass it to node; that it takes effect
 * here is what the figures with and without it show (docs/testing.md, "Benchmarks").
 */
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--no-opt");
