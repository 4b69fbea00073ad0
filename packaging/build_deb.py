"""Build dist/transactflowos_<version>_<arch>.deb from the PyInstaller bundle.

The package holds the bundle under /opt/transactflowos, /usr/bin links for both
programs, the .desktop entry and the icon in every size. Its version is the one the
bundle was built with (pyproject.toml, via build-info.json). ``Depends`` names the
system libraries the bundle leaves to the system; the build fails when the bundle
needs a library that neither it nor a package in ``Depends`` provides, and libc6 gets
the newest glibc version any bundled binary asks for.

Usage: python packaging/build_deb.py --depends "PKG PKG ..."   (see `make package`)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "transactflowos"
BUNDLE = ROOT / "dist" / NAME
STAGE = ROOT / "build" / "deb"
ICONS = ROOT / "resources" / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
LEFT_TO_SYSTEM = (
    "libc6",
    "libxcb1",
    "libgl1",
    "libegl1",
    "libwayland-client0",
    "libwayland-cursor0",
    "libwayland-egl1",
    "libdrm2",
)
"""What PyInstaller does not bundle (glibc, GL and the display server's client libs)."""
RECOMMENDS = "gnome-keyring | kwalletmanager"
"""An OS keyring keeps the desktop's sign-in; without one the app asks every start."""


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def elf_files(folder: Path) -> list[Path]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as file:
                if file.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def needed_from_system(bundle: Path) -> tuple[set[str], str]:
    """Libraries the bundle's binaries need and do not carry; the newest GLIBC_x.y used."""
    elves = elf_files(bundle)
    carried = {p.name for p in bundle.rglob("*")}
    needed: set[str] = set()
    glibc = "2.2.5"
    for elf in elves:
        dump = run("objdump", "-p", "-T", str(elf))
        needed.update(re.findall(r"NEEDED\s+(\S+)", dump))
        for version in re.findall(r"GLIBC_(\d+(?:\.\d+)+)", dump):
            glibc = max(glibc, version, key=lambda v: tuple(map(int, v.split("."))))
    return needed - carried, glibc


def owning_packages(libraries: set[str]) -> dict[str, str]:
    """Library soname → the Debian package that provides it on this machine."""
    cache = run("ldconfig", "-p")
    owners = {}
    for lib in sorted(libraries):
        match = re.search(rf"^\s*{re.escape(lib)} \(libc6,[^)]*\) => (\S+)", cache, re.M)
        match = match or re.search(rf"^\s*{re.escape(lib)} \([^)]*\) => (\S+)", cache, re.M)
        if match is None:
            raise SystemExit(f"The bundle needs {lib}, which this machine does not have.")
        path = Path(match.group(1)).resolve()
        owner = subprocess.run(["dpkg", "-S", str(path)], capture_output=True, text=True)
        if owner.returncode != 0:  # merged /usr: dpkg may know it under /lib
            alt = str(path).replace("/usr/lib/", "/lib/", 1)
            owner = subprocess.run(["dpkg", "-S", alt], capture_output=True, text=True)
        owners[lib] = owner.stdout.split(":")[0].strip() or "?"
    return owners


def depends(declared: list[str], bundle: Path) -> str:
    libraries, glibc = needed_from_system(bundle)
    missing = {lib: pkg for lib, pkg in owning_packages(libraries).items() if pkg not in declared}
    if missing:
        lines = "\n".join(f"  {lib} (from {pkg})" for lib, pkg in missing.items())
        raise SystemExit(f"Add to the .deb's Depends (packaging/build_deb.py):\n{lines}")
    return ", ".join(f"{p} (>= {glibc})" if p == "libc6" else p for p in declared)


def stage_tree(stage: Path, bundle: Path) -> None:
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(bundle, stage / "opt" / NAME, symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    for program in (NAME, "tfos"):
        (stage / "usr" / "bin" / program).symlink_to(f"/opt/{NAME}/{program}")
    apps = stage / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    shutil.copy2(ROOT / "packaging" / f"{NAME}.desktop", apps)
    hicolor = stage / "usr" / "share" / "icons" / "hicolor"
    for size in ICON_SIZES:
        folder = hicolor / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True)
        shutil.copy2(ICONS / f"{NAME}-{size}.png", folder / f"{NAME}.png")
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(ICONS / f"{NAME}.svg", hicolor / "scalable" / "apps" / f"{NAME}.svg")


def control(version: str, arch: str, depends_line: str, installed_kib: int) -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    return (
        f"Package: {NAME}\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        "Maintainer: TransactFlowOS <packaging@transactflowos.invalid>\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {depends_line}\n"
        f"Recommends: {RECOMMENDS}\n"
        "Section: misc\n"
        "Priority: optional\n"
        f"Description: TransactFlowOS desktop and command line\n"
        f" {project['description']}\n"
        " The desktop (transactflowos) serves the members' web view too; tfos is the\n"
        " admin and auditor command line.\n"
    )


def size_kib(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*")) // 1024 + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depends", required=True, help="X11/xcb packages (the Makefile's).")
    args = parser.parse_args()
    if not (BUNDLE / "_internal" / "build-info.json").is_file():
        raise SystemExit(f"No bundle at {BUNDLE}: run `make package`.")
    info = json.loads((BUNDLE / "_internal" / "build-info.json").read_text("utf-8"))
    arch = run("dpkg", "--print-architecture").strip()
    declared = list(dict.fromkeys([*LEFT_TO_SYSTEM, *args.depends.split()]))
    depends_line = depends(declared, BUNDLE)
    run("desktop-file-validate", str(ROOT / "packaging" / f"{NAME}.desktop"))
    stage_tree(STAGE, BUNDLE)
    (STAGE / "DEBIAN").mkdir()
    text = control(info["version"], arch, depends_line, size_kib(STAGE))
    (STAGE / "DEBIAN" / "control").write_text(text, "utf-8")
    deb = ROOT / "dist" / f"{NAME}_{info['version']}_{arch}.deb"
    # zstd -9: 88 MB in about 10 s here, where xz's 76 MB take 1.5-3.5 minutes. Every
    # dpkg that can install this (glibc >= 2.36: Debian 12, Ubuntu 23.04) reads zstd.
    run("dpkg-deb", "--root-owner-group", "-Zzstd", "-z9", "--build", str(STAGE), str(deb))
    print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
