import { Redis, type RedisOptions } from 'ioredis';
import { SgdwalkError } from '@sgdwalk/core';
import { scrubPassword, type RedisTarget } from './queue-url.js';

/** A failure to reach or use the queue's Redis: the message names the redacted URL, never the password. */
export class QueueError extends SgdwalkError {
  override readonly name = 'QueueError';
  constructor(message: string, field = '--queue') {
    super(message, 'queue', { field });
  }
}

/** ioredis options for BullMQ (blocking connections need maxRetriesPerRequest: null). */
export function connectionOptions(target: RedisTarget, name: string): RedisOptions {
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    connectionName: name,
    maxRetriesPerRequest: null,
    // Reconnect quickly after a restart; the coordinator decides when an outage has lasted too long.
    retryStrategy: (attempt) => Math.min(200 * attempt, 2000),
  };
}

/** Why a connection failed, in words a user can act on. */
function explain(error: Error, target: RedisTarget): string {
  const message = scrubPassword(error.message, target);
  if (/WRONGPASS|invalid username-password/i.test(message)) return `Redis at ${target.redacted} refused the password (WRONGPASS)`;
  if (/NOAUTH/i.test(message)) return `Redis at ${target.redacted} needs a password: give it in the URL, redis://:PASSWORD@host:port`;
  if (/ECONNREFUSED/.test(message)) return `cannot reach Redis at ${target.redacted}: connection refused (is redis-server running there?)`;
  if (/ENOTFOUND|EAI_AGAIN/.test(message)) return `cannot reach Redis at ${target.redacted}: unknown host`;
  return `cannot use Redis at ${target.redacted}: ${message}`;
}

/**
 * Connect once, authenticate and PING, failing within `timeoutMs` with one clear message: run before any
 * BullMQ object is made, whose connections would otherwise retry forever in silence.
 */
export async function probeRedis(target: RedisTarget, timeoutMs = 5000): Promise<void> {
  const client = new Redis({
    ...connectionOptions(target, 'sgdwalk-probe'),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The connection's own error (ECONNREFUSED, WRONGPASS…) says more than the rejected command's
  // "Connection is closed", so it is the one explained.
  let cause: Error | undefined;
  client.on('error', (error: Error) => {
    cause ??= error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
  } catch (error) {
    throw new QueueError(explain(cause ?? (error as Error), target));
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

export { explain as explainRedisError };
