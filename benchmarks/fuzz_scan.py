"""Long fuzz of ``zoo.imaging.load_scan``: only ScanError, at most 2 s and 500 MB per input.

Run ``python -m benchmarks.fuzz_scan [--seconds 120] [--seed 0] [--out DIR]`` from the
repository root. It prints a Markdown table and exits with status 1 when it finds anything.

The default test run has a short Hypothesis fuzz (tests/zoo/imaging/test_imaging_fuzz.py:
arbitrary bytes, byte flips and truncations of four small seeds). This is the long one:

- seeds: every file in ``zoo/samples``, PNG (grey, RGB, 16-bit), JPEG (grey, RGB), TIFF,
  BMP, WebP, GIF (two frames) and DICOM (single and multi-frame) made in memory, and
  pydicom's own compressed DICOM test files (RLE, JPEG baseline, JPEG lossless, JPEG-LS,
  JPEG 2000) when they are installed;
- mutations, one to four per input, from a seeded generator: bit flips, random bytes,
  "interesting" integers (0, 0xFF, 0xFFFF, 2**31 - 1...) written near the header, cuts,
  deleted, inserted and duplicated chunks, splices of two seeds, and two structure-aware
  ones that get past checksums and parsers: a PNG IHDR with new dimensions and a valid
  CRC, and a DICOM re-saved by pydicom with extreme Rows, Columns, NumberOfFrames,
  BitsAllocated, SamplesPerPixel or PhotometricInterpretation;
- each input runs in a worker process (restarted after a crash), which resets its peak RSS
  (``/proc/self/clear_refs``) before the call and reads VmHWM after it; the worker's
  address space is capped so a runaway input cannot take the machine with it.

Findings: any exception other than ScanError, a Scan whose pixels are not finite float32
in [0, 1], a worker crash or hang, more than 2 s, or more than 500 MB above the RSS before
the call. Each is saved under ``--out`` (default ``test-artifacts/fuzz-scan/``, git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import resource
import select
import struct
import subprocess
import sys
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "zoo" / "samples"
OUT = ROOT / "test-artifacts" / "fuzz-scan"
MAX_SECONDS = 2.0
MAX_MB = 500.0
HANG_S = 20.0  # a worker silent this long is killed and the input saved as a hang
WORKER_EXTRA_AS = 3 * 2**30  # address space the worker may add to what it starts with
PYDICOM_FILES = (
    "MR_small_RLE.dcm",
    "SC_rgb_rle.dcm",
    "JPEG-lossy.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "JPGLosslessP14SV1_1s_1f_8b.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "JPEGLSNearLossless_16.dcm",
    "MR_small_jp2klossless.dcm",
    "emri_small_jpeg_2k_lossless.dcm",
    "rtdose.dcm",
    "SC_ybr_full_422_uncompressed.dcm",
)
INTERESTING = (
    0,
    1,
    2,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    60000,
    2**31 - 1,
    2**32 - 1,
)


# -- seeds ---------------------------------------------------------------------------------


def _image(array: np.ndarray, fmt: str, **kwargs: object) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _dicom(pixels: np.ndarray, frames: int = 1) -> bytes:
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.Rows, ds.Columns = pixels.shape[-2:]
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def seeds() -> dict[str, bytes]:
    """Name → bytes of every seed (see the module docstring)."""
    y, x = np.mgrid[0:48, 0:64]
    grey = ((x * 4 + y * 2) % 256).astype(np.uint8)
    rgb = np.stack([grey, grey[::-1], (x * 3 % 256).astype(np.uint8)], -1)
    found = {
        "png grey": _image(grey, "PNG"),
        "png rgb": _image(rgb, "PNG"),
        "png 16-bit": _image((grey.astype(np.uint16) * 257), "PNG"),
        "jpeg grey": _image(grey, "JPEG"),
        "jpeg rgb": _image(rgb, "JPEG", quality=80),
        "tiff": _image(grey, "TIFF"),
        "bmp": _image(rgb, "BMP"),
        "webp": _image(rgb, "WEBP"),
        "dicom": _dicom((x * 30 + y).astype(np.uint16)),
        "dicom 3 frames": _dicom(np.stack([x * 20, y * 20, x + y]).astype(np.uint16), 3),
    }
    from PIL import Image

    buffer = io.BytesIO()
    frames = [Image.fromarray(grey), Image.fromarray(grey[::-1])]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    found["gif 2 frames"] = buffer.getvalue()
    for path in sorted(SAMPLES.iterdir()) if SAMPLES.is_dir() else []:
        if path.suffix.lower() in {".jpg", ".jpeg", ".png", ".dcm"}:
            found[f"sample {path.name}"] = path.read_bytes()
    from pydicom.data import get_testdata_file

    for name in PYDICOM_FILES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = get_testdata_file(name, download=False)  # never from the network
        if path:
            found[f"pydicom {name}"] = Path(path).read_bytes()
    return found


def family(seed_name: str) -> str:
    """The row of the table a seed counts in."""
    name = seed_name.lower()
    if "dcm" in name or "dicom" in name:
        return "DICOM"
    for fmt in ("png", "jpeg", "jpg", "tiff", "bmp", "webp", "gif"):
        if fmt in name:
            return "JPEG" if fmt == "jpg" else fmt.upper()
    return "other"


# -- mutations ----------------------------------------------------------------------------


def _position(rng: random.Random, data: bytearray) -> int:
    """Mostly near the start, where headers and sizes live."""
    limit = len(data) if rng.random() < 0.3 else min(len(data), 1024)
    return rng.randrange(max(1, limit))


def flip_bits(rng: random.Random, data: bytearray, _: list[bytes]) -> bytearray:
    for _ in range(rng.randint(1, 8)):
        data[_position(rng, data)] ^= 1 << rng.randrange(8)
    return data


def random_bytes(rng: random.Random, data: bytearray, _: list[bytes]) -> bytearray:
    for _ in range(rng.randint(1, 8)):
        data[_position(rng, data)] = rng.randrange(256)
    return data


def interesting(rng: random.Random, data: bytearray, _: list[bytes]) -> bytearray:
    value = rng.choice(INTERESTING)
    size = rng.choice((1, 2, 4))
    packed = (value % (1 << (8 * size))).to_bytes(size, rng.choice(("little", "big")))
    at = _position(rng, data)
    data[at : at + size] = packed
    return data


def cut(rng: random.Random, data: bytearray, _: list[bytes]) -> bytearray:
    return data[: rng.randrange(len(data))]


def delete_chunk(rng: random.Random, data: bytearray, _: list[bytes]) -> bytearray:
    at = rng.randrange(len(data))
    del data[at : at + rng.randint(1, 256)]
    return data


def insert_chunk(rng: random.Random, data: bytearray, _: list[bytes]) -> bytearray:
    at = _position(rng, data)
    if rng.random() < 0.5:
        chunk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    else:  # a copy of part of itself: repeated chunks and tags
        start = rng.randrange(len(data))
        chunk = bytes(data[start : start + rng.randint(1, 512)])
    data[at:at] = chunk
    return data


def splice(rng: random.Random, data: bytearray, pool: list[bytes]) -> bytearray:
    other = rng.choice(pool)
    return data[: rng.randrange(len(data))] + other[rng.randrange(len(other)) :]


def png_dimensions(rng: random.Random, data: bytearray, _: list[bytes]) -> bytearray:
    """New IHDR width/height/depth with a valid CRC, so the PNG reader believes them."""
    at = data.find(b"IHDR")
    if at < 4 or len(data) < at + 21:
        return flip_bits(rng, data, _)
    width, height = (rng.choice((1, 0, 65535, 2**31 - 1, rng.randrange(1, 100_000))) for _ in "wh")
    body = bytearray(data[at : at + 17])
    body[4:12] = struct.pack(">II", width, height)
    if rng.random() < 0.3:
        body[12] = rng.choice((1, 2, 4, 8, 16, 32))  # bit depth
    data[at : at + 17] = body
    data[at + 17 : at + 21] = struct.pack(">I", zlib.crc32(bytes(body)))
    return data


def dicom_header(rng: random.Random, data: bytearray, _: list[bytes]) -> bytearray:
    """The DICOM re-saved with an extreme value in one image attribute."""
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(bytes(data)), force=True)
            keyword, values = rng.choice(
                (
                    ("Rows", (0, 1, 65535, 30000)),
                    ("Columns", (0, 1, 65535, 30000)),
                    ("NumberOfFrames", (0, 1, 2, 1000, 2**31 - 1)),
                    ("BitsAllocated", (0, 1, 8, 12, 16, 32, 64)),
                    ("BitsStored", (0, 1, 8, 16, 40)),
                    ("SamplesPerPixel", (0, 1, 3, 4)),
                    ("PhotometricInterpretation", ("RGB", "MONOCHROME1", "PALETTE COLOR", "")),
                    ("PixelRepresentation", (0, 1, 2)),
                    ("RescaleSlope", (0, -1, 1e308)),
                    ("WindowWidth", (0, -1, 1e308)),
                )
            )
            setattr(ds, keyword, rng.choice(values))
            buffer = io.BytesIO()
            ds.save_as(buffer)
        return bytearray(buffer.getvalue())
    except Exception:  # a mutant pydicom cannot re-save: mutate its bytes instead
        return interesting(rng, data, _)


MUTATORS: tuple[Callable[[random.Random, bytearray, list[bytes]], bytearray], ...] = (
    flip_bits,
    random_bytes,
    interesting,
    interesting,
    cut,
    delete_chunk,
    insert_chunk,
    splice,
)


def mutate(rng: random.Random, seed: bytes, name: str, pool: list[bytes]) -> bytes:
    data = bytearray(seed)
    structured = dicom_header if family(name) == "DICOM" else png_dimensions
    for _ in range(rng.randint(1, 4)):
        if not data:
            break
        if family(name) in ("DICOM", "PNG") and rng.random() < 0.25:
            data = structured(rng, data, pool)
        else:
            data = rng.choice(MUTATORS)(rng, data, pool)
    return bytes(data)


# -- the worker ---------------------------------------------------------------------------


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def check_one(data: bytes) -> dict[str, object]:
    """``load_scan`` on ``data``: what happened, how long it took, its peak memory."""
    from zoo.errors import ScanError
    from zoo.imaging import load_scan

    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    outcome: dict[str, object] = {"kind": "scan"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scan = load_scan(data, filename="fuzz.bin")
        pixels = scan.pixels
        if pixels.dtype != np.float32 or pixels.ndim not in (2, 3):
            outcome = {"kind": "bad output", "detail": f"{pixels.dtype} {pixels.shape}"}
        elif pixels.size and not (
            np.isfinite(pixels).all() and pixels.min() >= 0 and pixels.max() <= 1
        ):
            outcome = {"kind": "bad output", "detail": "pixels not finite in [0, 1]"}
    except ScanError:
        outcome = {"kind": "ScanError"}
    except Exception as exc:
        outcome = {"kind": "exception", "detail": f"{type(exc).__name__}: {exc}"[:300]}
    outcome["s"] = time.perf_counter() - started
    outcome["mb"] = _status_mb("VmHWM") - before
    return outcome


def worker() -> None:
    """Read length-prefixed inputs on stdin; write one JSON line per input on stdout."""
    import zoo.imaging  # noqa: F401  (imported before the address space is capped)

    soft = int(_status_mb("VmSize") * 2**20) + WORKER_EXTRA_AS
    resource.setrlimit(resource.RLIMIT_AS, (soft, resource.RLIM_INFINITY))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while header := stdin.read(4):
        data = stdin.read(struct.unpack("<I", header)[0])
        stdout.write(json.dumps(check_one(data)).encode() + b"\n")
        stdout.flush()


class Worker:
    """The worker process, restarted whenever it dies or hangs."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.fuzz_scan", "--worker"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def check(self, data: bytes) -> dict[str, object]:
        if self.process is None or self.process.poll() is not None:
            self.start()
        assert self.process and self.process.stdin and self.process.stdout
        try:
            self.process.stdin.write(struct.pack("<I", len(data)) + data)
            self.process.stdin.flush()
        except BrokenPipeError:
            return self.died()
        ready, _, _ = select.select([self.process.stdout], [], [], HANG_S)
        if not ready:
            self.stop()
            return {"kind": "hang", "detail": f"no answer in {HANG_S:.0f} s", "s": HANG_S}
        line = self.process.stdout.readline()
        return json.loads(line) if line else self.died()

    def died(self) -> dict[str, object]:
        assert self.process
        code = self.process.wait(timeout=10)
        self.process = None
        return {"kind": "crash", "detail": f"worker exited with {code}"}

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


# -- the run ------------------------------------------------------------------------------


@dataclass
class Row:
    inputs: int = 0
    scans: int = 0
    scan_errors: int = 0
    findings: int = 0
    seconds: list[float] = field(default_factory=list)
    peak_mb: float = 0.0


def finding(outcome: dict[str, object]) -> str | None:
    """Why this outcome breaks the rules, or None."""
    if outcome["kind"] not in ("scan", "ScanError"):
        return f"{outcome['kind']}: {outcome.get('detail', '')}"
    if float(outcome["s"]) > MAX_SECONDS:
        return f"slow: {float(outcome['s']):.2f} s"
    if float(outcome["mb"]) > MAX_MB:
        return f"memory: {float(outcome['mb']):.0f} MB"
    return None


def save(out: Path, data: bytes, why: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    kind = why.split(":")[0].replace(" ", "-")
    path = out / f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(why + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--max-inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return

    pool = seeds()
    names, blobs = list(pool), list(pool.values())
    rng = random.Random(args.seed)
    rows: dict[str, Row] = {}
    found: list[tuple[str, str, Path]] = []
    runner = Worker()
    started = time.monotonic()
    try:
        for name, data in pool.items():  # every seed as it is, first
            outcome = runner.check(data)
            if outcome["kind"] != "scan":
                print(f"seed {name} does not load: {outcome}", file=sys.stderr)
        while time.monotonic() - started < args.seconds:
            if sum(r.inputs for r in rows.values()) >= args.max_inputs:
                break
            k = rng.randrange(len(names))
            data = mutate(rng, blobs[k], names[k], blobs)
            outcome = runner.check(data)
            row = rows.setdefault(family(names[k]), Row())
            row.inputs += 1
            row.scans += outcome["kind"] == "scan"
            row.scan_errors += outcome["kind"] == "ScanError"
            row.seconds.append(float(outcome.get("s", 0.0)))
            row.peak_mb = max(row.peak_mb, float(outcome.get("mb", 0.0)))
            why = finding(outcome)
            if why:
                row.findings += 1
                found.append((names[k], why, save(args.out, data, why)))
    finally:
        runner.stop()
    elapsed = time.monotonic() - started

    total = sum(r.inputs for r in rows.values())
    print(
        f"**Fuzz of `load_scan`**: {total} mutated inputs in {elapsed:.0f} s from "
        f"{len(pool)} seeds (seed {args.seed}); per input: only ScanError, ≤ {MAX_SECONDS:g} s, "
        f"≤ {MAX_MB:.0f} MB above the RSS before the call (VmHWM, in a worker process)."
    )
    print()
    print("| seeds | inputs | valid scans | ScanError | findings | median ms | max ms | max MB |")
    print("|---|---|---|---|---|---|---|---|")
    for fam, r in sorted(rows.items()):
        print(
            f"| {fam} | {r.inputs} | {r.scans} | {r.scan_errors} | {r.findings} | "
            f"{np.median(r.seconds) * 1000:.1f} | {max(r.seconds) * 1000:.0f} | {r.peak_mb:.0f} |"
        )
    if found:
        print()
        print(f"Findings ({len(found)}), inputs saved under {args.out}:")
        for name, why, path in found[:50]:
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            print(f"- from {name}: {why} → {shown}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
