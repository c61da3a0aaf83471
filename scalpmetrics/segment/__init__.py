"""Hair/scalp separation on a normalised photo.

Method (details and rationale in ``docs/methods.md``):

1. **Contrast to the skin.** Each channel's log ratio to the local skin colour
   (:func:`scalpmetrics.normalize.skin_background` at ``reference_window_um``)
   gives a 3-vector
   per pixel: zero on skin, dark hair negative in every channel, grey/white
   hair on dark skin positive, blonde and red hair mostly along colour
   directions.
2. **Best hair direction.** The 3-vectors are whitened by the covariance of
   the least contrasted pixels (the skin texture) and projected on the
   direction in which the most contrasted pixels of this photo differ most
   from skin: a signed contrast ``z`` in units of the skin's own noise,
   whatever the hair and skin colours. Pixels clipped in the photo
   (:func:`clipped_pixels`) are left out of these statistics.
3. **Detection.** Hysteresis on the lightly smoothed contrast (seeds
   ``seed_threshold_sigma`` above the skin noise, grown through pixels
   ``grow_threshold_sigma`` above it), both polarities at once; pixels of a
   saturated colour no hair has (``max_hair_chroma``: text and graphics
   burnt into the photo) and perfectly flat areas at the border (a capture
   device's grey band) are left out; pieces shorter
   than ``min_shaft_length_um`` and compact round blobs (openings, flakes,
   pigment dots) are dropped.
   Optionally (``second_hair_colour``, off by default) hair of the other
   brightness is looked for as well: white or grey hairs among pigmented
   ones lie along another colour direction than the dark hairs the first
   direction finds. The second direction is learned from the lighter (or
   darker) pixels the first detection left; its pieces must be elongated,
   and are kept only as a population at least ``second_colour_min_area_share``
   of the first mask (a few stray pieces are skin texture).
4. **Boundary and coverage.** Each kept piece's core contrast (a high
   percentile of its contrast) gives the hair fraction ``contrast / core``
   of the pixels near it; pixels at least ``edge_fraction`` covered are hair.
   Gaps narrower than about twice ``mask_closing_um`` inside the mask (a
   shaft's lighter highlight band) are closed. Inside the mask the fraction
   is 1; on its boundary and rim it is the sub-pixel share
   returned by :func:`hair_fraction` (its mean over a region is the region's
   coverage).

With ``method = "learned"`` (the default) steps 3 and 4 are replaced by a
per-pixel coverage model trained on phantoms (:mod:`scalpmetrics.learned`,
:func:`whitened_contrast`): the confidently covered cores of the shafts
pass the same length and blob filters, and the mask is the pixels at least
half covered connected to them. The cores are traced (``trace_mask``) after
a small median filter, so that single noisy pixels do not change their shape.

Holes in the learned mask enclosed by hair and of at most
``fill_hole_max_um2`` then become hair (fraction 1): a shaft whose colour
is close to the skin's shows a light core between darker edges, and a hair
is opaque (the contrast detector closes such bands in step 4). The traced
cores keep their holes (the tracing rules were set on them).

Without a pixel scale the widths needed above are taken from the image: a
first pass at the scale that makes the image ``uncalibrated_field_mm`` wide
finds the shafts, their median width (taken as ``typical_shaft_width_um``)
sets the scale of the second, final pass. Photos of a finer scale than needed
are processed on a copy reduced (:func:`working_factor`) until the thinnest
shaft is about ``min_shaft_width_px`` wide.
"""

from __future__ import annotations

from scalpmetrics.segment.contrast import whitened_contrast
from scalpmetrics.segment.exclusions import (
    DeviceGraphics,
    clipped_pixels,
    device_graphics,
    paint_over_lines,
    thin_dark_runs,
)
from scalpmetrics.segment.learned_detector import joined_cores
from scalpmetrics.segment.pipeline import hair_fraction, segment_hair, segment_hair_fraction
from scalpmetrics.segment.resolution import enlarge_mask, reduce_image, reduce_mask, working_factor
from scalpmetrics.segment.result import HairSegmentation
from scalpmetrics.segment.skin import skin_peak

__all__ = [
    "DeviceGraphics",
    "HairSegmentation",
    "clipped_pixels",
    "device_graphics",
    "enlarge_mask",
    "hair_fraction",
    "joined_cores",
    "paint_over_lines",
    "reduce_image",
    "reduce_mask",
    "segment_hair",
    "segment_hair_fraction",
    "skin_peak",
    "thin_dark_runs",
    "whitened_contrast",
    "working_factor",
]
