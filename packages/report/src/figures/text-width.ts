import * as vega from 'vega';

/**
 * Text widths for vega's layout. Without a canvas (we render headlessly, and node-canvas is a native build
 * we do not want), vega estimates every string as 0.8 em per character — about a third too wide for
 * DejaVu Sans — and reserves that room around long axis titles and legend labels, leaving large empty
 * bands in the figures. These are the advance widths of DejaVu Sans (the font the PNGs are drawn with),
 * in thousandths of an em, read from its font files; characters not listed count as 0.62 em.
 */
const CHARS = ' !\"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~θαβηΣ‖ₜ₋₊₁₀₂−→·–—’‘“”…×≤≥²';
const REGULAR = [
  318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636, 636,
  636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
  603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
  634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838, 612,
  659, 638, 634, 632, 500, 295, 528, 528, 401, 401, 401, 838, 838, 318, 500, 1000, 318, 318, 518, 518, 1000, 838, 838, 838,
  401,
];
const BOLD = [
  348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696, 696, 696, 696, 696,
  696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850,
  733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716,
  712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838, 687,
  687, 716, 712, 683, 500, 388, 528, 528, 438, 438, 438, 838, 838, 380, 500, 1000, 380, 380, 657, 657, 1000, 838, 838, 838,
  438,
];
const FALLBACK_EM = 0.62;

const emTable = (widths: number[]) => new Map([...CHARS].map((ch, i) => [ch, widths[i] / 1000]));
const REGULAR_EM = emTable(REGULAR);
const BOLD_EM = emTable(BOLD);

/** Width in px of one line of text in DejaVu Sans at `fontSize` px. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const table = bold ? BOLD_EM : REGULAR_EM;
  let em = 0;
  for (const ch of text) em += table.get(ch) ?? FALLBACK_EM;
  return em * fontSize;
}

interface TextItem {
  fontSize?: number | string;
  fontWeight?: number | string;
  limit?: number;
}

function isBold(weight: number | string | undefined): boolean {
  return weight === 'bold' || weight === 'bolder' || Number(weight) >= 600;
}

/**
 * Make vega measure text with the table above instead of its estimate. vega supports this hook (a
 * user-defined textMetrics.width, as vl-convert installs); it is module-wide, which is what we want: every
 * figure this process renders is laid out for the same font.
 */
export function installTextMetrics(): void {
  // vega exports textMetrics at runtime but its type declarations do not list it.
  const { textMetrics } = vega as unknown as { textMetrics: { width: (item: TextItem, text?: unknown) => number } };
  textMetrics.width = (item: TextItem, text?: unknown): number => {
    const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
    const width = textWidth(text == null ? '' : String(text).trim(), size, isBold(item.fontWeight));
    // A label with a limit is truncated to it when drawn, so its bounds never exceed the limit.
    return item.limit && item.limit > 0 ? Math.min(width, item.limit) : width;
  };
}
