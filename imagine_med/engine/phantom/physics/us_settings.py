"""The prompt's scanner settings (prompt/scan.py) applied to a probe, within what that kind
of transducer does: curvilinear 2-6 MHz for the abdomen and pelvis, linear 5-18 MHz for the
neck, vessels and small parts, phased 1.5-5 MHz for the heart (typical clinical probes,
physics.md "Ultrasound"); depth within the kind's usual field. A setting the probe cannot
take is used at its nearest limit and the key says so."""

from __future__ import annotations

import dataclasses

from imagine_med.engine.phantom.physics.ultrasound import Probe

PROBE_MHZ = {"curvilinear": (2.0, 6.0), "linear": (5.0, 18.0), "phased": (1.5, 5.0)}
PROBE_DEPTH_CM = {"curvilinear": (6.0, 30.0), "linear": (2.0, 8.0), "phased": (6.0, 30.0)}


def _within(value: float, lo: float, hi: float) -> float:
    return min(max(value, lo), hi)


def with_settings(probe: Probe, us) -> Probe:
    """`probe` with the requested settings (None fields keep the probe's own)."""
    if us is None:
        return probe
    kind = probe.kind if probe.kind in PROBE_MHZ else "curvilinear"
    change: dict[str, float] = {}
    if us.freq_mhz is not None:
        change["freq_mhz"] = _within(us.freq_mhz, *PROBE_MHZ[kind])
    if us.depth_cm is not None:
        change["depth_mm"] = 10 * _within(us.depth_cm, *PROBE_DEPTH_CM[kind])
    depth = change.get("depth_mm", probe.depth_mm)
    if us.focus_cm is not None:
        change["focus_mm"] = _within(10 * us.focus_cm, 5.0, depth)
    elif "depth_mm" in change:  # the focus stays at the same fraction of the field
        change["focus_mm"] = probe.focus_mm * depth / probe.depth_mm
    if us.gain_db is not None:
        change["gain_db"] = us.gain_db
    if us.dynamic_range_db is not None:
        change["dynamic_range_db"] = us.dynamic_range_db
    return dataclasses.replace(probe, **change)


def settings_note(probe: Probe, us) -> str:
    """A sentence for the key on each requested setting the probe could not take ('' when
    every one was used as asked)."""
    if us is None:
        return ""
    notes = []
    if us.freq_mhz is not None and abs(probe.freq_mhz - us.freq_mhz) > 1e-6:
        lo, hi = PROBE_MHZ.get(probe.kind, PROBE_MHZ["curvilinear"])
        notes.append(f"{us.freq_mhz:g} MHz was asked; a {probe.kind} probe works at {lo:g}-"
                     f"{hi:g} MHz, so {probe.freq_mhz:g} MHz was used.")
    if us.depth_cm is not None and abs(probe.depth_mm - 10 * us.depth_cm) > 1e-6:
        notes.append(f"Depth {us.depth_cm:g} cm was asked; this {probe.kind} view shows "
                     f"{probe.depth_mm / 10:g} cm.")
    if us.focus_cm is not None and abs(probe.focus_mm - 10 * us.focus_cm) > 1e-6:
        notes.append(f"Focus {us.focus_cm:g} cm was asked; it was set at "
                     f"{probe.focus_mm / 10:g} cm, within the field.")
    return " ".join(notes)
