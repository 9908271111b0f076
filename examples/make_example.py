"""Render ``examples/lisbon_street.jpg``: a synthetic street scene for the quick-start.

It carries what a real photo of a Lisbon street would: a blue-and-white street-name
plaque, shop signs with a Portuguese phone number, and EXIF with the camera's GPS
position (Rua Augusta, Lisbon). With metadata the agent reads the GPS; without it,
the text on the signs is the evidence. Run from the repository root; needs the DejaVu
fonts (Debian: fonts-dejavu-core).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
OUT = Path(__file__).resolve().parent / "lisbon_street.jpg"
LAT, LON = 38.71072, -9.13653  # Rua Augusta, Baixa, Lisbon


def font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    return float(d), float(m), round((value - d - m / 60) * 3600, 3)


def main() -> None:
    width, height = 1600, 1067
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height // 3):  # sky
        shade = int(200 + 40 * y / (height / 3))
        draw.line([(0, y), (width, y)], fill=(120, 170, shade))
    draw.rectangle([0, height // 3, width, height], fill=(214, 196, 160))  # limestone facade
    for x in range(60, width, 260):  # windows
        for y in (height // 3 + 60, height // 3 + 300):
            draw.rectangle([x, y, x + 150, y + 180], fill=(70, 60, 55), outline=(240, 235, 220), width=8)
    draw.rectangle([0, height - 130, width, height], fill=(180, 175, 165))  # calcada pavement
    for x in range(0, width, 40):
        draw.line([(x, height - 130), (x - 60, height)], fill=(150, 145, 140), width=3)

    # Street-name plaque: blue letters on white tiles with a blue border.
    plaque = [980, 420, 1480, 560]
    draw.rectangle(plaque, fill=(250, 250, 248), outline=(30, 70, 160), width=10)
    draw.text((1230, 470), "RUA AUGUSTA", font=font(54), fill=(30, 70, 160), anchor="mm")
    draw.text((1230, 528), "LISBOA", font=font(28, bold=False), fill=(30, 70, 160), anchor="mm")

    # Shop front with a phone number in the Portuguese national format.
    draw.rectangle([90, 760, 860, 900], fill=(120, 20, 30))
    draw.text((475, 805), "PASTELARIA CENTRAL", font=font(52), fill=(250, 240, 200), anchor="mm")
    draw.text((475, 865), "Tel. 213 420 815", font=font(34, bold=False), fill=(250, 240, 200), anchor="mm")

    image = image.filter(ImageFilter.GaussianBlur(0.6))
    exif = Image.Exif()
    exif[0x010F] = "geosleuth"
    exif[0x0110] = "synthetic example"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: dms(LAT), 3: "W", 4: dms(LON), 18: "WGS-84"})
    image.save(OUT, "JPEG", quality=88, exif=exif)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
