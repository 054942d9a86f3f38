"""Decoding a landing file: UTF-8 (with or without BOM), or a precise reason why not (public: the quality
checks read landing files the same way)."""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass

from pipelines.ingest.messages import MESSAGES, reason, texts

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 LE", "utf-32"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE", "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE", "utf-16"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE", "utf-16"),
)
_VIET_LETTERS = frozenset(
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
)
# Bytes that only windows-1258 gives Vietnamese meaning to (ă â đ ơ ư and the combining tone marks).
_CP1258_MARKERS = frozenset(b"\xc3\xe3\xd0\xf0\xd5\xf5\xdd\xfd\xcc\xec\xd2\xf2\xde")


@dataclass(frozen=True)
class Decoded:
    text: str | None
    encoding: str | None  # the encoding read, or the one the file looks like when rejected
    problem: str | None = None  # bilingual reason when the file is not UTF-8
    bad_bytes: str | None = None
    bad_line: str | None = None
    fallback_text: str | None = None  # decoded with the guessed encoding, to count rows


def decode_bytes(data: bytes) -> Decoded:
    """Decode a landing file: UTF-8 (with or without BOM) or a precise reason why not."""
    for bom, label, codec in _BOMS:
        if data.startswith(bom):
            if codec == "utf-8-sig":
                try:
                    return Decoded(data[len(bom):].decode("utf-8"), "utf-8-sig")
                except UnicodeDecodeError as exc:
                    return _not_utf8(data, exc, offset=len(bom), has_bom=True)
            fallback = data.decode(codec, errors="replace")
            return Decoded(
                None, label, problem=reason("ingest.file_encoding.bom", label=label, bom=bom.hex(" ").upper()),
                bad_bytes=bom.hex(" ").upper(), bad_line=_first_line(fallback), fallback_text=fallback,
            )
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        return _not_utf8(data, exc, offset=0, has_bom=False)


def _first_line(text: str) -> str:
    return text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""


def _not_utf8(data: bytes, exc: UnicodeDecodeError, *, offset: int, has_bom: bool) -> Decoded:
    start = offset + exc.start
    bad = data[start : offset + exc.end]
    line_no = data[:start].count(b"\n") + 1
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", start)
    line_bytes = data[line_start : line_end if line_end >= 0 else len(data)].rstrip(b"\r")
    label, codec = _guess_8bit(data[offset:])
    fallback = data[offset:].decode(codec, errors="replace")
    mixed = _has_valid_utf8_multibyte(data[offset:])
    encoding = texts(f"fragment.encoding.{label}") if f"fragment.encoding.{label}" in MESSAGES else label
    if mixed:
        encoding = texts("fragment.mixed_encoding", encoding=encoding)
    font = texts("fragment.font_encodings") if label in ("windows-1252", "latin-1") and not mixed else ""
    hexed = bad.hex(" ").upper()
    problem = reason("ingest.file_encoding", bom=texts("fragment.despite_bom") if has_bom else "", hexed=hexed,
                     line=line_no, encoding=encoding, legacy=font)
    return Decoded(None, label, problem=problem, bad_bytes=hexed,
                   bad_line=line_bytes.decode(codec, errors="replace"), fallback_text=fallback)


def _has_valid_utf8_multibyte(data: bytes) -> bool:
    text = data[: 1 << 20].decode("utf-8", errors="replace")
    return any(ord(c) > 127 and c != "\ufffd" for c in text)


def _guess_8bit(data: bytes) -> tuple[str, str]:
    """The encoding a non-UTF-8 file most likely uses: (label, Python codec)."""
    sample = data[: 1 << 20]
    if sample:
        even_nul = sample[0::2].count(0) / max(1, len(sample[0::2]))
        odd_nul = sample[1::2].count(0) / max(1, len(sample[1::2]))
        if odd_nul > 0.3 and even_nul < 0.05:
            return "UTF-16 LE", "utf-16-le"
        if even_nul > 0.3 and odd_nul < 0.05:
            return "UTF-16 BE", "utf-16-be"
    high = [b for b in sample if b >= 0x80]
    if not high:
        return "latin-1", "latin-1"
    try:
        as1258 = unicodedata.normalize("NFC", sample.decode("cp1258"))
    except UnicodeDecodeError:
        as1258 = None
    if as1258 is not None and any(b in _CP1258_MARKERS for b in high):
        non_ascii = [c for c in as1258 if ord(c) > 127]
        viet = sum(c in _VIET_LETTERS for c in non_ascii)
        if non_ascii and viet / len(non_ascii) >= 0.6:
            return "windows-1258", "cp1258"
    try:
        sample.decode("cp1252")
        return "windows-1252", "cp1252"
    except UnicodeDecodeError:
        return "latin-1", "latin-1"
