"""Plain-text corpora: one document per file of a directory, or per line of a file."""

from __future__ import annotations

from pathlib import Path


#: A file with a NUL byte among its first this many bytes is binary (compressed, say).
BINARY_PROBE = 8192


def _read_text(path: Path) -> str | None:
    """A text file's contents (UTF-8, undecodable bytes replaced); None for a binary
    file."""
    data = path.read_bytes()
    if b"\0" in data[:BINARY_PROBE]:
        return None
    return data.decode("utf-8", errors="replace")


def read_corpus(path) -> tuple[list, list]:
    """The documents of a directory (each regular text file below it, recursively, sorted
    by path; hidden files and directories, and binary files, skipped) or of a text file
    (each non-blank line).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    documents : list of str
    names : list of str
        Where each document came from: the file's path relative to the directory, or
        ``file:line``.

    Raises
    ------
    ValueError
        When the path holds no document (no file, or only blank lines).
    OSError
        When the path does not exist or cannot be read.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*")
                       if p.is_file() and not any(part.startswith(".")
                                                  for part in p.relative_to(path).parts))
        texts = [(p, _read_text(p)) for p in files]
        documents = [text for _, text in texts if text is not None]
        names = [str(p.relative_to(path)) for p, text in texts if text is not None]
        if not documents:
            raise ValueError(f"{path}: the directory holds no text file (one document per "
                             "file; binary files are skipped)")
    else:
        text = _read_text(path)
        if text is None:
            raise ValueError(f"{path}: a binary file, not text (one document per line)")
        lines = text.splitlines()
        kept = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
        documents = [line for _, line in kept]
        names = [f"{path.name}:{i}" for i, _ in kept]
        if not documents:
            raise ValueError(f"{path}: the file has no non-blank line (one document per "
                             "line)")
    return documents, names
