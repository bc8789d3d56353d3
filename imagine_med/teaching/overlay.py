"""The answer picture: a case's image with its findings' labels drawn over it, stamped again.

The overlay is drawn only where the findings are labelled (never on the band); the result is
marked and tagged like any posted image (same job id and variant), so an answer slide or page
verifies as the case it shows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from imagine_med.teaching.cases import TeachingCase

# Distinct, colour-blind-friendly overlay colours (Okabe & Ito 2008, "Color Universal Design").
PALETTE = ((230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178),
           (213, 94, 0), (204, 121, 167))
FILL_ALPHA = 0.35


def finding_label_ids(case: TeachingCase) -> dict[str, set[int]]:
    """Each finding's label ids in this image: its own and those of its parts."""
    from imagine_med.engine.phantom.labels import FEATURE_OF

    names = {int(k): v for k, v in (case.entry.get("labels") or {}).items()}
    out: dict[str, set[int]] = {}
    for f in case.findings:
        ids = {int(f["label_id"])}
        ids.update(k for k, n in names.items() if FEATURE_OF.get(n) == f["name"])
        out[f["name"]] = ids
    return out


def overlay_pixels(case: TeachingCase) -> np.ndarray:
    """RGB pixels of the posted image with each finding filled and outlined in its colour."""
    with Image.open(case.image) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float64).copy()
    with Image.open(case.labels) as im:
        labels = np.asarray(im.convert("L"))
    for k, ids in enumerate(finding_label_ids(case).values()):
        mask = np.isin(labels, sorted(ids))
        if not mask.any():
            continue
        colour = np.array(PALETTE[k % len(PALETTE)], dtype=np.float64)
        rgb[mask] = rgb[mask] * (1 - FILL_ALPHA) + colour * FILL_ALPHA
        edge = mask & ~ndimage.binary_erosion(mask, iterations=2)
        rgb[edge] = colour
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def write_answer_image(case: TeachingCase, path: Path | str) -> Path:
    """The overlay as a stamped PNG at `path`: marked again with the case's job id and
    variant (a filled finding can cover much of the posted mark) and tagged synthetic."""
    from imagine_med.provenance.stamp import save_stamped_png

    prov = case.doc.get("provenance") or {}
    save_stamped_png(Image.fromarray(overlay_pixels(case), "RGB"), path,
                     job_id=str(prov.get("job_id") or case.case_id), variant=case.variant,
                     engine=str(case.doc.get("engine", "phantom")),
                     prompt=str(case.doc.get("prompt", "")))
    return Path(path)
