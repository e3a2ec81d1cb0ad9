const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The look both reports share: one column, readable tables, inline SVG figures. */
const BASE_STYLE = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { margin: 0 auto; padding: 1.5rem; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-bottom: 0.4rem; }
.lead { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; border-bottom: 1px solid #eee; vertical-align: top; }
thead th { border-bottom: 2px solid #ccc; }
figure { margin: 1.5rem 0 2rem; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.92rem; margin-top: 0.4rem; }
footer { color: #888; font-size: 0.8rem; margin-top: 2rem; }
`;

/**
 * A self-contained HTML page (no external resources, so it opens offline): the shared style plus the
 * page's own, a title, a heading with its lead paragraph, the body (already HTML) and a footer line.
 */
export function htmlPage(p: { title: string; heading: string; lead: string; body: string; footer: string; style: string; maxWidth: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title>
<style>${BASE_STYLE}main { max-width: ${p.maxWidth}; }
${p.style}</style>
</head>
<body>
<main>
<h1>${escapeHtml(p.heading)}</h1>
<p class="lead">${escapeHtml(p.lead)}</p>
${p.body}
<footer>${escapeHtml(p.footer)}</footer>
</main>
</body>
</html>
`;
}
