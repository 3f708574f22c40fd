/**
 * The processes an `infra` run started on this machine, read from /proc: to show that an interrupted run
 * leaves none behind (ansible-playbook, its forks, the ssh clients they started).
 */
import { readdir, readFile } from "node:fs/promises";

export interface ProcessInfo {
  pid: number;
  command: string;
}

async function stat(pid: number): Promise<{ ppid: number; command: string } | undefined> {
  try {
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8")).replace(/\0/g, " ").trim();
    return { ppid: Number(fields[1]), command: cmdline };
  } catch {
    return undefined;
  }
}

/** Every live descendant of `root` (children, their children, ...). */
export async function descendants(root: number): Promise<ProcessInfo[]> {
  const table = new Map<number, { ppid: number; command: string }>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const info = await stat(Number(entry));
    if (info) table.set(Number(entry), info);
  }
  const found: ProcessInfo[] = [];
  const walk = (parent: number) => {
    for (const [pid, info] of table) {
      if (info.ppid !== parent) continue;
      found.push({ pid, command: info.command });
      walk(pid);
    }
  };
  walk(root);
  return found;
}

/** Those of `processes` still alive, except SSH connection masters (ControlPersist keeps them 60 s by design). */
export async function leftBehind(processes: ProcessInfo[]): Promise<ProcessInfo[]> {
  const alive: ProcessInfo[] = [];
  for (const process of processes) {
    const now = await stat(process.pid);
    if (!now || now.command !== process.command) continue;
    if (/^ssh: .*\[mux\]$/.test(now.command)) continue;
    alive.push(process);
  }
  return alive;
}
