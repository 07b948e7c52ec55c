/**
 * SVG to PNG for the trainer's plots and drawn detections: resvg (`@resvg/resvg-js`, prebuilt native binaries
 * from npm) with the Roboto font files that `@expo-google-fonts/roboto` ships. System fonts are not loaded, so
 * the text looks the same on every machine, including ones without any fonts installed.
 */
import { createRequire } from 'node:module';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';

/** The font family the SVGs name (with a generic fallback for viewers of the .svg files that lack Roboto). */
export const FONT_FAMILY = 'Roboto, sans-serif';

/** The font files given to resvg: Roboto regular (labels) and bold (titles). */
const FONT_FILES = ['400Regular/Roboto_400Regular.ttf', '700Bold/Roboto_700Bold.ttf'];

let options: ResvgRenderOptions | undefined;

function renderOptions(): ResvgRenderOptions {
  if (!options) {
    const require = createRequire(import.meta.url);
    const fontFiles = FONT_FILES.map((f) => require.resolve(`@expo-google-fonts/roboto/${f}`));
    options = { font: { loadSystemFonts: false, fontFiles, defaultFontFamily: 'Roboto', sansSerifFamily: 'Roboto' }, background: 'white' };
  }
  return options;
}

/** An image drawn as SVG, rasterised to PNG on demand. */
export interface Drawing {
  /** The SVG document. */
  svg: string;
  /** The SVG rendered to PNG (RGBA, the SVG's pixel size, white background). */
  png(): Uint8Array;
}

/** A {@link Drawing} of `svg`. */
export function drawing(svg: string): Drawing {
  return { svg, png: () => svgToPng(svg) };
}

/** Renders an SVG document to PNG bytes at its own pixel size. */
export function svgToPng(svg: string): Uint8Array {
  return new Resvg(svg, renderOptions()).render().asPng();
}

/** Width in pixels of `text` set in {@link FONT_FAMILY} at `fontSize` (as resvg lays it out). */
export function textWidth(text: string, fontSize: number): number {
  if (text.trim() === '') return 0;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><text x="0" y="${fontSize}" font-size="${fontSize}" font-family="${FONT_FAMILY}">${escapeXml(text)}</text></svg>`;
  return new Resvg(svg, renderOptions()).getBBox()?.width ?? 0;
}

/** `text` with the five XML special characters escaped, for SVG text and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
