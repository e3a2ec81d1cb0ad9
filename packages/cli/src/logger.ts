import { formatDuration, type Logger } from '@sgdwalk/core';
import { progressMode, type ProgressMode } from './progress-mode.js';

/** One progress report: done/total, percent, rate since the first report, and the ETA (or the time taken). */
export function formatProgress(label: string, done: number, total: number, elapsedSeconds: number, doneAtStart: number): string {
  const percent = total > 0 ? ((100 * done) / total).toFixed(1) : '100.0';
  const rate = elapsedSeconds > 0 ? (done - doneAtStart) / elapsedSeconds : Number.NaN;
  const rateText = Number.isFinite(rate) ? `${rate >= 10 ? rate.toFixed(0) : rate.toPrecision(2)}/s` : '–/s';
  if (done >= total) return `${label} ${done}/${total} (100%) in ${formatDuration(elapsedSeconds)}, ${rateText}`;
  const eta = rate > 0 ? formatDuration((total - done) / rate) : '?';
  return `${label} ${done}/${total} (${percent}%) ${rateText} ETA ${eta}`;
}

/** How often a log (not a terminal) gets a progress line: $SGDWALK_PROGRESS_SECONDS, default 5 s. */
export function progressIntervalSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SGDWALK_PROGRESS_SECONDS;
  if (raw === undefined || raw.trim() === '') return 5;
  const value = Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : 5;
}

export interface ConsoleLoggerOptions {
  quiet?: boolean;
  /** Where messages go (default stderr, so stdout stays clean for machine-readable output). */
  stream?: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };
  /** How progress is shown (default progressMode(stream): $SGDWALK_PROGRESS, else bar on a terminal, else lines). */
  progress?: ProgressMode;
  /** Seconds between progress lines in `lines` mode (default progressIntervalSeconds()). */
  intervalSeconds?: number;
  /** Milliseconds, monotonic (default performance.now); a parameter so the timing can be tested. */
  now?: () => number;
}

/**
 * Messages go to stderr. Progress — done/total, rate, ETA — is one redrawn line on a terminal (at most 5
 * redraws a second; also under `nx run` in a terminal, see nxWritesToTerminal) and a plain line every few
 * seconds otherwise (a log file, CI), so a long stage is never silent; either way a stage's last report is
 * a closing line with the time it took. Under --quiet only warnings and errors are written.
 */
export function consoleLogger(opts: ConsoleLoggerOptions = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const mode = opts.quiet ? 'off' : (opts.progress ?? progressMode(stream));
  const tty = mode === 'bar';
  const intervalMs = 1000 * (opts.intervalSeconds ?? progressIntervalSeconds());
  let barShown = false;
  /** Per label: when and at what count it started, and when its last line or redraw was written. */
  const runs = new Map<string, { start: number; doneAtStart: number; lastWrite: number }>();
  const clearBar = () => {
    if (barShown) stream.write('\r\x1b[2K');
    barShown = false;
  };
  return {
    info(message) {
      if (opts.quiet) return;
      clearBar();
      stream.write(`${message}\n`);
    },
    warn(message) {
      clearBar();
      stream.write(`warning: ${message}\n`);
    },
    progress(label, done, total) {
      if (mode === 'off') return;
      const t = now();
      let run = runs.get(label);
      if (!run) {
        // The first report starts the clock; a plain log also gets a line at once, so it shows the total.
        run = { start: t, doneAtStart: done, lastWrite: Number.NEGATIVE_INFINITY };
        runs.set(label, run);
      }
      const finished = done >= total;
      const due = t - run.lastWrite >= (tty ? 200 : intervalMs);
      if (!finished && !due) return;
      run.lastWrite = t;
      const line = formatProgress(label, done, total, (t - run.start) / 1000, run.doneAtStart);
      if (finished) runs.delete(label);
      if (tty) {
        stream.write(`\r\x1b[2K${line}${finished ? '\n' : ''}`);
        barShown = !finished;
      } else {
        stream.write(`${line}\n`);
      }
    },
  };
}
