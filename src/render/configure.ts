/**
 * `infra configure`: validates cluster.yaml and writes the rendered files; with --check it writes
 * nothing and fails when a rendered file differs from what the config renders to. An invalid
 * config never writes anything (validation happens before the first write).
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { loadClusterConfig } from "../config/load.js";
import type { CommandContext } from "../context.js";
import { InfraError } from "../errors.js";
import { type Outcome, outcome } from "../outcome.js";
import { renderAll } from "./render.js";

export interface ConfigureOptions {
  config?: string;
  check?: boolean;
}

export type FileState = "written" | "unchanged" | "stale" | "missing";

export interface ConfigureResult {
  source: string;
  check: boolean;
  /** `diff`: for a stale or missing file under --check, a unified diff from the file on disk to what the config renders. */
  files: { path: string; state: FileState; diff?: string }[];
  ok: boolean;
}

export async function configureCommand(
  ctx: CommandContext,
  options: ConfigureOptions,
): Promise<Outcome<ConfigureResult>> {
  const { config, source } = await loadClusterConfig(ctx, options.config);
  const rendered = renderAll(config, source.path);
  const check = options.check === true;
  const files: ConfigureResult["files"] = [];
  for (const file of rendered) {
    const target = join(ctx.cwd, file.path);
    const current = existsSync(target) ? await readFile(target, "utf8") : undefined;
    if (current === file.content) {
      files.push({ path: file.path, state: "unchanged" });
    } else if (check) {
      const { createTwoFilesPatch } = await import("diff");
      const diff = createTwoFilesPatch(
        `a/${file.path}`,
        `b/${file.path}`,
        current ?? "",
        file.content,
        current === undefined ? "(missing)" : "on disk",
        `rendered from ${source.display}`,
      );
      // without the "=====" banner jsdiff puts first: the form `git diff` prints
      const unified = diff.replace(/^=+\n/, "");
      files.push({ path: file.path, state: current === undefined ? "missing" : "stale", diff: unified });
    } else {
      await writeAtomically(target, file.content).catch((error: unknown) => {
        throw new InfraError("WRITE_FAILED", `could not write ${file.path}: ${(error as Error).message}`, {
          location: { file: file.path },
          hint: "check that the directory is writable; files written before this one are complete",
          cause: error,
        });
      });
      files.push({ path: file.path, state: "written" });
    }
  }
  const ok = files.every((f) => f.state === "unchanged" || f.state === "written");
  return outcome({ source: source.display, check, files, ok }, renderConfigure, ok ? 0 : 1);
}

/** Write to a temporary file, then rename: a reader never sees half a file. */
async function writeAtomically(target: string, content: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temporary = `${target}.tmp-${process.pid}`;
  await writeFile(temporary, content);
  await rename(temporary, target);
}

function renderConfigure(result: ConfigureResult): string {
  const mark: Record<FileState, string> = {
    written: "✓ wrote",
    unchanged: "= unchanged",
    stale: "✗ stale",
    missing: "✗ missing",
  };
  const lines = result.files.map((f) => `${mark[f.state]}  ${f.path}`);
  for (const file of result.files) if (file.diff) lines.push("", file.diff.trimEnd());
  if (!result.ok) {
    lines.push(
      "",
      `rendered files are out of date with ${result.source}; run \`infra configure\` and commit the result`,
    );
  } else if (result.check) {
    lines.push("", `all rendered files match ${result.source}`);
  } else if (result.files.some((f) => f.state === "written")) {
    lines.push("", "next: review with `git diff`, then `infra plan`");
  } else {
    lines.push("", "nothing to do: every rendered file is up to date");
  }
  return lines.join("\n");
}
