import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheRoot } from "../../../src/toolchain/paths.js";

/**
 * One image build at a time per cache, across processes (a test run and a benchmark).
 * mkdir is atomic; a lock whose owner process is gone is taken over.
 */
export async function withImageLock<T>(body: () => Promise<T>): Promise<T> {
  const root = join(cacheRoot(process.env), "images");
  await mkdir(root, { recursive: true });
  const lock = join(root, ".build.lock");
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      const owner = Number((await readFile(join(lock, "pid"), "utf8").catch(() => "")).trim());
      if (owner && !alive(owner)) await rm(lock, { recursive: true, force: true });
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
