import { describe, expect, it } from 'vitest';
import { formatDuration } from '@sgdwalk/core';
import { consoleLogger, formatProgress, progressIntervalSeconds } from './logger.js';

/** A stream that keeps what is written, with a clock the test moves. */
function capture(isTTY: boolean) {
  const chunks: string[] = [];
  let clock = 0;
  const stream = { isTTY, write: (chunk: string) => (chunks.push(chunk), true) };
  return { chunks, stream, tick: (ms: number) => (clock += ms), now: () => clock };
}

describe('progress formatting', () => {
  it('durations', () => {
    expect(formatDuration(4.4)).toBe('4s');
    expect(formatDuration(187)).toBe('3m07s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
  });
  it('a line: done/total, percent, rate since the first report, ETA; the last one says how long it took', () => {
    // 250 of 1000 after 10 s, counting from 50: 20/s, 750 left → 38 s (37.5 rounds to 38).
    expect(formatProgress('train', 250, 1000, 10, 50)).toBe('train 250/1000 (25.0%) 20/s ETA 38s');
    expect(formatProgress('analyze', 3, 40, 2, 0)).toBe('analyze 3/40 (7.5%) 1.5/s ETA 25s');
    expect(formatProgress('train', 1000, 1000, 125, 0)).toBe('train 1000/1000 (100%) in 2m05s, 8.0/s');
    expect(formatProgress('train', 0, 10, 0, 0)).toBe('train 0/10 (0.0%) –/s ETA ?');
  });
  it('the interval of plain lines comes from SGDWALK_PROGRESS_SECONDS, default 5', () => {
    expect(progressIntervalSeconds({})).toBe(5);
    expect(progressIntervalSeconds({ SGDWALK_PROGRESS_SECONDS: '2' })).toBe(2);
    expect(progressIntervalSeconds({ SGDWALK_PROGRESS_SECONDS: 'soon' })).toBe(5);
  });
});

describe('consoleLogger', () => {
  it('piped (a log, CI, Nx without a terminal): a plain line at once, then one per interval, and a closing line', () => {
    const { chunks, stream, tick, now } = capture(false);
    const log = consoleLogger({ stream, progress: 'lines', intervalSeconds: 5, now });
    for (let step = 1; step <= 100; step++) {
      log.progress('train', step, 100);
      tick(200); // 5 steps a second: one line per 25 steps
    }
    expect(chunks).toEqual([
      'train 1/100 (1.0%) –/s ETA ?\n',
      'train 26/100 (26.0%) 5.0/s ETA 15s\n',
      'train 51/100 (51.0%) 5.0/s ETA 10s\n',
      'train 76/100 (76.0%) 5.0/s ETA 5s\n',
      'train 100/100 (100%) in 20s, 5.0/s\n',
    ]);
    expect(chunks.every((c) => !c.includes('\r') && !c.includes('\x1b'))).toBe(true);
  });

  it('on a terminal: one line redrawn at most 5 times a second, cleared for messages, ended by the closing line', () => {
    const { chunks, stream, tick, now } = capture(true);
    const log = consoleLogger({ stream, progress: 'bar', now });
    log.progress('analyze', 1, 4);
    tick(100);
    log.progress('analyze', 2, 4); // 100 ms after the last redraw: skipped
    tick(100);
    log.progress('analyze', 3, 4);
    log.info('sharpness at step 0');
    tick(200);
    log.progress('analyze', 4, 4);
    log.info('done');
    expect(chunks).toEqual([
      '\r\x1b[2Kanalyze 1/4 (25.0%) –/s ETA ?',
      '\r\x1b[2Kanalyze 3/4 (75.0%) 10/s ETA 0s',
      '\r\x1b[2K', 'sharpness at step 0\n',
      '\r\x1b[2Kanalyze 4/4 (100%) in 0s, 7.5/s\n',
      'done\n',
    ]);
  });

  it('--quiet: only warnings', () => {
    const { chunks, stream, now } = capture(false);
    const log = consoleLogger({ stream, quiet: true, now });
    log.info('hello');
    log.progress('train', 1, 2);
    log.warn('careful');
    expect(chunks).toEqual(['warning: careful\n']);
  });
});
