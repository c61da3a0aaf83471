"""Learned per-pixel hair coverage: image features and a small neural network.

The hair detector of :mod:`scalpmetrics.segment` (``segment.method =
"learned"``, the default) estimates, for every pixel, the share of it that
hair covers, from features of the photo's whitened contrast to the skin:

* the contrast itself: each channel's log ratio to the local skin colour,
  whitened by the skin texture's covariance (so one unit is the skin's own
  noise, whatever the skin and hair colours and the light), and the contrast
  along the photo's hair colour (:func:`scalpmetrics.segment.whitened_contrast`),
  compressed by ``asinh(x / 3)``;
* at each scale of the model (a few tens of um, converted to px with the
  photo's scale): the Gaussian-smoothed contrast, its gradient magnitude and
  the two eigenvalues of its Hessian (ridges and edges of every width and
  direction), scale-normalised;
* the contrast smoothed at a wider context scale (the surroundings).

A multilayer perceptron (ReLU hidden layers, logistic output) maps them to
the covered share. It is trained on phantoms the project generates
(:mod:`scalpmetrics.synthetic`: every skin type, hair colour, lighting,
white balance, blur, noise, JPEG and scale), never on real photographs, by
``benchmarks/train_hair_model.py``, which writes the weights this module
loads (``models/hair_mlp.npz``, a few tens of kB). The runtime is NumPy and
OpenCV only.

The photo is processed in bands of rows (each with a margin for the
filters), which bounds memory on large photos and lets two bands run at once.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources

import cv2
import numpy as np

from scalpmetrics.floatops import magnitude

__all__ = ["HairModel", "load_model", "pixel_features", "predict_fraction", "MODEL_FILE"]

#: The packaged model, relative to the package.
MODEL_FILE = "models/hair_mlp.npz"
#: Contrast units are compressed by asinh(x / _COMPRESS): one decade of
#: contrast per unit well above the noise, linear near it.
_COMPRESS = np.float32(3.0)
_D1 = np.array([[-0.5, 0.0, 0.5]], np.float32)
_D2 = np.array([[1.0, -2.0, 1.0]], np.float32)
_DXY = np.array([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 1.0]], np.float32) * np.float32(0.25)
#: Smallest Gaussian scale used, px (finer scales add nothing on a pixel grid).
_MIN_SIGMA_PX = 0.5
#: Rows per band of the banded prediction.
_BAND_ROWS = 256
#: Pixels per block of the network's evaluation (see :func:`_forward_planes`).
_FORWARD_BLOCK_PX = 32768


@dataclass(frozen=True, eq=False)
class HairModel:
    """A trained per-pixel hair coverage model.

    Attributes
    ----------
    scales_um : tuple of float
        Gaussian scales of the ridge and edge features, um.
    context_um : float
        Scale of the surroundings feature, um.
    mean, scale : ndarray, shape (F,)
        Feature standardisation: ``(x - mean) / scale``.
    weights, biases : tuple of ndarray
        Layer ``k`` maps ``x`` to ``x @ weights[k] + biases[k]``; ReLU between
        layers, logistic after the last.
    """

    scales_um: tuple[float, ...]
    context_um: float
    mean: np.ndarray
    scale: np.ndarray
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    @property
    def n_features(self) -> int:
        """Features per pixel the model takes (2 + 4 per scale, per channel)."""
        return self.mean.size

    def margin_px(self, px_per_um: float) -> int:
        """Rows of context a band needs on each side for its filters, px."""
        widest = max(max(self.scales_um), self.context_um) * px_per_um
        return int(np.ceil(4.0 * max(widest, _MIN_SIGMA_PX))) + 2

    def save(self, path: str) -> None:
        """Write the model as an ``.npz`` file (read back by :func:`load_model`)."""
        layers = {f"w{k}": w for k, w in enumerate(self.weights)}
        layers.update({f"b{k}": b for k, b in enumerate(self.biases)})
        np.savez(path, scales_um=np.array(self.scales_um), context_um=np.array(self.context_um),
                 mean=self.mean, scale=self.scale, n_layers=np.array(len(self.weights)), **layers)


def _from_npz(data: np.lib.npyio.NpzFile) -> HairModel:
    n = int(data["n_layers"])
    return HairModel(
        scales_um=tuple(float(s) for s in data["scales_um"]),
        context_um=float(data["context_um"]),
        mean=data["mean"].astype(np.float32),
        scale=data["scale"].astype(np.float32),
        weights=tuple(data[f"w{k}"].astype(np.float32) for k in range(n)),
        biases=tuple(data[f"b{k}"].astype(np.float32) for k in range(n)),
    )


@functools.lru_cache(maxsize=4)
def load_model(path: str | None = None) -> HairModel:
    """Load a model: the packaged one, or the ``.npz`` file ``path``.

    Models are immutable; each file is read once per process.
    """
    if path is None:
        with resources.files("scalpmetrics").joinpath(MODEL_FILE).open("rb") as fh, \
                np.load(fh) as data:
            return _from_npz(data)
    with np.load(path) as data:
        return _from_npz(data)


def pixel_features(whitened: np.ndarray, px_per_um: float, model: HairModel) -> np.ndarray:
    """Features of every pixel of a whitened contrast image.

    Parameters
    ----------
    whitened : ndarray, shape (H, W, C), float32
        Contrast channels in skin-noise units
        (:func:`scalpmetrics.segment.whitened_contrast`).
    px_per_um : float
        Pixel scale of ``whitened``.
    model : HairModel
        Gives the scales.

    Returns
    -------
    ndarray, shape (H, W, model.n_features), float32
        A view of the feature planes (see :func:`_feature_planes`).
    """
    return np.moveaxis(_feature_planes(whitened, px_per_um, model), 0, -1)


def _feature_planes(whitened: np.ndarray, px_per_um: float, model: HairModel) -> np.ndarray:
    """The features of :func:`pixel_features` as planes, shape (n_features, H, W)."""
    c = np.arcsinh(np.asarray(whitened, np.float32) / _COMPRESS)
    n_ch = c.shape[2]
    chans = [np.ascontiguousarray(c[:, :, k]) for k in range(n_ch)]
    n_features = n_ch * (2 + 4 * len(model.scales_um))
    planes = np.empty((n_features,) + c.shape[:2], np.float32)
    for k, ch in enumerate(chans):
        planes[k] = ch
    k = n_ch
    reflect = cv2.BORDER_REFLECT
    for s_um in model.scales_um:
        s = float(max(_MIN_SIGMA_PX, s_um * px_per_um))
        for ch in chans:
            g = cv2.GaussianBlur(ch, (0, 0), s, dst=planes[k], borderType=reflect)
            gx = cv2.filter2D(g, -1, _D1, borderType=reflect)
            gy = cv2.filter2D(g, -1, _D1.T, borderType=reflect)
            cv2.multiply(magnitude(gx, gy), s, dst=planes[k + 1])
            xx = cv2.filter2D(g, -1, _D2, borderType=reflect)
            yy = cv2.filter2D(g, -1, _D2.T, borderType=reflect)
            xy = cv2.filter2D(g, -1, _DXY, borderType=reflect)
            # Hessian eigenvalues: (xx + yy) / 2 +- |((xx - yy) / 2, xy)|, times s^2.
            half = cv2.addWeighted(xx, 0.5, yy, 0.5, 0.0)
            root = magnitude(cv2.addWeighted(xx, 0.5, yy, -0.5, 0.0), xy)
            cv2.addWeighted(half, s * s, root, s * s, 0.0, dst=planes[k + 2])
            cv2.addWeighted(half, s * s, root, -s * s, 0.0, dst=planes[k + 3])
            k += 4
    s = max(_MIN_SIGMA_PX, model.context_um * px_per_um)
    for ch in chans:
        cv2.GaussianBlur(ch, (0, 0), s, dst=planes[k], borderType=reflect)
        k += 1
    return planes


def _forward_planes(planes: np.ndarray, model: HairModel) -> np.ndarray:
    """The model on feature columns, shape (n_features, N): the standardisation
    ``(x - mean) / scale`` is folded into the first layer (no copy of the features).

    The columns are taken ``_FORWARD_BLOCK_PX`` at a time, so that the hidden
    layers of a block stay in the processor's cache."""
    w0 = model.weights[0] / model.scale[:, None]
    b0 = model.biases[0] - (model.mean / model.scale) @ model.weights[0]
    weights = [np.asarray(w, np.float32) for w in (w0, *model.weights[1:])]
    biases = [np.asarray(b, np.float32)[:, None] for b in (b0, *model.biases[1:])]
    last = len(weights) - 1
    z = np.empty(planes.shape[1], np.float32)
    for start in range(0, planes.shape[1], _FORWARD_BLOCK_PX):
        x = planes[:, start:start + _FORWARD_BLOCK_PX]
        for k, (w, b) in enumerate(zip(weights, biases)):
            x = w.T @ x
            x += b
            if k < last:
                np.maximum(x, 0.0, out=x)
        z[start:start + _FORWARD_BLOCK_PX] = x[0]
    np.clip(z, -30.0, 30.0, out=z)
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def predict_fraction(whitened: np.ndarray, px_per_um: float,
                     model: HairModel | None = None) -> np.ndarray:
    """Estimated hair-covered share of every pixel.

    Parameters
    ----------
    whitened : ndarray, shape (H, W, C), float32
        Contrast channels the model was trained on (see :func:`pixel_features`).
    px_per_um : float
        Pixel scale of ``whitened``.
    model : HairModel, optional
        The packaged model when not given.

    Returns
    -------
    ndarray, shape (H, W), float32
        Values in [0, 1].
    """
    model = load_model() if model is None else model
    h, w = whitened.shape[:2]
    margin = model.margin_px(px_per_um)
    out = np.empty((h, w), np.float32)

    def band(r0: int) -> None:
        r1 = min(h, r0 + _BAND_ROWS)
        a, b = max(0, r0 - margin), min(h, r1 + margin)
        planes = _feature_planes(whitened[a:b], px_per_um, model)[:, r0 - a:r1 - a]
        out[r0:r1] = _forward_planes(planes.reshape(planes.shape[0], -1), model).reshape(r1 - r0, w)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(band, range(0, h, _BAND_ROWS)))
    return out
