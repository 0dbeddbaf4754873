"""Save and load fitted estimators as JSON + .npz, never pickle.

A model is two files side by side: ``<stem>.json`` (format marker, class name, constructor
parameters, scalar learned attributes, SHA-256 of the npz) and ``<stem>.npz`` (every array,
read with ``allow_pickle=False``). Loading executes no code taken from the files: the class
comes from an explicit registry, and every value is checked before it reaches the model.

Values that JSON cannot hold are written as one-key tagged objects:

- ``{"__float__": "inf" | "-inf" | "nan"}``: a non-finite Python float;
- ``{"__array__": KEY}``: an ndarray or numpy scalar stored in the npz under ``KEY``
  (``"str_object": true`` marks an object array of str, stored as unicode);
- ``{"__random_state__": {"keys": KEY, "pos": ..., "has_gauss": ..., "cached_gaussian": ...}}``:
  a ``numpy.random.RandomState`` (its MT19937 key array in the npz).
"""

from __future__ import annotations

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

__all__ = ["load", "register_model", "save"]

FORMAT = "emkit-model"
FORMAT_VERSION = 1

_TOP_KEYS = frozenset(
    {"format", "format_version", "emkit_version", "class", "params", "attributes", "npz_sha256"})
_ARRAY_KINDS = frozenset("biufcU")  # bool, ints, floats, complex, unicode: no pickle needed
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*_\Z")  # learned attributes; no dunders
_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}

# name -> (class, check): check(model) raises ValueError when loaded arrays are inconsistent.
_REGISTRY: dict = {}


def register_model(cls=None, *, check=None):
    """Allow :func:`load` to rebuild instances of ``cls``; usable as a class decorator.

    Parameters
    ----------
    cls : type
        A scikit-learn style estimator class, registered under ``cls.__name__``.
    check : callable, default=None
        ``check(model)`` raises ValueError when the loaded attributes are inconsistent
        (shapes, dtypes, missing names). Defaults to the method ``cls._check_loaded_arrays``
        when the class defines one.

    Returns
    -------
    cls : type
        Unchanged, so the function works as ``@register_model``.
    """
    if cls is None:
        return lambda c: register_model(c, check=check)
    name = cls.__name__
    known = _REGISTRY.get(name)
    if known is not None and known[0] is not cls:
        raise ValueError(f"Another class is already registered as {name!r}: {known[0]!r}.")
    if check is None:
        check = getattr(cls, "_check_loaded_arrays", None)
    _REGISTRY[name] = (cls, check)
    return cls


def _error(path: Path, problem: str) -> ModelFileError:
    """A one-line ModelFileError naming the file first, then the problem."""
    problem = " ".join(str(problem).split())
    if len(problem) > 500:
        problem = problem[:497] + "..."
    return ModelFileError(f"{path}: {problem}")


# -- paths and atomic writes -----------------------------------------------------------------
def _paths(path) -> tuple[Path, Path]:
    """The (json, npz) pair for ``path`` given as the .json, the .npz or the stem."""
    path = Path(os.fspath(path))
    if path.suffix.lower() in (".json", ".npz"):
        path = path.with_suffix("")
    return path.with_name(path.name + ".json"), path.with_name(path.name + ".npz")


def _write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, then rename it into place."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:  # mode 0o666 less the umask, as for any new file
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(target.parent)


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
    raise TypeError(f"Cannot save {what}: values of type {type(value).__name__} are not "
                    "supported.")


def save(model, path) -> None:
    """Write a fitted estimator as ``<stem>.json`` + ``<stem>.npz``, without pickle.

    Both files are written atomically (temporary file, then rename), the npz first.

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
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    npz_bytes = buffer.getvalue()
    from . import __version__

    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "emkit_version": __version__,
        "class": name,
        "params": params,
        "attributes": attributes,
        "npz_sha256": hashlib.sha256(npz_bytes).hexdigest(),
    }
    json_bytes = (json.dumps(header, indent=1, allow_nan=False) + "\n").encode("utf-8")
    json_path, npz_path = _paths(path)
    _write_atomic(npz_path, npz_bytes)
    try:
        _write_atomic(json_path, json_bytes)
    except BaseException:
        # The npz no longer matches any JSON: remove it rather than leave a stray half.
        try:
            os.unlink(npz_path)
        except OSError:
            pass
        raise


# -- decoding --------------------------------------------------------------------------------
class _Reader:
    """Decodes the tagged JSON values of one model file, taking arrays from its npz."""

    def __init__(self, json_path: Path, npz_path: Path, npz):
        self.json_path = json_path
        self.npz_path = npz_path
        self.npz = npz
        self.used: set = set()

    def fail(self, problem: str, path: Path | None = None):
        raise _error(path or self.json_path, problem)

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
        self.fail(f"{where}: unknown keys {sorted(value)}")

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


def _read_json(json_path: Path) -> dict:
    try:
        with open(json_path, encoding="utf-8") as f:
            header = json.load(f)
    except FileNotFoundError:
        raise _error(json_path, "model file not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _error(json_path, f"not a JSON file ({exc})") from None
    except OSError as exc:
        raise _error(json_path, f"cannot read model file ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise _error(json_path, f"not an emkit model file (no 'format': {FORMAT!r} marker)")
    version = header.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise _error(json_path, f"unsupported format_version {version!r} (this emkit reads "
                                f"{FORMAT_VERSION})")
    unknown = set(header) - _TOP_KEYS
    missing = _TOP_KEYS - set(header)
    if unknown:
        raise _error(json_path, f"unknown keys {sorted(unknown)}")
    if missing:
        raise _error(json_path, f"missing keys {sorted(missing)}")
    return header


def _read_npz(npz_path: Path, sha256, json_path: Path):
    try:
        data = npz_path.read_bytes()
    except FileNotFoundError:
        raise _error(npz_path, "model array file not found") from None
    except OSError as exc:
        raise _error(npz_path, f"cannot read model array file ({exc})") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise _error(npz_path, f"checksum mismatch, the SHA-256 differs from the one in "
                               f"{json_path.name} (modified, or from another save)")
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise _error(npz_path, f"not a valid npz file ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise _error(npz_path, "not a valid npz file (a single .npy array)")
    return npz


def load(path):
    """Read an estimator written by :func:`save`; no pickle, no code from the file.

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
    header = _read_json(json_path)
    name = header["class"]
    if not isinstance(name, str) or name not in _REGISTRY:
        raise _error(json_path, f"unknown model class {name!r} (known: {sorted(_REGISTRY)})")
    cls, check = _REGISTRY[name]
    if not isinstance(header["npz_sha256"], str):
        raise _error(json_path, "npz_sha256 is not a string")
    with _read_npz(npz_path, header["npz_sha256"], json_path) as npz:
        reader = _Reader(json_path, npz_path, npz)
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
        extra = set(npz.files) - reader.used
        if extra:
            reader.fail(f"unknown arrays {sorted(extra)}", npz_path)
    model = cls(**params)
    vars(model).update(attributes)
    _check_model(model, check, json_path)
    return model


def _check_model(model, check, json_path: Path) -> None:
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
        raise _error(json_path, f"inconsistent model: {exc}") from None
