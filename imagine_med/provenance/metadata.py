"""Machine-readable provenance next to the pixels: PNG text chunks and an XMP packet.

Metadata is easy to strip or forge, so it is a convenience for tools (and for people reading a
file's properties); the keyed invisible mark is what `imagine-med verify` trusts. The XMP carries
the IPTC digital source type, the vocabulary that news and stock platforms use to flag
machine-made images: `trainedAlgorithmicMedia` for a trained model's output (diffusion),
`algorithmicMedia` for a purely procedural one (the phantom engine).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from PIL.PngImagePlugin import PngInfo

from imagine_med import __version__

IPTC_DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"
NOTICE = "Synthetic image for teaching. Not a real patient. Not for diagnosis."
XMP_KEY = "XML:com.adobe.xmp"
NS = "https://github.com/imagine-med/imagine-med/ns/provenance/1.0/"
PREFIX = "imagine-med:"


def digital_source_type(engine: str) -> str:
    """IPTC term for an engine: diffusion output comes from a trained model, the phantom engine
    is procedural."""
    return "trainedAlgorithmicMedia" if engine == "diffusion" else "algorithmicMedia"


def prompt_hash(prompt: str) -> str:
    """SHA-256 of the prompt: lets a reader match a file to a job without publishing the text."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Provenance:
    """What a stamped file says about itself."""

    job_id: str
    variant: int  # 0 = the grid, 1-4 = a variant
    engine: str
    prompt: str
    key_id: str
    watermark: str | None  # scheme name, or None when the image was too small to mark

    def fields(self) -> dict[str, str]:
        out = {
            "job_id": self.job_id,
            "variant": "grid" if self.variant == 0 else str(self.variant),
            "engine": self.engine,
            "prompt_sha256": prompt_hash(self.prompt),
            "digital_source_type": digital_source_type(self.engine),
            "key_id": self.key_id,
            "watermark": self.watermark or "none (image too small)",
            "synthetic": "yes",
        }
        return out


def xmp_packet(p: Provenance) -> str:
    """An XMP packet with the IPTC digital source type and our own fields."""
    attrs = "\n    ".join(
        f"imed:{k}={quoteattr(v)}"
        for k, v in p.fields().items()
        if k not in ("digital_source_type",)
    )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        f"    xmlns:imed={quoteattr(NS)}\n"
        "    Iptc4xmpExt:DigitalSourceType="
        f"{quoteattr(IPTC_DST + digital_source_type(p.engine))}\n"
        f"    xmp:CreatorTool={quoteattr(f'imagine-med {__version__}')}\n"
        f"    {attrs}>\n"
        "   <dc:description><rdf:Alt>"
        f'<rdf:li xml:lang="x-default">{escape(NOTICE)}</rdf:li></rdf:Alt></dc:description>\n'
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="r"?>'
    )


def png_info(p: Provenance) -> PngInfo:
    """PNG tEXt chunks (one per field, prefixed `imagine-med:`) plus the XMP packet (iTXt)."""
    info = PngInfo()
    info.add_text("Software", f"imagine-med {__version__}")
    info.add_text("Description", NOTICE)
    for k, v in p.fields().items():
        info.add_text(PREFIX + k, v)
    info.add_itxt(XMP_KEY, xmp_packet(p))
    return info


def read_png_fields(info: dict[str, object]) -> dict[str, str]:
    """Our fields from a PIL image's `info` (empty when the file carries none)."""
    return {
        k[len(PREFIX) :]: str(v)
        for k, v in info.items()
        if isinstance(k, str) and k.startswith(PREFIX)
    }
