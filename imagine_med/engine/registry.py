"""What can be rendered here: rows keyed by (engine, modality, region), each naming its renderer.

Why one table: the same rows answer "which renderer serves this job" (the worker) and "can this
prompt be rendered at all" (the bot and the CLI, before anything is queued), so the refusal a
user sees up front and the renderer a worker builds never disagree. A new region or modality is
one row. Targets are import paths, so asking for the phantom engine never imports torch; a
renderer is built once per process and kept warm (the queue's workers rely on that).

An engine is *configured* when its rows need no setting, or the setting they need is present
(the diffusion engine needs a checkpoint, IMAGINE_MED_DIFFUSION_MODEL); only configured engines
are offered or listed as available.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from imagine_med.engine.base import EngineError, Renderer

ANY_REGION = None  # a row for every region (an engine that draws whatever the prompt names)


@dataclass(frozen=True)
class Offer:
    """One row: `engine` renders `modality` of `region` (None: any region) with `target`
    ("module:factory"). `views` / `planes` list what it renders (None: not restricted).
    `needs` names the setting that must be set for the engine to be usable here."""

    engine: str
    modality: str
    region: str | None
    target: str
    views: tuple[str, ...] | None = None
    planes: tuple[str, ...] | None = None
    needs: str | None = None
    stains: tuple[str, ...] | None = None       # histology: stains it renders
    antibodies: tuple[str, ...] | None = None   # histology: IHC antibodies it renders

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Offer:
        views, planes = doc.get("views"), doc.get("planes")
        stains, antibodies = doc.get("stains"), doc.get("antibodies")
        return cls(doc["engine"], doc["modality"], doc.get("region"), doc["target"],
                   tuple(views) if views is not None else None,
                   tuple(planes) if planes is not None else None, doc.get("needs"),
                   tuple(stains) if stains is not None else None,
                   tuple(antibodies) if antibodies is not None else None)


class Unavailable(EngineError):
    """A request that no configured engine renders; `message` names what is available."""


# (engine, modality, region) -> Offer
RENDERERS: dict[tuple[str, str, str | None], Offer] = {}


def add(offer: Offer) -> None:
    RENDERERS[(offer.engine, offer.modality, offer.region)] = offer


# The phantom engine (default): a seeded 3D chest rendered as radiographs and CT slices.
# Keep views/planes equal to regions/chest/region.py's XRAY_VIEWS / CT_PLANES (a test checks).
_CHEST = "imagine_med.engine.phantom.regions.chest.renderer"
add(Offer("phantom", "xray", "chest", f"{_CHEST}:xray_renderer", views=("pa", "ap", "lateral")))
add(Offer("phantom", "ct", "chest", f"{_CHEST}:ct_renderer",
          planes=("axial", "coronal", "sagittal")))
# The head (regions/head): one seeded 3D head as head CT and brain MRI. The region is the
# parser's name for brain/head prompts ("brain"); keep planes equal to renderer_head.PLANES.
add(Offer("phantom", "ct", "brain", "imagine_med.engine.phantom.renderer_head:head_ct_renderer",
          planes=("axial", "coronal", "sagittal")))
add(Offer("phantom", "mri", "brain", "imagine_med.engine.phantom.renderer_head:mri_renderer",
          planes=("axial", "coronal", "sagittal")))
# Abdominal ultrasound (regions/abdomen_us, issue 16): one B-mode renderer draws the right
# upper quadrant (liver, gallbladder, right kidney, Morison's pouch) for the parser's
# gallbladder, liver, kidney and abdomen regions, and the left upper quadrant for the spleen.
for _r in ("gallbladder", "liver", "kidney", "abdomen", "spleen", "carotid"):
    add(Offer("phantom", "us", _r, "imagine_med.engine.phantom.renderer_us:us_renderer"))

# Skin (issue 18, regions/skin): dermoscopy and clinical photographs; "skin" is the parser's
# region for dermoscopy prompts.
add(Offer("phantom", "derm", "skin", "imagine_med.engine.phantom.renderer_skin:skin_renderer"))

# Teeth (issue 19, regions/dental): panoramic films (orthopantomograms) through the focal
# trough of physics/panoramic.py, bitewing and periapical films through physics/radiography.py;
# keep views equal to renderer_dental.VIEWS.
add(Offer("phantom", "xray", "teeth", "imagine_med.engine.phantom.renderer_dental:dental_renderer",
          views=("panoramic", "bitewing", "periapical")))

# The abdomen on plain films (issue 19, regions/abdomen_xr): supine and erect AP; keep views
# equal to renderer_axr.VIEWS.
add(Offer("phantom", "xray", "abdomen", "imagine_med.engine.phantom.renderer_axr:axr_renderer",
          views=("supine", "erect")))

# The diffusion engine: one local checkpoint serves every modality and region through
# per-modality prompt templates; all rows share one loaded model.
for _m in ("xray", "ct", "mri", "us", "histo", "derm", "fundus"):
    add(Offer("diffusion", _m, ANY_REGION, "imagine_med.engine.diffusion.engine:create_renderer",
              needs="diffusion_model"))

# Sketches (issue 24): a drawn label map (CaseSpec.sketch) rendered by the phantom physics in
# the spec's modality, whatever region it draws. Not a table row: it is not a region one can ask
# for in words, so listings of what is available leave it out.
SKETCH_REGION = "sketch"
SKETCH_MODALITIES = ("xray", "ct", "mri")
SKETCH_OFFERS = {m: Offer("phantom", m, SKETCH_REGION,
                          "imagine_med.engine.phantom.sketch.render:renderer")
                 for m in SKETCH_MODALITIES}


def sketch_offer(engine: str, modality: str) -> Offer:
    """The renderer of a sketch job, or Unavailable saying what a sketch renders as."""
    if engine != "phantom" or modality not in SKETCH_OFFERS:
        what = MODALITY_NAMES.get(modality, modality)
        raise Unavailable("A sketch is rendered by the phantom engine as a chest film (X-ray), "
                          f"a CT slice or an MRI slice; not {what} with the {engine} engine.")
    return SKETCH_OFFERS[modality]


MODALITY_NAMES = {"xray": "X-ray", "ct": "CT", "mri": "MRI", "us": "ultrasound",
                  "histo": "histology", "derm": "dermoscopy", "fundus": "fundus photo"}
VIEW_NAMES = {"pa": "PA", "ap": "AP", "dp": "DP", "cross_table": "horizontal-beam lateral"}
# How a row's region reads where it is not the parser's word for it ("CT head", "MRI brain").
REGION_NAMES = {("ct", "brain"): "head"}
SETTING_ENV = {"diffusion_model": "IMAGINE_MED_DIFFUSION_MODEL"}

# (engine, modality) -> {target: warm renderer}
_cache: dict[tuple[str, str], dict[str, Renderer]] = {}
_lock = threading.Lock()


def _settings(settings: Any) -> Any:
    if settings is not None:
        return settings
    from imagine_med.settings import get_settings

    return get_settings()


def is_configured(offer: Offer, settings: Any = None) -> bool:
    return offer.needs is None or bool(getattr(_settings(settings), offer.needs, None))


def offers(settings: Any = None) -> list[Offer]:
    """The rows of configured engines, in a stable order (engine, modality, region)."""
    s = _settings(settings)
    order = list(MODALITY_NAMES)
    rank = {k: i for i, k in enumerate(RENDERERS)}  # within a modality: the table's order
    return sorted((o for o in RENDERERS.values() if is_configured(o, s)),
                  key=lambda o: (o.engine != "phantom", o.engine,
                                 order.index(o.modality) if o.modality in order else len(order),
                                 o.modality, rank.get((o.engine, o.modality, o.region), 0),
                                 o.region or ""))


def available(settings: Any = None) -> list[tuple[str, str]]:
    """(engine, modality) pairs of configured engines (what a worker can warm up)."""
    return sorted({(o.engine, o.modality) for o in offers(settings)})


def region_name(modality: str, region: str) -> str:
    return REGION_NAMES.get((modality, region), region.replace("_", " "))


def _names(words: Iterable[str]) -> str:
    return ", ".join(VIEW_NAMES.get(w, w) for w in words)


def describe(rows: Iterable[Offer]) -> str:
    """e.g. "phantom — X-ray chest (PA, AP, lateral), CT chest (axial, coronal, sagittal)"."""
    by_engine: dict[str, list[str]] = {}
    for o in rows:
        what = MODALITY_NAMES.get(o.modality, o.modality)
        if o.region is not None:
            what += f" {region_name(o.modality, o.region)}"
        detail = o.views if o.views is not None else o.planes
        if detail:
            what += f" ({_names(detail)})"
        by_engine.setdefault(o.engine, []).append(what)
    if not by_engine:
        return "nothing (no engine is configured)"
    parts = []
    for engine, items in by_engine.items():
        any_region = all(o.region is None for o in rows if o.engine == engine)
        parts.append(f"{engine} — {', '.join(items)}" + (" (any region)" if any_region else ""))
    return "; ".join(parts)


def describe_available(settings: Any = None) -> str:
    rows = offers(settings)
    return describe(rows)


def _asked(modality: str, region: str | None, view: str | None = None) -> str:
    """The request in its own words: "MRI brain", "X-ray teeth (panoramic view)"."""
    what = MODALITY_NAMES.get(modality, modality)
    what = f"{what} {region_name(modality, region)}" if region else what
    if view:
        what += f" ({VIEW_NAMES.get(view, view)} view)"
    return what[0].upper() + what[1:]


def find(engine: str, modality: str, region: str | None,
         rows: Iterable[Offer]) -> Offer | None:
    """The row serving this request: its own region first, then an any-region row; a request
    naming no region takes the engine's first row for the modality (the phantom's chest)."""
    candidates = [o for o in rows if o.engine == engine and o.modality == modality]
    exact = [o for o in candidates if region is not None and o.region == region]
    anywhere = [o for o in candidates if o.region is None]
    if exact or anywhere:
        return (exact or anywhere)[0]
    if region is None and candidates:
        return candidates[0]
    return None


def check(spec: Any, rows: Iterable[Offer] | None = None, settings: Any = None) -> Offer:
    """The row that will render `spec`, or Unavailable saying, in the words of the request,
    what is missing and what is available. `rows` defaults to this process's configured rows
    (the queue passes what its live workers announce)."""
    rows = list(offers(settings) if rows is None else rows)
    listing = describe(rows)
    engine, modality, region = spec.engine, spec.modality, spec.region
    if region == SKETCH_REGION:
        if not any(o.engine == "phantom" and o.modality == modality for o in rows):
            raise Unavailable(f"No phantom worker renders {MODALITY_NAMES.get(modality)} here, "
                              "so the sketch cannot be rendered now.")
        return sketch_offer(engine, modality)
    asked = _asked(modality, region)
    if not any(o.engine == engine for o in rows):
        known = [o for o in RENDERERS.values() if o.engine == engine and o.needs]
        if known:
            env = SETTING_ENV.get(known[0].needs or "", known[0].needs)
            raise Unavailable(f"The {engine} engine is not set up here (no checkpoint: {env} "
                              f"is not set), so {asked} cannot be rendered with it; "
                              f"available: {listing}.")
        raise Unavailable(f"There is no {engine} engine here; available: {listing}.")
    view = getattr(spec, "view", None) if modality == "xray" else None
    row = find(engine, modality, region, rows)
    if row is None:
        elsewhere = [o.engine for o in rows
                     if o.engine != engine and find(o.engine, modality, region, [o])]
        hint = f" (it is with --engine {elsewhere[0]})" if elsewhere else ""
        raise Unavailable(f"{_asked(modality, region, view)} is not available yet from the "
                          f"{engine} engine{hint}; available: {listing}.")
    if row.views is not None and view is not None and view not in row.views:
        raise Unavailable(f"{_asked(modality, region, view)} is not available yet; "
                          f"available: {listing}.")
    plane = getattr(spec, "plane", None)
    if row.planes is not None and plane is not None and plane not in row.planes:
        raise Unavailable(f"{asked} in the {plane} plane is not available yet; available: "
                          f"{listing}.")
    _check_stain(spec, row, asked)
    return row


def _check_stain(spec: Any, row: Offer, asked: str) -> None:
    """A histology stain or IHC antibody the row does not render, refused before queueing."""
    from imagine_med.engine.phantom.histo_organs import STAIN_NAMES

    stain = getattr(spec, "stain", None)
    if row.stains is not None and stain is not None and stain not in row.stains:
        names = ", ".join(STAIN_NAMES.get(s, s) for s in row.stains)
        raise Unavailable(f"{asked} is rendered with {names}; "
                          f"{STAIN_NAMES.get(stain, stain)} is not available yet.")
    antibody = getattr(spec, "antibody", None)
    if stain == "ihc" and row.antibodies is not None and antibody is not None \
            and antibody not in row.antibodies:
        names = ", ".join(a.upper() for a in row.antibodies)
        organ = str(getattr(spec, "region", "") or "").replace("_", " ")
        raise Unavailable(f"Immunohistochemistry of the {organ} is rendered with "
                          f"{names}; {antibody.upper()} is not available yet.")


def get_renderer(engine: str, modality: str, region: str | None = None) -> Renderer:
    """The warm renderer for this request, or an EngineError listing what exists. Built from
    any row, configured or not: an engine that lacks its setting says so itself."""
    row = (sketch_offer(engine, modality) if region == SKETCH_REGION
           else find(engine, modality, region, RENDERERS.values()))
    if row is None:
        raise Unavailable(f"{_asked(modality, region)} is not available yet from the {engine} "
                          f"engine; available: {describe_available()}.")
    with _lock:
        warm = _cache.setdefault((engine, modality), {})
        if row.target not in warm:
            module_name, _, factory_name = row.target.partition(":")
            factory = getattr(importlib.import_module(module_name), factory_name)
            warm[row.target] = factory()
        return warm[row.target]


def register(engine: str, modality: str, target: str, region: str | None = ANY_REGION, *,
             views: tuple[str, ...] | None = None, planes: tuple[str, ...] | None = None
             ) -> list[Offer]:
    """Add a row (plugins, tests); returns the rows it replaced, for `restore`. A row without
    a region serves every region of its modality and replaces the pair's other rows: that is
    what the worker's `--renderer ENGINE:MODALITY=module:factory` means."""
    pair = (engine, modality)
    replaced = [o for k, o in RENDERERS.items()
                if k[:2] == pair and (region is ANY_REGION or k[2] == region)]
    for o in replaced:
        del RENDERERS[(o.engine, o.modality, o.region)]
    add(Offer(engine, modality, region, target, views, planes))
    forget(engine, modality)
    return replaced


def restore(engine: str, modality: str, rows: Iterable[Offer]) -> None:
    """Undo `register`: the pair's rows become `rows` again."""
    for key in [k for k in RENDERERS if k[:2] == (engine, modality)]:
        del RENDERERS[key]
    for o in rows:
        add(o)
    forget(engine, modality)


def forget(engine: str, modality: str) -> None:
    """Drop warm renderers of (engine, modality): the next job builds afresh."""
    with _lock:
        _cache.pop((engine, modality), None)

# Histology (issue 15, regions/liver_tissue): a liver biopsy field, H&E / PAS / PAS-D.
from imagine_med.engine.phantom.histo_organs import ANTIBODIES_OF, STAINS_OF  # noqa: E402

add(Offer("phantom", "histo", "liver", "imagine_med.engine.phantom.renderer_histo:histo_renderer",
          stains=STAINS_OF["liver"]))
add(Offer("phantom", "histo", "breast", "imagine_med.engine.phantom.renderer_ihc:ihc_renderer",
          stains=STAINS_OF["breast"], antibodies=ANTIBODIES_OF["breast"]))
# More organs (regions/<organ>_tissue): renal cortex, colonic mucosa, lymph node, skin.
for _organ in ("kidney", "colon", "lymph_node", "skin"):
    add(Offer("phantom", "histo", _organ,
              "imagine_med.engine.phantom.renderer_organ:organ_histo_renderer",
              stains=STAINS_OF[_organ], antibodies=ANTIBODIES_OF[_organ]))
# Pelvic ultrasound (regions/pelvis_us, issue 16): transabdominal sagittal, early pregnancy,
# the pelvic FAST view.
add(Offer("phantom", "us", "pelvis",
          "imagine_med.engine.phantom.renderer_us_pelvis:pelvis_us_renderer"))
# Cardiac ultrasound (regions/heart_us, issue 16): the subcostal four-chamber view with a
# phased array, the pericardial view of a FAST scan.
add(Offer("phantom", "us", "heart",
          "imagine_med.engine.phantom.renderer_us_cardiac:cardiac_us_renderer"))
# Thyroid ultrasound (regions/thyroid_us, issue 16): transverse, linear probe, TI-RADS.
add(Offer("phantom", "us", "thyroid",
          "imagine_med.engine.phantom.renderer_us_thyroid:thyroid_us_renderer"))
# Leg veins (regions/vessels_us/leg, issue 16): compression ultrasound as a split screen, and
# the femoral artery's spectral Doppler trace.
add(Offer("phantom", "us", "leg_veins",
          "imagine_med.engine.phantom.renderer_us_vessels:leg_vessels_renderer"))

# The fundus (regions/retina, issue 17): colour fundus photographs of one seeded eye.
add(Offer("phantom", "fundus", "retina",
          "imagine_med.engine.phantom.renderer_fundus:fundus_renderer"))
# Bones and joints (issue 19, regions/limb): wrist films; keep views equal to
# regions/limb/views.VIEWS.
add(Offer("phantom", "xray", "wrist", "imagine_med.engine.phantom.renderer_limb:limb_renderer",
          views=("pa", "ap", "lateral", "oblique")))
add(Offer("phantom", "xray", "ankle", "imagine_med.engine.phantom.renderer_limb:limb_renderer",
          views=("ap", "mortise", "lateral")))
add(Offer("phantom", "xray", "hand", "imagine_med.engine.phantom.renderer_limb:limb_renderer",
          views=("pa", "ap", "lateral", "oblique")))
add(Offer("phantom", "xray", "elbow", "imagine_med.engine.phantom.renderer_limb:limb_renderer",
          views=("ap", "lateral")))
add(Offer("phantom", "xray", "hip", "imagine_med.engine.phantom.renderer_limb:limb_renderer",
          views=("ap",)))
add(Offer("phantom", "xray", "shoulder",
          "imagine_med.engine.phantom.renderer_limb:limb_renderer",
          views=("ap", "scapular_y")))
add(Offer("phantom", "xray", "knee", "imagine_med.engine.phantom.renderer_limb:limb_renderer",
          views=("ap", "lateral", "cross_table", "skyline")))
add(Offer("phantom", "xray", "foot", "imagine_med.engine.phantom.renderer_limb:limb_renderer",
          views=("dp", "oblique", "lateral")))
# The axial skeleton (issue 19, regions/axial): cervical and lumbar spine, the full pelvis;
# "spine" alone goes to the same renderer (the level named decides which).
for _region, _views in (("cervical_spine", ("lateral", "ap", "open_mouth")),
                        ("lumbar_spine", ("ap", "lateral", "oblique")), ("pelvis", ("ap",)),
                        ("spine", ("ap", "lateral", "open_mouth", "oblique"))):
    add(Offer("phantom", "xray", _region,
              "imagine_med.engine.phantom.renderer_axial:axial_renderer", views=_views))
