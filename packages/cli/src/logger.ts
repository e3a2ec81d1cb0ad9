import { formatDuration, type Logger } from '@sgdwalk/core';

/**
 * Messages go to stderr (stdout stays clean for machine-readable output). Progress is one redrawn line on a
 * TTY — done/total, rate, ETA — and silent otherwise, so CI logs and Nx output stay readable.
 */
export function consoleLogger(opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY) && !opts.quiet;
  let progressShown = false;
  const starts = new Map<string, { time: number; done: number }>();
  let lastDraw = 0;
  const clearProgress = () => {
    if (progressShown) stream.write('\r\x1b[2K');
    progressShown = false;
  };
  return {
    info(message) {
      if (opts.quiet) return;
      clearProgress();
      stream.write(`${message}\n`);
    },
    warn(message) {
      clearProgress();
      stream.write(`warning: ${message}\n`);
    },
    progress(label, done, total) {
      if (!tty) return;
      const now = performance.now();
      const start = starts.get(label) ?? { time: now, done };
      starts.set(label, start);
      if (done < total && now - lastDraw < 200) return;
      lastDraw = now;
      const rate = ((done - start.done) / (now - start.time)) * 1000;
      const eta = (total - done) / rate;
      stream.write(`\r\x1b[2K${label} ${done}/${total} (${((100 * done) / total).toFixed(1)}%) ${rate.toFixed(1)}/s ETA ${formatDuration(eta)}`);
      progressShown = true;
      if (done >= total) {
        stream.write('\n');
        progressShown = false;
        starts.delete(label);
      }
    },
  };
}
