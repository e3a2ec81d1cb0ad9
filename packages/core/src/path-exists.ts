import { access } from 'node:fs/promises';

/** Whether something exists at `path` (an optional input, a folder from an earlier run). */
export async function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
