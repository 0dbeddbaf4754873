"""A failed fit leaves the estimator exactly as it was: one guard for every estimator."""

from __future__ import annotations

import functools


def untouched_on_failure(method):
    """Decorate an estimator method (``fit``, ``fit_predict``, ...) so that, if it raises,
    every attribute of the estimator is restored to what it was before the call: no
    half-updated model, no ``n_features_in_`` from data that were refused."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        snapshot = dict(self.__dict__)
        try:
            return method(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise

    return guarded
