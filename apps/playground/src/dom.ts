/** The element matching `selector` under `root`; throws when the page's markup lacks it. */
export function $<T extends HTMLElement = HTMLElement>(root: ParentNode, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (found === null) throw new Error(`playground markup: no ${selector}`);
  return found;
}

/** A comma-separated list of positive numbers, or null when it is not one. */
export function numberList(text: string): number[] | null {
  const values = text
    .split(/[,\s]+/)
    .filter((t) => t.length > 0)
    .map(Number);
  return values.length > 0 && values.every((v) => Number.isFinite(v) && v > 0) ? values : null;
}

/** Formats a number of seconds as "1m05s" or "12.3 s". */
export function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}
