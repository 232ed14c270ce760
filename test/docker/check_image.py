"""Checks docker/Dockerfile against what can be checked without a Docker engine:
- the runtime stage installs every Debian package that provides a shared library the exporter
  binary loads (ldd + dpkg -S), or a package those depend on, or one debian:bookworm-slim has;
- the build stage installs the build packages test/install-deps installs;
- the Jolokia agent version is the one the tests run (test/cluster/cluster);
- every COPY source exists.
Usage: python3 test/docker/check_image.py EXPORTER
"""

import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKERFILE = os.path.join(REPO, "docker", "Dockerfile")
# Essential packages of debian:bookworm-slim that the binary's libraries come from.
BASE_IMAGE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


def runtime_packages(text):
    block = re.search(r"# KHE_RUNTIME_PACKAGES.*?\n(.*?)# END KHE_RUNTIME_PACKAGES", text, re.S)
    if not block:
        sys.exit("check_image: no KHE_RUNTIME_PACKAGES block in docker/Dockerfile")
    words = re.findall(r"^\s+([a-z0-9][a-z0-9.+-]+)\s*\\?$", block.group(1), re.M)
    return set(words)


def build_packages(text):
    stage = text.split("FROM ")[1]
    return set(re.findall(r"(?<![\w/-])([a-z0-9][a-z0-9.+-]*-dev)\b", stage))


def linked_packages(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = re.findall(r"=> (/\S+)", out)
    if any("not found" in line for line in out.splitlines()):
        sys.exit("check_image: the binary has unresolved libraries:\n" + out)
    packages = {}
    for lib in libs:
        real = os.path.realpath(lib)
        for candidate in (lib, real, real.replace("/usr/lib/", "/lib/", 1), lib.replace("/lib/", "/usr/lib/", 1)):
            p = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if p.returncode == 0:
                packages[lib] = p.stdout.split(":")[0]
                break
        else:
            sys.exit(f"check_image: no Debian package owns {lib}")
    return packages


def depends_closure(packages):
    """Installed packages pulled in by `packages` (Depends and Pre-Depends, recursively)."""
    seen, todo = set(), list(packages)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        q = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", p],
                           capture_output=True, text=True)
        for alt in q.stdout.split(","):
            name = alt.split("|")[0].strip().split(" ")[0].split(":")[0]
            if name:
                todo.append(name)
    return seen


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(DOCKERFILE) as f:
        text = f.read()
    problems = []
    listed = runtime_packages(text)
    for p in sorted(listed):
        if subprocess.run(["apt-cache", "show", p], capture_output=True).returncode != 0:
            problems.append(f"runtime package {p} does not exist in this Debian release")
    available = depends_closure(listed | BASE_IMAGE)
    linked = linked_packages(sys.argv[1])
    for lib, pkg in sorted(linked.items()):
        if pkg not in available:
            problems.append(f"{lib} comes from {pkg}, which the runtime stage does not install")
    with open(os.path.join(REPO, "test", "install-deps")) as f:
        wanted = set(re.findall(r"\b([a-z0-9][a-z0-9.+-]*-dev)\b", f.read())) - {"libclang-rt-14-dev"}
    missing = wanted - build_packages(text)
    if missing:
        problems.append("build stage lacks " + ", ".join(sorted(missing)) + " (test/install-deps has them)")
    with open(os.path.join(REPO, "test", "cluster", "cluster")) as f:
        tested = re.search(r'JOLOKIA_VERSION = "([^"]+)"', f.read()).group(1)
    shipped = re.search(r"ARG JOLOKIA_VERSION=(\S+)", text).group(1)
    if shipped != tested:
        problems.append(f"the image ships Jolokia {shipped}, the tests run {tested}")
    for src in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for path in src.split():
            if not os.path.exists(os.path.join(REPO, path)):
                problems.append(f"COPY source {path} does not exist")
    if problems:
        sys.exit("check_image:\n  " + "\n  ".join(problems))
    print(f"check_image: {len(linked)} shared libraries from {len(set(linked.values()))} packages, "
          f"all installed by the runtime stage ({len(listed)} listed)")


if __name__ == "__main__":
    main()
