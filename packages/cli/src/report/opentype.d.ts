// Minimal typings for the part of opentype.js 1.3.4 the report renderer uses (the package ships none).
declare module 'opentype.js' {
  interface Font {
    /** Advance width of `text` at `fontSize` px, kerning applied. */
    getAdvanceWidth(text: string, fontSize: number, options?: { kerning?: boolean }): number;
    readonly unitsPerEm: number;
  }
  function parse(buffer: ArrayBuffer): Font;
  const opentype: { parse: typeof parse };
  export default opentype;
  export { parse };
  export type { Font };
}
