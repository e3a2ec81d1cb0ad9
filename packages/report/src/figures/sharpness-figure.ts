import type { Figure, Layer } from './figure-spec.js';
import { COLORS, FIGURE_CONFIG, STEP_AXIS, WIDTH, formatTick, runLabel } from './figure-theme.js';
import { extent, finiteSharpness } from './figure-series.js';
import type { ReportInputs } from '../page/inputs.js';

/** The sharpness figure: the top Hessian eigenvalue beside 2/η. */

export function sharpness(inputs: ReportInputs): Figure {
  const rows = finiteSharpness(inputs.sharpness).sort((a, b) => a.step - b.step);
  const points = rows.map((r) => ({ step: r.step, value: r.topEigenvalue }));
  const thresholds = [...new Set(rows.map((r) => r.twoOverLr).filter((v) => Number.isFinite(v) && v > 0))];
  const y = { field: 'value', type: 'quantitative' as const, title: 'top Hessian eigenvalue λ₁' };
  // A single checkpoint would give the step axis a zero-width domain: widen it by a step either side.
  const [first, last] = extent(rows.map((r) => r.step));
  const x = { ...STEP_AXIS, title: 'checkpoint step t', scale: first === last ? { domain: [first - 1, last + 1], nice: false } : STEP_AXIS.scale };
  // Headroom above the highest value or 2/η, so the rule's label stays inside the plot.
  const top = Math.max(...points.map((p) => p.value), ...thresholds);
  const scale = top > 0 ? { zero: true, domainMax: top * 1.12 } : { zero: true };
  const layers: Layer[] = [];
  // The rule's label sits in the right margin, at the rule's end: inside the plot it would collide with
  // the eigenvalues exactly when they matter most, near 2/η.
  const labelLines = (value: number) => [`2/η = ${formatTick(value)}`, 'stability limit', 'of gradient descent'];
  if (thresholds.length === 1) {
    const label = [{ value: thresholds[0], label: labelLines(thresholds[0]) }];
    layers.push(
      { data: { values: label }, name: 'two_over_lr', mark: { type: 'rule', color: COLORS.threshold, strokeDash: [6, 4], strokeWidth: 2 }, encoding: { y: { ...y, scale } } },
      {
        data: { values: label },
        name: 'two_over_lr_label',
        mark: { type: 'text', color: COLORS.threshold, align: 'left', baseline: 'top', dx: 6, dy: -7, fontSize: 12, lineHeight: 15 },
        encoding: { x: { value: WIDTH }, y: { ...y, scale }, text: { field: 'label' } },
      },
    );
  } else if (thresholds.length > 1) {
    // η changed between the checkpoints (a schedule): 2/η is drawn per checkpoint instead of one rule.
    const curve = rows.filter((r) => Number.isFinite(r.twoOverLr)).map((r) => ({ step: r.step, value: r.twoOverLr }));
    layers.push(
      { data: { values: curve }, name: 'two_over_lr', mark: { type: 'line', color: COLORS.threshold, strokeDash: [6, 4], strokeWidth: 2, interpolate: 'step-after' }, encoding: { x, y: { ...y, scale } } },
      {
        data: { values: curve.slice(-1).map((c) => ({ ...c, label: labelLines(c.value) })) },
        name: 'two_over_lr_label',
        mark: { type: 'text', color: COLORS.threshold, align: 'left', baseline: 'top', dy: -7, fontSize: 12, lineHeight: 15 },
        encoding: { x: { value: WIDTH }, y: { ...y, scale }, text: { field: 'label' } },
      },
    );
  }
  layers.push({
    data: { values: points },
    name: 'sharpness_points',
    mark: { type: 'line', color: COLORS.sharpness, strokeWidth: 2, point: { filled: true, size: 60, color: COLORS.sharpness } },
    encoding: { x, y: { ...y, scale } },
  });
  const method = [...new Set(rows.map((r) => r.method))].join(', ');
  const subset = [...new Set(rows.map((r) => r.subsetSize))].map(formatTick).join(', ');
  return {
    name: 'sharpness',
    title: 'Sharpness',
    caption:
      'The largest eigenvalue of the Hessian of the training loss at each analysed checkpoint (how sharply the loss curves in its steepest direction), beside 2/η, the stability threshold of gradient descent with learning rate η: on a quadratic, gradient descent diverges along any direction whose curvature exceeds 2/η. Sharpness rising to 2/η and hovering there is the “edge of stability”; a larger η or a smaller batch keeps SGD in flatter regions.',
    spec: {
      title: {
        text: 'Top Hessian eigenvalue beside 2/η',
        subtitle: `${rows.length} checkpoint${rows.length === 1 ? '' : 's'} · Hessian on ${subset} training examples, ${method} Hessian-vector products · ${runLabel(inputs.run)}`,
      },
      width: WIDTH,
      height: 300,
      config: FIGURE_CONFIG,
      layer: layers,
    },
  };
}
