#!/usr/bin/env python3
"""Take a headless-Chromium screenshot of a report and check that it is not blank.

Usage::

    python scripts/screenshot_report.py data/publish/2025/v1/report.html /tmp/report.png
    python scripts/screenshot_report.py report.html out.png --width 1280 --height 6000
    python scripts/screenshot_report.py report.html --measure          # page width and height at 1,366 px
    python scripts/screenshot_report.py report.html --docs quality_report.html   # docs/screenshots/*.png

Needs ``chromium`` (or ``chromium-browser``) on PATH (Debian: ``apt-get install
chromium``). The browser runs offline-friendly: no first-run, sync, component
updates or background networking, in a new empty profile that is removed
afterwards. Prints the image size and colour statistics; exits 1 when the
screenshot is blank (one colour, or almost all white), 2 when Chromium is
missing or fails.

The PNG is decoded with Pillow when it is installed, otherwise with the small
zlib + struct decoder below (8-bit RGB/RGBA/grey, non-interlaced: what Chromium writes).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars", "--mute-audio",
)


def find_chromium() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(html_path: str | Path, png_path: str | Path, width: int = 1280, height: int = 4000,
               browser: str | None = None, timeout: float = 180) -> Path:
    """Render ``html_path`` in headless Chromium and write a ``width`` x ``height`` PNG."""
    browser = browser or find_chromium()
    if browser is None:
        raise FileNotFoundError("Chromium is not installed (no chromium or chromium-browser on PATH)")
    html_path = Path(html_path).resolve()
    png_path = Path(png_path).resolve()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="cri-chromium-") as profile:
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png_path}",
               f"--window-size={width},{height}", html_path.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if not png_path.exists() or png_path.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no screenshot (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return png_path


# --------------------------------------------------------------------------- measuring and parts of a page

MEASURE_SCRIPT = (
    "<script>window.addEventListener('load',function(){var d=document.documentElement;"
    "var p=document.createElement('pre');p.id='cri-measure';p.textContent=JSON.stringify("
    "{width:d.scrollWidth,height:d.scrollHeight,viewport:window.innerWidth});document.body.appendChild(p);});"
    "</script>"
)


def measure(html_path: str | Path, width: int = 1366, height: int = 900, browser: str | None = None,
            timeout: float = 180) -> dict[str, int]:
    """The page's scroll width and height in a ``width`` x ``height`` window (folded parts stay folded).

    A copy of the page gets a small script that writes the figures into the DOM,
    which Chromium prints (``--dump-dom``); the page itself has no script.
    """
    browser = browser or find_chromium()
    if browser is None:
        raise FileNotFoundError("Chromium is not installed (no chromium or chromium-browser on PATH)")
    text = Path(html_path).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="cri-measure-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(text.replace("</body>", MEASURE_SCRIPT + "</body>", 1), encoding="utf-8")
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", f"--window-size={width},{height}",
               "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    found = re.search(r'<pre id="cri-measure">(.*?)</pre>', proc.stdout, re.S)
    if not found:
        raise RuntimeError(f"Chromium gave no measurement (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(html.unescape(found.group(1)))


def fragment_page(text: str, element_id: str, open_details: bool = True) -> str:
    """The page's head and one element (by id), folded parts opened: to show one part in a screenshot."""
    at = text.index(f'id="{element_id}"')
    start = text.rindex("<", 0, at)
    tag = re.match(r"<(\w+)", text[start:]).group(1)
    depth, pos = 0, start
    for m in re.finditer(rf"<(/?){tag}\b[^>]*>", text[start:]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            pos = start + m.end()
            break
    part = text[start:pos]
    if open_details:
        part = re.sub(r"<details\b", "<details open", part)
    head = text[: text.index("<body")]
    return f'{head}<body><main style="max-width:none">{part}</main></body></html>'


DOC_SHOTS = (  # name, element id (None: the top of the page), window width, which page
    ("report_summary.png", None, 1366, "report"),
    ("report_province_card.png", "tinh-01", 1366, "report"),
    ("report_map.png", "ban-do", 460, "report"),
    ("quality_summary.png", None, 1366, "quality"),
)


def docs_screenshots(report: Path, quality: Path, out_dir: Path, browser: str | None = None) -> list[Path]:
    """The README's screenshots: the report's summary, one province card, the map, the quality summary."""
    out = []
    with tempfile.TemporaryDirectory(prefix="cri-shots-") as tmp:
        for name, element, width, which in DOC_SHOTS:
            source = report if which == "report" else quality
            page = Path(tmp) / f"{name}.html"
            text = source.read_text(encoding="utf-8")
            page.write_text(fragment_page(text, element) if element else text, encoding="utf-8")
            height = 1000 if element is None else min(measure(page, width, 400, browser)["height"] + 16, 1400)
            out.append(screenshot(page, out_dir / name, width, height, browser))
    return out


# --------------------------------------------------------------------------- PNG decoding


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> list[bytes]:
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    pos = 0
    for _ in range(height):
        ftype = raw[pos]
        line = bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((x + y) & 0xFF for x, y in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up_left = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + _paeth(left, prev[i], up_left)) & 0xFF
        elif ftype != 0:
            raise ValueError(f"unknown PNG filter type {ftype}")
        rows.append(bytes(line))
        prev = line
    return rows


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """(width, height, rows of RGB(A)/grey bytes, bytes per pixel) of an 8-bit non-interlaced PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat = 8, []
    width = height = bit_depth = colour_type = interlace = None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, bit_depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if width is None or bit_depth != 8 or interlace != 0 or colour_type not in (0, 2, 4, 6):
        raise ValueError(f"unsupported PNG (bit depth {bit_depth}, colour type {colour_type}, interlace {interlace})")
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    return width, height, _unfilter(zlib.decompress(b"".join(idat)), width, height, bpp), bpp


@dataclass(frozen=True)
class ImageStats:
    width: int
    height: int
    distinct_colours: int
    non_white_share: float

    def is_blank(self, min_colours: int = 16, min_non_white: float = 0.01) -> bool:
        return self.distinct_colours < min_colours or self.non_white_share < min_non_white


def png_stats(path: str | Path, step: int = 2) -> ImageStats:
    """Distinct colours and share of non-white pixels (every ``step``-th pixel and row)."""
    data = Path(path).read_bytes()
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        with Image.open(path) as img:
            rgb = img.convert("RGB")
            width, height = rgb.size
            buf = rgb.tobytes()
        sampled = [tuple(buf[i : i + 3]) for y in range(0, height, step)
                   for i in range(y * width * 3, (y + 1) * width * 3, 3 * step)]
    else:
        width, height, rows, bpp = decode_png(data)
        sampled = []
        for row in rows[::step]:
            for x in range(0, width, step):
                px = row[x * bpp : x * bpp + bpp]
                sampled.append((px[0],) * 3 if bpp <= 2 else tuple(px[:3]))
    non_white = sum(1 for p in sampled if min(p) < 245)
    return ImageStats(width, height, len(set(sampled)), non_white / max(len(sampled), 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", help="the report HTML file")
    parser.add_argument("png", nargs="?", help="where to write the screenshot")
    parser.add_argument("--measure", action="store_true", help="print the page's width and height at --width")
    parser.add_argument("--docs", metavar="QUALITY_HTML", help="write docs/screenshots/*.png from this report and "
                        "the given quality report")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--browser", help="path of the Chromium binary (default: found on PATH)")
    args = parser.parse_args(argv)
    if not Path(args.report).is_file():
        print(f"error: {args.report} is not a file", file=sys.stderr)
        return 2
    if args.measure or args.docs:
        return _measure_or_docs(args)
    if not args.png:
        parser.error("give the PNG to write, or --measure, or --docs")
    try:
        out = screenshot(args.report, args.png, args.width, args.height, args.browser)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stats = png_stats(out)
    print(f"{out}: {stats.width}x{stats.height}, {stats.distinct_colours} colours, "
          f"{stats.non_white_share:.1%} non-white pixels")
    if stats.is_blank():
        print("error: the screenshot looks blank", file=sys.stderr)
        return 1
    return 0


def _measure_or_docs(args: argparse.Namespace) -> int:
    try:
        if args.docs:
            for path in docs_screenshots(Path(args.report), Path(args.docs), DOCS_DIR, args.browser):
                stats = png_stats(path)
                print(f"{path}: {stats.width}x{stats.height}, {path.stat().st_size // 1024} KiB")
            return 0
        figures = measure(args.report, args.width if args.width != 1280 else 1366, 900, args.browser)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.report}: {figures['width']} x {figures['height']} px in a {figures['viewport']} px window")
    return 0


DOCS_DIR = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


if __name__ == "__main__":
    sys.exit(main())
