"""Text out of uploaded files: txt, md, pdf (pypdf), html (stdlib parser), csv and docx (python-docx).

Headings come out as Markdown `#` lines so the chunker can split on them whatever the source format.
Blocking: call from a thread.
"""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

from smile.kit.errors import AppError, Invalid, TooLarge, UnsupportedMedia

KINDS = ("txt", "md", "pdf", "html", "csv", "docx")
ALIASES = {"text": "txt", "markdown": "md", "htm": "html"}
MAX_PDF_PAGES = 300
MAX_CSV_ROWS = 20_000


def kind_of(filename: str) -> str:
    """The document kind from the file name's extension; 415 when it is not one we read."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    ext = ALIASES.get(ext, ext)
    if ext not in KINDS:
        raise UnsupportedMedia(
            f"Upload a .txt, .md, .pdf, .html, .csv or .docx file (got {filename!r}).",
            fields={"file": "unsupported type"},
        )
    return ext


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def extract(kind: str, data: bytes) -> str:
    """The document's text, headings as `#` lines; 422 when the file cannot be read or holds no text."""
    try:
        text = {"txt": _decode, "md": _decode, "pdf": _pdf, "html": _html, "csv": _csv, "docx": _docx}[kind](data)
    except AppError:
        raise
    except Exception as exc:  # a damaged or mislabeled file
        raise Invalid(
            f"This {kind.upper()} file could not be read ({type(exc).__name__}). "
            f"Check that it opens, or paste its text instead.",
            fields={"file": "unreadable"},
        ) from exc
    text = re.sub(r"[ \t\u00a0]+\n", "\n", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise Invalid(
            "No text was found in this file (a scanned PDF holds only images). Paste its text instead.",
            fields={"file": "no text"},
        )
    return text


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise Invalid("This PDF is password-protected. Upload an unprotected copy.", fields={"file": "encrypted"})
    if len(reader.pages) > MAX_PDF_PAGES:
        raise TooLarge(
            f"This PDF has {len(reader.pages)} pages; the limit is {MAX_PDF_PAGES}. Split it into parts.",
            fields={"file": "too many pages"},
        )
    return "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)


class _HtmlText(HTMLParser):
    BLOCKS = {"p", "div", "section", "article", "li", "tr", "br", "table", "ul", "ol", "blockquote", "pre"}
    SKIP = {"script", "style", "noscript", "template", "head", "svg", "nav", "footer"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCKS:
            self.out.append("\n\n" if tag not in ("br", "li", "tr") else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCKS:
            self.out.append("\n\n" if tag not in ("li", "tr") else "\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(re.sub(r"\s+", " ", data))


def _html(data: bytes) -> str:
    parser = _HtmlText()
    parser.feed(_decode(data))
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _csv(data: bytes) -> str:
    """One line per row, `column: value; ...`, so each row reads on its own in a chunk."""
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if len(rows) > MAX_CSV_ROWS:
        raise TooLarge(f"This CSV has {len(rows)} rows; the limit is {MAX_CSV_ROWS}.", fields={"file": "too many rows"})
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        return ""
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if not body:
        return "; ".join(header)
    lines = []
    for row in body:
        names = [(header[i] if i < len(header) else "") or f"column {i + 1}" for i in range(len(row))]
        cells = zip(names, row, strict=True)
        lines.append("; ".join(f"{name}: {cell.strip()}" for name, cell in cells if cell.strip()))
    return "\n\n".join(lines)


def _docx(data: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(data))
    out = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = re.fullmatch(r"Heading (\d)", style)
        out.append(("#" * int(level.group(1)) + " " + text) if level else ("# " + text) if style == "Title" else text)
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                out.append(" | ".join(cells))
    return "\n\n".join(out)
