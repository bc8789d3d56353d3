"""B-mode ultrasound of any region that gives tissue fractions, rendered along beam lines.

Steps (`bmode`): sample the region on the beam grid (samples x lines) -> acoustic properties per
sample from the tissue table (`tissues.acoustic`: impedance, attenuation, scatter) -> random
complex scatterers (fully developed speckle where the density is 1, sparse bright dots where
it is low) -> specular echoes at interfaces from the impedance step along the beam, R =
(Z2 - Z1) / (Z2 + Z1), weighted by the incidence angle, and the transmission losses (1 - R^2)
they leave for everything deeper -> two-way attenuation 2 alpha f depth (so the deep field
behind a stone is in shadow and the field behind bile is enhanced) -> time-gain compensation
for an assumed 0.6 dB/cm/MHz -> the pulse's point spread function (axial Gaussian envelope of
`cycles` periods at f0; lateral width wavelength x F-number at the focus, widening away from
it) -> electronic noise (amplified by the TGC) -> envelope of the analytic (IQ) signal -> log
compression to a dynamic range -> scan conversion to a sector (curvilinear) or rectangle
(linear). Numbers from ../shared/reference/physics.md "Ultrasound" and "Ultrasound additions".

The complex baseband (IQ) form is used: the RF pulse is a Gaussian-enveloped cosine at f0, and
its analytic signal demodulated by f0 is the Gaussian envelope alone, so the envelope is the
modulus of the PSF-filtered complex scatterer field (what a Hilbert transform of the RF line
would give), at a fraction of the cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d, map_coordinates

from imagine_med.engine.phantom.regions.base import Grid, Sample
from imagine_med.engine.phantom.tissues import acoustic, speed

C_MM_PER_US = 1.54  # the scanner's assumed speed of sound, 1540 m/s
SPECULAR_DB = 40.0  # a perfect reflector's echo above liver speckle (RMS) at the same depth
NOISE_DB = -92.0  # electronic noise before TGC, relative to liver speckle at the skin
TGC_MAX_DB = 62.0


@dataclass(frozen=True)
class Probe:
    """A transducer and its settings. Curvilinear: lines fan from a virtual apex `radius_mm`
    behind the face over `sector_deg`; phased (cardiac): the same fan from an apex at the skin
    (`radius_mm` 0: a small footprint steered electronically); linear: parallel lines over
    `width_mm`."""

    kind: str = "curvilinear"
    freq_mhz: float = 3.5
    depth_mm: float = 160.0
    focus_mm: float = 70.0
    aperture_mm: float = 20.0
    radius_mm: float = 45.0
    sector_deg: float = 60.0
    width_mm: float = 40.0
    cycles: float = 3.0
    gain_db: float = 0.0
    dynamic_range_db: float = 60.0
    tgc_alpha: float = 0.6
    lines: int = 192
    sample_mm: float = 0.25

    @property
    def wavelength_mm(self) -> float:
        return C_MM_PER_US / self.freq_mhz

    @property
    def samples(self) -> int:
        return round(self.depth_mm / self.sample_mm) + 1

    def depths(self) -> np.ndarray:
        return np.linspace(0.0, self.depth_mm, self.samples, dtype=np.float32)

    def angles(self) -> np.ndarray:
        half = math.radians(self.sector_deg) / 2
        return np.linspace(-half, half, self.lines, dtype=np.float32)

    def line_spacing_mm(self, depth: np.ndarray) -> np.ndarray:
        """Distance between neighbouring lines at each depth."""
        if self.kind == "linear":
            return np.full_like(depth, self.width_mm / (self.lines - 1))
        dth = math.radians(self.sector_deg) / (self.lines - 1)
        spacing = (self.radius_mm + depth) * np.float32(dth)
        if self.kind == "phased":  # the lines meet at the apex: no spacing below a sample
            spacing = np.maximum(spacing, np.float32(self.sample_mm))
        return spacing

    def beam_grid(self) -> Grid:
        """Every beam sample in probe millimetres: x lateral (image right), y depth below the
        face's centre; rows are depths, columns lines."""
        d = self.depths()[:, None]
        if self.kind == "linear":
            xs = np.linspace(-self.width_mm / 2, self.width_mm / 2, self.lines,
                             dtype=np.float32)[None, :]
            x, y = np.broadcast_to(xs, (d.shape[0], xs.shape[1])), np.broadcast_to(
                d, (d.shape[0], xs.shape[1]))
        else:
            th = self.angles()[None, :]
            r = self.radius_mm + d
            x, y = r * np.sin(th), r * np.cos(th) - self.radius_mm
        x, y = np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y, np.float32)
        return Grid(x, y, np.zeros_like(x), self.sample_mm, "beam", 0.0)

    def to_beam(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sample index, line index, inside the field) for points in probe millimetres."""
        if self.kind == "linear":
            i = y / self.sample_mm
            j = (x + self.width_mm / 2) / (self.width_mm / (self.lines - 1))
        else:
            r = np.hypot(x, y + self.radius_mm)
            th = np.arctan2(x, y + self.radius_mm)
            i = (r - self.radius_mm) / self.sample_mm
            j = (th + math.radians(self.sector_deg) / 2) / (
                math.radians(self.sector_deg) / (self.lines - 1))
        inside = (i >= 0) & (i <= self.samples - 1) & (j >= 0) & (j <= self.lines - 1)
        return i.astype(np.float32), j.astype(np.float32), inside

    def extent_mm(self) -> tuple[float, float, float]:
        """(half width, top, bottom) of the field in probe millimetres."""
        if self.kind == "linear":
            return self.width_mm / 2, 0.0, self.depth_mm
        half = math.radians(self.sector_deg) / 2
        r1 = self.radius_mm + self.depth_mm
        return r1 * math.sin(half), self.radius_mm * math.cos(half) - self.radius_mm, \
            self.depth_mm


@dataclass
class BMode:
    """One frame on the beam grid. `envelope` is the detected amplitude before log compression
    (the test hook for speckle statistics), `db` its log (20 log10, gain applied), `grey` the
    display value in [0, 1] over the dynamic range; `transmission_db` the one-way loss that
    interfaces and attenuation beyond what the TGC assumes left at each sample; `shows` where
    each requested artefact outweighs the anatomy (beam grid)."""

    envelope: np.ndarray
    db: np.ndarray
    grey: np.ndarray
    excess_loss_db: np.ndarray
    probe: Probe
    shows: dict[str, np.ndarray] = field(default_factory=dict)


# --- steps -----------------------------------------------------------------------------------

def properties(sample: Sample) -> dict[str, np.ndarray]:
    """Per beam sample: impedance z, attenuation alpha, scatter intensity and density (by
    partial volume; intensities add, amplitudes do not)."""
    return {
        "z": sample.mix(lambda t: acoustic(t).z),
        "alpha": sample.mix(lambda t: acoustic(t).alpha),
        "intensity": sample.mix(lambda t: acoustic(t).density * acoustic(t).strength ** 2),
        "density": sample.mix(lambda t: acoustic(t).density),
    }


def scatterers(props: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Complex scatterer amplitudes (2, samples, lines): circular Gaussian where the density
    is 1 (many scatterers per cell: Rayleigh envelope), a Bernoulli-thinned field of stronger
    points where it is low, with the same mean intensity."""
    p = np.clip(props["density"], 1e-3, 1.0)
    amp = np.sqrt(props["intensity"] / p / 2.0).astype(np.float32)
    g = rng.standard_normal((2, *p.shape), dtype=np.float32)
    sparse = p < 0.999
    if sparse.any():
        amp = np.where(sparse & (rng.random(p.shape, dtype=np.float32) >= p), 0.0, amp)
    return g * amp


def interfaces(props: dict[str, np.ndarray], probe: Probe, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    """Specular echo amplitudes at impedance steps along each line, and the one-way intensity
    transmission left after all steps above each sample (a product of 1 - R^2)."""
    z = props["z"]
    step = np.zeros_like(z)
    step[:-1] = (z[1:] - z[:-1]) / (z[1:] + z[:-1])
    # incidence: only the part of the impedance gradient along the beam returns to the probe
    gl = np.zeros_like(z)
    spacing = probe.line_spacing_mm(probe.depths())[:, None]
    gl[:, 1:-1] = (z[:, 2:] - z[:, :-2]) / (2 * spacing)
    gr = np.zeros_like(z)
    gr[:-1] = (z[1:] - z[:-1]) / probe.sample_mm
    cos = np.abs(gr) / np.sqrt(gr * gr + gl * gl + 1e-12)
    rough = 1.0 + 0.35 * rng.standard_normal(z.shape, dtype=np.float32)
    echo = step * cos ** 4 * rough * np.float32(10 ** (SPECULAR_DB / 20))
    trans = np.ones_like(z)
    trans[1:] = np.cumprod(np.clip(1.0 - step[:-1] ** 2, 1e-6, 1.0), axis=0)
    return echo.astype(np.float32), trans.astype(np.float32)


def attenuation_db(props: dict[str, np.ndarray], probe: Probe) -> np.ndarray:
    """Two-way loss in dB down each line: 2 f sum(alpha dz)."""
    a = props["alpha"] * np.float32(probe.freq_mhz * probe.sample_mm / 10.0)
    out = np.zeros_like(a)
    out[1:] = np.cumsum(a[:-1], axis=0)
    return 2.0 * out


def tgc_db(probe: Probe) -> np.ndarray:
    """Time-gain compensation for tissue of `tgc_alpha` (dB per depth, a column)."""
    d_cm = probe.depths()[:, None] / 10.0
    return np.minimum(2.0 * probe.tgc_alpha * probe.freq_mhz * d_cm, TGC_MAX_DB).astype(
        np.float32)


def psf(field: np.ndarray, probe: Probe) -> np.ndarray:
    """Axial Gaussian pulse envelope (FWHM = cycles x wavelength / 2, two-way) and a lateral
    beam of FWHM wavelength x F-number at the focus, widening over the depth of field. Kernels
    are energy-normalised, so the speckle's RMS equals the scatterers'."""
    lam = probe.wavelength_mm
    ax_sigma = probe.cycles * lam / 2 / 2.355 / probe.sample_mm
    out = gaussian_filter1d(field, ax_sigma, axis=1, mode="constant") * np.float32(
        math.sqrt(2 * math.sqrt(math.pi) * ax_sigma))
    d = probe.depths()
    f_num = probe.focus_mm / probe.aperture_mm
    w0 = lam * f_num
    dof = 7.0 * lam * f_num ** 2 / 2
    width = w0 * np.sqrt(1.0 + ((d - probe.focus_mm) / dof) ** 2)
    sig = np.maximum(width / 2.355 / probe.line_spacing_mm(d), 0.5)
    bands = np.geomspace(float(sig.min()), float(sig.max()) + 1e-3, 4)
    blurred = [gaussian_filter1d(out, s, axis=2, mode="reflect")
               * np.float32(math.sqrt(2 * math.sqrt(math.pi) * s)) for s in bands]
    pos = np.interp(np.log(sig), np.log(bands), np.arange(len(bands))).astype(np.float32)
    lo = np.clip(np.floor(pos).astype(int), 0, len(bands) - 2)
    w = (pos - lo)[None, :, None]
    stack = np.stack(blurred)  # (bands, 2, samples, lines)
    rows = np.arange(len(d))
    a = stack[lo, :, rows, :].transpose(1, 0, 2)
    b = stack[lo + 1, :, rows, :].transpose(1, 0, 2)
    return a * (1 - w) + b * w


def mirror(field: np.ndarray, trans: np.ndarray, sample_mm: float, loss_db: float = 8.0,
           fade_mm: float = 18.0) -> np.ndarray:
    """Mirror-image artefact: where a line meets a near-total reflector (tissue/air, e.g. the
    diaphragm over the lung), echoes that bounce back off it are placed as deep beyond it as
    their source lies in front, so the liver appears again above the diaphragm."""
    hit = trans < 0.01
    has = hit.any(axis=0)
    if not has.any():
        return field
    i0 = np.where(has, np.argmax(hit, axis=0), trans.shape[0])
    idx = np.arange(trans.shape[0])[:, None]
    src = 2 * i0[None, :] - idx
    use = (idx > i0[None, :]) & (src >= 0)
    src = np.clip(src, 0, trans.shape[0] - 1)
    copy = np.take_along_axis(field, np.broadcast_to(src, field.shape[1:])[None].repeat(2, 0),
                              axis=1)
    copy = gaussian_filter1d(copy, 2.0, axis=2)  # a blurred copy: no stair-steps per line
    # multiple reflections lose more the deeper their mirrored source lies
    k = np.float32(10 ** (-loss_db / 20)) * np.exp(
        -np.maximum(idx - i0[None, :], 0) * np.float32(sample_mm / fade_mm)).astype(np.float32)
    return np.where(use[None], copy * k[None], field)


# --- artefacts as options (each applied on the beam grid, each returning where it shows) -----

FACE_REFLECTION_DB = 10.5  # a reverberation's extra bounce off the probe face (lens R ~ 0.3)
ARTEFACT_SHOWS = 1.0  # an artefact "shows" where its energy exceeds the image's own there
VISIBLE = 10 ** (-22.0 / 10)  # and is seen: 22 dB below liver speckle, 6 dB over black
STRONG = 10.0  # echoes whose side lobes matter: 10 dB over liver speckle (energy)


def shows(extra: np.ndarray, own: np.ndarray, smooth: float = 2.0) -> np.ndarray:
    """Where an artefact's energy (complex, (2, samples, lines)) exceeds the field's own,
    both smoothed over a few samples: where a reader sees the artefact, not the anatomy."""
    e = gaussian_filter1d((extra * extra).sum(0), smooth, axis=0)
    o = gaussian_filter1d((own * own).sum(0), smooth, axis=0)
    return e > ARTEFACT_SHOWS * o


def reverberations(field: np.ndarray, start: np.ndarray, band: np.ndarray,
                   spacing: np.ndarray, bounce_db: np.ndarray, tgc: np.ndarray,
                   count: int) -> tuple[np.ndarray, np.ndarray]:
    """Multiple reflections: the echo band [start, start + band) of each line (start < 0: none)
    returns again `spacing` samples later, `count` times, each time `bounce_db` weaker (the
    reflections and attenuation of the extra round trip), the TGC raising each copy by the
    gain at the depth where it is displayed. Between the probe face and gas the spacing is the
    gas's depth (reverberation); inside a small crystal or a needle, the spacing is its own
    thickness (a comet tail). Returns the field with the copies and where they show."""
    n = field.shape[1]
    idx = np.arange(n)[:, None]
    has = start >= 0
    extra = np.zeros_like(field)
    for k in range(1, count + 1):
        src = idx - k * spacing[None, :]
        ok = has[None, :] & (src >= start[None, :]) & (src < (start + band)[None, :])
        if not ok.any():
            break
        src = np.clip(src, 0, n - 1)
        gain_db = -k * bounce_db[None, :] + tgc[idx] - tgc[src]
        g = np.where(ok, np.power(10.0, gain_db / 20.0, dtype=np.float32), 0.0)
        extra += np.take_along_axis(field, np.broadcast_to(src, field.shape[1:])[None]
                                    .repeat(2, 0), axis=1) * g.astype(np.float32)[None]
    return field + extra, shows(extra, field)


def side_lobe_offsets(probe: Probe, floor_db: float = -60.0) -> list[tuple[float, float]]:
    """(angle in radians, two-way amplitude) of the beam's side-lobe skirt, one per line
    offset: an unapodised aperture D has sinc^2 lobes at (n + 1/2) wavelength / D of
    (1 / ((n + 1/2) pi))^2 two-way (-27 dB for the first); a pulse of a few cycles spans a
    band of frequencies, which smears the lobes beyond the first into a continuous skirt
    with that envelope, (wavelength / (pi D theta))^2, down to `floor_db`; two-way, the
    pattern is a square (sinc^2), so every lobe has the main lobe's sign."""
    lam_d = probe.wavelength_mm / probe.aperture_mm
    if probe.kind == "linear":  # lateral offsets in lines at the focus, as angles
        step = (probe.width_mm / (probe.lines - 1)) / probe.focus_mm
    else:
        step = math.radians(probe.sector_deg) / (probe.lines - 1)
    first = math.ceil(1.5 * lam_d / step)
    last = math.floor(10 ** (-floor_db / 40) / math.pi * lam_d / step)
    return [(k * step, (lam_d / (math.pi * k * step)) ** 2) for k in range(first, last + 1)]


def side_lobes(echo: np.ndarray, probe: Probe) -> np.ndarray:
    """Off-axis echoes: a strong echo at angle theta also returns, weaker, on the lines
    steered theta -/+ each side-lobe angle, at the same range, so bright reflectors (bowel
    gas beside the gallbladder) throw low-level echoes into a neighbouring anechoic lumen
    (pseudo-sludge). `echo`: the strong echoes after gain and the pulse, (..., samples,
    lines)."""
    n, m = echo.shape[-2:]
    out = np.zeros_like(echo)
    line_rad = math.radians(probe.sector_deg / (probe.lines - 1))
    rows = np.arange(n)[:, None]
    cols = np.arange(m)[None, :]
    for ang, amp in side_lobe_offsets(probe):
        a = np.float32(amp)
        if probe.kind != "linear":  # equiangular lines: a fixed number of lines either side
            s = round(ang / line_rad)
            if 0 < s < m:
                out[..., s:] += echo[..., :-s] * a
                out[..., :-s] += echo[..., s:] * a
            continue
        # linear: a fixed angle is a lateral offset growing with depth
        pitch = probe.width_mm / (probe.lines - 1)
        sh = np.round(probe.depths() * math.tan(ang) / pitch).astype(int)[:, None]
        for sign in (-1, 1):
            src = cols + sign * sh
            ok = (src >= 0) & (src < m)
            out += np.where(ok, echo[..., rows, np.clip(src, 0, m - 1)], 0.0) * a
    return out


def refraction_density(speed_m_s: np.ndarray, probe: Probe, rays: int = 4) -> np.ndarray:
    """Edge shadows: rays (`rays` per line) marched down the beam grid bend by the lateral
    gradient of the speed of sound (the ray equation, dphi/dz = -(1/c) dc/dx: toward slower
    tissue), so at the rounded edge of slower fluid (bile, a cyst) grazing rays turn inward
    and leave a thin ray-free band beyond each lateral edge. Returns the rays' one-way
    intensity per sample relative to straight rays (1 where nothing bends)."""
    n, m = speed_m_s.shape
    c = np.clip(speed_m_s, 1400.0, 1650.0)  # gas and bone reflect; they do not steer the beam
    spacing = probe.line_spacing_mm(probe.depths())
    pos = (np.arange(m * rays, dtype=np.float64) + 0.5) / rays - 0.5
    phi = np.zeros_like(pos)
    lines = np.arange(m, dtype=np.float64)
    grad = np.gradient(c, axis=1) / spacing[:, None]  # m/s per mm across the lines
    dz = probe.sample_mm
    out = np.empty((n, m), np.float32)
    ref = _splat(pos, m) + 1e-9
    for i in range(n):
        p = np.clip(pos, 0.0, m - 1.0)
        phi -= np.interp(p, lines, grad[i]) / np.interp(p, lines, c[i]) * dz
        np.clip(phi, -1.0, 1.0, out=phi)
        pos += np.tan(phi) * dz / spacing[i]
        out[i] = _splat(pos, m) / ref
    return gaussian_filter1d(out, 0.7, axis=1)


def _splat(pos: np.ndarray, m: int) -> np.ndarray:
    """Rays' weights deposited on the lines by linear interpolation (rays off the field lost)."""
    f = np.floor(pos)
    w = pos - f
    i = f.astype(int)
    out = np.zeros(m)
    for k, wk in ((i, 1.0 - w), (i + 1, w)):
        ok = (k >= 0) & (k < m)
        out += np.bincount(k[ok], wk[ok], minlength=m)
    return out


def compress(env: np.ndarray, probe: Probe) -> tuple[np.ndarray, np.ndarray]:
    """20 log10 with gain; grey in [0, 1] so that liver speckle sits near 0.42 (the top of the
    dynamic range 32 dB above its RMS)."""
    db = 20.0 * np.log10(env + 1e-7) + np.float32(probe.gain_db)
    top = 32.0
    grey = np.clip((db - (top - probe.dynamic_range_db)) / probe.dynamic_range_db, 0.0, 1.0)
    return db.astype(np.float32), grey.astype(np.float32)


def bmode(sample: Sample, probe: Probe, rng: np.random.Generator,
          artefacts: Mapping[str, np.ndarray | None] | None = None) -> BMode:
    """One frame on the beam grid from tissue fractions sampled there (`probe.beam_grid()`).
    `artefacts` asks for options: "edge_shadow" and "side_lobe" (None: physics everywhere),
    "reverberation" and "comet_tail" (a beam-grid mask of the reflectors that ring); where
    each shows is returned in `BMode.shows`."""
    opts = artefacts or {}
    props = properties(sample)
    field = scatterers(props, rng)
    echo, trans = interfaces(props, probe, rng)
    field[0] += echo
    loss = attenuation_db(props, probe)
    tgc = tgc_db(probe)
    if opts.get("comet_tail") is not None:
        trans = narrow_shadow(trans, opts["comet_tail"], probe)
    gain = np.power(10.0, (tgc - loss) / 20.0, dtype=np.float32) * trans
    seen: dict[str, np.ndarray] = {}
    if "edge_shadow" in opts:  # one-way intensity of the bent rays = two-way amplitude
        density = refraction_density(sample.mix(speed), probe)
        gain = gain * density
        seen["edge_shadow"] = density < 0.5
    field *= gain[None]
    field = psf(field, probe)
    field = mirror(field, trans, probe.sample_mm)
    if "side_lobe" in opts:  # of the strong echoes (> 10 dB over liver speckle) only
        strong = field * ((field * field).sum(0) > STRONG)[None]
        lobes = side_lobes(strong, probe)
        seen["side_lobe"] = shows(lobes, field) & (
            gaussian_filter1d((lobes * lobes).sum(0), 2.0, axis=0) > VISIBLE)
        field += lobes
    for name in ("reverberation", "comet_tail"):
        source = opts.get(name)
        if source is not None and source.any():
            field, seen[name] = ring(name, source, field, props, loss, tgc[:, 0], probe)
    noise = np.float32(10 ** (NOISE_DB / 20) / math.sqrt(2)) * np.power(
        10.0, tgc / 20.0, dtype=np.float32)[None]
    field += rng.standard_normal(field.shape, dtype=np.float32) * noise
    env = np.sqrt(field[0] ** 2 + field[1] ** 2)
    db, grey = compress(env, probe)
    excess = 0.5 * (loss - 2.0 * probe.tgc_alpha * probe.freq_mhz * probe.depths()[:, None] / 10
                    ) - 10 * np.log10(np.maximum(trans, 1e-6))
    return BMode(env, db, grey, excess.astype(np.float32), probe, seen)


def narrow_shadow(trans: np.ndarray, source: np.ndarray, probe: Probe) -> np.ndarray:
    """A focus narrower than the beam blocks only its share of it: the transmission it takes
    from the lines through it is spread over the beam's width at its depth (the lateral
    FWHM), so small crystals ring without casting a shadow of their own."""
    has = source.any(axis=0)
    if not has.any():
        return trans
    n = source.shape[0]
    cols = np.arange(source.shape[1])
    top = np.argmax(source, axis=0)
    bottom = n - 1 - np.argmax(source[::-1], axis=0)
    ratio = np.where(has, trans[np.minimum(bottom + 1, n - 1), cols]
                     / np.maximum(trans[np.maximum(top - 1, 0), cols], 1e-6), 1.0)
    depth = float(probe.depths()[int(np.median(top[has]))])
    f_num = probe.focus_mm / probe.aperture_mm
    width = probe.wavelength_mm * f_num * math.sqrt(
        1.0 + ((depth - probe.focus_mm) / (3.5 * probe.wavelength_mm * f_num ** 2)) ** 2)
    sigma = width / 2.355 / float(probe.line_spacing_mm(np.array([depth]))[0])
    spread = 1.0 - gaussian_filter1d(1.0 - ratio, max(sigma, 0.5))
    below = np.arange(n)[:, None] > bottom[None, :]
    fix = np.where(below & has[None, :], spread[None, :] / np.maximum(ratio[None, :], 1e-6),
                   1.0)
    return (trans * fix).astype(np.float32)


def ring(name: str, source: np.ndarray, field: np.ndarray, props: dict[str, np.ndarray],
         loss: np.ndarray, tgc: np.ndarray, probe: Probe) -> tuple[np.ndarray, np.ndarray]:
    """The multiples of the reflectors in `source` (first sample per line). Reverberation:
    between the probe face and the reflector (gas), spaced by its depth, each round trip
    losing the face's reflection and the two-way attenuation to the reflector again. Comet
    tail: inside the reflector, spaced by its own thickness, each bounce losing the two faces'
    reflections, 20 log10(R^2), and the attenuation across it."""
    m = source.shape[1]
    cols = np.arange(m)
    has = source.any(axis=0)
    top = np.where(has, np.argmax(source, axis=0), 0)
    if name == "reverberation":
        start = np.where(has, np.maximum(top - 3, 0), -1)
        band = np.full(m, 6)
        spacing = np.maximum(top, 1)
        bounce = FACE_REFLECTION_DB + loss[top, cols]
        return reverberations(field, start, band, spacing, bounce, tgc, 4)
    thick = np.maximum(source.sum(axis=0), 2)
    inner = np.clip(top + thick // 2, 0, source.shape[0] - 1)
    z_in, z_out = props["z"][inner, cols], props["z"][np.maximum(top - 3, 0), cols]
    r = np.clip(np.abs(z_in - z_out) / (z_in + z_out), 0.05, 0.99)
    across = 2 * props["alpha"][inner, cols] * probe.freq_mhz * thick * probe.sample_mm / 10
    bounce = -40.0 * np.log10(r) + across
    start = np.where(has, np.maximum(top - 1, 0), -1)
    return reverberations(field, start, thick + 1, thick, bounce, tgc, 10)


def scan_convert(beam: np.ndarray, probe: Probe, x: np.ndarray, y: np.ndarray,
                 order: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Beam-grid values at display points (probe mm); zero outside the field."""
    i, j, inside = probe.to_beam(x, y)
    out = map_coordinates(beam, [i.ravel(), j.ravel()], order=order, mode="nearest"
                          ).reshape(x.shape)
    return np.where(inside, out, 0).astype(beam.dtype), inside


def behind(mask_beam: np.ndarray) -> np.ndarray:
    """Beam samples deeper than any sample of `mask_beam` on their line."""
    seen = np.maximum.accumulate(mask_beam, axis=0)
    return seen & ~mask_beam


# --- colour Doppler ----------------------------------------------------------------------

def doppler_velocity(vx: np.ndarray, vy: np.ndarray, steer_deg: float, scale_cm_s: float,
                     rng: np.random.Generator, noise: float = 0.06) -> np.ndarray:
    """The mean velocity a colour Doppler estimator shows (cm/s, positive toward the probe):
    the flow's component along the steered beam, the estimator's scatter, then wrapped into
    the Nyquist range [-scale, scale) (aliasing: c PRF / (4 f0) is the scale)."""
    st = math.radians(steer_deg)
    toward = -(vx * np.float32(math.sin(st)) + vy * np.float32(math.cos(st)))
    est = toward + np.float32(noise * scale_cm_s) * rng.standard_normal(toward.shape,
                                                                         dtype=np.float32)
    s = np.float32(scale_cm_s)
    return (np.mod(est + s, 2 * s) - s).astype(np.float32), toward.astype(np.float32)


def colour_map(v: np.ndarray, scale_cm_s: float) -> np.ndarray:
    """Red (toward the probe) to yellow, blue (away) to cyan, brighter with speed (RGB)."""
    m = np.clip(np.abs(v) / np.float32(scale_cm_s), 0.0, 1.0)
    hot = np.round(60 + 195 * np.minimum(m / 0.7, 1.0)).astype(np.uint8)
    tint = np.round(220 * np.clip((m - 0.7) / 0.3, 0, 1)).astype(np.uint8)
    out = np.zeros((*v.shape, 3), np.uint8)
    pos = v >= 0
    out[..., 0] = np.where(pos, hot, 0)
    out[..., 2] = np.where(pos, 0, hot)
    out[..., 1] = tint
    return out


def prf_hz(scale_cm_s: float, freq_mhz: float) -> float:
    """Pulse repetition frequency whose Nyquist velocity is the scale: v = c PRF / (4 f0)."""
    return 4.0 * freq_mhz * 1e6 * scale_cm_s / 100.0 / (C_MM_PER_US * 1000.0)


__all__: list[str] = ["BMode", "Probe", "behind", "bmode", "colour_map", "doppler_velocity",
                      "prf_hz", "scan_convert"]
