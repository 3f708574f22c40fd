/** Writes schema/cluster.schema.json from the zod schema in src/config/schema.ts (`npm run schema`). */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { clusterJsonSchemaText, JSON_SCHEMA_FILE } from "../src/config/json-schema.js";
import { PACKAGE_ROOT } from "../src/package-root.js";

await writeFile(join(PACKAGE_ROOT, JSON_SCHEMA_FILE), clusterJsonSchemaText());
process.stdout.write(`wrote ${JSON_SCHEMA_FILE}\n`);
