"""Seeded synthetic trichoscopy phantoms with exact ground truth.

A phantom is a close-up photo of a patch of scalp (as taken with a
trichoscope or phototrichogram camera) together with the exact truth about
every hair in it. Everything is drawn from ``numpy.random.default_rng``
streams derived from the seed, so the same specification always gives the
same bytes.

Coordinates
-----------
Image coordinates are pixels, ``x`` = column and ``y`` = row, with pixel
centres on integers: pixel ``(row, col)`` covers ``[col - 0.5, col + 0.5) x
[row - 0.5, row + 0.5)``. The image field is therefore
``-0.5 <= x < width_px - 0.5`` and ``-0.5 <= y < height_px - 0.5``.

*Scalp coordinates* are the same kind of pixels on the skin itself, at the
nominal scale ``PhantomSpec.px_per_mm`` before the camera pose; at the
identity pose they coincide with image coordinates. A 3x3 homography
(``PhantomTruth.scalp_to_image``) maps scalp coordinates to image
coordinates; it is the pose of the camera: rotation about the image centre
(positive = counter-clockwise as displayed), scale, shift of the camera on
the scalp and a small perspective tilt.

What a hair looks like
----------------------
Each hair leaves the skin at its *emergence point*: the centre of the base
of the visible shaft, inside a follicular opening (a soft, slightly darker,
bluish-grey dot). Behind the emergence point (opposite to the visible
shaft) the part of the hair still under the skin shows as a bluish-grey
shadow that fades with depth, as in real trichoscopy. Hairs of one
follicular unit (1-4 hairs) leave the same opening side by side, about one
shaft width apart, and diverge by a few degrees. Follicular openings
without hair (empty openings) are drawn too, as darker or whitish dots.

* Clipped (phototrichogram) hair: short straight shafts from the emergence
  point to an obliquely cut tip; the visible length is the clip length
  foreshortened by the angle at which the hair leaves the skin.
* Unclipped hair: long, gently curved shafts that cross the field and each
  other; many emerge outside the field.
* Loose hairs: cut fragments lying on the skin, cut at both ends, with no
  follicular opening. They are hair pixels but are never counted.

Counting rule (the truth)
-------------------------
A hair **counts** if and only if its emergence point lies inside the image
field (see Coordinates) and it is not a loose hair. A hair whose shaft
crosses the image but which emerges outside it does not count; a counted
hair hidden under another one still counts. ``is_terminal`` is
``width_um >= 40``.

Hair coverage (exact)
---------------------
Shafts are polygons (a centreline offset by half the shaft width on each
side, with a square base at the emergence point and an oblique cut tip).
Each pixel is divided into ``supersample x supersample`` sub-pixels;
``hair_fraction`` is the fraction of sub-pixel centres inside the union of
all shaft polygons (exact point-in-polygon; every shaft in view counts as
hair, including loose hairs and hairs emerging outside the field), and the
image is composited from exactly that coverage, so partial pixels at shaft
edges carry the right mix of hair and skin. ``hair_mask`` is
``hair_fraction > 0.5`` and ``coverage_fraction`` the mean of
``hair_fraction`` over the image.

Treatment courses
-----------------
:func:`make_course` renders several visits of the same scalp patch: skin
texture, follicular openings and emergence points are fixed in scalp
coordinates; each visit has its own camera pose, lighting and hair state
(new, lost, thickened or miniaturised hairs; clipped hair regrown to
similar lengths, unclipped hair combed differently). Changes are reported
over the *common area*, the part of the scalp visible in every visit; see
:func:`make_course` for the exact definitions.

Examples
--------
>>> ph = make_phantom(seed=3, width_px=320, height_px=256, px_per_mm=80.0)
>>> ph.image.shape, ph.image.dtype
((256, 320, 3), dtype('uint8'))
>>> ph.truth.hair_count == sum(h.counted for h in ph.truth.hairs)
True
"""

from __future__ import annotations

from scalpmetrics.synthetic.camera import pose_homography
from scalpmetrics.synthetic.course import (
    RESPONSE_FRACTIONS,
    common_area_masks,
    make_course,
    repeat_capture,
)
from scalpmetrics.synthetic.render import make_phantom
from scalpmetrics.synthetic.spec import (
    HAIR_COLOURS,
    RESPONSES,
    VELLUS_CUTOFF_UM,
    CourseSpec,
    PhantomSpec,
    conditions,
)
from scalpmetrics.synthetic.truth import Course, HairTruth, Phantom, PhantomTruth

__all__ = [
    "HAIR_COLOURS",
    "RESPONSES",
    "RESPONSE_FRACTIONS",
    "VELLUS_CUTOFF_UM",
    "Course",
    "CourseSpec",
    "HairTruth",
    "Phantom",
    "PhantomSpec",
    "PhantomTruth",
    "common_area_masks",
    "conditions",
    "make_course",
    "make_phantom",
    "pose_homography",
    "repeat_capture",
]
