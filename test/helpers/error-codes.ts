/**
 * The InfraError codes src/ can throw, read from the code itself with the TypeScript parser: every
 * `new InfraError(code, message, options)` (and `new` of a class that extends it), the string literals
 * its code expression can take, and the exit code its `kind` gives. A code passed on from another
 * error (`error.code`) is not a new code and is not listed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { type ErrorKind, ExitCode } from "../../src/errors.js";

export interface ThrowSite {
  file: string;
  line: number;
  /** Exit codes the site can give; undefined when its kind is passed on from elsewhere. */
  exitCodes: number[] | undefined;
}

function literals(node: ts.Node): string[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isConditionalExpression(node)) return [...literals(node.whenTrue), ...literals(node.whenFalse)];
  if (ts.isParenthesizedExpression(node)) return literals(node.expression);
  return [];
}

/** Exit codes of an options argument: its `kind` property, the runtime default when it has none. */
function exitCodesOf(options: ts.Expression | undefined): number[] | undefined {
  if (options === undefined) return [ExitCode.runtime];
  if (!ts.isObjectLiteralExpression(options)) return undefined;
  let spread = false;
  for (const property of options.properties) {
    // a spread may carry a kind (`...options`); one that never mentions it (`...(x ? { location } : {})`) does not
    if (ts.isSpreadAssignment(property) && /\bkind\b/.test(property.expression.getText())) spread = true;
    if (!ts.isPropertyAssignment(property) || property.name.getText() !== "kind") continue;
    const kinds = literals(property.initializer) as ErrorKind[];
    return kinds.length > 0 ? kinds.map((k) => ExitCode[k]) : undefined;
  }
  return spread ? undefined : [ExitCode.runtime];
}

/** Classes that extend InfraError, with the options argument their constructor passes to super(). */
function subclasses(sources: ts.SourceFile[]): Map<string, ts.Expression | undefined> {
  const found = new Map<string, ts.Expression | undefined>();
  for (const source of sources) {
    source.forEachChild(function visit(node) {
      if (ts.isClassDeclaration(node) && node.name) {
        const extendsInfraError = node.heritageClauses?.some((clause) =>
          clause.types.some((type) => type.expression.getText() === "InfraError"),
        );
        if (extendsInfraError) {
          let options: ts.Expression | undefined;
          node.forEachChild(function findSuper(child) {
            if (ts.isCallExpression(child) && child.expression.kind === ts.SyntaxKind.SuperKeyword)
              options = child.arguments[2];
            child.forEachChild(findSuper);
          });
          found.set(node.name.text, options);
        }
      }
      node.forEachChild(visit);
    });
  }
  return found;
}

export function thrownCodes(root: string, files: string[]): Map<string, ThrowSite[]> {
  const sources = files.map((file) =>
    ts.createSourceFile(file, readFileSync(join(root, file), "utf8"), ts.ScriptTarget.Latest, true),
  );
  const classes = subclasses(sources);
  const codes = new Map<string, ThrowSite[]>();
  for (const source of sources) {
    source.forEachChild(function visit(node) {
      if (ts.isNewExpression(node) && node.arguments?.[0]) {
        const name = node.expression.getText();
        if (name === "InfraError" || classes.has(name)) {
          const options = name === "InfraError" ? node.arguments[2] : classes.get(name);
          const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
          const exitCodes = exitCodesOf(options);
          for (const code of literals(node.arguments[0])) {
            codes.set(code, [...(codes.get(code) ?? []), { file: source.fileName, line, exitCodes }]);
          }
        }
      }
      node.forEachChild(visit);
    });
  }
  return codes;
}
