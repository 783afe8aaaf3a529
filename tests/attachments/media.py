"""Files to upload, made here: photos with EXIF/GPS, PDFs with and without active
content, an executable under a photo's name."""

from __future__ import annotations

import io

from PIL import ExifTags, Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript

GPS_LATITUDE = (36.0, 21.0, 30.5)
APPENDED = b"PK\x03\x04 appended-after-the-image secret.txt"


def jpeg_with_gps(width: int = 64, height: int = 32, *, orientation: int = 6) -> bytes:
    """A JPEG carrying a GPS position, a camera serial number, an EXIF orientation
    (6: shown rotated 90 degrees clockwise) and bytes appended after its end."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    for x in range(width // 2):
        for y in range(height):
            image.putpixel((x, y), (20, 20, 220))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.BodySerialNumber] = "SN-0042"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: GPS_LATITUDE,
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (138.0, 19.0, 40.2),
    }
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue() + APPENDED


def png(width: int = 16, height: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 128, 0)).save(buffer, "PNG")
    return buffer.getvalue()


def noise_png(size: int = 180, seed: int = 0) -> bytes:
    """A photo of noise: barely compresses (about 73 kB at 180x180)."""
    buffer = io.BytesIO()
    Image.effect_noise((size, size), 100 + seed).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def windows_executable() -> bytes:
    """The start of a PE file: 'MZ', the DOS stub, 'PE\\0\\0' at the offset it names."""
    header = bytearray(256)
    header[0:2] = b"MZ"
    header[0x3C:0x40] = (0x80).to_bytes(4, "little")
    header[0x80:0x84] = b"PE\x00\x00"
    header[0x84:0x86] = (0x14C).to_bytes(2, "little")
    return bytes(header) + b"\x90" * 4096


def _pdf(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def plain_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    return _pdf(writer)


def pdf_with_javascript() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_open_action(JavaScript("app.alert('hello');"))
    return _pdf(writer)


def pdf_with_embedded_file() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment("payload.exe", b"MZ not really")
    return _pdf(writer)


def handmade_pdf(catalog_extra: str, *, comment: bytes = b"") -> bytes:
    """A minimal PDF written by hand, with `catalog_extra` inside the catalog
    dictionary, an optional comment line after the header, and a correct
    cross-reference table."""
    objects = [
        f"<< /Type /Catalog /Pages 2 0 R {catalog_extra} >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    if comment:
        out += b"%" + comment + b"\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def pdf_with_hidden_open_action() -> bytes:
    """JavaScript run on opening, its names hex-escaped (/J#61vaScript) so that a byte
    search for "/JavaScript" finds nothing; a parser reads the same name."""
    return handmade_pdf("/OpenAction << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>")


def pdf_with_launch_action() -> bytes:
    return handmade_pdf("/OpenAction << /S /Launch /F (calc.exe) >>")


def broken_pdf() -> bytes:
    return b"%PDF-1.7\n" + b"\x00garbage that is no PDF object tree\n" * 20
