import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import opentype from 'opentype.js';
import type { Font } from 'opentype.js';
import { PrefError } from '@pref/core';

/** The family name the shipped font declares; every chart is configured to use it. */
export const REPORT_FONT_FAMILY = 'DejaVu Sans';

/** Paths of the TrueType files shipped in `@pref/cli/assets/` (DejaVu Sans, Bitstream Vera license). */
export interface ReportFontFiles {
  regular: string;
  bold: string;
}

function moduleDirectory(): string {
  // CJS build and vitest define __dirname; the ESM build has import.meta.url.
  if (typeof __dirname === 'string') return __dirname;
  return dirname(fileURLToPath(import.meta.url));
}

let cachedFiles: ReportFontFiles | undefined;

/**
 * Locates the shipped font. The assets folder sits next to `dist/` in the published package and two
 * levels above `src/report/` in the source tree, so we walk up from this module until it is found.
 */
export function reportFontFiles(): ReportFontFiles {
  if (cachedFiles) return cachedFiles;
  let directory = moduleDirectory();
  for (let depth = 0; depth < 5; depth++) {
    const regular = join(directory, 'assets', 'DejaVuSans.ttf');
    const bold = join(directory, 'assets', 'DejaVuSans-Bold.ttf');
    if (existsSync(regular) && existsSync(bold)) {
      cachedFiles = { regular, bold };
      return cachedFiles;
    }
    directory = dirname(directory);
  }
  throw new PrefError({
    code: 'IO',
    message: `report font not found: expected assets/DejaVuSans.ttf above ${moduleDirectory()} (is the @pref/cli package complete?)`,
  });
}

interface LoadedFonts {
  regular: Font;
  bold: Font;
}
let loadedFonts: LoadedFonts | undefined;

function loadFont(path: string): Font {
  const bytes = readFileSync(path);
  return opentype.parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function fonts(): LoadedFonts {
  if (!loadedFonts) {
    const files = reportFontFiles();
    loadedFonts = { regular: loadFont(files.regular), bold: loadFont(files.bold) };
  }
  return loadedFonts;
}

/** True for CSS font weights that select the bold face. */
function isBold(weight: unknown): boolean {
  if (weight === undefined || weight === null) return false;
  if (typeof weight === 'number') return weight >= 600;
  const text = String(weight);
  if (text === 'bold' || text === 'bolder') return true;
  const numeric = Number(text);
  return Number.isFinite(numeric) && numeric >= 600;
}

/**
 * Width in px of `text` set in the shipped font. Vega lays out axes, legends and titles with this, so
 * the layout matches what resvg draws with the same font file (no system fonts, no canvas package).
 */
export function measureTextWidth(text: string, fontSize: number, fontWeight?: unknown): number {
  const loaded = fonts();
  return (isBold(fontWeight) ? loaded.bold : loaded.regular).getAdvanceWidth(text, fontSize);
}
