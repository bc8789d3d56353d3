"""Phantom engine latency: one 4-variant job per modality and view, at 512 and 1024 px.

Prints median and p95 seconds per job, the goal where the issue sets one, and the process's
peak resident memory. Run: `python bench/engine.py [--repeats N] [--sizes 512,1024]`.
Each job is timed twice in the same run: its variants one after another in this process (with
that process's CPU seconds: what the job costs on one idle core), and on the render pool
(engine.parallel), the default wherever more than one core is free. The machine is shared, so
the load average is printed too; read the ratio column, not the absolute seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds a queue.py that would shadow the standard library's `queue` (which thread pools
# need) when this script runs as `python bench/engine.py`: drop the script's folder from the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from imagine_med.case import render_case  # noqa: E402
from imagine_med.prompt.spec import CaseSpec, Finding  # noqa: E402
from imagine_med.settings import get_settings  # noqa: E402

JOBS = [
    ("xray", "PA", {"view": "pa"}, 0.5),
    ("xray", "AP", {"view": "ap"}, None),
    ("xray", "lateral", {"view": "lateral"}, None),
    ("ct", "axial", {"plane": "axial", "level": "carina"}, 1.0),
    ("ct", "coronal", {"plane": "coronal"}, 1.0),
    ("ct", "sagittal", {"plane": "sagittal"}, 1.0),
    # the head (issue 14): axial through the basal ganglia, 4 variants, goal 0.5 s
    ("mri", "T2 head", {"plane": "axial", "sequence": "t2", "level": "basal_ganglia",
                        "region": "brain"}, 0.5),
    ("mri", "DWI head", {"plane": "axial", "sequence": "dwi", "level": "basal_ganglia",
                         "region": "brain"}, 0.5),
    ("ct", "CT head", {"plane": "axial", "level": "basal_ganglia", "region": "brain"}, 0.5),
    # histology (issue 15): liver biopsy at 20x (0.5 um/px), 60% macrovesicular steatosis
    ("histo", "liver H&E", {"region": "liver", "stain": "he", "findings": (
        Finding(name="steatosis", extent=0.6, modifiers=("macrovesicular",)),)}, 1.0),
    ("histo", "HER2 IHC", {"region": "breast", "stain": "ihc", "antibody": "her2",
                           "prompt": "breast carcinoma, IHC HER2 3+"}, 1.0),
    # more organs (issue 15), all at 20x (0.5 um/px), goal 1 s for 4 variants of 512
    ("histo", "kidney PAS KW", {"region": "kidney", "stain": "pas", "magnification": 20,
                                "findings": (Finding(name="glomerulosclerosis"),)}, 1.0),
    ("histo", "colon adenoma", {"region": "colon", "stain": "he", "magnification": 20,
                                "findings": (Finding(name="adenoma"),)}, 1.0),
    ("histo", "node CD20", {"region": "lymph_node", "stain": "ihc", "antibody": "cd20",
                            "magnification": 20}, 1.0),
    ("histo", "skin melanoma", {"region": "skin", "stain": "he", "magnification": 20,
                                "findings": (Finding(name="melanoma"),)}, 1.0),
    # abdominal ultrasound (issue 16): RUQ B-mode, 4 variants, goal 0.5 s in one process
    ("us", "US RUQ", {"region": "gallbladder"}, 0.5),
    # more ultrasound (issue 16): thyroid (linear 10 MHz, a TI-RADS 4 nodule), pelvis (an
    # 8-week intrauterine pregnancy), and an RUQ with liver metastases and a dilated CBD
    ("us", "US thyroid", {"region": "thyroid", "findings": (
        Finding(name="thyroid_nodule", modifiers=("tirads_4",)),)}, 0.5),
    ("us", "US pelvis", {"region": "pelvis", "sex": "female", "findings": (
        Finding(name="intrauterine_pregnancy"),)}, 0.5),
    ("us", "US RUQ mets", {"region": "liver", "findings": (
        Finding(name="metastases", modifiers=("multifocal",)),
        Finding(name="cbd_dilatation", size_mm=10.0))}, 0.5),
    # more ultrasound views (issue 16): a fetal biometry plane, the ovaries, a compression pair
    # (two frames), a spectral Doppler trace; same goal
    ("us", "US fetal", {"region": "pelvis", "prompt": "obstetric ultrasound, 24 weeks, BPD"}, 0.5),
    ("us", "US ovaries", {"region": "pelvis", "prompt": "pelvic ultrasound, ovaries"}, 0.5),
    ("us", "US DVT", {"region": "leg_veins", "prompt": "compression ultrasound, DVT",
                      "findings": (Finding(name="venous_thrombosis"),)}, 0.5),
    ("us", "US spectral", {"region": "carotid", "prompt": "carotid spectral doppler"}, 0.5),
    # the subcostal (pericardial) view through the phased probe, a moderate effusion
    ("us", "US cardiac", {"region": "heart", "prompt": "subxiphoid ultrasound, moderate "
                          "pericardial effusion", "findings": (
                              Finding(name="pericardial_effusion", severity="moderate"),)},
     0.5),
    # the fundus (issue 17): goal 0.5 s for 4 variants at 768 px (run with --sizes 768)
    ("fundus", "fundus", {"region": "retina"}, 0.5),
    ("fundus", "fundus DR", {"region": "retina", "findings": (
        Finding(name="diabetic_retinopathy", severity="severe"),)}, 0.5),
    # skin (issue 18): dermoscopy of a melanoma, 4 variants; goal 0.5 s at 768 px
    # (`--sizes 768`; the goal column shows at 512)
    ("derm", "melanoma", {"region": "skin", "findings": (Finding(name="melanoma"),)}, 0.5),
    # clinical photographs (a 24 mm field) and rashes (an 80 mm field), same goal
    # (bench/results-skin-speed.md)
    ("derm", "melanoma photo", {"region": "skin", "prompt": "clinical photograph of a melanoma",
                                "findings": (Finding(name="melanoma"),)}, 0.5),
    ("derm", "psoriasis", {"region": "skin", "findings": (Finding(name="psoriasis"),)}, 0.5),
    ("derm", "eczema", {"region": "skin", "findings": (Finding(name="eczema"),)}, 0.5),
    ("derm", "tinea", {"region": "skin", "findings": (Finding(name="tinea"),)}, 0.5),
    ("derm", "urticaria", {"region": "skin", "findings": (Finding(name="urticaria"),)}, 0.5),
    # bones and joints (issue 19): wrist films, 4 variants of 512x512, goal 0.5 s in one
    # process; a normal PA, and a Colles fracture on a PA (its key's lateral numbers are read
    # from extra label projections of the radius)
    ("xray", "wrist PA", {"region": "wrist", "view": "pa"}, 0.5),
    ("xray", "wrist Colles", {"region": "wrist", "view": "pa", "findings": (
        Finding(name="fracture", location="distal_radius", modifiers=("foosh",)),)}, 0.5),
    ("xray", "hand boxer", {"region": "hand", "view": "pa", "findings": (
        Finding(name="fracture", modifiers=("punch",)),)}, 0.5),
    ("xray", "hip Garden III", {"region": "hip", "view": "ap", "age": 80, "findings": (
        Finding(name="fracture", location="femoral_neck", modifiers=("garden_3",)),)}, 0.5),
    ("xray", "ankle Weber B", {"region": "ankle", "view": "mortise", "age": 40, "findings": (
        Finding(name="fracture", modifiers=("weber_b",)),)}, 0.5),
    # bone disease and the shoulder's Y view (issue 19): 4 variants of 512x512, goal 0.5 s
    ("xray", "hand RA", {"region": "hand", "view": "pa", "findings": (
        Finding(name="rheumatoid_arthritis"),)}, 0.5),
    ("xray", "hand osteoporosis", {"region": "hand", "view": "pa", "findings": (
        Finding(name="osteoporosis"),)}, 0.5),
    ("xray", "hip OA KL3", {"region": "hip", "view": "ap", "findings": (
        Finding(name="osteoarthritis", modifiers=("kl_3",)),)}, 0.5),
    ("xray", "hip Paget", {"region": "hip", "view": "ap", "findings": (
        Finding(name="paget"),)}, 0.5),
    ("xray", "shoulder osteosarcoma", {"region": "shoulder", "view": "ap", "findings": (
        Finding(name="osteosarcoma"),)}, 0.5),
    ("xray", "shoulder Y posterior", {"region": "shoulder", "view": "scapular_y",
                                      "findings": (
        Finding(name="dislocation", modifiers=("posterior_dislocation",)),)}, 0.5),
    # the knee and foot (issue 19, regions/limb/knee.py, foot.py): goal 0.5 s, 4 x 512
    ("xray", "knee Schatzker II", {"region": "knee", "view": "ap", "age": 45, "findings": (
        Finding(name="fracture", location="tibial_plateau", modifiers=("schatzker_2",)),)},
     0.5),
    ("xray", "knee lipo lateral", {"region": "knee", "view": "cross_table", "age": 45,
                                   "findings": (Finding(name="fracture", modifiers=(
                                       "lipohaemarthrosis",)),)}, 0.5),
    ("xray", "knee KL3", {"region": "knee", "view": "ap", "age": 68, "findings": (
        Finding(name="osteoarthritis", modifiers=("kellgren_lawrence_3",)),)}, 0.5),
    ("xray", "foot Jones", {"region": "foot", "view": "dp", "age": 30, "findings": (
        Finding(name="fracture", location="fifth_metatarsal", modifiers=("jones",)),)}, 0.5),
    ("xray", "foot lateral", {"region": "foot", "view": "lateral", "age": 30}, 0.5),
    # teeth (issue 19): panoramic film of an adult (32 teeth) and of one with findings; goal
    # 0.5 s for 4 variants at 512 px in one process
    ("xray", "OPG", {"region": "teeth", "view": "panoramic", "age": 35}, 0.5),
    ("xray", "OPG findings", {"region": "teeth", "view": "panoramic", "age": 45, "findings": (
        Finding(name="caries"), Finding(name="periapical_lesion"), Finding(name="implant"),
        Finding(name="mandibular_fracture"))}, 0.5),
    ("xray", "bitewing", {"region": "teeth", "view": "bitewing", "age": 35}, 0.5),
    # the axial skeleton (issue 19): a lateral c-spine, a dens fracture on the peg view, an
    # L1 wedge on a lateral lumbar spine, an open book on the AP pelvis; goal 0.5 s for 4
    # variants of 512 in one process (compare with the hip row in the same run)
    ("xray", "c-spine lateral", {"region": "cervical_spine", "view": "lateral"}, 0.5),
    ("xray", "peg dens II", {"region": "cervical_spine", "view": "open_mouth", "findings": (
        Finding(name="fracture", location="dens", modifiers=("type_2",)),)}, 0.5),
    ("xray", "L1 wedge lateral", {"region": "lumbar_spine", "view": "lateral", "age": 78,
                                  "findings": (Finding(name="fracture", location="l1",
                                                       modifiers=("wedge",)),)}, 0.5),
    ("xray", "pelvis open book", {"region": "pelvis", "view": "ap", "findings": (
        Finding(name="fracture", modifiers=("open_book",)),)}, 0.5),
    # the abdomen on plain films (issue 19): supine normal and erect small-bowel obstruction
    ("xray", "AXR", {"region": "abdomen", "view": "supine"}, 0.5),
    ("xray", "AXR SBO erect", {"region": "abdomen", "view": "erect", "findings": (
        Finding(name="small_bowel_obstruction"),)}, 0.5),
]


def _peak_mb() -> float:
    """Peak resident memory of this process or of its largest render process."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def _use_processes(n: int) -> None:
    os.environ["IMAGINE_MED_RENDER_PROCESSES"] = str(n)
    get_settings.cache_clear()


def _time_jobs(spec: CaseSpec, repeats: int) -> tuple[list[float], list[float]]:
    render_case(spec, seed=1)  # warm: imports, registry, the pool, first-call caches
    times, cpu = [], []
    for i in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        render_case(spec, seed=1000 + i)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return sorted(times), cpu


def bench(repeats: int, sizes: list[int], with_finding: bool, pool: int,
          only: str = "") -> None:
    findings = (Finding(name="consolidation", laterality="right", location="rul"),) \
        if with_finding else ()
    what = "RUL consolidation" if findings else "none"
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"{repeats} jobs of 4 variants each; findings: {what}")
    print("1 proc: the variants one after another in this process (cpu s: its CPU time); "
          f"pool: on {pool} render processes (engine.parallel)")
    print(f"{'modality':8} {'view':9} {'size':>5} {'1 proc s':>9} {'cpu s':>7} "
          f"{'pool s':>7} {'p95 s':>7} {'ratio':>6} {'goal s':>7}")
    for size in sizes:
        for modality, name, extra, goal in JOBS:
            if only and not any(w.lower() in (modality, name.lower())
                                or w.lower() in name.lower() for w in only.split(",")):
                continue
            extra = {"region": "chest", **extra}
            own = extra.pop("findings", None)  # a row's own findings (histology, fundus, skin)
            spec = CaseSpec(modality=modality, width=size, height=size,
                            findings=own if own is not None else
                            (findings if extra["region"] == "chest" else ()), **extra)
            _use_processes(1)
            one, cpu = _time_jobs(spec, repeats)
            _use_processes(pool)
            times, _ = _time_jobs(spec, repeats)
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            goal_size = 768 if modality in ("fundus", "derm") else 512
            g = f"{goal:.1f}" if goal is not None and size == goal_size else "-"
            med, med1 = statistics.median(times), statistics.median(one)
            print(f"{modality:8} {name:9} {size:5d} {med1:9.3f} {statistics.median(cpu):7.3f} "
                  f"{med:7.3f} {p95:7.3f} {med / med1:6.2f} {g:>7}")
    print(f"peak resident memory: {_peak_mb():.0f} MB per process (goal 1536 MB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default="512,1024")
    ap.add_argument("--finding", action="store_true", help="add a RUL consolidation")
    ap.add_argument("--processes", type=int, default=2, help="render processes for the pool")
    ap.add_argument("--only", default="",
                    help="comma-separated modalities or row names (e.g. fundus or US,T2)")
    args = ap.parse_args()
    bench(args.repeats, [int(s) for s in args.sizes.split(",")], args.finding, args.processes,
          args.only)

if __name__ == "__main__":
    main()
