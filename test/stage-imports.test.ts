import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

/**
 * Stages never import each other (docs/design.md, "Architecture"): a stage reads the folders the stages
 * before it wrote, so any stage runs on another machine, later, on copied folders, and the caller (the
 * CLI) opens what a stage needs from another. The rules, as docs/design.md states them:
 *   - the stage packages are core's STAGE_PACKAGES (pipeline-rules.cjs): data, train, analysis, report;
 *   - a helper package serves one stage and is held to that stage's rule (queue: the analysis on workers);
 *   - `data` is also the reader of the folder it writes (the prepared dataset, its normalisation, the
 *     minibatch schedule, the evaluation subset): a later stage may read the data folder with those names
 *     and nothing else of data (never prepareDataset or its writer);
 *   - tests (`*.test.ts`, a package's `test/`) may build their fixtures with another stage.
 * Read with TypeScript's parser: static imports, re-exports and dynamic imports of `@sgdwalk/<name>`, and
 * the `dependencies` of each package.json.
 */

const rules = createRequire(import.meta.url)(join(repoRoot, 'packages/core/rules/pipeline-rules.cjs')) as { STAGE_PACKAGES: Record<string, string> };
const STAGES = new Set(Object.values(rules.STAGE_PACKAGES));
/** Helper packages and the one stage each serves. */
const HELPERS: Record<string, string> = { queue: 'analysis' };
/** What another stage may take from data's front door: the reader of the data folder. */
const DATA_FOLDER_READER = new Set(['readPreparedDataset', 'DatasetMeta', 'PreparedDataset', 'SplitData', 'toFloat32', 'labelsOf', 'MinibatchSchedule', 'evaluationSubset']);

const PACKAGES_DIR = join(repoRoot, 'packages');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every (package, name) a source takes from `@sgdwalk/*`; '*' when it takes the whole module. */
function importsOf(file: string, text: string): { pkg: string; name: string }[] {
  const found: { pkg: string; name: string }[] = [];
  const add = (specifier: string, name: string) => {
    const pkg = /^@sgdwalk\/([\w-]+)(?:\/.*)?$/.exec(specifier)?.[1];
    if (pkg) found.push({ pkg, name });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const specifier = node.moduleSpecifier.text;
      const named = ts.isImportDeclaration(node) ? node.importClause?.namedBindings : node.exportClause;
      if (named && (ts.isNamedImports(named) || ts.isNamedExports(named))) {
        for (const e of named.elements) add(specifier, (e.propertyName ?? e.name).text);
        if (ts.isImportDeclaration(node) && node.importClause?.name) add(specifier, '*');
      } else add(specifier, '*');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length > 0 && ts.isStringLiteral(node.arguments[0])) {
      add((node.arguments[0] as ts.StringLiteral).text, '*');
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  return found;
}

/** The stage a package belongs to (itself, or the stage it helps), or undefined for the shared rooms and the CLI. */
const stageOf = (pkg: string): string | undefined => (STAGES.has(pkg) ? pkg : HELPERS[pkg]);

/** Why `pkg` may not take `name` from `dep`, or undefined when it may. */
function breach(pkg: string, dep: string, name: string): string | undefined {
  const own = stageOf(pkg);
  if (!own || !STAGES.has(dep) || dep === own) return undefined;
  if (dep === 'data' && DATA_FOLDER_READER.has(name)) return undefined;
  return `${pkg} (stage ${own}) imports ${name === '*' ? 'all of' : name + ' from'} @sgdwalk/${dep}, another stage`;
}

function breachesIn(pkg: string, file: string, text: string): string[] {
  return importsOf(file, text).flatMap(({ pkg: dep, name }) => {
    const why = breach(pkg, dep, name);
    return why ? [`${relative(repoRoot, file)}: ${why}`] : [];
  });
}

describe('stages never import each other', () => {
  const packages = readdirSync(PACKAGES_DIR).filter((name) => stageOf(name) && statSync(join(PACKAGES_DIR, name, 'src'), { throwIfNoEntry: false }));

  it('knows every stage package and helper', () => {
    expect([...STAGES].sort()).toEqual(['analysis', 'data', 'report', 'train']);
    expect(packages.sort()).toEqual(['analysis', 'data', 'queue', 'report', 'train']);
  });

  it('no source of a stage or its helper imports another stage (but for the data folder\'s reader)', () => {
    const found = packages.flatMap((pkg) => sourceFiles(join(PACKAGES_DIR, pkg, 'src')).flatMap((file) => breachesIn(pkg, file, readFileSync(file, 'utf8'))));
    expect(found, 'a stage imports another stage: let the caller (the CLI) open it and hand it over').toEqual([]);
  });

  it('no stage or helper package.json depends on another stage (tests may, as devDependencies)', () => {
    const found = packages.flatMap((pkg) => {
      const json = JSON.parse(readFileSync(join(PACKAGES_DIR, pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      return Object.keys(json.dependencies ?? {})
        .map((d) => /^@sgdwalk\/(.+)$/.exec(d)?.[1])
        .filter((dep): dep is string => dep !== undefined && dep !== 'data' && breach(pkg, dep, '*') !== undefined)
        .map((dep) => `packages/${pkg}/package.json: depends on @sgdwalk/${dep}, another stage`);
    });
    expect(found).toEqual([]);
  });

  it('the rule catches what it is meant to (so the two checks above can fail)', () => {
    const file = join(PACKAGES_DIR, 'analysis/src/stage/example.ts');
    expect(breachesIn('analysis', file, "import { openAnalysisCheckpoints } from '@sgdwalk/train';")).toEqual([
      'packages/analysis/src/stage/example.ts: analysis (stage analysis) imports openAnalysisCheckpoints from @sgdwalk/train, another stage',
    ]);
    expect(breachesIn('queue', file, "const { writeReport } = await import('@sgdwalk/report');")).toHaveLength(1);
    expect(breachesIn('report', file, "export { analyzeRun } from '@sgdwalk/analysis';")).toHaveLength(1);
    expect(breachesIn('train', file, "import { prepareDataset, readPreparedDataset } from '@sgdwalk/data';")).toHaveLength(1);
    expect(breachesIn('queue', file, "import { openLineContext } from '@sgdwalk/analysis';")).toEqual([]);
    expect(breachesIn('cli', file, "import { trainRun } from '@sgdwalk/train';")).toEqual([]);
  });
});
