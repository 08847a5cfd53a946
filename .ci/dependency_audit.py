"""CI: audit the locked dependencies for known vulnerabilities (issue #8, item 15).

pip-audit checks every package of `uv export` against PyPI's per-version advisory data
(`/pypi/<name>/<version>/json`). Where that data cannot be had (some package indexes,
this CI machine's included, answer 404 for per-version pages), the package is checked
against PyPI's project page instead, whose advisories concern the latest release: a
package locked at its latest release is then fully checked, an older one is listed as
not checked. Fails on any known vulnerability; prints what it could not check.

The only traffic is to the package index, as `uv sync` already sends.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field

PROJECT_JSON = "https://pypi.org/pypi/{name}/json"


@dataclass
class Finding:
    name: str
    version: str
    vulnerabilities: list[str] = field(default_factory=list)
    unchecked: str = ""  # why it could not be checked


def locked_requirements() -> str:
    return subprocess.run(
        [
            "uv",
            "export",
            "--frozen",
            "--no-hashes",
            "--no-emit-project",
            "--format",
            "requirements-txt",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def pip_audit(requirements: str) -> list[dict[str, object]]:
    """pip-audit's JSON report: one entry per package, with vulns or a skip_reason."""
    result = subprocess.run(
        [
            "pip-audit",
            "--requirement",
            "/dev/stdin",
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
        ],
        input=requirements,
        capture_output=True,
        text=True,
        check=False,
    )
    if not result.stdout.strip():
        sys.exit(f"pip-audit failed (exit {result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout)["dependencies"]


def latest_release_check(name: str, version: str) -> Finding:
    try:
        with urllib.request.urlopen(PROJECT_JSON.format(name=name), timeout=30) as response:
            project = json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        return Finding(name, version, unchecked=f"PyPI project page unavailable ({exc})")
    latest = project["info"]["version"]
    if latest != version:
        return Finding(name, version, unchecked=f"not the latest release ({latest})")
    ids = [str(v.get("id")) for v in project.get("vulnerabilities") or []]
    return Finding(name, version, vulnerabilities=ids)


def main() -> int:
    requirements = locked_requirements()
    versions = {}
    for line in requirements.splitlines():
        spec = line.split(";")[0].strip()
        if "==" in spec and not spec.startswith(("#", "-")):
            name, version = spec.split("==", 1)
            versions[name.lower()] = version.strip()
    findings: list[Finding] = []
    skipped: list[str] = []
    for dep in pip_audit(requirements):
        name = str(dep["name"]).lower()
        if dep.get("skip_reason"):
            skipped.append(name)
            continue
        ids = [str(v["id"]) for v in dep.get("vulns") or []]  # type: ignore[union-attr]
        findings.append(Finding(name, str(dep.get("version", versions.get(name))), ids))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        findings += pool.map(lambda n: latest_release_check(n, versions[n]), skipped)

    vulnerable = [f for f in findings if f.vulnerabilities]
    unchecked = [f for f in findings if f.unchecked]
    by_pip_audit = len(findings) - len(skipped)
    print(
        f"{len(findings)} locked packages: {by_pip_audit} checked by pip-audit, "
        f"{len(skipped) - len(unchecked)} against PyPI's advisories for their latest release "
        f"(per-version data unavailable), {len(unchecked)} not checked"
    )
    for f in unchecked:
        print(f"  not checked: {f.name} {f.version}: {f.unchecked}")
    for f in vulnerable:
        print(f"  VULNERABLE: {f.name} {f.version}: {', '.join(f.vulnerabilities)}")
    print("known vulnerabilities:", len(vulnerable))
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
