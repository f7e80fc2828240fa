"""Contact sheets of every OLED screen: docs/screens-en.png and docs/screens-zh.png.

    python -m pi_agent.panel.contact_sheet           # write both sheets
    python -m pi_agent.panel.contact_sheet --check   # exit 1 if a committed sheet differs

Each tile is one page of one example in pi_agent/panel/gallery.py at twice the OLED's
size, lit pixels white on black as on the glass, with its name and what it shows below.
The sheets are compared as pixels (not bytes), so another zlib makes no difference; the
screens need Debian's fonts-unifont, as the panel does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

from .gallery import pages
from .screens import HEIGHT, WIDTH, font, wrap

DOCS = Path(__file__).resolve().parents[2] / "docs"
LANGS = {"en": "screens-en.png", "zh-CN": "screens-zh.png"}
SCALE, COLUMNS, PAD, LINE = 2, 4, 12, 16
TILE_W, CAPTION = WIDTH * SCALE, 3  # caption lines under each tile
TILE_H = HEIGHT * SCALE + 6 + CAPTION * LINE
PAPER, BEZEL, INK = 255, 60, 0


def sheet(lang: str) -> Image.Image:
    shots = pages(lang)
    rows = -(-len(shots) // COLUMNS)
    title_h = LINE + PAD
    image = Image.new("L", (PAD + COLUMNS * (TILE_W + PAD), title_h + PAD + rows * (TILE_H + PAD)),
                      PAPER)  # fmt: skip
    pen = ImageDraw.Draw(image)
    pen.text((PAD, PAD), f"SettleGuard OLED screens, {lang} ({len(shots)} pages; "
             "python -m pi_agent.panel.contact_sheet)", font=font(), fill=INK)  # fmt: skip
    for i, (name, caption, shot) in enumerate(shots):
        x = PAD + (i % COLUMNS) * (TILE_W + PAD)
        y = title_h + PAD + (i // COLUMNS) * (TILE_H + PAD)
        pen.rectangle((x - 2, y - 2, x + TILE_W + 1, y + HEIGHT * SCALE + 1), fill=BEZEL)
        glass = shot.convert("L").resize((TILE_W, HEIGHT * SCALE), Image.Resampling.NEAREST)
        image.paste(glass, (x, y))
        words = wrap(f"{name}\n{caption}", TILE_W)[:CAPTION]
        for n, text in enumerate(words):
            pen.text((x, y + HEIGHT * SCALE + 6 + n * LINE), text, font=font(), fill=INK)
    return image


def outputs(docs: Path = DOCS) -> dict[Path, Image.Image]:
    return {docs / filename: sheet(lang) for lang, filename in LANGS.items()}


def differs(path: Path, image: Image.Image) -> bool:
    if not path.exists():
        return True
    with Image.open(path) as committed:
        if committed.size != image.size:
            return True
        diff = ImageChops.difference(committed.convert("L"), image.convert("L"))
        return diff.getbbox() is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pi_agent.panel.contact_sheet",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a committed sheet differs")  # fmt: skip
    parser.add_argument("--docs", type=Path, default=DOCS, help="where the sheets go")
    args = parser.parse_args(argv)
    stale = []
    for path, image in outputs(args.docs).items():
        if args.check:
            if differs(path, image):
                stale.append(path)
        else:
            image.save(path, optimize=True)
            print(f"wrote {path}")
    for path in stale:
        print(f"{path} is not what the screens draw: run python -m pi_agent.panel.contact_sheet",
              file=sys.stderr)  # fmt: skip
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
