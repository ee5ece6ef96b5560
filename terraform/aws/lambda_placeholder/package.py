"""Build handler.zip, the Lambda package Terraform uploads, from handler.py: `python package.py` after editing it.

The zip is committed so that the stack needs no provider besides hashicorp/aws. It is byte-for-byte reproducible
(stored uncompressed, fixed timestamp and permissions), so a static test can rebuild it and compare.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "handler.py"
PACKAGE = HERE / "handler.zip"
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry
UNIX = 3
READABLE_FILE = 0o100644  # a regular file, readable by the Lambda runtime's user


def build(source: Path = SOURCE) -> bytes:
    entry = zipfile.ZipInfo(source.name, date_time=FIXED_TIMESTAMP)
    entry.create_system = UNIX
    entry.external_attr = READABLE_FILE << 16
    entry.compress_type = zipfile.ZIP_STORED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(entry, source.read_bytes())
    return buffer.getvalue()


def main() -> None:
    partial = PACKAGE.with_name(PACKAGE.name + ".partial")
    partial.write_bytes(build())
    os.replace(partial, PACKAGE)
    print(f"wrote {PACKAGE}")


if __name__ == "__main__":
    main()
