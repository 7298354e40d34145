"""Uploaded files of cases: stored once on disk under their SHA-256, with size and type limits.

The type is decided by the file's first bytes as well as its name, so an HTML page renamed to `.pdf` is
refused; downloads are always served as attachments with `nosniff` and a sandbox policy (`download_headers`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.errors import InvalidData, NotFound
from engine.store.identity import AttachmentRecord

MAX_BYTES = 20 * 1024 * 1024
_CHUNK = 64 * 1024
_SHA = re.compile(r"^[0-9a-f]{64}$")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (doc, xls)
_ZIP = b"PK\x03\x04"  # OOXML (docx, xlsx) and OFD are zip packages
# extension → (canonical content type, accepted leading bytes)
ALLOWED = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "ofd": ("application/ofd", (_ZIP,)),
    "doc": ("application/msword", (_OLE,)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (_ZIP,)),
    "xls": ("application/vnd.ms-excel", (_OLE,)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (_ZIP,)),
}
ALLOWED_NAMES = "PDF、JPEG、PNG、OFD、Word（doc/docx）、Excel（xls/xlsx）"


@dataclass(frozen=True)
class Attachment:
    sha256: str
    size: int
    filename: str
    content_type: str
    case_id: str | None = None
    uploaded_by: str | None = None
    uploaded_at: datetime | None = None


def _attachment(row: AttachmentRecord) -> Attachment:
    return Attachment(row.sha256, row.size, row.filename, row.content_type, row.case_id, row.uploaded_by,
                      row.uploaded_at)  # fmt: skip


def clean_filename(filename: str | None) -> str:
    """The last path part, without control characters, at most 200 characters; `file` when nothing is left."""
    name = unicodedata.normalize("NFC", str(filename or "")).replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:200]
    return name or "file"


def download_headers(attachment: Attachment) -> dict[str, str]:
    """Headers that make a browser save the file, never render or guess it (virus-safe download)."""
    ascii_name = attachment.filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return {
        "Content-Type": attachment.content_type,
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


class AttachmentStore:
    """Content-addressed files under `root` (root/ab/cd/<sha256>) and their records per case; attached to the
    engine as `engine.attachments`."""

    def __init__(self, root: str | Path = Path("var") / "files", database=None, *, max_bytes: int = MAX_BYTES,
                 clock=None):  # fmt: skip
        self.root = Path(root)
        self.db = database
        self.max_bytes = max_bytes
        self.clock = clock

    def _file(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _type(self, filename: str, content_type: str | None, head: bytes) -> str:
        ext = filename.rpartition(".")[2].lower() if "." in filename else ""
        if ext not in ALLOWED:
            raise InvalidData(f"文件「{filename}」的类型不允许上传；允许的类型：{ALLOWED_NAMES}", [("file", "type")])
        canonical, magics = ALLOWED[ext]
        if not any(head.startswith(m) for m in magics):
            raise InvalidData(f"文件「{filename}」的内容与扩展名 .{ext} 不符，未保存", [("file", "content")])
        declared = (content_type or "").split(";")[0].strip().lower()
        if declared.startswith("text/") or declared in ("application/xhtml+xml", "image/svg+xml"):
            raise InvalidData(f"文件「{filename}」声明为 {declared}，不允许上传", [("file", "type")])
        return canonical

    def put(self, stream: BinaryIO, filename: str | None, content_type: str | None, case_id: str | None,
            uploaded_by: str) -> Attachment:  # fmt: skip
        """Store the stream (refused over the size limit or of a type not allowed) and record it for the case."""
        name = clean_filename(filename)
        staging = self.root / "tmp"
        staging.mkdir(parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        fd, tmp = tempfile.mkstemp(dir=staging)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        limit = self.max_bytes / 1024 / 1024
                        raise InvalidData(f"文件「{name}」超过 {limit:g} MB，未保存", [("file", "too large")])
                    if len(head) < 16:
                        head += chunk[: 16 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise InvalidData(f"文件「{name}」是空文件，未保存", [("file", "empty")])
            kind = self._type(name, content_type, head)
            sha = digest.hexdigest()
            target = self._file(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)  # same bytes, same name: a second upload just rewrites identical content
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        attachment = Attachment(sha, size, name, kind, case_id, uploaded_by, self._now())
        if self.db is not None:
            self._record(attachment)
        return attachment

    def _now(self) -> datetime:
        if self.clock is not None:
            return self.clock.now()
        return datetime.now(UTC)

    def _record(self, a: Attachment) -> None:
        try:
            with self.db.session() as session, session.begin():
                same = select(AttachmentRecord.id).where(
                    AttachmentRecord.case_id == a.case_id, AttachmentRecord.sha256 == a.sha256
                )
                if a.case_id is not None and session.scalars(same).first():
                    return  # the same file uploaded twice to a case is kept once
                session.add(AttachmentRecord(case_id=a.case_id, sha256=a.sha256, size=a.size, filename=a.filename,
                                             content_type=a.content_type, uploaded_by=a.uploaded_by or "",
                                             uploaded_at=a.uploaded_at))  # fmt: skip
        except IntegrityError:
            return  # a concurrent upload of the same file to the same case won

    def get(self, sha256: str) -> tuple[Attachment, Path]:
        """The file's record (its first upload) and its path on disk."""
        if not isinstance(sha256, str) or not _SHA.match(sha256):
            raise NotFound(f"file {sha256!r} does not exist")
        path = self._file(sha256)
        if not path.is_file():
            raise NotFound(f"file {sha256} does not exist")
        record = None
        if self.db is not None:
            with self.db.session() as session:
                row = session.scalars(select(AttachmentRecord).where(AttachmentRecord.sha256 == sha256)
                                      .order_by(AttachmentRecord.id)).first()  # fmt: skip
                record = _attachment(row) if row else None
        return record or Attachment(sha256, path.stat().st_size, sha256, "application/octet-stream"), path

    def for_case(self, case_id: str) -> list[Attachment]:
        """The files uploaded to a case, oldest first."""
        if self.db is None:
            return []
        with self.db.session() as session:
            rows = session.scalars(select(AttachmentRecord).where(AttachmentRecord.case_id == case_id)
                                   .order_by(AttachmentRecord.id)).all()  # fmt: skip
            return [_attachment(r) for r in rows]

    def link(self, sha256: str, case_id: str, uploaded_by: str) -> Attachment:
        """Record an already stored file (uploaded before the case existed) for a case."""
        stored, _ = self.get(sha256)
        attachment = Attachment(sha256, stored.size, stored.filename, stored.content_type, case_id, uploaded_by,
                                self._now())  # fmt: skip
        if self.db is not None:
            self._record(attachment)
        return attachment
