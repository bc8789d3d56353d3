"""The case specification: the one language every adapter, the queue and both engines speak.

A `CaseSpec` is immutable and JSON-serialisable, and holds only canonical vocabulary (see
`vocab.py`), so engines never see user spellings such as "CXR" or "T2-weighted".
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Modality = Literal["xray", "ct", "mri", "us", "histo", "derm", "fundus"]
Laterality = Literal["left", "right", "bilateral"]
Severity = Literal["mild", "moderate", "severe"]
Sex = Literal["male", "female"]
AgeGroup = Literal["neonate", "infant", "child", "adolescent", "adult", "elderly"]
EngineName = Literal["phantom", "diffusion"]

SEED_MAX = 2**32 - 1
SKETCH_MAX_CHARS = 96 * 1024  # engine.phantom.sketch.parse.MAX_SPEC_BYTES


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Finding(_Frozen):
    """One thing to show, in canonical words (e.g. consolidation / right / rul)."""

    name: str
    laterality: Laterality | None = None
    location: str | None = None
    severity: Severity | None = None
    extent: float | None = Field(default=None, ge=0.0, le=1.0, description="fraction, e.g. 0.6")
    size_mm: float | None = Field(default=None, gt=0.0, le=500.0)
    modifiers: tuple[str, ...] = ()

    def describe(self) -> str:
        """Human wording, e.g. 'acute infarct (left, mca)'."""
        words = [*self.modifiers, self.severity or "", self.name.replace("_", " ")]
        where = [w for w in (self.laterality, _pretty_location(self.location)) if w]
        extra = []
        if self.size_mm:
            extra.append(f"{self.size_mm:g} mm")
        if self.extent is not None:
            extra.append(f"{round(self.extent * 100)}%")
        text = " ".join(w for w in words if w)
        bits = where + extra
        return f"{text} ({', '.join(bits)})" if bits else text


def _pretty_location(location: str | None) -> str | None:
    if location is None:
        return None
    short = {"rul", "rml", "rll", "lul", "lll", "mca", "aca", "pca", "pica"}
    return location.upper() if location in short else location.replace("_", " ")


class UltrasoundSettings(_Frozen):
    """The machine's settings a prompt may give (prompt/scan.py); None: the probe's default."""

    freq_mhz: float | None = Field(default=None, ge=1, le=20)
    depth_cm: float | None = Field(default=None, ge=2, le=30)
    focus_cm: float | None = Field(default=None, ge=0.5, le=30)
    gain_db: float | None = Field(default=None, ge=-30, le=30)
    dynamic_range_db: float | None = Field(default=None, ge=20, le=100)
    frames: int | None = Field(default=None, ge=2, le=64)  # a cine clip; None: a still
    scale_cm_s: float | None = Field(default=None, ge=2, le=150)  # colour Doppler scale


class CaseSpec(_Frozen):
    """A validated request for one case (four variants are rendered from it)."""

    prompt: str = ""
    modality: Modality
    region: str | None = None
    laterality: Laterality | None = Field(default=None, description="body side, e.g. left knee")
    view: str | None = None
    plane: str | None = None
    sequence: str | None = None
    stain: str | None = None
    # histology: the objective (4, 10, 20, 40) and the IHC antibody ("her2", "cd20", ...)
    magnification: int | None = Field(default=None, ge=4, le=40)
    antibody: str | None = None
    window: str | None = None
    window_center: float | None = None
    window_width: float | None = Field(default=None, gt=0)
    level: str | None = None
    us: UltrasoundSettings | None = None  # ultrasound acquisition settings
    age: int | None = Field(default=None, ge=0, le=120)
    age_group: AgeGroup | None = None
    sex: Sex | None = None
    findings: tuple[Finding, ...] = ()
    exclude: tuple[str, ...] = ()
    seed: int | None = Field(default=None, ge=0, le=SEED_MAX)
    width: int = Field(default=512, ge=64, le=2048)
    height: int = Field(default=512, ge=64, le=2048)
    engine: EngineName = "phantom"
    steps: int | None = Field(default=None, ge=1, le=150)
    unparsed: tuple[str, ...] = ()
    # a drawn label map (engine.phantom.sketch: base64 PNG of palette ids) rendered in place of
    # a region's model; set with region "sketch" by the adapters and the web app, never parsed
    sketch: str | None = Field(default=None, max_length=SKETCH_MAX_CHARS)

    @property
    def is_normal(self) -> bool:
        return not self.findings

    def finding(self, name: str) -> Finding | None:
        return next((f for f in self.findings if f.name == name), None)

    def describe(self) -> str:
        """The 'interpreted as' line shared by every adapter."""
        from imagine_med.prompt.describe import describe_spec

        return describe_spec(self)
