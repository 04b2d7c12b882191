"""A good-faith estimate as a PDF (fpdf2), made from the same stored content as its page, whenever asked for.

Pure of the app: content in, bytes out. Names can be in any script, so a Unicode font is embedded when the
system has one (DejaVu Sans or Liberation Sans, as Debian and most Linux images install); without one the
PDF's built-in Helvetica is used and characters it cannot show are written as their closest Latin letters.
"""
from __future__ import annotations

import unicodedata
from datetime import date, datetime, timezone
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from practice.core.estimate import amount_text, date_text, sections, shown

FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),
)
TITLE = "Good-faith estimate"


def estimate_pdf(content: dict) -> bytes:
    pdf = _EstimatePDF(_font_files())
    pdf.render(content)
    return bytes(pdf.output())


def _font_files() -> tuple[str, str] | None:
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file() and Path(bold).is_file():
            return regular, bold
    return None


class _EstimatePDF(FPDF):
    def __init__(self, fonts: tuple[str, str] | None):
        super().__init__(format="letter")
        self._unicode_font = fonts is not None
        if fonts:
            self.add_font("estimate", "", fonts[0])
            self.add_font("estimate", "B", fonts[1])
            self._family_name = "estimate"
        else:
            self._family_name = "helvetica"
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, margin=18)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-12)
        self._font(8)
        self.cell(0, 5, self.text_of(f"{TITLE}, page {self.page_no()} of {{nb}}"), align="C")

    # --- writing -------------------------------------------------------------------------------------------

    def text_of(self, text: str) -> str:
        if self._unicode_font:
            return text
        # Helvetica knows Latin-1 only: "Zoë" stays, "Łucja" becomes "?ucja" but "Nguyễn" becomes "Nguyen".
        folded = "".join(c if ord(c) < 256 else unicodedata.normalize("NFKD", c)[0] for c in text)
        return folded.encode("latin-1", "replace").decode("latin-1")

    def _font(self, size: float, bold: bool = False) -> None:
        self.set_font(self._family_name, "B" if bold else "", size)

    def heading(self, text: str, size: float = 12) -> None:
        self.ln(3)
        self._font(size, bold=True)
        self.multi_cell(0, size * 0.5, self.text_of(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def para(self, text: str, size: float = 10) -> None:
        self._font(size)
        self.multi_cell(0, 5, self.text_of(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pairs(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self._font(10, bold=True)
            self.cell(42, 6, self.text_of(label))
            self._font(10)
            self.multi_cell(0, 6, self.text_of(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # --- the estimate --------------------------------------------------------------------------------------

    def render(self, content: dict) -> None:
        issued = date.fromisoformat(content["issued_on"])
        self.set_title(TITLE)
        self.set_lang("en-US")
        self.set_creation_date(datetime(issued.year, issued.month, issued.day, tzinfo=timezone.utc))
        self.add_page()
        currency = content["currency"]
        practice, counselor, client = content["practice"], content["counselor"], content["client"]

        self._font(18, bold=True)
        self.cell(0, 10, self.text_of(TITLE), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.para(f"From {practice['name']}. Issued on {date_text(content['issued_on'])}.")

        self.heading("For")
        self.pairs([("Name", client["name"]), ("Date of birth", date_text(client["date_of_birth"]))])

        self.heading("Your counselor")
        name = counselor["name"] + (f", {counselor['credentials']}" if counselor["credentials"] else "")
        self.pairs([("Name", name), ("NPI", shown(counselor["npi"])), ("TIN", shown(counselor["tin"]))])

        self.heading("The practice")
        self.pairs([("Name", practice["name"]), ("NPI", shown(practice["npi"])), ("TIN", shown(practice["tin"])),
                    ("Address", shown(practice["address"]))])

        for group in sections(content):
            self.heading(group["title"])
            self._lines_table(group["lines"], currency)

        self.ln(2)
        self._font(12, bold=True)
        self.cell(0, 8, self.text_of(f"Total expected charges: {amount_text(content['total'], currency)}"),
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.para(f"That is {amount_text(content['trial_total'], currency)} for the trial session, and the rest "
                  "only if you choose to continue.")

        self.heading("Please read")
        for note in content["disclaimers"]:
            self._font(10, bold=True)
            self.multi_cell(0, 5, self.text_of(note["title"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.para(note["text"])
            self.ln(2)

    def _lines_table(self, lines: list[dict], currency: str) -> None:
        self._font(9)
        with self.table(col_widths=(16, 62, 18, 30, 30), text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
                        line_height=6, first_row_as_headings=True) as table:
            head = table.row()
            for label in ("Code", "Service", "Sessions", "Each", "Total"):
                head.cell(self.text_of(label))
            for line in lines:
                row = table.row()
                row.cell(self.text_of(line["code"] or "-"))
                row.cell(self.text_of(line["description"]))
                row.cell(str(line["quantity"]))
                row.cell(self.text_of(amount_text(line["unit_charge"], currency)))
                row.cell(self.text_of(amount_text(line["total"], currency)))
