import { ConfigError } from '@sgdwalk/core';

/**
 * The queue is named by a Redis URL: redis://[[user]:password@]host[:port][/db], or rediss:// for TLS.
 * It is a deployment setting (command line or SGDWALK_QUEUE), never part of a study's config or cache key,
 * and its password never leaves this module except inside the connection options.
 */

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  /** The URL with any password replaced by ***: the only form that is logged or shown in an error. */
  redacted: string;
}

export const QUEUE_ENV = 'SGDWALK_QUEUE';

export function parseQueueUrl(url: string, field = '--queue'): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`not a Redis URL: ${redactUrl(url)} (expected redis://[:password@]host:port[/db] or rediss://…)`, undefined, field);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(`not a Redis URL: ${redactUrl(url)} (the scheme must be redis:// or rediss://)`, undefined, field);
  }
  const redacted = redactUrl(url);
  if (!parsed.hostname) throw new ConfigError(`${redacted} names no host`, undefined, field);
  const port = parsed.port ? Number(parsed.port) : 6379;
  const dbPath = parsed.pathname.replace(/^\//, '');
  const db = dbPath === '' ? 0 : Number(dbPath);
  if (!Number.isInteger(db) || db < 0) throw new ConfigError(`${redacted}: the database must be a number, got "${dbPath}"`, undefined, field);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db,
    username: parsed.username ? decodeUserPart(parsed.username, 'user name', redacted, field) : undefined,
    password: parsed.password ? decodeUserPart(parsed.password, 'password', redacted, field) : undefined,
    tls: parsed.protocol === 'rediss:',
    redacted,
  };
}

/**
 * A user name or password as written in the URL, percent-decoded. A '%' not followed by two hex digits
 * (`%ZZ`) is the URL's problem, said in one line that shows only the redacted URL, never what was typed.
 */
function decodeUserPart(encoded: string, what: string, redacted: string, field: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new ConfigError(`${redacted}: the ${what} is not valid percent-encoding (each % must start a %XX hex escape; write a literal % as %25)`, undefined, field);
  }
}

/**
 * The URL with its password (if any) replaced by ***, also for strings that are not valid URLs: whatever
 * stands between the user part's first ':' and the last '@' is hidden.
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const schemeEnd = url.indexOf('://');
  const authStart = schemeEnd >= 0 && schemeEnd < at ? schemeEnd + 3 : 0;
  const colon = url.indexOf(':', authStart);
  if (colon < 0 || colon > at) return url;
  return `${url.slice(0, colon)}:***${url.slice(at)}`;
}

/** Remove every occurrence of the password from a message (an error from the Redis client, say). */
export function scrubPassword(message: string, target: Pick<RedisTarget, 'password'>): string {
  return target.password ? message.split(target.password).join('***') : message;
}
