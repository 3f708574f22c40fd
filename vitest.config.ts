import { defineConfig } from "vitest/config";
import { TIER_TIMEOUT_MS } from "./test/helpers/timeouts.js";

/** `npm run golden:update` runs vitest in this mode; it is the only way golden files are written. */
const GOLDEN_UPDATE_MODE = "golden-update";

// One project per test tier (docs/testing.md); `npm run test:<tier>` runs one alone.
export default defineConfig(({ mode }) => {
  const tier = (name: keyof typeof TIER_TIMEOUT_MS) => ({
    name,
    include: [`test/${name}/**/*.test.ts`],
    testTimeout: TIER_TIMEOUT_MS[name],
    hookTimeout: TIER_TIMEOUT_MS[name],
    provide: { goldenUpdate: mode === GOLDEN_UPDATE_MODE },
  });
  const withTools = { globalSetup: ["test/helpers/tool-path.ts"] };
  return {
    test: {
      clearMocks: true,
      restoreMocks: true,
      // A test run never writes a snapshot, whatever the environment (CI or not, UPDATE_SNAPSHOT):
      // a missing or different one fails. (Vitest reads this for every project from the root.)
      update: "none",
      projects: [
        { test: tier("unit") },
        { test: { ...tier("static"), ...withTools } },
        { test: { ...tier("hosts"), ...withTools, fileParallelism: false } },
        { test: { ...tier("controlplane"), ...withTools, fileParallelism: false } },
      ],
    },
  };
});
