/**
 * V8 settings for a short-lived command-line process, applied before anything else is loaded.
 *
 * `--no-opt`: no optimising (TurboFan) compilation. A command's JavaScript runs for well under a second,
 * mostly once, and starting programs and reading files; optimising functions that will not run long enough
 * to pay back costs CPU time on background threads that the programs the command starts (kustomize,
 * ansible) need. Measured on `infra check` of this repository's tree: 0.61 s instead of 0.67 s wall,
 * 440 ms instead of 610 ms of the CLI's own CPU time (docs/testing.md, bench:check). The interpreter and
 * the baseline compiler still run, and V8 consults the flag each time it considers optimising a
 * function, so setting it here (rather than on node's command line, which a shebang cannot carry) is
 * what the flag is read for.
 */
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--no-opt");
