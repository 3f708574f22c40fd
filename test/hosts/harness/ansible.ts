/**
 * Reads what `infra` left in its run log (.infra/logs/<stamp>-<command>.log): the ansible.posix.jsonl
 * lines of each playbook it ran. The hosts tier asserts on them: the files a check-mode run would write
 * (from --diff), which tasks reported changed on which host, and which ran a package manager.
 */
import { readFile } from "node:fs/promises";

interface JsonlResult {
  /** The module that ran (`ansible.builtin.package`, ...). */
  action?: string;
  changed?: boolean;
  diff?: unknown;
}

interface JsonlEvent {
  _event?: string;
  task?: { name?: string };
  hosts?: Record<string, JsonlResult>;
}

async function events(logFile: string): Promise<JsonlEvent[]> {
  const text = await readFile(logFile, "utf8");
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as JsonlEvent];
      } catch {
        return [];
      }
    });
}

export interface RenderedFile {
  host: string;
  /** The task that would write it ("role : name"); a new file's diff does not name its destination. */
  task: string;
  /** The content check mode says the task would write. */
  content: string;
}

/** Every file a --diff run showed new content for, with the host and the task. */
export async function renderedFiles(logFile: string): Promise<RenderedFile[]> {
  const files: RenderedFile[] = [];
  for (const event of await events(logFile)) {
    if (event._event !== "v2_runner_on_ok") continue;
    for (const [host, result] of Object.entries(event.hosts ?? {})) {
      const diffs = Array.isArray(result.diff) ? result.diff : result.diff ? [result.diff] : [];
      for (const diff of diffs as Array<{ after?: unknown }>) {
        if (typeof diff.after !== "string") continue;
        files.push({ host, task: event.task?.name ?? "", content: diff.after });
      }
    }
  }
  return files;
}

/** The tasks that reported changed, per host, in the order they ran. */
export async function changedTasks(logFile: string): Promise<Record<string, string[]>> {
  const changed: Record<string, string[]> = {};
  for (const event of await events(logFile)) {
    if (event._event !== "v2_runner_on_ok") continue;
    for (const [host, result] of Object.entries(event.hosts ?? {})) {
      if (result.changed) changed[host] = [...(changed[host] ?? []), event.task?.name ?? ""];
    }
  }
  return changed;
}

/** The tasks that ran a module whose name `action` matches (ok or failed, not skipped), per host, in order. */
export async function tasksRunning(logFile: string, action: RegExp): Promise<Record<string, string[]>> {
  const ran: Record<string, string[]> = {};
  for (const event of await events(logFile)) {
    if (event._event !== "v2_runner_on_ok" && event._event !== "v2_runner_on_failed") continue;
    for (const [host, result] of Object.entries(event.hosts ?? {})) {
      if (action.test(result.action ?? "")) ran[host] = [...(ran[host] ?? []), event.task?.name ?? ""];
    }
  }
  return ran;
}

/** A package manager module: apt, dnf, package. */
export const PACKAGE_MANAGER = /^(ansible\.(builtin|legacy)\.)?(apt|dnf|package)$/;
/** The ufw module: a run of ufw itself, seconds a rule. */
export const UFW_MODULE = /^(community\.general\.)?ufw$/;
