import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheRoot } from "./paths.js";

/**
 * Runs `body` holding the lock directory `lock`, across processes (parallel test runs, two shells).
 * mkdir is atomic; a lock whose owner process is gone is taken over.
 */
export async function withDirectoryLock<T>(lock: string, body: () => Promise<T>): Promise<T> {
  await mkdir(join(lock, ".."), { recursive: true });
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      const owner = Number((await readFile(join(lock, "pid"), "utf8").catch(() => "")).trim());
      if (owner && !isAlive(owner)) await rm(lock, { recursive: true, force: true });
      else await sleep(1000);
    }
  }
  await writeFile(join(lock, "pid"), String(process.pid));
  try {
    return await body();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * One install at a time per cache: builds are heavy on 2 cores and two writers must not fill the
 * same directory.
 */
export function withCacheLock<T>(env: NodeJS.ProcessEnv, body: () => Promise<T>): Promise<T> {
  return withDirectoryLock(join(cacheRoot(env), ".install.lock"), body);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
