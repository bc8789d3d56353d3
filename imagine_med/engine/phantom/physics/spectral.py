"""Pulsed-wave (spectral) Doppler: a velocity waveform over the cardiac cycle from a flow model,
the spread of velocities inside the sample volume, the display (time across, velocity up,
toward the probe above the baseline), aliasing, and the envelope read back from the pixels.

Waveforms (the centreline velocity in cm/s against time in the cycle) are sums of Gaussian
pulses with the shapes sonographers learn: the carotid's low-resistance trace (a sharp
systolic peak, a dicrotic notch, forward flow all through diastole: end-diastolic velocity
about a quarter of the peak) and the femoral artery's triphasic one (a systolic peak, brief
reversal in early diastole, a small forward wave, then no flow). Normal values: common carotid
PSV 60-100 cm/s, EDV 15-30; common femoral PSV 80-120, reversal 10-30 (Zwiebel and Pellerito,
Introduction to Vascular Ultrasonography, 6th ed.).

Inside the gate the flow profile is blunt, u = v (1 - (r/R)^4), so the spectrum is a narrow
band under the envelope with a clear window beneath it in systole; intrinsic broadening is a
Gaussian of 0.5 cm/s + 1% of the peak velocity; a wall filter clears +/- 4 cm/s about the
baseline; each (time, velocity) bin of a periodogram of Gaussian echoes carries exponential
(chi-square, 2 degrees of freedom) speckle. The display's velocity
range is the Nyquist range, PRF-equivalent 2 x scale, split at the baseline; velocities beyond
its top edge wrap in from the bottom (aliasing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter

GATE_FRACTION = 0.6  # the gate spans this fraction of the lumen's diameter
PROFILE_POWER = 4.0  # blunt arterial profile
DYNAMIC_RANGE_DB = 32.0
NOISE_DB = -38.0  # the spectral noise floor below the band's mean power
ENVELOPE_GREY = 90  # a pixel at least this bright (after a 3-row median) is signal
UPSTROKE = 0.05  # the phase of the systolic upstroke
WALL_FILTER_CM_S = 4.0  # the high-pass that removes wall motion (and zero flow) near baseline
# (nothing within 4 cm/s of the baseline, full power beyond 6)


@dataclass(frozen=True)
class Waveform:
    """Centreline velocity (cm/s, along the flow) as Gaussian pulses over one cycle: a
    baseline `floor` (diastolic run-off) decaying through diastole, plus (amplitude, centre,
    width) pulses with centre and width as fractions of the cycle."""

    kind: str
    period_s: float
    floor: float
    pulses: tuple[tuple[float, float, float], ...]
    decay: float = 0.0  # fraction the floor falls from early to end diastole

    def velocity(self, t: np.ndarray) -> np.ndarray:
        ph = np.mod(t / self.period_s, 1.0)
        # diastolic run-off falls from the upstroke (phase 0.05) to the next one, where its
        # step back up hides under the systolic rise
        run = np.mod(ph - UPSTROKE, 1.0)
        v = self.floor * (1.0 + self.decay * (0.5 - run)) * np.ones_like(ph)
        for amp, c, w in self.pulses:
            for k in (-1.0, 0.0, 1.0):  # the neighbouring cycles' tails
                v = v + amp * np.exp(-0.5 * ((ph - c - k) / w) ** 2)
        return v.astype(np.float32)

    def psv(self) -> float:
        return float(self.velocity(np.linspace(0, self.period_s, 2001)).max())

    def edv(self) -> float:
        """The velocity at end diastole (just before the next upstroke)."""
        return float(self.velocity(np.array([self.period_s * (UPSTROKE - 0.01)]))[0])

    def min_velocity(self) -> float:
        return float(self.velocity(np.linspace(0, self.period_s, 2001)).min())


def carotid_waveform(rng: np.random.Generator) -> Waveform:
    """Common carotid: PSV 70-100, EDV 18-28 cm/s, heart rate 60-80."""
    psv, edv = rng.uniform(70.0, 100.0), rng.uniform(18.0, 28.0)
    period = 60.0 / rng.uniform(60.0, 80.0)
    floor = edv / (1.0 - 0.5 * 0.35)  # so that the floor has fallen to EDV at end diastole
    return Waveform(
        "carotid",
        period,
        floor,
        ((psv - floor * 1.15, 0.13, 0.045), (0.18 * psv, 0.36, 0.05)),
        decay=0.35,
    )


def femoral_waveform(rng: np.random.Generator) -> Waveform:
    """Common femoral: triphasic, PSV 80-120, reversal 12-28, a small forward third wave."""
    psv, rev = rng.uniform(80.0, 120.0), rng.uniform(12.0, 28.0)
    period = 60.0 / rng.uniform(60.0, 80.0)
    return Waveform(
        "femoral", period, 0.0, ((psv, 0.13, 0.04), (-rev, 0.27, 0.045), (0.12 * psv, 0.42, 0.05))
    )


def vein_waveform(rng: np.random.Generator, mean: float = 20.0) -> Waveform:
    """A vein near the heart: continuous, phasic flow (a cardiac ripple on a steady mean)."""
    period = 60.0 / rng.uniform(60.0, 80.0)
    return Waveform("vein", period, mean, ((0.35 * mean, 0.2, 0.08), (0.25 * mean, 0.65, 0.1)))


@dataclass(frozen=True)
class Display:
    """The spectral display's geometry in velocity: `top` and `bottom` (cm/s, bottom < 0 <
    top) span the Nyquist range (top - bottom = 2 x scale)."""

    top: float
    bottom: float
    sweep_s: float

    @property
    def span(self) -> float:
        return self.top - self.bottom


def display_for(scale: float, baseline_fraction: float, sweep_s: float) -> Display:
    """A scale (the Nyquist velocity, +/- scale with the baseline centred) with the baseline
    moved to `baseline_fraction` of the height from the bottom."""
    span = 2.0 * scale
    return Display(span * (1.0 - baseline_fraction), -span * baseline_fraction, sweep_s)


def spectrum(
    wave: Waveform, sign: float, disp: Display, cols: int, rows: int, rng: np.random.Generator
) -> np.ndarray:
    """Grey (rows x cols, uint8) spectral display: row 0 is the top velocity. `sign` is +1
    where the forward flow runs toward the probe."""
    t = np.linspace(0.0, disp.sweep_s, cols, dtype=np.float32)
    vc = wave.velocity(t)
    r = np.linspace(-GATE_FRACTION, GATE_FRACTION, 48, dtype=np.float32)
    u = vc[:, None] * (1.0 - np.abs(r[None, :]) ** PROFILE_POWER)  # cols x samples
    u = sign * u
    wrapped = np.mod(u - disp.bottom, disp.span) + disp.bottom  # aliasing
    row = np.clip(((disp.top - wrapped) / disp.span * rows).astype(int), 0, rows - 1)
    power = np.zeros((cols, rows), np.float32)
    # blood slower than the wall filter (stationary in late diastole) leaves nothing to blur
    moving = (np.abs(u) >= WALL_FILTER_CM_S).astype(np.float32).ravel()
    np.add.at(power, (np.repeat(np.arange(cols), r.size), row.ravel()), moving)
    # intrinsic broadening (transit time, the finite window): 0.5 cm/s + 1% of the peak
    sigma_rows = (0.5 + 0.01 * float(np.abs(vc).max())) / disp.span * rows
    power = gaussian_filter1d(power, sigma_rows, axis=1, mode="wrap")
    v_row = disp.top - (np.arange(rows, dtype=np.float32) + 0.5) / rows * disp.span
    power *= np.clip((np.abs(v_row) - WALL_FILTER_CM_S) / (WALL_FILTER_CM_S / 2), 0, 1)
    power /= power.max()
    power *= rng.exponential(1.0, power.shape).astype(np.float32)  # periodogram speckle
    power += np.float32(10 ** (NOISE_DB / 10)) * rng.exponential(1.0, power.shape).astype(
        np.float32
    )
    db = 10.0 * np.log10(power + 1e-12)
    top_db = np.percentile(db[power > 0.05], 90) if (power > 0.05).any() else 0.0
    grey = np.clip((db - (top_db - DYNAMIC_RANGE_DB)) / DYNAMIC_RANGE_DB, 0.0, 1.0)
    return np.round(grey.T * 255).astype(np.uint8)


def envelope(panel: np.ndarray, disp: Display) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the highest and lowest velocity with signal (cm/s; nan where none), read
    from the panel's pixels after a median over 3 rows (the speckle; not across columns,
    which would clip a narrow systolic peak on a small display)."""
    rows = panel.shape[0]
    sig = median_filter(panel, size=(3, 1)) >= ENVELOPE_GREY
    any_sig = sig.any(axis=0)
    first = np.argmax(sig, axis=0)
    last = rows - 1 - np.argmax(sig[::-1], axis=0)
    v_top = disp.top - (first + 0.5) / rows * disp.span
    v_low = disp.top - (last + 0.5) / rows * disp.span
    return np.where(any_sig, v_top, np.nan), np.where(any_sig, v_low, np.nan)


def read_trace(
    panel: np.ndarray, disp: Display, period_s: float, sign: float = 1.0
) -> dict[str, float]:
    """Peak systolic and end-diastolic velocity from the envelope on the flow's side of the
    baseline (above it where `sign` is +1), the deepest reversal on the other side, and
    aliasing (signal at both the top and bottom edges in the same columns: the peak has
    wrapped). Speeds along the flow: positive forward, negative reversed."""
    if sign < 0:  # read a trace below the baseline as one above it
        panel = panel[::-1]
        disp = Display(-disp.bottom, -disp.top, disp.sweep_s)
    hi, lo = envelope(panel, disp)
    rows = panel.shape[0]
    sig = median_filter(panel, size=(3, 1)) >= ENVELOPE_GREY
    edge = max(1, rows // 60)
    wrap_cols = sig[:edge].any(axis=0) & sig[-edge:].any(axis=0)
    out: dict[str, float] = {"aliasing": float(wrap_cols.mean() > 0.01)}
    pos = np.where(np.nan_to_num(hi, nan=-1e9) > 0, hi, np.nan)
    if np.isfinite(pos).any():
        out["psv_cm_s"] = round(float(np.nanmax(pos)), 1)
        # end diastole: the positive envelope in the 5% of each cycle before the upstroke
        cols = panel.shape[1]
        t = np.linspace(0.0, disp.sweep_s, cols)
        late = np.mod(t / period_s - UPSTROKE, 1.0) > 0.95
        vals = pos[late]
        if np.isfinite(vals).any():
            out["edv_cm_s"] = round(float(np.nanmedian(vals)), 1)
    neg = np.where(np.nan_to_num(lo, nan=1e9) < 0, lo, np.nan)
    if np.isfinite(neg).any() and not out["aliasing"]:
        out["reverse_peak_cm_s"] = round(float(np.nanmin(neg)), 1)
    return out


def insonation_deg(steer_deg: float, slope: float) -> float:
    """The angle between the steered beam (pointing deeper) and a vessel of slope dy/dx."""
    st = math.radians(steer_deg)
    b = np.array([math.sin(st), math.cos(st)])
    a = np.array([1.0, slope]) / math.hypot(1.0, slope)
    return math.degrees(math.acos(min(1.0, abs(float(b @ a)))))
