"""Fetch a pinned source package from PyPI and unpack it under ``evals/data/src/NAME-VERSION/``.

Only the package registry is needed (pip), never git. The sdist is preferred because it holds the
whole source tree (tests, docs, scripts); a wheel is the fallback when a project ships no sdist.

    python -m evals.fetch django==5.2.8          # prints the unpacked directory
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SRC_DIR = DATA_DIR / "src"
DOWNLOAD_DIR = DATA_DIR / "downloads"
DEFAULT_PACKAGE = "django==5.2.8"


def parse_spec(spec: str) -> tuple[str, str]:
    name, sep, version = spec.partition("==")
    if not sep or not name.strip() or not version.strip():
        raise ValueError(f"pin an exact version, as NAME==VERSION (got {spec!r})")
    return name.strip(), version.strip()


def _pip_download(name: str, version: str, dest: Path, *, sdist: bool) -> Path | None:
    dest.mkdir(parents=True, exist_ok=True)
    before = set(dest.iterdir())
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-d", str(dest), f"{name}=={version}"]
    cmd[4:4] = ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    new = [p for p in dest.iterdir() if p not in before] or _matching(dest, name, version)
    archives = [p for p in new if p.name.endswith((".tar.gz", ".tgz", ".zip", ".whl", ".tar.bz2"))]
    return archives[0] if archives else None


def _matching(dest: Path, name: str, version: str) -> list[Path]:
    """An archive pip said it already had (a re-run downloads nothing new)."""
    norm = name.lower().replace("-", "_")
    return [p for p in dest.iterdir()
            if p.name.lower().replace("-", "_").startswith(f"{norm}_{version}".lower())
            or p.name.lower().replace("-", "_").startswith(f"{norm}-{version}".lower())]


def _cached_archive(name: str, version: str) -> Path | None:
    if not DOWNLOAD_DIR.is_dir():
        return None
    found = sorted(_matching(DOWNLOAD_DIR, name, version), key=lambda p: p.name.endswith(".whl"))
    return found[0] if found else None


def _unpack(archive: Path, target: Path) -> None:
    """Unpack into ``target`` (atomically: a temp dir renamed at the end), dropping the archive's
    single top-level directory if it has one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
        tmp_path = Path(tmp) / "x"
        if archive.name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp_path)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(tmp_path, filter="data")
        entries = list(tmp_path.iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp_path
        top.rename(target)


def fetch(spec: str = DEFAULT_PACKAGE, *, src_dir: Path = SRC_DIR, force: bool = False) -> Path:
    """Return the unpacked source directory of ``NAME==VERSION``, downloading it when missing."""
    name, version = parse_spec(spec)
    target = src_dir / f"{name}-{version}"
    if target.is_dir() and not force:
        return target
    if target.exists():
        shutil.rmtree(target)
    archive = _cached_archive(name, version)
    if archive is None:
        archive = (_pip_download(name, version, DOWNLOAD_DIR, sdist=True)
                   or _pip_download(name, version, DOWNLOAD_DIR, sdist=False))
    if archive is None:
        raise RuntimeError(f"pip could not download {name}=={version} (neither sdist nor wheel); "
                           f"try `python -m pip index versions {name}` and pin one it lists")
    _unpack(archive, target)
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package", nargs="?", default=DEFAULT_PACKAGE, help="NAME==VERSION (default %(default)s)")
    ap.add_argument("--force", action="store_true", help="unpack again even if present")
    args = ap.parse_args(argv)
    try:
        print(fetch(args.package, force=args.force))
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
