import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

/**
 * A package's src/index.ts is its front door: it exports only what something outside the package uses
 * (another package, the e2e tests, the tools and benchmarks). An export nobody outside imports is either
 * dead or internal, and belongs behind the door. Read from the sources with TypeScript's parser: static
 * imports, `import type`, re-exports and destructured dynamic imports of `@sgdwalk/<name>`.
 */

const PACKAGES_DIR = join(repoRoot, 'packages');
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return SOURCE.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

/** The names a front door exports. */
function exportedNames(index: string): string[] {
  const names: string[] = [];
  for (const statement of parse(index).statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const element of statement.exportClause.elements) names.push(element.name.text);
    } else if (ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      if (ts.isVariableStatement(statement)) for (const d of statement.declarationList.declarations) names.push(d.name.getText());
      else if ('name' in statement && statement.name) names.push((statement.name as ts.Identifier).text);
    }
  }
  return names;
}

/**
 * Every name `file` takes from `@sgdwalk/<pkg>`, by package; '*' when it takes the whole module. A bin script
 * of package `binOf` reaches its front door as ../dist/index.js.
 */
function importedNames(file: string, binOf?: string): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const add = (specifier: string, name: string) => {
    const pkg = /^@sgdwalk\/([\w-]+)$/.exec(specifier)?.[1] ?? (binOf && specifier === '../dist/index.js' ? binOf : undefined);
    if (!pkg) return;
    if (!used.has(pkg)) used.set(pkg, new Set());
    used.get(pkg)!.add(name);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const bindings = node.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) for (const e of bindings.elements) add(node.moduleSpecifier.text, (e.propertyName ?? e.name).text);
      else add(node.moduleSpecifier.text, '*');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (node.exportClause && ts.isNamedExports(node.exportClause)) for (const e of node.exportClause.elements) add(node.moduleSpecifier.text, (e.propertyName ?? e.name).text);
      else add(node.moduleSpecifier.text, '*');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length > 0 && ts.isStringLiteral(node.arguments[0])) {
      // const { a, b } = await import('@sgdwalk/x'): the names destructured; anything else takes it all.
      const specifier = (node.arguments[0] as ts.StringLiteral).text;
      const holder = ts.isAwaitExpression(node.parent) ? node.parent.parent : node.parent;
      if (ts.isVariableDeclaration(holder) && ts.isObjectBindingPattern(holder.name)) {
        for (const e of holder.name.elements) add(specifier, (e.propertyName ?? e.name).getText());
      } else add(specifier, '*');
    }
    ts.forEachChild(node, visit);
  };
  visit(parse(file));
  return used;
}

describe('front doors', () => {
  it('every export of a package\'s src/index.ts is used outside the package', () => {
    const packages = readdirSync(PACKAGES_DIR).filter((name) => statSync(join(PACKAGES_DIR, name, 'src', 'index.ts'), { throwIfNoEntry: false }));
    const usersOutside = new Map<string, Set<string>>(packages.map((p) => [p, new Set()]));
    const files = [...sourceFiles(PACKAGES_DIR), ...sourceFiles(join(repoRoot, 'test')), ...sourceFiles(join(repoRoot, 'tools'))];
    for (const file of files) {
      // The package a file belongs to ('..' for test/ and tools/): its own imports of itself do not count,
      // but for its bin scripts, which run the built front door as any user would.
      const [own, folder] = relative(PACKAGES_DIR, file).split('/');
      for (const [pkg, names] of importedNames(file, folder === 'bin' ? own : undefined)) {
        if (pkg === own && folder !== 'bin') continue;
        for (const name of names) usersOutside.get(pkg)?.add(name);
      }
    }
    const unused = packages.flatMap((pkg) => {
      const used = usersOutside.get(pkg)!;
      if (used.has('*')) return [];
      return exportedNames(join(PACKAGES_DIR, pkg, 'src', 'index.ts')).filter((name) => !used.has(name)).map((name) => `${pkg}: ${name}`);
    });
    expect(unused, 'exported but used by nothing outside the package: remove them from src/index.ts').toEqual([]);
  });
});
