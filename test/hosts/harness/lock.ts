import { join } from "node:path";
import { withDirectoryLock } from "../../../src/toolchain/lock.js";
import { cacheRoot } from "../../../src/toolchain/paths.js";

/** One image build at a time per cache, across processes (a test run and a benchmark). */
export function withImageLock<T>(body: () => Promise<T>): Promise<T> {
  return withDirectoryLock(join(cacheRoot(process.env), "images", ".build.lock"), body);
}
