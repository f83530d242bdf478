/** Test helpers (not part of the package's public API): a small PNG decoder to check rendered plots. */
import { crc32, inflateSync } from 'node:zlib';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** A decoded 8-bit PNG: `pixels` holds `width · height · channels` bytes, rows top to bottom. */
export interface DecodedPng {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  channels: number;
  pixels: Uint8Array;
}

function fail(message: string): never {
  throw new Error(`invalid PNG: ${message}`);
}

/**
 * Decodes a non-interlaced 8-bit grey/RGB/grey-alpha/RGBA PNG (what resvg writes), checking the
 * signature, every chunk CRC, the IHDR fields and the filter bytes. Used by tests and the examples
 * to prove a written plot is a real image, not just a file with the right name.
 */
export function decodePng(bytes: Uint8Array): DecodedPng {
  if (bytes.length < 8 || PNG_SIGNATURE.some((value, i) => bytes[i] !== value)) fail('bad signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let header: { width: number; height: number; bitDepth: number; colorType: number; interlace: number } | undefined;
  const data: Uint8Array[] = [];
  let ended = false;
  while (offset < bytes.length) {
    if (offset + 12 > bytes.length) fail(`truncated chunk at byte ${offset}`);
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (offset + 12 + length > bytes.length) fail(`chunk ${type} runs past the end`);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    const storedCrc = view.getUint32(offset + 8 + length);
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) >>> 0 !== storedCrc) fail(`CRC mismatch in ${type}`);
    if (type === 'IHDR') {
      if (length !== 13) fail('IHDR length');
      const ihdr = new DataView(body.buffer, body.byteOffset, body.byteLength);
      header = { width: ihdr.getUint32(0), height: ihdr.getUint32(4), bitDepth: body[8] as number, colorType: body[9] as number, interlace: body[12] as number };
    } else if (type === 'IDAT') {
      data.push(body);
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    offset += 12 + length;
  }
  if (!header) fail('no IHDR');
  if (!ended) fail('no IEND');
  const { width, height, bitDepth, colorType, interlace } = header;
  if (width === 0 || height === 0) fail('zero size');
  const channels = CHANNELS[colorType];
  if (channels === undefined || bitDepth !== 8 || interlace !== 0) fail(`unsupported colour type ${colorType}, depth ${bitDepth}, interlace ${interlace}`);
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) fail(`image data is ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] as number;
    const source = y * (stride + 1) + 1;
    const target = y * stride;
    for (let x = 0; x < stride; x++) {
      const value = raw[source + x] as number;
      const left = x >= channels ? (pixels[target + x - channels] as number) : 0;
      const up = y > 0 ? (pixels[target - stride + x] as number) : 0;
      const upLeft = y > 0 && x >= channels ? (pixels[target - stride + x - channels] as number) : 0;
      let predicted: number;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = left; break;
        case 2: predicted = up; break;
        case 3: predicted = (left + up) >> 1; break;
        case 4: {
          const p = left + up - upLeft;
          const pa = Math.abs(p - left);
          const pb = Math.abs(p - up);
          const pc = Math.abs(p - upLeft);
          predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
          break;
        }
        default: fail(`bad filter ${filter} on row ${y}`);
      }
      pixels[target + x] = (value + predicted) & 0xff;
    }
  }
  return { width, height, bitDepth, colorType, channels, pixels };
}

export interface PixelRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Counts pixels in `region` (default: whole image) that differ from white by more than `threshold`
 * in any colour channel and are not transparent, i.e. pixels where something was drawn.
 */
export function countInkPixels(image: DecodedPng, region?: PixelRegion, threshold = 40): number {
  const { x: x0 = 0, y: y0 = 0, width: w = image.width, height: h = image.height } = region ?? {};
  let count = 0;
  for (let y = Math.max(0, y0); y < Math.min(image.height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(image.width, x0 + w); x++) {
      const base = (y * image.width + x) * image.channels;
      const colour = image.channels >= 3 ? 3 : 1;
      const alpha = image.channels === 4 ? (image.pixels[base + 3] as number) : image.channels === 2 ? (image.pixels[base + 1] as number) : 255;
      if (alpha < 128) continue;
      for (let c = 0; c < colour; c++) {
        if (255 - (image.pixels[base + c] as number) > threshold) {
          count++;
          break;
        }
      }
    }
  }
  return count;
}
