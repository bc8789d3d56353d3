"""MRI of any region that gives tissue fractions: signal per tissue from the sequence's
equation, mixed by partial volume, times a smooth coil (bias) field, with Rician noise.

Equations (../shared/reference/physics.md, "MRI relaxation"):
- spin echo: S = PD (1 - exp(-TR/T1)) exp(-TE/T2)
- inversion recovery: S = PD |1 - 2 exp(-TI/T1) + exp(-TR/T1)| exp(-TE/T2), with FLAIR's TI
  the CSF null point TI = T1_csf ln(2 / (1 + exp(-TR/T1_csf))) from this table's CSF T1
- spoiled gradient echo: S = PD sin a (1 - E1) / (1 - cos a E1) exp(-TE/T2*)
- diffusion: S_b = S_0 exp(-b ADC), b = 1000 s/mm^2; the ADC map is fitted from b=0 and b
- gadolinium: 1/T1' = 1/T1 + r1 [Gd]
Fat on a clinical T2 TSE is bright (J-coupling), which the plain equation misses: its
T2 is lengthened on TSE sequences, as physics.md advises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from imagine_med.engine.phantom.regions.base import Sample
from imagine_med.engine.phantom.tissues import R1_GD_PER_MM_PER_S, TISSUES, Tissue

B_VALUE = 1000.0  # s/mm^2
FAT_T2_TSE = 2.2  # fat's apparent T2 on a turbo spin echo, relative to its true T2
FAT_SUPPRESSION = 0.08  # fat signal left on a fat-suppressed echo-planar DWI


@dataclass(frozen=True)
class Sequence:
    """Acquisition parameters (ms, degrees); `kind` picks the signal equation."""

    name: str
    kind: str  # se, ir, gre, dwi, adc
    tr: float
    te: float
    ti: float | None = None
    flip: float = 90.0
    contrast: bool = False
    tse: bool = False
    description: str = ""


def flair_ti(tr: float, field: str) -> float:
    """The inversion time nulling CSF at this TR, from the tissue table's own CSF T1."""
    t1 = TISSUES["csf"].mr[field].t1
    return t1 * math.log(2.0 / (1.0 + math.exp(-tr / t1)))


def stir_ti(tr: float, field: str) -> float:
    t1 = TISSUES["fat"].mr[field].t1
    return t1 * math.log(2.0 / (1.0 + math.exp(-tr / t1)))


def sequence(name: str, field: str = "1.5T") -> Sequence:
    """Typical settings (physics.md): T1 SE 500/15; PD 2500/20; T2 TSE 4000/100; FLAIR
    9000/120 with TI nulling CSF; STIR 4000/60 with TI nulling fat; DWI (SE-EPI 5000/90);
    SWI a spoiled gradient echo 30/20, flip 15."""
    if name in ("t1", "t1c"):
        return Sequence(name, "se", 500.0, 15.0, contrast=name == "t1c",
                        description="T1 SE" + (" post-gadolinium" if name == "t1c" else ""))
    if name == "pd":
        return Sequence(name, "se", 2500.0, 20.0, tse=True, description="PD TSE")
    if name == "t2":
        return Sequence(name, "se", 4000.0, 100.0, tse=True, description="T2 TSE")
    if name == "flair":
        return Sequence(name, "ir", 9000.0, 120.0, ti=round(flair_ti(9000.0, field), 1),
                        tse=True, description="T2 FLAIR")
    if name == "stir":
        return Sequence(name, "ir", 4000.0, 60.0, ti=round(stir_ti(4000.0, field), 1),
                        tse=True, description="STIR")
    if name in ("swi", "gre"):
        return Sequence(name, "gre", 30.0, 20.0, flip=15.0, description="SWI (GRE)")
    if name in ("dwi", "adc"):
        return Sequence(name, name, 5000.0, 90.0, description=f"{name.upper()} b={B_VALUE:g}")
    raise KeyError(name)


SEQUENCES = ("t1", "t2", "pd", "flair", "stir", "dwi", "adc", "t1c", "swi", "gre")


def t1_of(t: Tissue, field: str, contrast: bool) -> float:
    """T1 (ms), shortened by the gadolinium the tissue holds after a dose."""
    t1 = t.mr[field].t1
    if contrast and t.gd_mM > 0:
        return 1000.0 / (1000.0 / t1 + R1_GD_PER_MM_PER_S * t.gd_mM)
    return t1


def tissue_signal(t: Tissue, seq: Sequence, field: str, b: float = 0.0) -> float:
    """One tissue's magnitude signal (PD units) for this sequence."""
    m = t.mr[field]
    if m.pd == 0.0:
        return 0.0
    t1 = t1_of(t, field, seq.contrast)
    t2 = m.t2 * (FAT_T2_TSE if seq.tse and t.name in ("fat", "diploe") else 1.0)
    e1 = math.exp(-seq.tr / t1)
    if seq.kind == "se" or seq.kind in ("dwi", "adc"):
        s = m.pd * (1 - e1) * math.exp(-seq.te / t2)
        if seq.kind in ("dwi", "adc"):
            s *= FAT_SUPPRESSION if t.name in ("fat", "diploe") else 1.0
            s *= math.exp(-b * m.adc * 1e-6)
        return s
    if seq.kind == "ir":
        return m.pd * abs(1 - 2 * math.exp(-seq.ti / t1) + e1) * math.exp(-seq.te / t2)
    a = math.radians(seq.flip)
    return m.pd * math.sin(a) * (1 - e1) / (1 - math.cos(a) * e1) * math.exp(-seq.te / m.t2s)


def bias_field(shape: tuple[int, int], rng: np.random.Generator, strength: float = 0.12
               ) -> np.ndarray:
    """A smooth multiplicative coil sensitivity: a seeded low-order polynomial, within
    about +-strength of 1 over the field of view (surface coils are brighter at the edge)."""
    h, w = shape
    yy, xx = np.meshgrid(np.linspace(-1, 1, h, dtype=np.float32),
                         np.linspace(-1, 1, w, dtype=np.float32), indexing="ij")
    a = rng.uniform(-1, 1, 5).astype(np.float32)
    poly = a[0] * xx + a[1] * yy + a[2] * xx * yy + 0.6 * a[3] * (xx * xx + yy * yy) \
        + 0.4 * a[4] * (xx * xx - yy * yy)
    return (1.0 + strength * poly / 2.0).astype(np.float32)


def rician(signal: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Magnitude of the signal plus complex Gaussian noise: Rician, Rayleigh where 0."""
    n1 = rng.standard_normal(signal.shape).astype(np.float32) * np.float32(sigma)
    n2 = rng.standard_normal(signal.shape).astype(np.float32) * np.float32(sigma)
    return np.sqrt((signal + n1) ** 2 + n2 * n2)


SNR_WHITE = 28.0  # white-matter signal over the noise sd


def render_mri(sample: Sample, name: str, field: str, rng: np.random.Generator
               ) -> tuple[np.ndarray, Sequence]:
    """The magnitude image (arbitrary units, white matter's noise-free signal near 1000;
    ADC maps in 1e-6 mm^2/s) and the sequence used."""
    seq = sequence(name, field)
    bias = bias_field(sample.parts[0].fraction.shape, rng)
    wm = tissue_signal(TISSUES["white_matter"], seq, field, B_VALUE if seq.kind == "dwi" else 0)
    if seq.kind == "adc":
        wm = tissue_signal(TISSUES["white_matter"], seq, field)
    scale = 1000.0 / max(wm, 1e-6)
    sigma = 1000.0 / SNR_WHITE
    if seq.kind == "adc":
        s0 = rician(sample.mix(lambda t: tissue_signal(t, seq, field) * scale) * bias, sigma,
                    rng)
        sb = rician(sample.mix(lambda t: tissue_signal(t, seq, field, B_VALUE) * scale) * bias,
                    sigma, rng)
        adc = np.log(np.maximum(s0, 1e-3) / np.maximum(sb, 1e-3)) / B_VALUE * 1e6
        adc = np.where(s0 > 4 * sigma, np.clip(adc, 0, 4000), 0.0)
        return adc.astype(np.float32), seq
    b = B_VALUE if seq.kind == "dwi" else 0.0
    clean = sample.mix(lambda t: tissue_signal(t, seq, field, b) * scale)
    return rician(clean * bias, sigma, rng), seq


def display(image: np.ndarray, seq: Sequence, head: np.ndarray) -> tuple[np.ndarray, float,
                                                                          float]:
    """8-bit display: a window from the head's own signal (0 to its 99.7th percentile, a
    fixed 0-3200 for ADC maps, as scanners show them); returns (pixels, centre, width)."""
    if seq.kind == "adc":
        lo, hi = 0.0, 3200.0
    else:
        vals = image[head] if head.any() else image.ravel()
        lo, hi = 0.0, float(np.percentile(vals, 99.7)) * 1.02
    width = max(hi - lo, 1e-6)
    pix = np.clip((image - lo) / width * 255.0, 0, 255)
    return np.round(pix).astype(np.uint8), (lo + hi) / 2, width
