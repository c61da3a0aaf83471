"""Fuzz the loaders with atheris: photos, label images and batch manifests.

Every input the fuzzer makes is written to a file and handed to a loader, as a
camera, a phone or a user would hand it over. The contract under test: a
loader returns a valid value or raises a
:class:`~scalpmetrics.errors.ScalpmetricsError` subclass with a one-line
message. Anything else is a finding.

Run outside CI, for a fixed number of iterations and a fixed seed::

    pip install 'scalpmetrics[fuzz]'
    python fuzz/fuzz_loaders.py --target photo --runs 20000 --seed 1

The script starts the fuzzer in a child process, collects findings in
``fuzz/findings/`` (one ``.json`` description and one input file per distinct
finding; the run goes on after a finding), and prints the figures at the end:
iterations, distinct findings, and whether the child crashed in native code.
Re-run a saved input with ``--replay FILE``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = ("photo", "labels", "manifest")
#: Smaller than the default limit so that an input the fuzzer inflates to a
#: legitimate but huge image is refused quickly instead of exhausting memory.
FUZZ_MAX_PIXELS = 4_000_000
#: libFuzzer's cap on one input's size, bytes.
MAX_INPUT_BYTES = 65_536
#: An input taking longer than this is saved as a ``slow-unit-*`` finding, seconds.
SLOW_S = 2
#: An input taking longer than this ends the run as a timeout, seconds.
TIMEOUT_S = 60


def seed_inputs(target: str) -> dict[str, bytes]:
    """Small valid inputs of every format each loader reads, to start the fuzzer from."""
    if target == "manifest":
        return {
            "plain.csv": b"path,subject,visit\na.png,s1,v1\nb.png,s1,v2\n",
            "calibrated.csv": b"\xef\xbb\xbfpath,px_per_mm,field_width_mm\na.png,80,\nb.png,,6\n",
            "quoted.csv": b'path,note\n"a,1.png","say ""hi"""\n',
        }
    import numpy as np
    import tifffile
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (24, 20, 3), dtype=np.uint8)
    labels = (np.arange(24 * 20).reshape(24, 20) // 100).astype(np.uint8)
    base = labels if target == "labels" else rgb
    out: dict[str, bytes] = {}

    def pil(name: str, image: Image.Image, fmt: str, **kw: object) -> None:
        buf = io.BytesIO()
        image.save(buf, format=fmt, **kw)
        out[name] = buf.getvalue()

    def tif(name: str, arr: np.ndarray, **kw: object) -> None:
        buf = io.BytesIO()
        tifffile.imwrite(buf, arr, **kw)
        out[name] = buf.getvalue()

    img = Image.fromarray(base)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Make"
    exif[0x0132] = "2026:01:02 03:04:05"
    pil("plain.png", img, "PNG")
    gray = base if base.ndim == 2 else base[:, :, 0]
    pil("gray16.png", Image.fromarray(gray.astype(np.uint16) * 257), "PNG")
    pil("palette.png", img.convert("P"), "PNG")
    pil("exif.jpg", img.convert("RGB"), "JPEG", exif=exif, quality=80)
    pil("plain.bmp", img, "BMP")
    pil("plain.webp", img.convert("RGB"), "WEBP", lossless=True)
    tif("plain.tif", base)
    tif("zlib.tif", base, compression="zlib")
    tif("rgb16.tif", rng.integers(0, 65536, (24, 20, 3), dtype=np.uint16))
    if target == "photo":
        pil("rgba.png", Image.fromarray(rng.integers(0, 256, (24, 20, 4), dtype=np.uint8)), "PNG")
        pil("cmyk.jpg", img.convert("CMYK"), "JPEG")
        pil("lzw.tif", img, "TIFF", compression="tiff_lzw")
        tif("planar.tif", np.moveaxis(rgb, 2, 0), photometric="rgb", planarconfig="separate")
        out.update(_optional_format_seeds(rgb))
    return out


def _optional_format_seeds(rgb: "np.ndarray") -> dict[str, bytes]:
    """HEIF and DICOM seeds when their extras are installed (else none)."""
    out = {}
    try:
        import pillow_heif

        buf = io.BytesIO()
        pillow_heif.from_bytes(mode="RGB", size=rgb.shape[1::-1], data=rgb.tobytes()).save(
            buf, format="HEIF", quality=90)
        out["photo.heic"] = buf.getvalue()
    except ImportError:
        pass
    try:
        from pydicom.dataset import Dataset, FileMetaDataset
        from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage
    except ImportError:
        return out
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, "1.2.3.4"
    ds.Rows, ds.Columns = rgb.shape[:2]
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelSpacing = [0.0125, 0.0125]
    ds.PixelData = rgb.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    out["photo.dcm"] = buf.getvalue()
    return out


def run_one(target: str, data: bytes, folder: Path) -> None:
    """Hand ``data`` to the target's loader; raise if anything but a ScalpmetricsError escapes."""
    from scalpmetrics.errors import ScalpmetricsError
    from scalpmetrics.io import load_photo, read_label_image
    from scalpmetrics.manifest import read_manifest
    from scalpmetrics.params import LoadParams

    path = folder / ("input.csv" if target == "manifest" else "input.img")
    path.write_bytes(data)
    try:
        if target == "photo":
            photo = load_photo(path, params=LoadParams(max_pixels=FUZZ_MAX_PIXELS))
            assert photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3, photo.pixels.shape
            assert photo.pixels.dtype.name in ("uint8", "uint16"), photo.pixels.dtype
        elif target == "labels":
            labels = read_label_image(path)
            assert labels.ndim == 2 and labels.dtype.name == "int32", (labels.shape, labels.dtype)
        else:
            read_manifest(path)
    except ScalpmetricsError as exc:
        assert "\n" not in str(exc), f"multi-line message: {exc!r}"


def _signature(exc: BaseException) -> str:
    """Exception type and the innermost frame: one finding per distinct place."""
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    where = f"{Path(last.filename).name}:{last.lineno}" if last else "?"
    return f"{type(exc).__name__} at {where}"


def child(args: argparse.Namespace) -> None:
    """The fuzzing process: libFuzzer drives ``run_one``; findings are saved, not fatal."""
    import atheris

    with atheris.instrument_imports(include=["scalpmetrics", "PIL", "tifffile", "pydicom"]):
        import PIL.Image  # noqa: F401  (instrumented)
        import tifffile  # noqa: F401
        import scalpmetrics.formats  # noqa: F401
        import scalpmetrics.io  # noqa: F401
        import scalpmetrics.manifest  # noqa: F401

    findings = Path(args.findings)
    findings.mkdir(parents=True, exist_ok=True)
    seen = {p.stem for p in findings.glob("*.json")}
    scratch, corpus = Path(args.work) / "scratch", Path(args.work) / "corpus"
    scratch.mkdir()
    corpus.mkdir()

    def test_one_input(data: bytes) -> None:
        try:
            run_one(args.target, data, scratch)
        except Exception as exc:  # noqa: BLE001 - every escape is a finding
            sig = _signature(exc)
            key = hashlib.sha256(f"{args.target} {sig}".encode()).hexdigest()[:12]
            if key in seen:
                return
            seen.add(key)
            (findings / f"{key}.input").write_bytes(data)
            (findings / f"{key}.json").write_text(json.dumps({
                "target": args.target,
                "signature": sig,
                "message": " ".join(str(exc).split())[:300],
                "traceback": traceback.format_exception(exc)[-6:],
            }, indent=2))
            print(f"FINDING {key}: {sig}: {' '.join(str(exc).split())[:200]}", flush=True)

    for name, data in seed_inputs(args.target).items():
        (corpus / name).write_bytes(data)
    atheris.Setup(
        [sys.argv[0], f"-runs={args.runs}", f"-seed={args.seed}", f"-max_len={MAX_INPUT_BYTES}",
         "-rss_limit_mb=3072", f"-timeout={TIMEOUT_S}", f"-report_slow_units={SLOW_S}",
         f"-artifact_prefix={findings}/", "-print_final_stats=1", str(corpus)],
        test_one_input,
    )
    atheris.Fuzz()


def _scratch_root() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


def replay(args: argparse.Namespace) -> int:
    """Run one saved input through the target without the fuzzer; show what escapes."""
    with tempfile.TemporaryDirectory(prefix="scalpmetrics-fuzz-", dir=_scratch_root()) as scratch:
        try:
            run_one(args.target, Path(args.replay).read_bytes(), Path(scratch))
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            return 1
    print("no finding: the loader returned a value or raised a ScalpmetricsError")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=TARGETS, default="photo")
    parser.add_argument("--runs", type=int, default=20_000, help="iterations (libFuzzer -runs)")
    parser.add_argument("--seed", type=int, default=1, help="libFuzzer random seed")
    parser.add_argument("--findings", default=str(HERE / "findings"))
    parser.add_argument("--replay", metavar="FILE", help="re-run one saved input and exit")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay:
        return replay(args)
    if args.child:
        child(args)
        return 0
    before = {p.stem for p in Path(args.findings).glob("*.json")}
    with tempfile.TemporaryDirectory(prefix="scalpmetrics-fuzz-", dir=_scratch_root()) as work:
        cmd = [sys.executable, __file__, "--child", "--target", args.target, "--runs",
               str(args.runs), "--seed", str(args.seed), "--findings", args.findings,
               "--work", work]
        proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, errors="replace")
    stats = [ln for ln in proc.stderr.splitlines() if ln.startswith(("stat::", "Done ", "==", "***"))]
    new = sorted({p.stem for p in Path(args.findings).glob("*.json")} - before)
    slow = sorted(p.name for p in Path(args.findings).glob("slow-unit-*"))
    print(f"target {args.target}: seed {args.seed}, {args.runs} runs requested")
    print("\n".join(stats))
    print(f"new distinct findings: {len(new)}")
    for key in new:
        info = json.loads((Path(args.findings) / f"{key}.json").read_text())
        print(f"  {key}: {info['signature']}: {info['message'][:160]}")
    print(f"slow inputs (over {SLOW_S} s) in {args.findings}: {len(slow)}")
    if proc.returncode != 0:
        print(f"the fuzzing process ended with code {proc.returncode} (a native crash, a "
              "timeout or the memory limit): see the libFuzzer output below")
        print("\n".join(proc.stderr.splitlines()[-30:]))
    return 1 if new or proc.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
