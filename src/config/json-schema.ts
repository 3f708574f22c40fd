/** schema/cluster.schema.json, generated from the zod schema (`npm run schema`). */
import { z } from "zod";
import { ClusterConfig } from "./schema.js";

export const JSON_SCHEMA_FILE = "schema/cluster.schema.json";

/** The JSON Schema (draft-07, which yaml-language-server reads) as committed text. */
export function clusterJsonSchemaText(): string {
  const schema = z.toJSONSchema(ClusterConfig, { target: "draft-7", io: "input", unrepresentable: "any" });
  return `${JSON.stringify(schema, null, 2)}\n`;
}
