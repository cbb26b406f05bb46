"""Gaussian ownership (MODEL.md 2, step 2, ``gaussian``): labelling kernel by quadrature."""

from ..errors import InputError

__all__ = ["gaussian_labelling_kernel"]


def gaussian_labelling_kernel(system, counts):
    raise InputError("ownership=gaussian is not available in this version; use support or open")
