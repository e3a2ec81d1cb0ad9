/**
 * Ascending steps as short ranges for error messages: "0–100, 200, 300–305 (106 checkpoints)". Long
 * lists keep their first and last ranges, so the message stays one line.
 */
export function describeSteps(steps: number[], maxRanges = 6): string {
  if (steps.length === 0) return 'none';
  const ranges: string[] = [];
  let start = steps[0];
  let prev = steps[0];
  for (const step of [...steps.slice(1), NaN]) {
    if (step === prev + 1) {
      prev = step;
      continue;
    }
    ranges.push(start === prev ? `${start}` : `${start}–${prev}`);
    start = prev = step;
  }
  const shown = ranges.length <= maxRanges ? ranges : [...ranges.slice(0, maxRanges - 2), '…', ...ranges.slice(-2)];
  return `${shown.join(', ')} (${steps.length} checkpoint${steps.length === 1 ? '' : 's'})`;
}
