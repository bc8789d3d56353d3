"""A list of cases (a case set, a collection) to a PowerPoint deck, a PDF handout, or a ZIP of
DICOM studies.

Every exported image keeps what says it is synthetic: question images are the posted PNG bytes
unchanged (band, invisible mark, metadata chunks); answer images are the overlay, stamped again
with the case's job id; the PDF embeds pixels losslessly (the mark survives) and says it is
synthetic in its own metadata; the DICOM files carry SyntheticData=YES with the band and mark
in the pixels (`provenance.dicom`).
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from imagine_med.provenance.metadata import NOTICE
from imagine_med.teaching.cases import TeachingCase
from imagine_med.teaching.overlay import write_answer_image

SLIDE_W_IN, SLIDE_H_IN = 13.333, 7.5  # 16:9, PowerPoint's default widescreen size
MARGIN_IN = 0.4
TITLE = "imagine-med teaching set"
QUESTION = "What do you see?"
SYNTHETIC_KEYWORDS = "SyntheticData=YES; synthetic; imagine-med; teaching; not for diagnosis"


def _finding_lines(case: TeachingCase) -> list[str]:
    out = []
    for f in case.findings:
        where = ", ".join(w for w in (f.get("laterality"), f.get("location")) if w)
        name = str(f["name"]).replace("_", " ")
        out.append(f"{name} ({where})" if where else name)
    return out or ["normal study"]


def _fit(path: Path, box_w: float, box_h: float) -> tuple[float, float]:
    with Image.open(path) as im:
        w, h = im.size
    scale = min(box_w / w, box_h / h)
    return w * scale, h * scale


# ---- PowerPoint ----------------------------------------------------------------------------

def export_pptx(cases: Sequence[TeachingCase], path: Path | str, title: str = TITLE) -> Path:
    """A title slide, then per case a question slide and the answer on the next slide; both
    carry the key in their speaker notes. 1 + 2 x len(cases) slides."""
    from pptx import Presentation
    from pptx.util import Inches, Pt

    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(SLIDE_W_IN), Inches(SLIDE_H_IN)
    blank = prs.slide_layouts[6]
    prs.core_properties.title = title
    prs.core_properties.subject = NOTICE
    prs.core_properties.keywords = SYNTHETIC_KEYWORDS
    prs.core_properties.author = "imagine-med"

    def text(slide, lines: list[str], left: float, top: float, width: float, size: int,
             bold_first: bool = False) -> None:
        box = slide.shapes.add_textbox(Inches(left), Inches(top), Inches(width), Inches(1))
        tf = box.text_frame
        tf.word_wrap = True
        for i, line in enumerate(lines):
            p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            p.text = line
            p.font.size = Pt(size)
            p.font.bold = bold_first and i == 0

    def picture(slide, image: Path) -> float:
        box_h = SLIDE_H_IN - 2 * MARGIN_IN
        w, h = _fit(image, SLIDE_W_IN * 0.55, box_h)
        slide.shapes.add_picture(str(image), Inches(MARGIN_IN), Inches(MARGIN_IN),
                                 Inches(w), Inches(h))
        return MARGIN_IN * 2 + w

    first = prs.slides.add_slide(blank)
    text(first, [title, f"{len(cases)} cases", NOTICE], 1.0, 2.5, SLIDE_W_IN - 2, 32, True)
    with tempfile.TemporaryDirectory(prefix="imagine-med-pptx-") as tmp:
        for case in cases:
            key = case.answer_key
            q = prs.slides.add_slide(blank)
            x = picture(q, case.image)
            text(q, [case.title, case.study, QUESTION], x, MARGIN_IN,
                 SLIDE_W_IN - x - MARGIN_IN, 24, True)
            q.notes_slide.notes_text_frame.text = f"Answer: {key}"
            a = prs.slides.add_slide(blank)
            answer = write_answer_image(case, Path(tmp) / f"{case.case_id}-answer.png")
            x = picture(a, answer)
            text(a, [f"{case.title}: answer", *_finding_lines(case), "", key], x, MARGIN_IN,
                 SLIDE_W_IN - x - MARGIN_IN, 18, True)
            a.notes_slide.notes_text_frame.text = key
        out = Path(path)
        prs.save(out)
    return out


# ---- PDF handout ---------------------------------------------------------------------------

# fpdf2's core fonts are Latin-1; the keys' few other characters get plain equivalents.
_PLAIN = str.maketrans({"–": "-", "—": "-", "×": "x", "’": "'", "‘": "'", "“": '"', "”": '"',
                        "≥": ">=", "≤": "<=", "µ": "u", "…": "...", "→": "->"})


def _latin1(s: str) -> str:
    return s.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def export_pdf(cases: Sequence[TeachingCase], path: Path | str, title: str = TITLE) -> Path:
    """A handout: a title page, one page per case (image and question), then the answers at
    the back, one page per case (overlay and key). 1 + 2 x len(cases) pages (A4)."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(title)
    pdf.set_subject(NOTICE)
    pdf.set_keywords(SYNTHETIC_KEYWORDS)
    pdf.set_creator("imagine-med")
    margin, page_w, page_h = 15.0, 210.0, 297.0

    def heading(lines: list[str], size: int = 14) -> None:
        pdf.set_font("Helvetica", "B", size)
        pdf.set_xy(margin, margin)
        pdf.multi_cell(page_w - 2 * margin, size * 0.5, _latin1(lines[0]))
        pdf.set_font("Helvetica", "", 11)
        for line in lines[1:]:
            pdf.set_x(margin)
            pdf.multi_cell(page_w - 2 * margin, 5.5, _latin1(line))

    def image(p: Path, top: float) -> None:
        w, h = _fit(p, page_w - 2 * margin, page_h - top - margin)
        pdf.image(str(p), x=(page_w - w) / 2, y=top, w=w, h=h)

    pdf.add_page()
    heading([title, f"{len(cases)} cases. {NOTICE}", "Answers from page "
             f"{len(cases) + 2}."], 20)
    for case in cases:
        pdf.add_page()
        heading([case.title, f"{case.study}. {QUESTION}"])
        image(case.image, 40)
    with tempfile.TemporaryDirectory(prefix="imagine-med-pdf-") as tmp:
        for case in cases:
            pdf.add_page()
            heading([f"{case.title}: answer", "; ".join(_finding_lines(case)), case.answer_key])
            image(write_answer_image(case, Path(tmp) / f"{case.case_id}.png"), 80)
        out = Path(path)
        pdf.output(str(out))
    return out


# ---- DICOM studies -------------------------------------------------------------------------

def export_dicom_zip(cases: Sequence[TeachingCase], path: Path | str) -> Path:
    """One folder per case in a ZIP: the image as DICOM (the posted pixels, band and mark
    included, SyntheticData=YES), its SEG of the label map where one can be built, and
    case.json with the key."""
    from imagine_med.provenance.dicom import write_dicom_from_files

    out = Path(path)
    with tempfile.TemporaryDirectory(prefix="imagine-med-dcm-") as tmp, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for case in cases:
            written = write_dicom_from_files(case.files, Path(tmp) / case.case_id,
                                             variants=[case.variant])
            for name, p in sorted(written.items()):
                z.write(p, f"{case.case_id}/{name}")
    return out


def dicom_files(cases: Sequence[TeachingCase], folder: Path | str) -> list[Path]:
    """The cases' DICOM files (images and SEGs) written under `folder`: what PACS sends."""
    from imagine_med.provenance.dicom import write_dicom_from_files

    paths: list[Path] = []
    for case in cases:
        written = write_dicom_from_files(case.files, Path(folder) / case.case_id,
                                         variants=[case.variant])
        paths += [p for n, p in sorted(written.items()) if n.endswith(".dcm")]
    return paths
