//! Writes the tray artwork and the app icon as PNG files under `icons/`, from the same code the
//! tray draws with at run time (`claude_status_core::tray`).
//!
//! Run from anywhere: `cargo run -p claude-status-core --example render_icons`. It writes
//! `icons/tray/<level>-32.png`, `icons/tray/<level>-64.png`, `icons/tray/<level>-mono-32.png` and
//! `icons/app-icon.png` (1024×1024), the source of the bundle icons made by `tauri icon`.
//!
//! The PNG encoder is below, so core keeps no image dependency: each row is filtered the way
//! libpng's heuristic would choose, then deflated with the fixed Huffman code and run-length
//! matches only. That is far from optimal but shrinks flat artwork tenfold or more.

use std::error::Error;
use std::path::{Path, PathBuf};

use claude_status_core::tray::{render_icon, render_icon_mono, Rgb};
use claude_status_core::Level;

fn main() -> Result<(), Box<dyn Error>> {
    let icons = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../icons");
    let tray = icons.join("tray");
    std::fs::create_dir_all(&tray)?;
    for level in Level::ALL {
        for size in [32, 64] {
            let path = tray.join(format!("{level}-{size}.png"));
            write_png(&path, size, &render_icon(level, size))?;
        }
        let path = tray.join(format!("{level}-mono-32.png"));
        write_png(&path, 32, &render_icon_mono(level, 32))?;
    }
    write_png(&icons.join("app-icon.png"), 1024, &app_icon(1024))?;
    Ok(())
}

fn write_png(path: &Path, size: u32, rgba: &[u8]) -> Result<(), Box<dyn Error>> {
    let bytes = encode_png(size, size, rgba);
    std::fs::write(path, &bytes)?;
    println!("{} ({} bytes)", display(path), bytes.len());
    Ok(())
}

fn display(path: &Path) -> String {
    path.canonicalize()
        .unwrap_or_else(|_| PathBuf::from(path))
        .display()
        .to_string()
}

// --- The app icon -------------------------------------------------------------------------------

/// The operational tray icon, large, on a dark rounded square with a soft green glow: the app is a
/// status light for the Claude API. The square leaves a margin like macOS icons do, which also
/// reads well as a Windows and Linux icon.
fn app_icon(size: u32) -> Vec<u8> {
    let s = size as f32;
    let body_inset = 0.0625 * s; // 64 px at 1024
    let body_radius = 0.195 * s;
    let top = Rgb(0x30, 0x36, 0x3D);
    let bottom = Rgb(0x14, 0x18, 0x1D);
    let glow = Rgb(0x2E, 0xA0, 0x43);

    let disc_size = (0.547 * s).round() as u32 & !1; // 560 px at 1024, even so it centres exactly
    let disc_offset = (size - disc_size) / 2;
    let disc = render_icon(Level::Operational, disc_size);
    let disc_radius = disc_size as f32 / 2.0;
    let centre = s / 2.0;

    let mut out = vec![0u8; (size * size * 4) as usize];
    for y in 0..size {
        for x in 0..size {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            // The rounded square, anti-aliased by its signed distance.
            let half = s / 2.0 - body_inset;
            let qx = (px - centre).abs() - (half - body_radius);
            let qy = (py - centre).abs() - (half - body_radius);
            let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
            let distance = outside + qx.max(qy).min(0.0) - body_radius;
            let body_alpha = (0.5 - distance).clamp(0.0, 1.0);
            if body_alpha == 0.0 {
                continue;
            }
            let t = (py - body_inset) / (s - 2.0 * body_inset);
            let mut colour = mix(top, bottom, t.clamp(0.0, 1.0));

            // A faint light rim along the top edge gives the square some depth.
            let rim = (1.0 - (-distance) / (0.006 * s)).clamp(0.0, 1.0) * (1.0 - t).powi(2);
            colour = blend(colour, [255.0, 255.0, 255.0], 0.10 * rim);

            // The glow: green fading out over a band around the disc.
            let from_centre = ((px - centre).powi(2) + (py - centre).powi(2)).sqrt();
            let band = (from_centre - disc_radius) / (0.09 * s);
            if (0.0..1.0).contains(&band) {
                let strength = 0.45 * (1.0 - band).powi(3);
                colour = blend(colour, [glow.0, glow.1, glow.2].map(f32::from), strength);
            }

            // The disc itself, composited over (straight alpha).
            if (disc_offset..disc_offset + disc_size).contains(&x)
                && (disc_offset..disc_offset + disc_size).contains(&y)
            {
                let i = (((y - disc_offset) * disc_size + (x - disc_offset)) * 4) as usize;
                let alpha = f32::from(disc[i + 3]) / 255.0;
                let pixel = [disc[i], disc[i + 1], disc[i + 2]].map(f32::from);
                // Light from above: the disc brightens a little towards its top.
                let height = (y - disc_offset) as f32 / disc_size as f32;
                let pixel = blend(pixel, [255.0; 3], 0.12 * (1.0 - height).powi(2));
                colour = blend(colour, pixel, alpha);
            }

            let o = ((y * size + x) * 4) as usize;
            out[o] = byte(colour[0]);
            out[o + 1] = byte(colour[1]);
            out[o + 2] = byte(colour[2]);
            out[o + 3] = byte(255.0 * body_alpha);
        }
    }
    out
}

fn mix(a: Rgb, b: Rgb, t: f32) -> [f32; 3] {
    let lerp = |a: u8, b: u8| f32::from(a) + (f32::from(b) - f32::from(a)) * t;
    [lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2)]
}

fn blend(under: [f32; 3], over: [f32; 3], alpha: f32) -> [f32; 3] {
    [0, 1, 2].map(|c| under[c] + (over[c] - under[c]) * alpha)
}

fn byte(value: f32) -> u8 {
    value.round().clamp(0.0, 255.0) as u8
}

// --- A minimal PNG encoder ----------------------------------------------------------------------

/// An 8-bit RGBA PNG of `rgba` (straight alpha, rows top to bottom).
fn encode_png(width: u32, height: u32, rgba: &[u8]) -> Vec<u8> {
    assert_eq!(rgba.len(), (width * height * 4) as usize, "pixel count");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();

    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 6 (RGBA), deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib(&filter_rows(width as usize, rgba)));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = png.len();
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    let crc = crc32(&png[start..]);
    png.extend_from_slice(&crc.to_be_bytes());
}

/// Prefixes each row with the filter (None, Sub, Up, Average or Paeth) whose output has the
/// smallest sum of absolute values, the heuristic the PNG specification recommends.
fn filter_rows(width: usize, rgba: &[u8]) -> Vec<u8> {
    const BPP: usize = 4;
    let stride = width * BPP;
    let zero_row = vec![0u8; stride];
    let mut out = Vec::with_capacity(rgba.len() + rgba.len() / stride.max(1));
    for (r, row) in rgba.chunks(stride).enumerate() {
        let above = if r == 0 {
            &zero_row[..]
        } else {
            &rgba[(r - 1) * stride..r * stride]
        };
        let candidates: Vec<Vec<u8>> = (0..5u8)
            .map(|kind| {
                (0..stride)
                    .map(|i| {
                        let a = if i >= BPP { row[i - BPP] } else { 0 };
                        let b = above[i];
                        let c = if i >= BPP { above[i - BPP] } else { 0 };
                        let predicted = match kind {
                            0 => 0,
                            1 => a,
                            2 => b,
                            3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                            _ => paeth(a, b, c),
                        };
                        row[i].wrapping_sub(predicted)
                    })
                    .collect()
            })
            .collect();
        let cost = |bytes: &Vec<u8>| -> u64 {
            bytes
                .iter()
                .map(|&v| u64::from((v as i8).unsigned_abs()))
                .sum()
        };
        let (kind, best) = candidates
            .iter()
            .enumerate()
            .min_by_key(|(_, bytes)| cost(bytes))
            .unwrap_or((0, &candidates[0]));
        out.push(kind as u8);
        out.extend_from_slice(best);
    }
    out
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let (ia, ib, ic) = (i16::from(a), i16::from(b), i16::from(c));
    let p = ia + ib - ic;
    let (pa, pb, pc) = ((p - ia).abs(), (p - ib).abs(), (p - ic).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// A zlib stream of one fixed-Huffman deflate block whose only back-references repeat the
/// previous byte (distance 1): enough for the long flat runs that filtered artwork is made of.
fn zlib(data: &[u8]) -> Vec<u8> {
    let mut bits = BitWriter::default();
    bits.push(1, 1); // BFINAL: this is the last block.
    bits.push(1, 2); // BTYPE 01: fixed Huffman codes.
    let mut i = 0;
    while i < data.len() {
        let run = if i > 0 {
            data[i..]
                .iter()
                .take(258)
                .take_while(|&&b| b == data[i - 1])
                .count()
        } else {
            0
        };
        if run >= 3 {
            write_length(&mut bits, run);
            bits.push_code(0, 5); // Distance code 0: distance 1, no extra bits.
            i += run;
        } else {
            write_literal(&mut bits, u16::from(data[i]));
            i += 1;
        }
    }
    write_literal(&mut bits, 256); // End of block.

    let mut out = vec![0x78, 0x01]; // Deflate, 32 KiB window, no dictionary, fastest level.
    out.extend_from_slice(&bits.finish());
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// Writes a literal/length symbol with the fixed Huffman code of RFC 1951 §3.2.6.
fn write_literal(bits: &mut BitWriter, symbol: u16) {
    let symbol = u32::from(symbol);
    match symbol {
        0..=143 => bits.push_code(0x30 + symbol, 8),
        144..=255 => bits.push_code(0x190 + symbol - 144, 9),
        256..=279 => bits.push_code(symbol - 256, 7),
        _ => bits.push_code(0xC0 + symbol - 280, 8),
    }
}

/// Writes a match length (3..=258) as its length symbol and extra bits (RFC 1951 §3.2.5).
fn write_length(bits: &mut BitWriter, length: usize) {
    const BASE: [u16; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const EXTRA: [u8; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    let length = length as u16;
    let index = BASE.iter().rposition(|&base| base <= length).unwrap_or(0);
    write_literal(bits, 257 + index as u16);
    bits.push(u32::from(length - BASE[index]), EXTRA[index]);
}

/// Packs bits least significant first, as deflate does.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    current: u32,
    count: u8,
}

impl BitWriter {
    /// Pushes `count` bits of `value`, least significant first (extra bits, headers).
    fn push(&mut self, value: u32, count: u8) {
        for bit in 0..count {
            self.current |= ((value >> bit) & 1) << self.count;
            self.count += 1;
            if self.count == 8 {
                self.bytes.push(self.current as u8);
                self.current = 0;
                self.count = 0;
            }
        }
    }

    /// Pushes a Huffman code, most significant bit first.
    fn push_code(&mut self, code: u32, length: u8) {
        for bit in (0..length).rev() {
            self.push((code >> bit) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.count > 0 {
            self.bytes.push(self.current as u8);
        }
        self.bytes
    }
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
