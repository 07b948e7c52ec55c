import { InvalidArgumentError } from '@detkit/core';
/** A row of a per-class table: a class name and its numbers (-1 or NaN print as '-'). */
export interface ApTableRow {
  readonly name: string;
}

/** Options of {@link formatApTable}. */
export interface ApTableOptions<R extends ApTableRow = ApTableRow> {
  /** Columns to print, in order; default every numeric field of the first row. */
  columns?: readonly (keyof R & string)[];
  /** Digits after the point, an integer in [0, 20]; default 3 (as pycocotools prints). Values are multiplied by `scale`. */
  digits?: number;
  /** Factor applied to values (100 for percentages); default 1. */
  scale?: number;
}

/**
 * Formats per-class results as a Markdown table, one row per class plus a `mean` row over the classes
 * with a value (> -1), e.g. `formatApTable(evaluateCoco(...).perClass, { columns: ['ap', 'ap50'] })` or
 * `formatApTable(evaluateVoc(...).perClass, { columns: ['ap', 'numPositives'] })`.
 */
export function formatApTable<R extends ApTableRow>(rows: readonly R[], options: ApTableOptions<R> = {}): string {
  const op = 'formatApTable';
  if (!Array.isArray(rows)) throw new InvalidArgumentError(op, 'rows', 'must be an array of { name, ...numbers }');
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError(op, 'options', 'must be an object');
  const digits = options.digits ?? 3;
  const scale = options.scale ?? 1;
  if (!Number.isInteger(digits) || digits < 0 || digits > 20) throw new InvalidArgumentError(op, 'digits', `must be an integer in [0, 20], got ${String(digits)}`);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw new InvalidArgumentError(op, 'scale', `must be a finite number, got ${String(scale)}`);
  if (options.columns !== undefined && !Array.isArray(options.columns)) throw new InvalidArgumentError(op, 'columns', 'must be an array of field names');
  const get = (r: R | undefined, k: string) => (r as Record<string, unknown> | undefined)?.[k];
  const columns: readonly string[] = options.columns ?? Object.keys(rows[0] ?? {}).filter((k) => k !== 'name' && typeof get(rows[0], k) === 'number');
  const cell = (v: unknown, key: string) => {
    if (typeof v !== 'number') return String(v ?? '');
    if (!(v > -1)) return '-';
    return Number.isInteger(v) && !/^(ap|ar|map)/i.test(key) ? String(v) : (v * scale).toFixed(digits);
  };
  const body = rows.map((r) => [r.name, ...columns.map((c) => cell(get(r, c), c))]);
  const means = columns.map((c) => {
    const vals = rows.map((r) => get(r, c)).filter((v): v is number => typeof v === 'number' && v > -1);
    if (!/^(ap|ar|map)/i.test(c)) return '';
    return vals.length ? (vals.reduce((s, v) => s + v, 0) / vals.length * scale).toFixed(digits) : '-';
  });
  const all = [['class', ...columns], ...body, ['mean', ...means]];
  const widths = all[0]!.map((_, j) => Math.max(...all.map((r) => (r[j] as string).length)));
  const line = (r: string[]) => `| ${r.map((v, j) => (j === 0 ? v.padEnd(widths[j] as number) : v.padStart(widths[j] as number))).join(' | ')} |`;
  const sep = `|${widths.map((w, j) => (j === 0 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`;
  return [line(all[0] as string[]), sep, ...all.slice(1).map((r) => line(r as string[]))].join('\n') + '\n';
}
