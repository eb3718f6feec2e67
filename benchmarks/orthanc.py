"""A throwaway Orthanc with its DICOMweb plugin on loopback (Debian ``orthanc`` and
``orthanc-dicomweb``): a temporary storage folder, a generated configuration, HTTP basic
authentication on, no DICOM port. Used by the PACS tests and ``benchmarks.pacs_bench``."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ORTHANC = Path(shutil.which("Orthanc") or "/usr/sbin/Orthanc")
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
USER = "medzoo"


@dataclass(frozen=True)
class Orthanc:
    """A running server: its DICOMweb root, REST root and the account the tests use."""

    dicomweb: str
    rest: str
    user: str
    password: str


def installed() -> bool:
    return ORTHANC.is_file() and DICOMWEB_PLUGIN.is_file()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(folder: Path, *, password: str = "test-only-secret") -> Iterator[Orthanc]:
    """Start Orthanc with its storage in ``folder``; stop it on exit."""
    port = _free_port()
    storage = folder / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = {
        "Name": "medzoo-test",
        "HttpPort": port,
        "HttpServerEnabled": True,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: password},
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    path = folder / "orthanc.json"
    path.write_text(json.dumps(config))
    log = (folder / "orthanc.log").open("wb")
    process = subprocess.Popen([str(ORTHANC), str(path)], stdout=log, stderr=subprocess.STDOUT)
    rest = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"Orthanc exited: see {folder / 'orthanc.log'}")
            try:
                if requests.get(f"{rest}/system", auth=(USER, password), timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Orthanc did not answer within 30 s")
            time.sleep(0.1)
        yield Orthanc(dicomweb=f"{rest}/dicom-web", rest=rest, user=USER, password=password)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def main() -> None:
    """``python -m benchmarks.orthanc [FILE.dcm ...]``: a throwaway PACS to try MedZoo on,
    with the files given stored into it; prints the settings to export, stops on Ctrl-C."""
    import argparse
    import tempfile

    import pydicom

    parser = argparse.ArgumentParser(description=main.__doc__.split(":", 1)[0])
    parser.add_argument("files", nargs="*", type=Path, help="DICOM files to store into it")
    args = parser.parse_args()
    if not installed():
        raise SystemExit("needs Debian's orthanc and orthanc-dicomweb (apt-get install ...)")
    from zoo.pacs import PacsClient, PacsSettings

    with tempfile.TemporaryDirectory() as folder, running(Path(folder)) as server:
        client = PacsClient(PacsSettings(server.dicomweb, server.user, server.password))
        if args.files:
            stored = [uid for path in args.files for uid in client.store([pydicom.dcmread(path)])]
            print(f"stored {len(stored)} instances")
        print(f"export MEDZOO_PACS_URL={server.dicomweb}")
        print(f"export MEDZOO_PACS_USER={server.user} MEDZOO_PACS_PASSWORD={server.password}")
        print("(a throwaway server: its storage goes when you press Ctrl-C)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
