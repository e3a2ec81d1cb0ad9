import { ConfigError } from '@sgdwalk/core';

/**
 * Workers see the run folders through a shared filesystem, possibly mounted elsewhere than on the
 * coordinator: `--path-map FROM=TO` rewrites a path that starts with the folder FROM to start with TO.
 * The longest matching FROM wins; a path no map matches is used as it is.
 */

/** How the worker hands its path maps to its sandboxed children (forked with its environment): JSON. */
export const PATH_MAP_ENV = 'SGDWALK_PATH_MAP';

export interface PathMap {
  from: string;
  to: string;
}

const trimSlash = (path: string) => (path.length > 1 ? path.replace(/\/+$/, '') : path);

export function parsePathMap(spec: string): PathMap {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1) throw new ConfigError(`--path-map takes FROM=TO (two folders), got "${spec}"`, undefined, '--path-map');
  const from = trimSlash(spec.slice(0, eq));
  const to = trimSlash(spec.slice(eq + 1));
  if (!from.startsWith('/') || !to.startsWith('/')) throw new ConfigError(`--path-map takes absolute folders, got "${spec}"`, undefined, '--path-map');
  return { from, to };
}

export function mapPath(path: string, maps: readonly PathMap[]): string {
  let best: PathMap | undefined;
  for (const map of maps) {
    const matches = path === map.from || path.startsWith(map.from === '/' ? '/' : `${map.from}/`);
    if (matches && (!best || map.from.length > best.from.length)) best = map;
  }
  if (!best) return path;
  const rest = path.slice(best.from === '/' ? 0 : best.from.length);
  return best.to === '/' ? rest || '/' : `${best.to}${rest}`;
}
