// Draws the app icon (512 px) and the tray icons (16 and 32 px) as PNG files in resources/icons/, with no image
// library: an anti-aliased clock face rasterised in JS and encoded with zlib. Run by hand when the design changes;
// the PNGs are committed, so no build step needs this script (or imagemagick).
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'resources', 'icons');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Colour of the design at a point of the unit square (0..1), or null for transparent. */
function shade(x, y, tray) {
  const cx = 0.5, cy = 0.5;
  const dx = x - cx, dy = y - cy;
  const r = Math.hypot(dx, dy);
  // Rounded-square badge (app icon) or a plain disc (tray, reads better at 16 px).
  const inBadge = tray
    ? r <= 0.48
    : (() => {
        const m = 0.06, rad = 0.2;
        const qx = Math.max(Math.abs(dx) - (0.5 - m - rad), 0);
        const qy = Math.max(Math.abs(dy) - (0.5 - m - rad), 0);
        return Math.hypot(qx, qy) <= rad;
      })();
  if (!inBadge) return null;
  const white = [255, 255, 255, 255];
  const ringOuter = tray ? 0.4 : 0.34, ringInner = tray ? 0.3 : 0.29;
  if (r <= ringOuter && r >= ringInner) return white;
  // Clock hands: minute hand up, hour hand to the right (a "3 o'clock" schedule).
  const hw = tray ? 0.06 : 0.025;
  if (Math.abs(dx) <= hw && dy <= 0.02 && dy >= -(ringInner - 0.06)) return white;
  if (Math.abs(dy) <= hw && dx >= -0.02 && dx <= ringInner - 0.1) return white;
  // Badge fill: a vertical teal gradient.
  const t = y;
  return [Math.round(16 + 10 * t), Math.round(122 - 40 * t), Math.round(140 - 30 * t), 255];
}

function render(size, tray) {
  const ss = 4; // supersampling per axis, for anti-aliased edges
  const px = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let pxi = 0; pxi < size; pxi++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = shade((pxi + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size, tray);
          if (!c) continue;
          r += c[0]; g += c[1]; b += c[2]; a += 1;
        }
      }
      const o = (py * size + pxi) * 4;
      if (a > 0) {
        px[o] = Math.round(r / a);
        px[o + 1] = Math.round(g / a);
        px[o + 2] = Math.round(b / a);
        px[o + 3] = Math.round((255 * a) / (ss * ss));
      }
    }
  }
  return encodePng(size, px);
}

mkdirSync(outDir, { recursive: true });
const files = [
  ['icon.png', 512, false],
  ['tray.png', 16, true],
  ['tray@2x.png', 32, true],
];
for (const [name, size, tray] of files) {
  writeFileSync(path.join(outDir, name), render(size, tray));
  console.log(`wrote resources/icons/${name} (${size}x${size})`);
}
