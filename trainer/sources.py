"""The pinned source packages the trainer mines, how to fetch them, and the guard that keeps the
evaluation repositories out of training.

Every package comes from a registry this project can reach with its ordinary client: PyPI sdists
(``pip download``), npm tarballs (``npm pack``), Debian binary packages that ship source (``apt-get
download`` + ``dpkg -x``: Rust crates, Go modules, header-only C++) and Debian source packages
(``apt-get source --download-only`` against a private deb-src list; Java). Nothing here uses git.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .common import DATA_ROOT

SOURCES_TOML = Path(__file__).with_name("sources.toml")
KINDS = ("pypi", "npm", "deb", "debsrc", "local")
SPLITS = ("train", "valid", "test")
DEBIAN_SUITE = "bookworm"

# Evaluation data: never mined. Names are compared after `core_name` (registry prefixes/suffixes removed).
RESERVED_NAMES = re.compile(
    r"^(httpx|ignore|globset|ripgrep|grep(-[a-z0-9-]+)?|cobra|spf13-cobra|spdlog|fmt|react-native-svg"
    r"|tanstack/.*|query-core|cosqa.*|swe-?bench.*|astropy|django|flask|matplotlib|pylint|pytest|requests"
    r"|scikit-learn|sklearn|seaborn|sphinx|sympy|xarray)$")
RESERVED_REPOS = frozenset(r.lower() for r in (
    "encode/httpx", "BurntSushi/ripgrep", "TanStack/query", "spf13/cobra", "gabime/spdlog", "fmtlib/fmt",
    "software-mansion/react-native-svg", "microsoft/CodeXGLUE", "princeton-nlp/SWE-bench", "SWE-bench/SWE-bench",
    "astropy/astropy", "django/django", "pallets/flask", "matplotlib/matplotlib", "pylint-dev/pylint",
    "pytest-dev/pytest", "psf/requests", "scikit-learn/scikit-learn", "mwaskom/seaborn", "sphinx-doc/sphinx",
    "sympy/sympy", "pydata/xarray"))
# A folder of one of these names inside a package is vendored evaluation code: its files are skipped.
RESERVED_DIRS = frozenset({"httpx", "spdlog", "cobra", "ripgrep", "query-core", "react-native-svg", "astropy",
                           "django", "flask", "matplotlib", "pylint", "_pytest", "requests", "sklearn", "seaborn",
                           "sphinx", "sympy", "xarray", "cosqa", "swe-bench", "swebench"})

# Never mined whatever a source's globs say: tests, examples, build output, bundles, declarations.
DEFAULT_EXCLUDE = (
    "**/test/**", "**/tests/**", "**/testing/**", "**/__tests__/**", "**/testdata/**", "**/test_*.py",
    "**/*_test.py", "**/conftest.py", "**/*_test.go", "**/*.test.*", "**/*.spec.*", "**/*Test.java",
    "**/*Tests.java", "**/example/**", "**/examples/**", "**/benches/**", "**/bench/**", "**/docs/**",
    "**/doc/**", "**/node_modules/**", "**/dist/**", "**/build/**", "**/*.d.ts", "**/*.d.mts", "**/*.d.cts",
    "**/*.min.js", "**/vendor/**", "**/third_party/**", "**/_vendor/**", "**/vendored/**", "**/setup.py",
)


class ReservedSourceError(ValueError):
    """A source that belongs to the evaluation data was asked for."""


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    kind: str
    version: str
    language: str
    license: str
    repo: str
    root: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    split: str = "train"
    cap: int = 0
    path: str = ""  # kind = local

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{self.name.lstrip('@')}-{self.version}")

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}" if self.kind == "pypi" else f"{self.name}@{self.version}"

    def wants(self, rel: str) -> bool:
        """Whether the file ``rel`` (relative to the root) is mined, by the globs."""
        rel_slash = "/" + rel
        if any(_glob(rel, g) or _glob(rel_slash, g) for g in (*DEFAULT_EXCLUDE, *self.exclude)):
            return False
        if set(rel.lower().split("/")[:-1]) & RESERVED_DIRS:
            return False
        return not self.include or any(_glob(rel, g) for g in self.include)


def _glob(path: str, pattern: str) -> bool:
    """fnmatch where ``**/`` may also match nothing (``**/tests/**`` matches ``tests/x.py``)."""
    if fnmatch.fnmatchcase(path, pattern):
        return True
    return pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:])


def core_name(name: str) -> str:
    """The package's own name without its registry's decoration: ``librust-ignore-dev`` -> ``ignore``,
    ``golang-github-spf13-cobra-dev`` -> ``spf13-cobra``, ``@tanstack/query-core`` -> ``tanstack/query-core``."""
    n = name.lower().strip().lstrip("@").replace("_", "-").replace(".", "-")
    n = re.sub(r"^(librust-|golang-github-|golang-|python3-|python-|node-|lib)", "", n)
    n = re.sub(r"(-dev|-java|-src)$", "", n)
    return n


def check_not_reserved(source: Source) -> None:
    """Raise ReservedSourceError when ``source`` is (part of) a reserved evaluation repository."""
    names = {core_name(source.name), source.name.lower().lstrip("@")}
    # Go modules are named owner-repo: test the repository part alone too.
    names |= {n.split("-", 1)[1] for n in list(names) if source.name.startswith("golang-github-") and "-" in n}
    hit = next((n for n in names if RESERVED_NAMES.match(n)), None)
    if hit is None and source.repo.lower() in RESERVED_REPOS:
        hit = source.repo
    if hit is not None:
        raise ReservedSourceError(f"{source.name} ({source.repo}) is reserved for evaluation ({hit}): never mined")


def load_sources(path: str | Path = SOURCES_TOML, *, only: list[str] | None = None) -> list[Source]:
    table = tomllib.loads(Path(path).read_text())
    out: list[Source] = []
    for row in table.get("source", []):
        src = Source(
            name=row["name"], kind=row["kind"], version=str(row.get("version", "")), language=row["language"],
            license=row.get("license", "unknown"), repo=row.get("repo", row["name"]), root=row.get("root", ""),
            include=tuple(row.get("include", ())), exclude=tuple(row.get("exclude", ())),
            split=row.get("split", "train"), cap=int(row.get("cap", 0)), path=row.get("path", ""))
        if src.kind not in KINDS:
            raise ValueError(f"{src.name}: unknown kind {src.kind!r} (one of {', '.join(KINDS)})")
        if src.split not in SPLITS:
            raise ValueError(f"{src.name}: unknown split {src.split!r} (one of {', '.join(SPLITS)})")
        check_not_reserved(src)
        if only and src.name not in only:
            continue
        out.append(src)
    repos: dict[str, str] = {}
    for src in out:  # the split is by repository: one repository, one split
        if repos.setdefault(src.repo.lower(), src.split) != src.split:
            raise ValueError(f"{src.repo} is in two splits: a repository belongs to one split only")
    return out


# ------------------------------------------------------------------------------------------ fetching
@dataclass(slots=True)
class Fetched:
    source: Source
    root: Path  # the folder to mine
    archive: str = ""  # the file downloaded
    bytes: int = 0
    notes: list[str] = field(default_factory=list)


def fetch(source: Source, data_root: Path = DATA_ROOT, *, log=print) -> Fetched:
    """Download (once) and unpack (once) ``source``; return the folder to mine."""
    check_not_reserved(source)
    if source.kind == "local":
        root = Path(source.path).expanduser().resolve()
        return Fetched(source, root / source.root if source.root else root)
    downloads = data_root / "downloads" / source.kind
    unpacked = data_root / "src" / source.slug
    downloads.mkdir(parents=True, exist_ok=True)
    archive = _download(source, downloads, data_root, log)
    if not unpacked.exists():
        log(f"  unpack {archive.name}")
        _unpack(source, archive, unpacked)
    root = unpacked / source.root if source.root else unpacked
    if not root.is_dir():
        raise FileNotFoundError(f"{source.name}: no folder {source.root!r} in the unpacked package {unpacked}")
    return Fetched(source, root, archive.name, archive.stat().st_size)


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc.stdout


def _pypi_archive(source: Source, dest: Path) -> list[Path]:
    norm = re.sub(r"[-_.]+", "_", f"{source.name}_{source.version}".lower())
    return [p for p in dest.iterdir() if re.sub(r"[-_.]+", "_", p.name.lower()).startswith(norm + "_")
            and p.name.endswith((".tar.gz", ".zip", ".tar.bz2"))] if dest.is_dir() else []


def prefetch(sources: list[Source], data_root: Path = DATA_ROOT, *, log=print) -> None:
    """Download every missing PyPI sdist with one pip call (pip's start-up dominates one at a time)."""
    dest = data_root / "downloads" / "pypi"
    missing = [s for s in sources if s.kind == "pypi" and not _pypi_archive(s, dest)]
    if missing:
        for s in missing:
            check_not_reserved(s)
        dest.mkdir(parents=True, exist_ok=True)
        log(f"  pip download {' '.join(s.pin for s in missing)}")
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
              "--disable-pip-version-check", "-d", str(dest), *(s.pin for s in missing)])


def _download(source: Source, dest: Path, data_root: Path, log) -> Path:
    base = core_name(source.name) if source.kind != "npm" else source.name.lstrip("@").replace("/", "-")
    if source.kind == "pypi":
        if not _pypi_archive(source, dest):
            prefetch([source], data_root, log=log)
        found = _pypi_archive(source, dest)
        if not found:
            raise RuntimeError(f"pip downloaded no sdist for {source.pin}")
        return found[0]
    if source.kind == "npm":
        target = dest / f"{base}-{source.version}.tgz"
        if not target.exists():
            log(f"  npm pack {source.pin}")
            with tempfile.TemporaryDirectory() as tmp:
                out = _run(["npm", "pack", "--silent", source.pin], cwd=Path(tmp)).strip().splitlines()
                shutil.move(str(Path(tmp) / out[-1].strip()), target)
        return target
    if source.kind == "deb":
        found = sorted(dest.glob(f"{source.name}_*.deb"))
        found = [p for p in found if _deb_version(p) == source.version]
        if not found:
            log(f"  apt-get download {source.name}={source.version}")
            _run(["apt-get", "download", f"{source.name}={source.version}"], cwd=dest)
            found = [p for p in sorted(dest.glob(f"{source.name}_*.deb")) if _deb_version(p) == source.version]
        if not found:
            raise RuntimeError(f"apt-get downloaded no .deb for {source.name}={source.version}")
        return found[0]
    if source.kind == "debsrc":
        pkg_dir = dest / source.slug
        pkg_dir.mkdir(parents=True, exist_ok=True)
        origs = sorted(pkg_dir.glob("*.orig.tar.*"))
        if not origs:
            log(f"  apt-get source --download-only {source.name}={source.version}")
            try:
                _run([*_apt_src(data_root), "source", "--download-only", f"{source.name}={source.version}"],
                     cwd=pkg_dir)
            except RuntimeError:
                pass  # only the upstream tarball is needed: a missing Debian patch tarball is no loss
            origs = sorted(p for p in pkg_dir.glob("*.orig.tar.*") if not p.name.endswith(".asc"))
        if not origs:
            raise RuntimeError(f"apt-get source found no upstream tarball for {source.name}={source.version}")
        return origs[0]
    raise ValueError(source.kind)


def _deb_version(path: Path) -> str:
    # NAME_VERSION_ARCH.deb, with ':' (epoch) written as %3a
    parts = path.name[: -len(".deb")].split("_")
    return parts[1].replace("%3a", ":") if len(parts) >= 3 else ""


def _apt_src(data_root: Path) -> list[str]:
    """apt-get with a private deb-src list (the machine's own lists only have binary packages)."""
    apt = data_root / "apt"
    lists = apt / "lists"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    (apt / "sources.list").write_text(
        f"deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian "
        f"{DEBIAN_SUITE} main\n")
    cmd = ["apt-get", "-o", f"Dir::Etc::SourceList={apt / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/dev/null",
           "-o", f"Dir::State::Lists={lists}"]
    if not any(lists.glob("*Sources*")):
        _run([*cmd, "update"])
    return cmd


def _unpack(source: Source, archive: Path, target: Path) -> None:
    """Unpack into ``target`` atomically, dropping a single top-level folder (sdists, npm's package/)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
        out = Path(tmp) / "x"
        out.mkdir()
        if archive.name.endswith(".deb"):
            _run(["dpkg", "-x", str(archive), str(out)])
            out.rename(target)  # keep the usr/... layout: roots name it
            return
        if archive.name.endswith((".zip", ".whl")):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(out)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(out, filter="data")
        entries = list(out.iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else out
        top.rename(target)
