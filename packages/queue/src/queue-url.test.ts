import { describe, expect, it } from 'vitest';
import { ConfigError } from '@sgdwalk/core';
import { parseQueueUrl, redactUrl, scrubPassword } from './queue-url.js';
import { mapPath, parsePathMap } from './path-map.js';

describe('queue URLs', () => {
  it('reads host, port, database, user and password; rediss means TLS', () => {
    expect(parseQueueUrl('redis://127.0.0.1:6390')).toMatchObject({ host: '127.0.0.1', port: 6390, db: 0, password: undefined, tls: false });
    expect(parseQueueUrl('redis://:s3cr%40t@cache.lab:7000/3')).toMatchObject({ host: 'cache.lab', port: 7000, db: 3, username: undefined, password: 's3cr@t', tls: false });
    expect(parseQueueUrl('rediss://alice:pw@[::1]/2')).toMatchObject({ host: '::1', port: 6379, db: 2, username: 'alice', password: 'pw', tls: true });
  });

  it('never shows the password: the redacted URL, scrubbed messages and errors', () => {
    expect(parseQueueUrl('redis://:hunter2@h:1/0').redacted).toBe('redis://:***@h:1/0');
    expect(redactUrl('redis://bob:hunter2@h:1')).toBe('redis://bob:***@h:1');
    expect(redactUrl('redis://h:1')).toBe('redis://h:1');
    expect(redactUrl('redis://:a:b@c@h:1')).toBe('redis://:***@h:1');
    expect(scrubPassword('auth hunter2 failed (hunter2)', { password: 'hunter2' })).toBe('auth *** failed (***)');
    for (const bad of ['http://:hunter2@h:1', 'redis://:hunter2@h:1/x', 'nonsense:hunter2@']) {
      let message = '';
      try {
        parseQueueUrl(bad);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/--queue/);
      expect(message).not.toContain('hunter2');
    }
  });

  it('a password that is not valid percent-encoding (%ZZ) is one line naming the URL\'s problem, password redacted', () => {
    for (const [url, what] of [['redis://:hunter2%ZZ@h:1', 'password'], ['redis://bob%E0%A4:hunter2@h:1', 'user name']]) {
      let error: unknown;
      try {
        parseQueueUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain(`the ${what} is not valid percent-encoding`);
      expect(message).toContain(':***@h:1');
      expect(message).not.toContain('hunter2');
      expect(message).not.toContain('%ZZ');
      expect((error as ConfigError).where.field).toBe('--queue');
    }
  });
});

describe('path maps', () => {
  it('rewrites the longest matching folder prefix, and only whole folders', () => {
    const maps = ['/data=/mnt/lab', '/data/runs=/scratch/runs'].map(parsePathMap);
    expect(mapPath('/data/runs/x/train', maps)).toBe('/scratch/runs/x/train');
    expect(mapPath('/data/other', maps)).toBe('/mnt/lab/other');
    expect(mapPath('/data', maps)).toBe('/mnt/lab');
    expect(mapPath('/database/x', maps)).toBe('/database/x');
    expect(mapPath('/elsewhere/x', maps)).toBe('/elsewhere/x');
    expect(mapPath('/data/x', [parsePathMap('/data/=/mnt/lab/')])).toBe('/mnt/lab/x');
  });

  it('rejects what is not FROM=TO with absolute folders', () => {
    for (const bad of ['/a', '=/b', '/a=', 'a=/b', '/a=b']) expect(() => parsePathMap(bad)).toThrow(/--path-map/);
  });
});
