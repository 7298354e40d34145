"""Case files: content-addressed on disk, size and type limits with clear messages, safe download headers."""

from __future__ import annotations

import hashlib
import io

import pytest

from engine.attachments import AttachmentStore, clean_filename, download_headers
from engine.errors import InvalidData, NotFound

PDF = b"%PDF-1.7\n" + b"x" * 1000 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def store(engine, tmp_path):
    return AttachmentStore(tmp_path / "files", engine.db, clock=engine.clock)


def test_put_is_content_addressed_and_recorded_per_case(store, tmp_path):
    a = store.put(io.BytesIO(PDF), "营业执照.pdf", "application/pdf", "case1", "clerk.scjg")
    sha = hashlib.sha256(PDF).hexdigest()
    assert (a.sha256, a.size, a.filename, a.content_type) == (sha, len(PDF), "营业执照.pdf", "application/pdf")
    stored, path = store.get(sha)
    assert path == tmp_path / "files" / sha[:2] / sha[2:4] / sha and path.read_bytes() == PDF
    assert stored.case_id == "case1" and stored.uploaded_by == "clerk.scjg"
    # the same bytes again: one file on disk, one record for the case; another case gets its own record
    store.put(io.BytesIO(PDF), "copy.pdf", "application/pdf", "case1", "clerk.scjg")
    store.put(io.BytesIO(PDF), "copy.pdf", "application/pdf", "case2", "clerk.scjg")
    assert [x.filename for x in store.for_case("case1")] == ["营业执照.pdf"]
    assert [x.filename for x in store.for_case("case2")] == ["copy.pdf"]
    assert len([p for p in (tmp_path / "files").rglob("*") if p.is_file()]) == 1


def test_oversize_refused_with_a_message_and_nothing_kept(engine, tmp_path):
    store = AttachmentStore(tmp_path / "files", engine.db, max_bytes=100_000)
    big = io.BytesIO(b"%PDF-" + b"0" * 100_000)
    with pytest.raises(InvalidData, match=r"文件「big.pdf」超过 0.095\d* MB，未保存"):
        store.put(big, "big.pdf", "application/pdf", "case1", "u")
    assert [p for p in (tmp_path / "files").rglob("*") if p.is_file()] == []
    assert store.for_case("case1") == []


def test_default_limit_is_twenty_megabytes(store):
    with pytest.raises(InvalidData, match="超过 20 MB"):
        store.put(io.BytesIO(b"%PDF-" + b"0" * (20 * 1024 * 1024)), "big.pdf", "application/pdf", "c", "u")


@pytest.mark.parametrize(
    ("name", "content", "ctype", "message"),
    [
        ("page.html", b"<html><script>alert(1)</script>", "text/html", "类型不允许上传"),
        ("evil.pdf", b"<html><script>alert(1)</script>", "application/pdf", "内容与扩展名 .pdf 不符"),
        ("run.exe", b"MZ\x90\x00", "application/octet-stream", "类型不允许上传"),
        ("image.png", PNG, "text/html", "声明为 text/html"),
        ("empty.pdf", b"", "application/pdf", "是空文件"),
        ("noext", PDF, "application/pdf", "类型不允许上传"),
    ],
)
def test_wrong_type_refused_with_a_message(store, name, content, ctype, message):
    with pytest.raises(InvalidData, match=message) as refused:
        store.put(io.BytesIO(content), name, ctype, "case1", "u")
    assert "PDF" in str(refused.value) or message in str(refused.value)
    assert store.for_case("case1") == []


def test_allowed_office_and_image_types(store):
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    zipped = b"PK\x03\x04" + b"\x00" * 100
    cases = [("a.jpg", b"\xff\xd8\xff\xe0" + b"1" * 50, "image/jpeg"), ("b.png", PNG, "image/png"),
             ("c.doc", ole, "application/msword"), ("d.xlsx", zipped, None), ("e.ofd", zipped + b"o", "")]  # fmt: skip
    kinds = [store.put(io.BytesIO(body), name, ctype, "case9", "u").content_type for name, body, ctype in cases]
    assert kinds == ["image/jpeg", "image/png", "application/msword",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/ofd"]  # fmt: skip


def test_filenames_are_cleaned_and_downloads_never_render(store):
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\temp\\a\x00b.pdf") == "ab.pdf"
    assert clean_filename("..") == "file"
    a = store.put(io.BytesIO(PDF), '<img src=x onerror=alert(1)>"申请书".pdf', "application/pdf", "c", "u")
    headers = download_headers(a)
    assert headers["Content-Disposition"].startswith("attachment; ")
    assert "filename*=UTF-8''%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%E7%94%B3" in headers["Content-Disposition"]
    assert '"' not in headers["Content-Disposition"].split('filename="')[1].split('";')[0]
    assert headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in headers["Content-Security-Policy"]


def test_get_unknown_or_malformed_hash(store):
    with pytest.raises(NotFound):
        store.get("0" * 64)
    with pytest.raises(NotFound):
        store.get("../../secret")
