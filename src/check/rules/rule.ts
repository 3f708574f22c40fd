import type { Finding, RuleInfo } from "../findings.js";
import type { Tree } from "../resources.js";

export interface Rule extends RuleInfo {
  check(tree: Tree): Finding[];
}
