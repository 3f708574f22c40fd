/**
 * Builds the CLI into dist/: src/bin.ts and everything it imports bundled by esbuild into a few ES
 * modules (dist/bin.js plus one chunk per lazily imported command body). Loading 190 separate
 * modules (and the many files of yaml, zod and commander) cost Node more than the work of most
 * commands; a bundle resolves nothing at run time. Type checking is `npm run lint` (tsc --noEmit).
 * Run by `npm run build` and by the ./infra launcher when a source is newer than dist/.build-stamp.
 */
import { rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: ["src/bin.ts"],
  outdir: "dist",
  // Chunks sit beside bin.js: package-root.ts and version.ts find the repository from import.meta.url.
  entryNames: "[name]",
  chunkNames: "[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // yaml's ES module build (the same code as its CommonJS one, without two debug variables read per
  // token): a CommonJS module imported lazily from a chunk would expose only its default export.
  // jsonc-parser's "main" is a UMD build that requires its parts at run time (not bundled): its ES module
  // build, which its "module" field names, is bundled instead.
  alias: {
    yaml: "./node_modules/yaml/browser/index.js",
    "jsonc-parser": "./node_modules/jsonc-parser/lib/esm/main.js",
  },
  // The S3 SDK is only for R2 commands and loads dozens of its own packages at run time.
  external: ["@aws-sdk/*"],
  // CommonJS dependencies (yaml) require Node's built-in modules; an ES module has no `require`.
  banner: {
    js: "import { createRequire as __infraRequire } from 'node:module'; const require = __infraRequire(import.meta.url);",
  },
  logLevel: "warning",
});
writeFileSync("dist/.build-stamp", "");
