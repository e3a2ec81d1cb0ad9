import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { SgdwalkError } from './errors.js';

/**
 * Reading a JSON file contract: the file is read, parsed, and handed to the contract's one checking function,
 * so no caller ever holds a value nobody checked. Each contract's schema lives beside its check (run-file.ts,
 * manifest.ts, analysis-summary.ts, dataset-file.ts, …); this file only turns text into a checked value.
 */

/** A contract's checking function: the parsed JSON and the file it came from, to the checked value or an error naming both. */
export type JsonCheck<T> = (value: unknown, file: string) => T;

type Issue = z.core.$ZodIssue;

/**
 * An issue as reported: a union that no option matched reports the issue of its closest option (the one
 * with fewest issues), so `{"from": "test"}` against {mean, std} | {from: "train"} names `from`, not "Invalid input".
 */
function reportedIssue(issue: Issue, prefix: readonly PropertyKey[]): { path: PropertyKey[]; message: string } {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const closest = issue.errors.reduce((best, option) => (option.length < best.length ? option : best));
    if (closest.length > 0) return reportedIssue(closest[0], path);
  }
  return { path, message: issue.message };
}

/** The first thing wrong with a value, as a field path (`layers[2].kernel`, `(root)`) and what is wrong there. */
export interface ContractIssue {
  field: string;
  message: string;
}

/** A zod issue path as the field name messages show: `parts.train.count`, `files[0].sha256`, `(root)`. */
export function fieldOf(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') || '(root)';
}

/** The issue a contract error reports: zod's first (the outermost field that is wrong, in schema order). */
export function firstIssue(error: z.ZodError): ContractIssue {
  const { path, message } = reportedIssue(error.issues[0], []);
  return { field: fieldOf(path), message };
}

/** The default error of a stage file that does not match its contract: code 'read', file and field named. */
export function contractError(issue: ContractIssue, file: string): SgdwalkError {
  return new SgdwalkError(`${file}: field "${issue.field}": ${issue.message}`, 'read', { file, field: issue.field });
}

/**
 * A contract's checking function built from its schema: the schema's output (its transforms applied, keys it
 * does not know dropped), or the error `errorOf` makes from the first issue (by default contractError).
 */
export function checkWith<S extends z.ZodType>(
  schema: S,
  errorOf: (issue: ContractIssue, file: string, value: unknown) => Error = contractError,
): JsonCheck<z.output<S>> {
  return (value, file) => {
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    throw errorOf(firstIssue(result.error), file, value);
  };
}

/** Parse JSON text and check it: a syntax error or a value outside the contract is an SgdwalkError naming the file. */
export function parseJsonText<T>(text: string, file: string, check: JsonCheck<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SgdwalkError(`${file}: not valid JSON (${(e as Error).message})`, 'read', { file });
  }
  return check(value, file);
}

/** Read a JSON file an earlier stage (or a user) wrote and check it against its contract; every error names the file. */
export async function readJsonFile<T>(path: string, check: JsonCheck<T>): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new SgdwalkError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`, 'read', { file: path });
  }
  return parseJsonText(text, path, check);
}
