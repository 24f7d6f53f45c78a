"""Rules for evidence files: which types, how large, and that the content matches the name."""

from django.utils.translation import gettext as _

EVIDENCE_MAX_FILES = 5
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024

# Accepted evidence: extension -> the first bytes such a file starts with. Checking the
# content, not only the name, stops an .exe renamed to .pdf.
_ZIP = (b"PK\x03\x04",)
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
EVIDENCE_SIGNATURES = {
    "pdf": (b"%PDF-",),
    "docx": _ZIP, "xlsx": _ZIP, "pptx": _ZIP,
    "doc": _OLE, "xls": _OLE, "ppt": _OLE,
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
}  # fmt: skip


def check_evidence_file(upload):
    """Return an error message for an unacceptable evidence file, or None."""
    name = upload.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in EVIDENCE_SIGNATURES:
        return _("%(name)s: only PDF, Word, Excel, PowerPoint, PNG and JPEG files are accepted.") % {"name": name}
    if upload.size > EVIDENCE_MAX_BYTES:
        return _("%(name)s is larger than %(limit)s MB.") % {
            "name": name,
            "limit": EVIDENCE_MAX_BYTES // (1024 * 1024),
        }
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(EVIDENCE_SIGNATURES[extension]):
        return _("%(name)s is not really a .%(extension)s file.") % {
            "name": name,
            "extension": extension,
        }
    return None
