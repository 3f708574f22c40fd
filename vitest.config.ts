import { defineConfig } from "vitest/config";

// One project per test tier of DESIGN.md §6; `npm run test:<tier>` runs one alone.
export default defineConfig({
  test: {
    clearMocks: true,
    restoreMocks: true,
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], testTimeout: 20_000 } },
      {
        test: {
          name: "static",
          include: ["test/static/**/*.test.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          globalSetup: ["test/helpers/tool-path.ts"],
        },
      },
      {
        test: {
          name: "hosts",
          include: ["test/hosts/**/*.test.ts"],
          testTimeout: 1_800_000,
          hookTimeout: 1_800_000,
          fileParallelism: false,
          globalSetup: ["test/helpers/tool-path.ts"],
        },
      },
      {
        test: {
          name: "controlplane",
          include: ["test/controlplane/**/*.test.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
          globalSetup: ["test/helpers/tool-path.ts"],
        },
      },
    ],
  },
});
