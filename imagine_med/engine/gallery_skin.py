"""The skin contact sheet: every lesion on Fitzpatrick types I, III and VI, dermoscopy, plus
one clinical photograph per row: `python -m imagine_med.engine.gallery_skin docs/gallery`."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from imagine_med.engine.base import RenderRequest
from imagine_med.engine.phantom.regions.skin.catalogue import DERMOSCOPIC
from imagine_med.engine.phantom.regions.skin.lesions import MELANOCYTIC
from imagine_med.engine.phantom.regions.skin.rashes import RASHES
from imagine_med.engine.registry import get_renderer
from imagine_med.engine.sheet import contact_sheet, sheet_main
from imagine_med.prompt.spec import CaseSpec, Finding

COLUMNS = (("I", "fitzpatrick_i", ()), ("III", "fitzpatrick_iii", ()),
           ("VI", "fitzpatrick_vi", ()), ("IV clinical", "fitzpatrick_iv", ("clinical_photo",)))


def tile(name: str, mods: tuple[str, ...], caption: str, size: int, seed: int) -> Image.Image:
    spec = CaseSpec(modality="derm", region="skin", seed=seed,
                    findings=(Finding(name=name, modifiers=mods),))
    res = get_renderer("phantom", "derm", "skin").render(
        RenderRequest(spec=spec, seed=seed, width=size, height=size))
    img = Image.fromarray(np.ascontiguousarray(res.pixels))
    d = ImageDraw.Draw(img)
    m = res.findings[0].measurements if res.findings else {}
    tds = f" TDS {m['tds']:.1f}" if "tds" in m and name in MELANOCYTIC else ""
    text = f"{caption}: {name.replace('_', ' ')}{tds}"
    d.rectangle((0, size - 14, size, size), fill=(0, 0, 0))
    d.text((3, size - 13), text, fill=(255, 255, 255))
    return img


def build_derm_sheet(out_dir: Path, size: int = 256, seed: int = 11) -> Path:
    """Rows: each lesion; columns: dermoscopy on types I, III, VI, and a clinical photo."""
    tiles = [tile(name, (skin, *extra), caption, size, seed)
             for name in DERMOSCOPIC for caption, skin, extra in COLUMNS]
    canvas = contact_sheet(tiles, len(COLUMNS))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-derm.png"
    canvas.save(path, optimize=True)
    return path


def build_rash_sheet(out_dir: Path, size: int = 256, seed: int = 11) -> Path:
    """Rows: each inflammatory rash (clinical photographs, 80 mm); columns: types I, III, VI."""
    tiles = [tile(name, (skin,), caption, size, seed)
             for name in RASHES for caption, skin, _ in COLUMNS[:3]]
    canvas = contact_sheet(tiles, 3)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "phantom-rashes.png"
    canvas.save(path, optimize=True)
    return path


def main(argv: list[str] | None = None) -> int:
    return sheet_main(argv, __doc__, 256, lambda out, size, seed: [
        build_derm_sheet(out, size, seed), build_rash_sheet(out, size, seed)])

if __name__ == "__main__":
    sys.exit(main())
