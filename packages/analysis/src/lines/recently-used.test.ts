import { describe, expect, it } from 'vitest';
import { RecentlyUsed } from './recently-used.js';

describe('RecentlyUsed', () => {
  it('keeps the most recently used values, drops the oldest beyond its capacity and hands it over', () => {
    const dropped: string[] = [];
    const kept = new RecentlyUsed<string, string>(2, (v) => dropped.push(v));
    let made = 0;
    const make = (v: string) => () => (made++, v);
    kept.get('a', make('A'));
    kept.get('b', make('B'));
    expect(kept.get('a', make('A2'))).toBe('A'); // kept, not made again; now most recent
    kept.get('c', make('C')); // drops b, the least recently used
    expect(dropped).toEqual(['B']);
    expect(kept.kept()).toEqual(['A', 'C']);
    expect(made).toBe(3);
    expect(kept.get('b', make('B2'))).toBe('B2');
    expect(dropped).toEqual(['B', 'A']);
  });

  it('forgets a promise that rejects, so the next use makes it again', async () => {
    const kept = new RecentlyUsed<string, Promise<number>>(4);
    const failed = kept.get('x', () => Promise.reject(new Error('not yet')));
    await expect(failed).rejects.toThrow('not yet');
    expect(await kept.get('x', () => Promise.resolve(7))).toBe(7);
    expect(await kept.get('x', () => Promise.resolve(8))).toBe(7);
  });
});
