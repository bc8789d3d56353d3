"""The registry's rows are the truth about what renders: every offered view and plane renders,
and everything refused up front is something the engine itself would refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagine_med.engine import registry
from imagine_med.engine.base import EngineError, RenderRequest
from imagine_med.prompt import vocab
from imagine_med.prompt.spec import CaseSpec
from imagine_med.settings import Settings


def test_phantom_rows_match_the_engine() -> None:
    from imagine_med.engine.phantom.regions.chest.region import CT_PLANES, XRAY_VIEWS
    from imagine_med.engine.phantom.renderer_head import PLANES as HEAD_PLANES

    assert registry.RENDERERS[("phantom", "xray", "chest")].views == XRAY_VIEWS
    assert registry.RENDERERS[("phantom", "ct", "chest")].planes == CT_PLANES
    assert registry.RENDERERS[("phantom", "ct", "brain")].planes == HEAD_PLANES
    assert registry.RENDERERS[("phantom", "mri", "brain")].planes == HEAD_PLANES


def _offered() -> list[tuple[str, str, str | None, str | None]]:
    """(modality, region, view, plane) for every view and plane a phantom row offers."""
    out = []
    for (engine, modality, region), row in registry.RENDERERS.items():
        if engine != "phantom":
            continue
        out += [(modality, region, v, None) for v in row.views or ()]
        out += [(modality, region, None, p) for p in row.planes or ()]
    return out


@pytest.mark.parametrize(("modality", "region", "view", "plane"), _offered())
def test_every_offered_view_and_plane_renders(modality: str, region: str, view: str | None,
                                              plane: str | None) -> None:
    spec = CaseSpec(modality=modality, region=region, view=view, plane=plane,
                    width=96, height=96)
    row = registry.check(spec, settings=Settings())
    renderer = registry.get_renderer("phantom", modality, region)
    out = renderer.render(RenderRequest(spec=spec, seed=3, width=96, height=96))
    assert row.engine == "phantom" and row.region == region
    assert out.pixels.shape[:2] == (96, 96)


def test_head_prompts_reach_the_head_rows() -> None:
    """"brain" and "head" both parse to the head's region; the rows serve them, the listing
    names them, and the chest CT renderer no longer draws heads itself."""
    from imagine_med.prompt import parse_one

    for prompt, modality in [("T2 axial brain MRI", "mri"), ("MRI head", "mri"),
                             ("CT head, acute subdural", "ct"), ("non-contrast CT brain", "ct")]:
        spec = parse_one(prompt)
        assert (spec.modality, spec.region) == (modality, "brain"), prompt
        assert registry.check(spec, settings=Settings()).region == "brain"
    listing = registry.describe_available(Settings())
    assert "CT head (axial, coronal, sagittal)" in listing
    assert "MRI brain (axial, coronal, sagittal)" in listing
    chest_ct = registry.get_renderer("phantom", "ct", "chest")
    head_ct = registry.get_renderer("phantom", "ct", "brain")
    assert chest_ct is not head_ct
    spec = CaseSpec(modality="ct", region="brain", width=64, height=64)
    with pytest.raises(EngineError):
        chest_ct.render(RenderRequest(spec=spec, seed=1, width=64, height=64))
    with pytest.raises(registry.Unavailable, match=r"CT head .*MRI brain"):
        registry.check(CaseSpec(modality="mri", region="knee"), settings=Settings())


@pytest.mark.parametrize("modality", ["xray", "ct", "mri"])
def test_refused_up_front_exactly_where_the_engine_refuses(modality: str) -> None:
    """For every region the prompt language knows: check() accepts iff one of the phantom's
    renderers of this modality renders it (each renderer refuses regions it has no model of)."""
    renderers = list({o.target: registry.get_renderer("phantom", modality, o.region)
                      for o in registry.RENDERERS.values()
                      if (o.engine, o.modality) == ("phantom", modality)}.values())
    assert renderers
    for region in sorted(vocab.REGIONS):
        spec = CaseSpec(modality=modality, region=region, width=64, height=64)
        try:
            registry.check(spec, settings=Settings())
            accepted = True
        except registry.Unavailable as exc:
            accepted = False
            assert exc.message.startswith(("X-ray", "CT", "MRI")) and region.replace(
                "_", " ") in exc.message
        rendered = []
        for renderer in renderers:
            try:
                renderer.render(RenderRequest(spec=spec, seed=1, width=64, height=64))
                rendered.append(True)
            except EngineError:
                rendered.append(False)
        assert accepted == any(rendered), region
        assert sum(rendered) <= 1, region  # one renderer per region: no hand-offs


def test_diffusion_is_offered_only_with_a_checkpoint(tmp_path: Path) -> None:
    spec = CaseSpec(modality="mri", region="brain", engine="diffusion")
    bare = Settings(diffusion_model=None)
    assert "diffusion" not in registry.describe_available(bare)
    with pytest.raises(registry.Unavailable, match="IMAGINE_MED_DIFFUSION_MODEL"):
        registry.check(spec, settings=bare)
    configured = Settings(diffusion_model=tmp_path / "model")
    assert registry.check(spec, settings=configured).engine == "diffusion"
    listing = registry.describe_available(configured)
    assert listing.startswith("phantom — X-ray chest") and "diffusion — X-ray, CT, MRI" in listing
    assert registry.check(spec.model_copy(update={"engine": "phantom"}),
                          settings=configured).engine == "phantom"
    knee = spec.model_copy(update={"engine": "phantom", "region": "knee"})
    with pytest.raises(registry.Unavailable, match=r"MRI knee .* \(it is with --engine "
                                                   r"diffusion\)"):
        registry.check(knee, settings=configured)


def test_a_new_region_is_one_row() -> None:
    spec = CaseSpec(modality="xray", region="breast", view="lateral")
    with pytest.raises(registry.Unavailable):
        registry.check(spec, settings=Settings())
    registry.add(registry.Offer("phantom", "xray", "breast", "nowhere:factory",
                                views=("ap", "lateral")))
    try:
        assert registry.check(spec, settings=Settings()).region == "breast"
        assert "X-ray breast (AP, lateral)" in registry.describe_available(Settings())
    finally:
        del registry.RENDERERS[("phantom", "xray", "breast")]
