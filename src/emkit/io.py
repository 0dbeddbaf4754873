"""Save and load fitted estimators as JSON + .npz, never pickle.

A model is two files side by side:

- ``<stem>.npz``: every array (read with ``allow_pickle=False``) and, under the key
  ``__header__`` (UTF-8 JSON bytes), the model's description: format marker, class name,
  constructor parameters, scalar learned attributes, a random ``save_id`` naming this save,
  and ``content_sha256``, the SHA-256 of that description and of the arrays. It is a
  complete model on its own.
- ``<stem>.json``: a readable copy of the description, with ``npz_sha256``, the SHA-256 of
  the whole npz file.

Loading executes no code taken from the files: the class comes from an explicit registry, and
every value is checked before it reaches the model.

Why this layout: a save must leave either the old model or the new one, whatever moment it
is killed at (kill -9, power cut), and two rename calls cannot happen at once; a lock alone
cannot help, since a writer killed between its renames has already replaced the old npz. So
the npz alone is the model, and its atomic rename is the moment a save happens; the JSON
follows as a copy. :func:`load` uses the JSON when its ``npz_sha256`` matches the npz (so a
hand-edited or forged JSON is checked exactly as before). When it does not, and the JSON is
missing or comes from another save (another ``save_id``: a save interrupted between the two
renames, or racing with another one), the description inside the npz is used, and must match
its ``content_sha256``; when the JSON comes from the same save, the npz was modified or
damaged, an error as before. Writers also hold an exclusive ``flock`` on the directory for
the whole save, so concurrent saves (threads or processes) run one after the other and the
JSON copy stays in step with its npz; a consistent load never depends on that lock, which
some file systems lack. Both files are written to temporary files first, synced to disk
with ``fsync``, renamed into place, and the directory is synced after each rename, so a power
cut cannot leave an empty renamed file. Temporary files are named
``.<file name>.<writer pid>-<16 hex>.tmp``; they are removed when a save fails in Python (an
exception, KeyboardInterrupt), and those left by a killed writer are removed by the next save
or load of that model, once the writer's process is gone. If the JSON cannot be renamed after
the npz was, the old npz is put back (from a hard link kept during the save), so a save that
raises leaves the old pair as it was (where the file system has hard links).

Format 1 (before the npz held the description) is still read: its JSON is then the only
description, and its npz must match ``npz_sha256``.

Values that JSON cannot hold are written as one-key tagged objects:

- ``{"__float__": "inf" | "-inf" | "nan"}``: a non-finite Python float;
- ``{"__array__": KEY}``: an ndarray or numpy scalar stored in the npz under ``KEY``
  (``"str_object": true`` marks an object array of str, stored as unicode);
- ``{"__random_state__": {"keys": KEY, "pos": ..., "has_gauss": ..., "cached_gaussian": ...}}``:
  a ``numpy.random.RandomState`` (its MT19937 key array in the npz).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import secrets
import zipfile
from pathlib import Path

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._exceptions import ModelFileError

try:  # POSIX; elsewhere saves run unlocked and leftovers are not cleaned up
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["load", "register_model", "save"]

FORMAT = "emkit-model"
FORMAT_VERSION = 2
_HEADER_KEY = "__header__"  # the npz entry holding the description (array keys have a dot)

_DESCRIPTION_KEYS = frozenset(
    {"format", "format_version", "emkit_version", "class", "params", "attributes"})
_JSON_KEYS = {1: _DESCRIPTION_KEYS | {"npz_sha256"},  # by format_version
              2: _DESCRIPTION_KEYS | {"save_id", "npz_sha256"}}
_EMBEDDED_KEYS = {2: _DESCRIPTION_KEYS | {"save_id", "content_sha256"}}
_ARRAY_KINDS = frozenset("biufcU")  # bool, ints, floats, complex, unicode: no pickle needed
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*_\Z")  # learned attributes; no dunders
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
# What reading a damaged npz can raise (zipfile, zlib, numpy's .npy parser, text decoding).
_NPZ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, UnicodeDecodeError)

# The steps of a save, in order; _step_hook (tests only) is called with each name.
SAVE_STEPS = ("locked", "npz temp created", "npz temp written", "npz temp synced",
              "json temp created", "json temp written", "json temp synced", "old npz kept",
              "npz renamed", "json renamed", "temps removed")
_step_hook = None

# name -> (class, check, may_be_infinite): check(model) raises ValueError when loaded arrays
# are inconsistent; may_be_infinite names attributes where infinity is a legitimate value.
_REGISTRY: dict = {}


def register_model(cls=None, *, check=None, may_be_infinite=()):
    """Allow :func:`load` to rebuild instances of ``cls``; usable as a class decorator.

    Parameters
    ----------
    cls : type
        A scikit-learn style estimator class, registered under ``cls.__name__``.
    check : callable, default=None
        ``check(model)`` raises ValueError when the loaded attributes are inconsistent
        (shapes, dtypes, missing names). Defaults to the method ``cls._check_loaded_arrays``
        when the class defines one.
    may_be_infinite : iterable of str, default=()
        Learned attributes whose values may legitimately be infinite (an E-value of a motif
        without sites, say). :func:`save` refuses infinity in any other attribute, and NaN
        in every attribute, as the mark of a failed fit.

    Returns
    -------
    cls : type
        The class, given a ``save(path)`` method (:func:`save` on the instance) unless it
        has one, so every registered model saves the same way.
    """
    if cls is None:
        return lambda c: register_model(c, check=check, may_be_infinite=may_be_infinite)
    name = cls.__name__
    known = _REGISTRY.get(name)
    if known is not None and known[0] is not cls:
        raise ValueError(f"Another class is already registered as {name!r}: {known[0]!r}.")
    if check is None:
        check = getattr(cls, "_check_loaded_arrays", None)
    _REGISTRY[name] = (cls, check, frozenset(may_be_infinite))
    if not hasattr(cls, "save"):
        cls.save = _save_method
    return cls


def _import_model_class(name: str) -> None:
    """Import the public model class ``name`` of any family (its module registers it):
    the families import their classes on first use."""
    import importlib

    for family in ("mixture", "hmm", "impute", "motif", "topics"):
        module = importlib.import_module(f"emkit.{family}")
        if name in getattr(module, "__all__", ()):
            getattr(module, name)
            return


def _save_method(self, path) -> None:
    """Write the model to ``path`` as ``<stem>.json`` + ``<stem>.npz`` (no pickle); read it
    back with :func:`emkit.load`. A save killed at any moment leaves the old model or the
    new one."""
    save(self, path)


def _error(path: Path, problem: str) -> ModelFileError:
    """A one-line ModelFileError naming the file first, then the problem."""
    problem = " ".join(str(problem).split())
    if len(problem) > 500:
        problem = problem[:497] + "..."
    return ModelFileError(f"{path}: {problem}")


def _step(name: str) -> None:
    """Mark a step of a save (a test can pause or kill the process there)."""
    if _step_hook is not None:
        _step_hook(name)


# -- paths, temporary files and the directory lock -------------------------------------------
def _paths(path) -> tuple[Path, Path]:
    """The (json, npz) pair for ``path`` given as the .json, the .npz or the stem."""
    path = Path(os.fspath(path))
    if path.suffix.lower() in (".json", ".npz"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".json"), path.with_name(path.name + ".npz")


def _temp_name(target: Path) -> re.Pattern:
    """Names of temporary files for ``target``: ``.<name>.<pid>-<16 hex>.tmp``.

    The pid is optional: saves by format 1 code named them ``.<name>.<16 hex>.tmp``.
    """
    return re.compile(rf"\.{re.escape(target.name)}\.(?:(\d+)-)?[0-9a-f]{{16}}\.tmp\Z")


def _temp_path(target: Path) -> Path:
    """A fresh temporary file name beside ``target``, naming this process."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(8)}.tmp")


def _new_temp(target: Path) -> tuple[Path, int]:
    """Create a new, empty temporary file beside ``target``; returns (path, descriptor)."""
    while True:
        tmp = _temp_path(target)
        try:  # mode 0o666 less the umask, as for any new file
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                                getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue


def _process_alive(pid: str | None) -> bool:
    """Whether process ``pid`` (a decimal string, or None when unknown) still runs here."""
    if pid is None or int(pid) <= 0:
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def _remove_leftovers(*targets: Path) -> None:
    """Remove temporary files of ``targets`` whose writer process is gone (best effort).

    Call only while holding the directory lock: every writer holds it from its first
    temporary file to its last, so no live writer can be mid-save. (On Windows, where
    ``os.kill`` would end the process, there is no lock and this is never called.)
    """
    patterns = [_temp_name(target) for target in targets]
    try:
        entries = [entry.name for entry in os.scandir(targets[0].parent)]
    except OSError:
        return
    for name in entries:
        for pattern in patterns:
            match = pattern.match(name)
            if match and not _process_alive(match.group(1)):
                with contextlib.suppress(OSError):
                    os.unlink(targets[0].with_name(name))


@contextlib.contextmanager
def _directory_lock(directory: Path, wait: bool):
    """Hold an exclusive ``flock`` on ``directory``; yields whether it is held.

    Not held where locks are unavailable (no fcntl, a file system without flock, a directory
    that cannot be opened) or, with ``wait=False``, while another process holds it.
    """
    fd = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fd = os.open(directory, os.O_RDONLY)
    try:
        held = False
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
            except OSError:
                pass
        yield held
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable where the platform allows it (POSIX); best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_temp(target: Path, data: bytes, temps: list, label: str) -> Path:
    """Write ``data`` to a new temporary file beside ``target``, synced to disk."""
    tmp, fd = _new_temp(target)
    temps.append(tmp)
    with os.fdopen(fd, "wb") as f:
        _step(f"{label} temp created")
        f.write(data)
        f.flush()
        _step(f"{label} temp written")
        os.fsync(f.fileno())
    _step(f"{label} temp synced")
    return tmp


def _write_pair(json_path: Path, json_bytes: bytes, npz_path: Path, npz_bytes: bytes) -> None:
    """Replace the pair: the npz (the model) first, then its JSON copy.

    On a Python-level failure every temporary file is removed, and a failure after the npz
    was renamed puts the old npz back (or removes the new one when there was none), so the
    old pair stays exactly as it was.
    """
    directory = npz_path.parent
    temps: list = []
    try:
        npz_tmp = _write_temp(npz_path, npz_bytes, temps, "npz")
        json_tmp = _write_temp(json_path, json_bytes, temps, "json")
        old_npz = _keep_old(npz_path, temps)
        _step("old npz kept")
        os.replace(npz_tmp, npz_path)
        try:
            temps.remove(npz_tmp)
            _fsync_directory(directory)
            _step("npz renamed")
            os.replace(json_tmp, json_path)
        except BaseException:
            _put_back(npz_path, old_npz)
            raise
        temps.remove(json_tmp)
        _fsync_directory(directory)
        _step("json renamed")
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _step("temps removed")


def write_atomic(target, data: bytes) -> None:
    """Replace the file ``target`` by ``data`` at once: a synced temporary file beside it,
    renamed into place, so a reader or a crash sees the old file or the new one, never a
    part of either (reports, figures and other single-file outputs)."""
    target = Path(os.fspath(target))
    temps: list = []
    try:
        tmp = _write_temp(target, data, temps, "file")
        os.replace(tmp, target)
        temps.remove(tmp)
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_directory(target.parent)


def _keep_old(npz_path: Path, temps: list):
    """A hard link to the current npz (False when there is none, None when links fail)."""
    if not npz_path.exists():
        return False
    while True:
        link = _temp_path(npz_path)
        try:
            os.link(npz_path, link)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: the new npz stays on failure
            return None
        temps.append(link)
        return link


def _put_back(npz_path: Path, old_npz) -> None:
    """Undo the npz rename after a failed save (best effort: the failure is re-raised)."""
    with contextlib.suppress(OSError):
        if old_npz is False:
            os.unlink(npz_path)
        elif old_npz is not None:
            os.replace(old_npz, npz_path)
        _fsync_directory(npz_path.parent)


# -- encoding --------------------------------------------------------------------------------
def _encode(value, key: str, arrays: dict, what: str):
    """JSON-ready form of ``value``; arrays are added to ``arrays`` under ``key``."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{key}.{i}", arrays, what) for i, v in enumerate(value)]
    if isinstance(value, np.random.RandomState):
        kind, keys, pos, has_gauss, cached = value.get_state(legacy=True)
        arrays[key] = keys
        return {"__random_state__": {"keys": key, "pos": int(pos), "has_gauss": int(has_gauss),
                                     "cached_gaussian": float(cached)}}
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        tag = {"__array__": key}
        if array.dtype == object:
            if not all(isinstance(v, str) for v in array.flat):
                raise TypeError(f"Cannot save {what}: an object array that is not all str.")
            array = array.astype(str)
            tag["str_object"] = True
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"Cannot save {what}: arrays of dtype {array.dtype} are not "
                            "supported.")
        if isinstance(value, np.generic):
            tag["scalar"] = True
        arrays[key] = array
        return tag
    from .mixture._mclust_prior import ConjugatePrior

    if isinstance(value, ConjugatePrior):  # its fields, by name
        return {"__conjugate_prior__": {
            field: _encode(getattr(value, field), f"{key}.{field}", arrays, what)
            for field in _PRIOR_FIELDS}}
    raise TypeError(f"Cannot save {what}: values of type {type(value).__name__} are not "
                    "supported.")


#: The fields of a saved ConjugatePrior (GaussianMixture's ``prior``).
_PRIOR_FIELDS = ("shrinkage", "mean", "dof", "scale")


def _content_sha256(description: dict, arrays: dict) -> str:
    """SHA-256 of a description (as sorted JSON) and of its arrays by key, dtype, shape and
    C-order bytes: the same for what save wrote and what load reads back."""
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode("utf-8"))
    for key in sorted(arrays):
        array = np.asarray(arrays[key])
        digest.update(json.dumps([key, array.dtype.str, list(array.shape)]).encode("utf-8"))
        digest.update(array.tobytes())
    return digest.hexdigest()


def _non_finite(value, infinity_allowed: bool = False) -> bool:
    """Whether ``value`` (a float, float array, or list of them) holds NaN, or infinity
    unless ``infinity_allowed``."""
    if isinstance(value, (list, tuple)):
        return any(_non_finite(v, infinity_allowed) for v in value)
    if isinstance(value, (float, complex, np.inexact)) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "fc"):
        return bool(np.any(np.isnan(value) if infinity_allowed else ~np.isfinite(value)))
    return False


def _check_finite(model) -> None:
    """Refuse a model with NaN or infinite learned values (a broken fit) before writing."""
    may_be_infinite = _REGISTRY[type(model).__name__][2]
    if getattr(model, "n_iter_", None) == 0:
        # no EM iteration ran (max_iter=0: the start itself): no lower bound yet, and
        # scikit-learn's marker for that is -inf
        may_be_infinite = may_be_infinite | {"lower_bound_"}
    for name, value in vars(model).items():
        if _ATTRIBUTE_NAME.match(name) and _non_finite(value, name in may_be_infinite):
            kind = "NaN" if name in may_be_infinite else "NaN or infinity"
            raise ValueError(f"Cannot save {type(model).__name__}: attribute {name!r} contains "
                             f"{kind} (a failed fit?); no file was written.")


def save(model, path) -> None:
    """Write a fitted estimator as ``<stem>.json`` + ``<stem>.npz``, without pickle.

    A save killed at any moment leaves either the old model or the new one for
    :func:`load`; concurrent saves to the same path run one after the other; a save that
    raises leaves the old files as they were and no temporary file behind.

    Parameters
    ----------
    model : estimator
        A fitted estimator whose class is registered with :func:`register_model`.
    path : str or path-like
        ``<stem>.json``, ``<stem>.npz`` or the stem itself.

    Raises
    ------
    NotFittedError
        If ``model`` is not fitted.
    TypeError
        If a parameter or attribute has a type that cannot be saved.
    ValueError
        If a learned attribute holds NaN or infinity (nothing is written then).
    """
    check_is_fitted(model)
    name = type(model).__name__
    if _REGISTRY.get(name, (None,))[0] is not type(model):
        raise TypeError(f"Cannot save a {name}: the class is not registered with "
                        "emkit.io.register_model, so it could not be loaded back.")
    arrays: dict = {}
    params = {k: _encode(v, f"params.{k}", arrays, f"parameter {k!r}")
              for k, v in model.get_params(deep=False).items()}
    attributes = {k: _encode(v, f"attributes.{k}", arrays, f"attribute {k!r}")
                  for k, v in vars(model).items() if _ATTRIBUTE_NAME.match(k)}
    _check_finite(model)
    from . import __version__

    description = {"format": FORMAT, "format_version": FORMAT_VERSION,
                   "emkit_version": __version__, "class": name, "params": params,
                   "attributes": attributes, "save_id": secrets.token_hex(16)}
    content = _content_sha256(description, arrays)
    embedded = np.frombuffer(_dumps({**description, "content_sha256": content}), np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays, **{_HEADER_KEY: embedded})
    npz_bytes = buffer.getvalue()
    json_bytes = _dumps({**description, "npz_sha256": hashlib.sha256(npz_bytes).hexdigest()})
    json_path, npz_path = _paths(path)
    with _directory_lock(npz_path.parent, wait=True) as held:
        if held:
            _remove_leftovers(json_path, npz_path)
        _step("locked")
        _write_pair(json_path, json_bytes, npz_path, npz_bytes)


def _dumps(header: dict) -> bytes:
    """Strict JSON (no NaN or Infinity constants), one key per line, UTF-8."""
    return (json.dumps(header, indent=1, allow_nan=False) + "\n").encode("utf-8")


# -- decoding --------------------------------------------------------------------------------
class _Reader:
    """Decodes the tagged JSON values of one model file, taking arrays from its npz."""

    def __init__(self, header_path: Path, npz_path: Path, npz):
        self.header_path = header_path
        self.npz_path = npz_path
        self.npz = npz
        self.used: set = set()

    def fail(self, problem: str, path: Path | None = None):
        raise _error(path or self.header_path, problem)

    def array(self, key, where: str) -> np.ndarray:
        if not isinstance(key, str):
            self.fail(f"{where}: array reference is not a string")
        if key not in self.npz.files:
            self.fail(f"{where}: expected array {key!r} is missing", self.npz_path)
        try:
            array = self.npz[key]
        except ValueError as exc:  # object arrays need pickle, refused by allow_pickle=False
            self.fail(f"{where}: array {key!r} cannot be read without pickle ({exc})",
                      self.npz_path)
        except Exception as exc:
            self.fail(f"{where}: array {key!r} is unreadable ({exc})", self.npz_path)
        if not isinstance(array, np.ndarray):
            self.fail(f"{where}: entry {key!r} is not a .npy array", self.npz_path)
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None:
            self.fail(f"{where}: array {key!r} has unsupported dtype {array.dtype}",
                      self.npz_path)
        self.used.add(key)
        return array

    def decode(self, value, where: str):
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, list):
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, dict) or len(value) == 0:
            self.fail(f"{where}: unexpected value {value!r}")
        if "__float__" in value and len(value) == 1:
            if not isinstance(value["__float__"], str) or value["__float__"] not in _NON_FINITE:
                self.fail(f"{where}: bad non-finite float {value['__float__']!r}")
            return _NON_FINITE[value["__float__"]]
        if "__array__" in value and set(value) <= {"__array__", "str_object", "scalar"}:
            array = self.array(value["__array__"], where)
            if value.get("str_object") is True:
                if array.dtype.kind != "U":
                    self.fail(f"{where}: array marked as str has dtype {array.dtype}")
                array = array.astype(object)
            if value.get("scalar") is True:
                if array.ndim != 0:
                    self.fail(f"{where}: scalar stored with shape {array.shape}")
                return array[()]
            return array
        if "__random_state__" in value and len(value) == 1:
            return self.random_state(value["__random_state__"], where)
        if "__conjugate_prior__" in value and len(value) == 1:
            return self.conjugate_prior(value["__conjugate_prior__"], where)
        self.fail(f"{where}: unknown keys {sorted(value)}")

    def conjugate_prior(self, spec, where: str):
        from .mixture._mclust_prior import ConjugatePrior

        if not isinstance(spec, dict) or set(spec) != set(_PRIOR_FIELDS):
            self.fail(f"{where}: a prior needs exactly the keys {sorted(_PRIOR_FIELDS)}")
        fields = {k: self.decode(v, f"{where}.{k}") for k, v in spec.items()}
        for k in ("shrinkage", "dof"):
            if not (fields[k] is None and k == "dof") and (
                    isinstance(fields[k], bool) or not isinstance(fields[k], (int, float))):
                self.fail(f"{where}: prior {k} must be a number, got {fields[k]!r}")
        for k in ("mean", "scale"):
            if not (fields[k] is None or isinstance(fields[k], (int, float, np.ndarray))):
                self.fail(f"{where}: prior {k} must be a number or an array")
        return ConjugatePrior(**fields)

    def random_state(self, spec, where: str) -> np.random.RandomState:
        fields = {"keys", "pos", "has_gauss", "cached_gaussian"}
        if not isinstance(spec, dict) or set(spec) != fields:
            self.fail(f"{where}: random state needs exactly the keys {sorted(fields)}")
        keys = self.array(spec["keys"], where)
        rng = np.random.RandomState()
        try:
            rng.set_state(("MT19937", keys.astype(np.uint32, casting="safe"), spec["pos"],
                           spec["has_gauss"], spec["cached_gaussian"]))
        except (TypeError, ValueError, OverflowError) as exc:
            self.fail(f"{where}: invalid random state ({exc})")
        return rng


def _parse_header(text, path: Path, keys_by_version: dict) -> dict:
    """The checked top level of a description (JSON text) read from ``path``."""
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _error(path, f"not a JSON file ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _error(path, f"not an emkit model file (no 'format': {FORMAT!r} marker)")
    version = header.get("format_version")
    if type(version) is not int or version not in keys_by_version:
        raise _error(path, f"unsupported format_version {version!r} (this emkit reads "
                           f"{', '.join(map(str, keys_by_version))})")
    keys = keys_by_version[version]
    unknown = set(header) - keys
    missing = keys - set(header)
    if unknown:
        raise _error(path, f"unknown keys {sorted(unknown)}")
    if missing:
        raise _error(path, f"missing keys {sorted(missing)}")
    for key in keys & {"save_id", "npz_sha256", "content_sha256"}:
        if not isinstance(header[key], str):
            raise _error(path, f"{key} is not a string")
    return header


def _read_json(json_path: Path) -> dict | None:
    """The JSON description, or None when the file does not exist."""
    try:
        data = json_path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _error(json_path, f"cannot read model file ({exc})") from None
    return _parse_header(data, json_path, _JSON_KEYS)


def _open_npz(data: bytes, npz_path: Path):
    """The npz in ``data``, opened without pickle."""
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except _NPZ_ERRORS as exc:
        raise _error(npz_path, f"not a valid npz file ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise _error(npz_path, "not a valid npz file (a single .npy array)")
    return npz


def _embedded_header(data: bytes, npz_path: Path) -> tuple[dict | None, str | None]:
    """(description, None) from inside the npz when it and the arrays match its
    ``content_sha256``.

    Otherwise (None, why): why is None for an npz without a description (format 1).
    """
    try:
        with _open_npz(data, npz_path) as npz:
            if _HEADER_KEY not in npz.files:
                return None, None
            stored = npz[_HEADER_KEY]
            arrays = {key: npz[key] for key in npz.files if key != _HEADER_KEY}
    except Exception as exc:  # damaged bytes fail in many ways (zipfile, zlib, .npy, pickle)
        return None, f"its content is unreadable ({type(exc).__name__}: {exc})"
    if stored.dtype != np.uint8 or stored.ndim != 1:
        return None, f"its {_HEADER_KEY} entry is not text"
    try:
        header = _parse_header(stored.tobytes(), npz_path, _EMBEDDED_KEYS)
    except ModelFileError as exc:  # its message is "<npz_path>: <problem>"
        return None, f"its description is unusable ({str(exc)[len(str(npz_path)) + 2:]})"
    description = {key: value for key, value in header.items() if key != "content_sha256"}
    if _content_sha256(description, arrays) != header["content_sha256"]:
        return None, "its content differs from the SHA-256 stored in it"
    return header, None


def _read_description(json_path: Path, npz_path: Path) -> tuple[dict, Path, bytes]:
    """(description, the file it comes from, npz bytes).

    The JSON when its ``npz_sha256`` matches the npz. Otherwise the description inside the
    npz, when the JSON is missing or from another save (another ``save_id``); when
    the JSON is from the same save, the npz was modified or damaged: an error.
    """
    header = _read_json(json_path)
    try:
        data = npz_path.read_bytes()
    except FileNotFoundError:
        if header is None:
            raise _error(json_path, "model file not found") from None
        raise _error(npz_path, "model array file not found") from None
    except OSError as exc:
        raise _error(npz_path, f"cannot read model array file ({exc})") from None
    if header is not None and hashlib.sha256(data).hexdigest() == header["npz_sha256"]:
        return header, json_path, data
    embedded, problem = _embedded_header(data, npz_path)
    if embedded is not None and (
            header is None or header.get("save_id") != embedded["save_id"]):
        return embedded, npz_path, data
    if header is None:
        if problem is None:
            raise _error(json_path, "model file not found")
        raise _error(npz_path, f"checksum mismatch, {problem} (modified or corrupted)")
    if problem is None:  # a format 1 npz, or bytes its own checksum does not cover
        raise _error(npz_path, f"checksum mismatch, the SHA-256 differs from the one in "
                               f"{json_path.name} (modified, corrupted, or from another save)")
    raise _error(npz_path, f"checksum mismatch, the SHA-256 differs from the one in "
                           f"{json_path.name} and {problem} (modified or corrupted)")


def load(path):
    """Read an estimator written by :func:`save`; no pickle, no code from the file.

    Reads format 1 and 2 files. When the JSON is missing or belongs to another npz (a save
    interrupted between its two renames), the model comes from the npz alone.

    Parameters
    ----------
    path : str or path-like
        ``<stem>.json``, ``<stem>.npz`` or the stem itself.

    Returns
    -------
    model : estimator
        The fitted estimator, predicting exactly as the saved one.

    Raises
    ------
    ModelFileError
        If a file is missing, malformed, of a foreign kind, names an unregistered class,
        fails its checksum, or holds arrays inconsistent with the parameters.
    """
    json_path, npz_path = _paths(path)
    with _directory_lock(npz_path.parent, wait=False) as held:
        if held:  # no save is under way: clear what killed ones left
            _remove_leftovers(json_path, npz_path)
    header, source, data = _read_description(json_path, npz_path)
    name = header["class"]
    if isinstance(name, str) and name not in _REGISTRY:
        _import_model_class(name)
    if not isinstance(name, str) or name not in _REGISTRY:
        raise _error(source, f"unknown model class {name!r} (known: {sorted(_REGISTRY)})")
    cls, check, _ = _REGISTRY[name]
    with _open_npz(data, npz_path) as npz:
        reader = _Reader(source, npz_path, npz)
        for section in ("params", "attributes"):
            if not isinstance(header[section], dict):
                reader.fail(f"'{section}' is not a JSON object")
        known_params = cls().get_params(deep=False)
        unknown = set(header["params"]) - set(known_params)
        if unknown:
            reader.fail(f"unknown parameters {sorted(unknown)} for {name}")
        bad = [k for k in header["attributes"]
               if not _ATTRIBUTE_NAME.match(k) or hasattr(cls, k)]
        if bad:
            reader.fail(f"invalid attribute names {sorted(bad)}")
        try:
            params = {k: reader.decode(v, f"parameter {k!r}")
                      for k, v in header["params"].items()}
            attributes = {k: reader.decode(v, f"attribute {k!r}")
                          for k, v in header["attributes"].items()}
        except RecursionError:
            reader.fail("values nested too deeply")
        extra = set(npz.files) - reader.used - {_HEADER_KEY}
        if extra:
            reader.fail(f"unknown arrays {sorted(extra)}", npz_path)
    model = cls(**params)
    vars(model).update(attributes)
    _check_model(model, check, source)
    return model


def _check_model(model, check, header_path: Path) -> None:
    """Validate the rebuilt model; any problem becomes a ModelFileError naming the file."""
    try:
        constraints = getattr(model, "_parameter_constraints", None)
        if constraints is not None:
            from ._validation import validate_params

            validate_params(model, constraints)
        check_is_fitted(model)
        if check is not None:
            check(model)
    except (ValueError, TypeError, AttributeError, LookupError, NotFittedError) as exc:
        raise _error(header_path, f"inconsistent model: {exc}") from None
