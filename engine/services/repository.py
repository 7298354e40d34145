"""Repository service: lint and deploy BPMN files as immutable process versions; list and get them."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from engine import diagram, lint, workflow, workflow_parsing
from engine.diagram import BpmnSourceError, Finding
from engine.errors import LintFailed, NotFound, ProcessIdTaken
from engine.roles import groups_without_members
from engine.store import ProcessVersion


@dataclass(frozen=True)
class Deployment:
    key: str
    version: int
    created: bool  # False when the file was unchanged and the existing version was kept
    # What the designer should know but that refuses nothing: e.g. a candidate group nobody holds yet.
    warnings: tuple[str, ...] = ()


class RepositoryService:
    def __init__(self, engine):
        self.engine = engine

    def lint(self, source: bytes, filename: str) -> list[Finding]:
        return lint.lint_source(source, filename, self.engine.forms_dir)

    def deploy_file(
        self, path: Path | str, deployed_by: str = "system", new_version_of: Collection[str] = ()
    ) -> list[Deployment]:
        path = Path(path)
        try:
            source = path.read_bytes()
        except OSError as exc:
            raise LintFailed([Finding(str(path), 0, "-", f"cannot read file: {exc.strerror}")]) from None
        return self.deploy(source, str(path), deployed_by, new_version_of)

    def deploy(
        self, source: bytes, filename: str, deployed_by: str = "system", new_version_of: Collection[str] = ()
    ) -> list[Deployment]:
        """Deploy every executable process of one BPMN file. Lint findings refuse the whole file.
        An unchanged file (same bytes as the latest version) creates no new version. A process whose id is
        already deployed from a file of another name is refused (ProcessIdTaken) unless its id is in
        `new_version_of`: two unrelated files must not become versions of one process by sharing an id."""
        findings = self.lint(source, filename)
        if findings:
            raise LintFailed(findings)
        try:
            parsed = workflow_parsing.parse(source, filename)
        except BpmnSourceError as exc:
            raise LintFailed([exc.finding]) from None
        sha = hashlib.sha256(source).hexdigest()
        text = parsed.text
        results = []
        with self.engine.db.write_session() as session, session.begin():
            latest_of = {bundle.key: _latest(session, bundle.key) for bundle in parsed.processes}
            _refuse_taken_ids(parsed, filename, latest_of, new_version_of)
            for bundle in parsed.processes:
                latest = latest_of[bundle.key]
                warnings = _unstaffed_groups(session, bundle, filename)
                if latest is not None and latest.sha256 == sha:
                    results.append(Deployment(bundle.key, latest.version, False, warnings))
                    continue
                version = (latest.version + 1) if latest else 1
                session.add(
                    ProcessVersion(
                        key=bundle.key, version=version, name=bundle.name, filename=Path(filename).name,
                        source=text, sha256=sha, dialect=bundle.dialect, spec=workflow.dump_spec(bundle),
                        elements=bundle.elements, deployed_at=self.engine.now(), deployed_by=deployed_by,
                    )
                )  # fmt: skip
                results.append(Deployment(bundle.key, version, True, warnings))
        return results

    def list(self, latest_only: bool = True) -> list[ProcessVersion]:
        with self.engine.db.session() as session:
            query = select(ProcessVersion).order_by(ProcessVersion.key, ProcessVersion.version)
            if latest_only:
                newest = (
                    select(ProcessVersion.key, func.max(ProcessVersion.version).label("v"))
                    .group_by(ProcessVersion.key)
                    .subquery()
                )
                query = query.join(
                    newest, (ProcessVersion.key == newest.c.key) & (ProcessVersion.version == newest.c.v)
                )
            return list(session.scalars(query).all())

    def version(self, version_id: int) -> ProcessVersion:
        """A process version by its id (NotFound when there is none)."""
        with self.engine.db.lookup_session() as session:
            pv = session.get(ProcessVersion, version_id)
        if pv is None:
            raise NotFound(f"process version {version_id} does not exist")
        return pv

    def get(self, key: str, version: int | None = None) -> ProcessVersion:
        """A process version by key: the given version, else the latest."""
        with self.engine.db.session() as session:
            query = select(ProcessVersion).where(ProcessVersion.key == key)
            if version is not None:
                query = query.where(ProcessVersion.version == version)
            pv = session.scalars(query.order_by(ProcessVersion.version.desc()).limit(1)).first()
        if pv is None:
            which = f"{key} v{version}" if version is not None else key
            raise NotFound(f"process {which} is not deployed")
        return pv


def _latest(session, key: str) -> ProcessVersion | None:
    query = select(ProcessVersion).where(ProcessVersion.key == key).order_by(ProcessVersion.version.desc())
    return session.scalars(query.limit(1)).first()


def _refuse_taken_ids(parsed, filename: str, latest_of: dict, new_version_of: Collection[str]) -> None:
    """ProcessIdTaken for each process of the file whose id is deployed from another file name, unconfirmed."""
    name = Path(filename).name
    keys = {bundle.key for bundle in parsed.processes}
    findings = [
        Finding(
            filename,
            0,
            key,
            f"--new-version-of {key}: this file has no executable process '{key}'; name a process of this file",
        )  # fmt: skip
        for key in new_version_of
        if key not in keys
    ]
    for bundle in parsed.processes:
        latest = latest_of[bundle.key]
        if latest is None or latest.filename == name or bundle.key in new_version_of:
            continue
        findings.append(
            Finding(
                filename,
                diagram.line_of(parsed.root, bundle.key) or 0,
                bundle.key,
                f"process id '{bundle.key}' is already deployed from {latest.filename} (v{latest.version}); if "
                f"this file is its next version, deploy with --new-version-of {bundle.key}, else give the "
                f"process another id",
            )  # fmt: skip
        )
    if findings:
        raise ProcessIdTaken(findings)


def _unstaffed_groups(session, bundle, filename: str) -> tuple[str, ...]:
    """A warning per user task offered to a literal role@department group that nobody holds yet."""
    tasks = {i: f for i, f in bundle.elements.items() if f.get("tag") == "userTask" and f.get("candidate_groups")}
    empty = set(groups_without_members(session, [g for f in tasks.values() for g in f["candidate_groups"]]))
    warnings = []
    for bpmn_id, facts in tasks.items():
        for group in facts["candidate_groups"]:
            if group in empty:
                role, _at, department = group.partition("@")
                message = (
                    f"candidate group {group} has no member yet; its tasks wait until someone holds it "
                    f"(govflow user add NAME --department {department} --role {role})"
                )
                warnings.append(Finding(Path(filename).name, facts.get("line") or 0, bpmn_id, message).format())
    return tuple(warnings)
