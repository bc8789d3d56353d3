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
    from imagine_med.engine.phantom.model import CT_PLANES, XRAY_VIEWS

    assert registry.RENDERERS[("phantom", "xray", "chest")].views == XRAY_VIEWS
    assert registry.RENDERERS[("phantom", "ct", "chest")].planes == CT_PLANES


@pytest.mark.parametrize(("modality", "view", "plane"), [
    ("xray", v, None) for v in ("pa", "ap", "lateral")] + [
    ("ct", None, p) for p in ("axial", "coronal", "sagittal")])
def test_every_offered_view_and_plane_renders(modality: str, view: str | None,
                                              plane: str | None) -> None:
    spec = CaseSpec(modality=modality, region="chest", view=view, plane=plane,
                    width=96, height=96)
    row = registry.check(spec, settings=Settings())
    renderer = registry.get_renderer("phantom", modality, "chest")
    out = renderer.render(RenderRequest(spec=spec, seed=3, width=96, height=96))
    assert row.engine == "phantom" and out.pixels.shape[:2] == (96, 96)


@pytest.mark.parametrize("modality", ["xray", "ct"])
def test_refused_up_front_exactly_where_the_engine_refuses(modality: str) -> None:
    """For every region the prompt language knows: check() accepts iff the phantom renders."""
    renderer = registry.get_renderer("phantom", modality)
    for region in sorted(vocab.REGIONS):
        spec = CaseSpec(modality=modality, region=region, width=64, height=64)
        try:
            registry.check(spec, settings=Settings())
            accepted = True
        except registry.Unavailable as exc:
            accepted = False
            assert exc.message.startswith(("X-ray", "CT")) and region.replace("_", " ") in (
                exc.message)
        try:
            renderer.render(RenderRequest(spec=spec, seed=1, width=64, height=64))
            rendered = True
        except EngineError:
            rendered = False
        assert accepted == rendered, region


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
    with pytest.raises(registry.Unavailable, match=r"MRI brain .* \(it is with --engine "
                                                   r"diffusion\)"):
        registry.check(spec.model_copy(update={"engine": "phantom"}), settings=configured)


def test_a_new_region_is_one_row() -> None:
    spec = CaseSpec(modality="xray", region="knee", view="lateral")
    with pytest.raises(registry.Unavailable):
        registry.check(spec, settings=Settings())
    registry.add(registry.Offer("phantom", "xray", "knee", "nowhere:factory",
                                views=("ap", "lateral")))
    try:
        assert registry.check(spec, settings=Settings()).region == "knee"
        assert "X-ray knee (AP, lateral)" in registry.describe_available(Settings())
    finally:
        del registry.RENDERERS[("phantom", "xray", "knee")]
