import { join } from "node:path";
import { withDirectoryLock } from "../../../src/toolchain/lock.js";
import { cacheRoot } from "../../../src/toolchain/paths.js";

/** One build of an image at a time, across processes (a test run and a benchmark); two images may build at once. */
export function withImageLock<T>(name: string, body: () => Promise<T>): Promise<T> {
  return withDirectoryLock(join(cacheRoot(process.env), "images", `.${name}.build.lock`), body);
}
