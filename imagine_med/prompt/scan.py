"""Ultrasound acquisition settings in the prompt: what a sonographer sets on the machine.

Text ("5 MHz", "depth 12 cm" / "12 cm deep", "focus 6 cm", "gain 6 dB", "dynamic range
50 dB", "cine" / "16 frames", Doppler "scale 40 cm/s" / "aliasing") and flags (--freq 5,
--depth 12, --focus 6, --gain -3, --dr 50, --frames 16, --scale 40) set the same fields;
the text and a flag that disagree are an error, as for every other field. A bare word
("cine", "aliasing") asks for the setting's usual value unless a number is given too.
Ranges are those of clinical scanners (2-18 MHz transducers, 2-30 cm depth); whether a
given probe reaches a frequency is the renderer's to say (its probe table), so the key
reports what was used.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagine_med.prompt.errors import PromptError


@dataclass(frozen=True)
class Setting:
    field: str  # UltrasoundSettings field
    flag: str  # the flag's canonical name
    unit: str
    lo: float
    hi: float
    example: str
    word_value: float | None = None  # what a bare word ("cine", "aliasing") asks for


SETTINGS = (
    Setting("freq_mhz", "freq", "MHz", 1.0, 20.0, "--freq 5 or '5 MHz'"),
    Setting("depth_cm", "depth", "cm", 2.0, 30.0, "--depth 12 or 'depth 12 cm'"),
    Setting("focus_cm", "focus", "cm", 0.5, 30.0, "--focus 6 or 'focus 6 cm'"),
    Setting("gain_db", "gain", "dB", -30.0, 30.0, "--gain 6 or 'gain 6 dB'"),
    Setting("dynamic_range_db", "dr", "dB", 20.0, 100.0, "--dr 60 or 'dynamic range 60 dB'"),
    # a cine clip: 12 frames, 0.6 s at 20 frames a second
    Setting("frames", "frames", "frames", 2.0, 64.0, "--frames 16 or 'cine, 16 frames'", 12),
    # colour Doppler scale; "aliasing": 10 cm/s, below a carotid's systolic ~80 cm/s
    Setting("scale_cm_s", "scale", "cm/s", 2.0, 150.0, "--scale 40 or 'scale 40 cm/s'", 10),
)
BY_FIELD = {s.field: s for s in SETTINGS}
FACT_PREFIX = "us_"  # lexer facts: us_freq_mhz, us_depth_cm, ...; 0: a bare word


def read_value(setting: Setting, raw: str, source: str) -> float:
    """A setting's number from a flag's text or a lexed value, range-checked."""
    try:
        value = float(raw)
    except ValueError:
        raise PromptError(f"{source} takes a number in {setting.unit}, as in {setting.example};"
                          f" not {raw!r}.") from None
    if value == 0 and setting.word_value is not None:  # "cine", "aliasing"
        return setting.word_value
    if not setting.lo <= value <= setting.hi:
        raise PromptError(f"{source} must be from {setting.lo:g} to {setting.hi:g} "
                          f"{setting.unit}; got {value:g}.")
    if setting.field == "frames" and not value.is_integer():
        raise PromptError(f"{source} takes a whole number of frames; got {value:g}.")
    return value


def describe(settings) -> str:
    """'5 MHz, depth 12 cm, cine 16 frames' for the interpreted-as line."""
    bits = []
    for s in SETTINGS:
        v = getattr(settings, s.field)
        if v is None:
            continue
        if s.field == "frames":
            bits.append(f"cine {v:g} frames")
        elif s.field == "dynamic_range_db":
            bits.append(f"DR {v:g} dB")
        elif s.field == "freq_mhz":
            bits.append(f"{v:g} MHz")
        elif s.field == "scale_cm_s":
            bits.append(f"Doppler scale {v:g} cm/s")
        else:
            bits.append(f"{s.flag} {v:+g} dB" if s.unit == "dB" else f"{s.flag} {v:g} cm")
    return ", ".join(bits)
