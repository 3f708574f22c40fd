import { fileURLToPath } from "node:url";

/** The repository root (this file sits one level below it, in src/ or dist/). */
export const PACKAGE_ROOT: string = fileURLToPath(new URL("..", import.meta.url));
