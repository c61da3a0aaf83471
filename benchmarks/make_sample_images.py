"""Regenerate ``sample_images/``: synthetic phantoms with their exact truth.

Run::

    .venv/bin/python benchmarks/make_sample_images.py [--out sample_images]

Writes

* ``course/visit0.jpg`` ... ``visit3.jpg``: four visits of one scalp patch
  (Fitzpatrick II, black clipped hair, tattoo dot, 100 px/mm at the baseline,
  strong responder) taken three months apart, with the capture date in EXIF
  ``DateTimeOriginal``, and ``course/truth.json`` (course specification,
  per-visit truth, true changes over the common area);
* four single photos across conditions, each with ``<name>.truth.json``;
* ``README.md``.

Phantoms are rendered without the simulated JPEG round trip and encoded once
by Pillow at quality 90; the truth files record the file name, the JPEG
quality and the capture time beside the phantom truth. Prints the size of
the folder.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from PIL import Image

from scalpmetrics.params import TraceParams
from scalpmetrics.regions import guarded_area
from scalpmetrics.synthetic import CourseSpec, Phantom, PhantomSpec, make_course, make_phantom

JPEG_QUALITY = 90
EXIF_IFD = 0x8769
EXIF_DATETIME = 0x0132
EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_MAKE = 0x010F
EXIF_MODEL = 0x0110

COURSE_DATES = ("2024:01:15 10:30:00", "2024:04:15 10:45:00", "2024:07:15 10:20:00",
                "2024:10:15 10:35:00")
COURSE = CourseSpec(
    seed=2024, n_visits=4, response="strong",
    base=PhantomSpec(skin_type=2, hair_colour="black", clipped=True, px_per_mm=100.0,
                     tattoo_dot=True, jpeg_quality=None),
)
SINGLES: dict[str, PhantomSpec] = {
    "type2_black_clipped": PhantomSpec(seed=21, skin_type=2, hair_colour="black",
                                       clipped=True, loose_hairs=3),
    "type6_black_clipped": PhantomSpec(seed=22, skin_type=6, hair_colour="black",
                                       clipped=True),
    "type1_blonde_clipped": PhantomSpec(seed=23, skin_type=1, hair_colour="blonde",
                                        clipped=True),
    "type4_grey_unclipped": PhantomSpec(seed=24, skin_type=4, hair_colour="grey",
                                        clipped=False, density_per_cm2=150.0),
}
#: Figures of the area an analysis measures, written beside each single photo's truth.
MEASURED_AREA_FIGURES = ("area_cm2", "hair_count", "terminal_count", "vellus_count",
                         "density_per_cm2", "coverage_fraction")
SINGLE_SIZE = dict(width_px=1024, height_px=768, px_per_mm=100.0, jpeg_quality=None)

README = """# Sample images

Every image here is a **synthetic** trichoscopy phantom made by
`scalpmetrics.synthetic`; none is a photo of a person. They are regenerated
(byte for byte, given the same library version) by:

```bash
.venv/bin/python benchmarks/make_sample_images.py --out sample_images
```

* `course/visit0.jpg` ... `visit3.jpg`: four visits of the same scalp patch
  (Fitzpatrick II, black hair clipped to about 1 mm, a tattoo dot at the
  centre, 100 px/mm at the baseline), three months apart (EXIF
  `DateTimeOriginal`), of a strong responder: new hairs, a few lost, vellus
  hairs thickening. Each visit has its own camera pose and lighting.
  `course/truth.json` holds the course specification, the truth of every visit
  and the true changes against the baseline over the area seen in every visit.
* `type2_black_clipped.jpg`, `type6_black_clipped.jpg`,
  `type1_blonde_clipped.jpg`, `type4_grey_unclipped.jpg`: single photos at
  100 px/mm, each with its truth in `<name>.truth.json`.

A hair counts when its emergence point (where the shaft leaves the skin) lies
inside the image and it is not a loose cut hair lying on the skin. An
analysis measures all but a 200 um strip along the edges (see
`docs/methods.md`, counting rule): `measured_area` in each single photo's
truth file gives the figures of that area, to compare with `analyze`. The images
are encoded once as JPEG at quality 90 (the `spec` in the truth files says
`jpeg_quality: null` because the simulated JPEG round trip was switched off).
"""


def _save_jpeg(phantom: Phantom, path: Path, capture_time: str | None) -> None:
    exif = Image.Exif()
    exif[EXIF_MAKE] = "scalpmetrics"
    exif[EXIF_MODEL] = "synthetic phantom"
    if capture_time is not None:
        exif[EXIF_DATETIME] = capture_time
        exif.get_ifd(EXIF_IFD)[EXIF_DATETIME_ORIGINAL] = capture_time
    Image.fromarray(phantom.image).save(path, "JPEG", quality=JPEG_QUALITY, exif=exif)


def _write_json(data: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")


def make_sample_images(out_dir: str | Path) -> list[Path]:
    """Write the sample images, their truth files and README into ``out_dir``.

    Returns
    -------
    list of Path
        Every file written.
    """
    out = Path(out_dir)
    (out / "course").mkdir(parents=True, exist_ok=True)
    written = []
    course = make_course(COURSE)
    record = course.to_dict()
    record["files"] = []
    for i, (visit, when) in enumerate(zip(course.visits, COURSE_DATES)):
        path = out / "course" / f"visit{i}.jpg"
        _save_jpeg(visit, path, when)
        record["files"].append({"visit": i, "file": path.name, "jpeg_quality": JPEG_QUALITY,
                                "capture_time": when})
        written.append(path)
    _write_json(record, out / "course" / "truth.json")
    written.append(out / "course" / "truth.json")
    for name, spec in SINGLES.items():
        phantom = make_phantom(spec, **SINGLE_SIZE)
        path = out / f"{name}.jpg"
        _save_jpeg(phantom, path, None)
        truth = phantom.truth.to_dict()
        truth["file"] = {"file": path.name, "jpeg_quality": JPEG_QUALITY}
        measured = phantom.truth_within(guarded_area(phantom.image.shape, phantom.truth.px_per_mm))
        truth["measured_area"] = {"edge_guard_um": TraceParams().edge_guard_um, **{
            k: getattr(measured, k) for k in MEASURED_AREA_FIGURES}}
        _write_json(truth, out / f"{name}.truth.json")
        written += [path, out / f"{name}.truth.json"]
    (out / "README.md").write_text(README)
    written.append(out / "README.md")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1]
                                             / "sample_images"))
    args = parser.parse_args()
    files = make_sample_images(args.out)
    total = sum(f.stat().st_size for f in files)
    for f in files:
        print(f"{f.stat().st_size / 1024:8.1f} KB  {f}")
    print(f"{total / 1024 / 1024:.2f} MB in {len(files)} files")


if __name__ == "__main__":
    main()
