"""Render resources/icons/vaddesk.svg to the PNG sizes desktops want, plus a Windows .ico.

    QT_QPA_PLATFORM=offscreen python packaging/make_icons.py

Uses Qt's own SVG renderer (PySide6 QtSvg), so no extra tool is needed for the PNGs; the
multi-size .ico is assembled by ImageMagick (`convert`) from the rendered PNGs. The outputs are
committed; run this again only after editing the SVG.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"
SVG = ICONS_DIR / "vaddesk.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int, out: Path) -> None:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out)):  # format from the .png suffix
        raise OSError(f"could not write {out}")


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"cannot read {SVG}", file=sys.stderr)
        return 1
    for size in PNG_SIZES:
        render(renderer, size, ICONS_DIR / f"vaddesk-{size}.png")
    convert = shutil.which("magick") or shutil.which("convert")
    if convert is None:
        print("ImageMagick not found: vaddesk.ico not rebuilt", file=sys.stderr)
        return 1
    pngs = [str(ICONS_DIR / f"vaddesk-{size}.png") for size in ICO_SIZES]
    subprocess.run([convert, *pngs, str(ICONS_DIR / "vaddesk.ico")], check=True)
    print(f"wrote {len(PNG_SIZES)} PNGs and vaddesk.ico to {ICONS_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
