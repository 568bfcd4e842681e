"""Numba transverse-Mercator forward projection (Poder/Engsager "exact" tmerc, as in PROJ).

This is PROJ's default ellipsoidal ``+proj=tmerc`` algorithm (``tmerc.cpp``,
6th-order Krüger series via the Gaussian latitude and complex Clenshaw
summation), written out operation by operation in the same order so that it
reproduces PROJ to a few nanometres. It exists because the snap index projects
every query point and pyproj's per-call overhead would dominate a snap.

Only the forward direction is implemented; use :class:`civgrid.geo.metric.Projector`
(pyproj) for the inverse. Imported lazily by :mod:`civgrid.geo.metric` so that
importing the package does not import numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["tm_forward_array", "tm_forward_point", "tm_forward_scalar", "tm_params"]

#: Highest Krüger order used by PROJ (``ETMERC_ORDER``).
_ORDER = 6
#: Layout of the parameter vector: lam0, a, x0, y0, Qn, Zb, cbg[6], gtu[6].
_P_LAM0, _P_A, _P_X0, _P_Y0, _P_QN, _P_ZB, _P_CBG, _P_GTU = 0, 1, 2, 3, 4, 5, 6, 12
_DEG_TO_RAD = 0.017453292519943296


def tm_params(
    lon0_deg: float,
    *,
    a: float = 6378137.0,
    rf: float = 298.257222101,
    k0: float = 1.0,
    x0: float = 500000.0,
    y0: float = 0.0,
) -> np.ndarray:
    """Parameter vector of a transverse Mercator projection with origin latitude 0.

    Parameters
    ----------
    lon0_deg : float
        Central meridian in degrees east.
    a, rf : float
        Ellipsoid semi-major axis (metres) and inverse flattening. The defaults
        are GRS80 = CGCS2000 (a = 6378137 m, 1/f = 298.257222101).
    k0 : float
        Scale factor on the central meridian (1 for the Chinese Gauss-Krüger zones).
    x0, y0 : float
        False easting and northing in metres.

    Returns
    -------
    numpy.ndarray
        ``float64`` vector for :func:`tm_forward_array` / :func:`tm_forward_point`.
    """
    f_ = 1.0 / rf
    es = 2 * f_ - f_ * f_
    f = es / (1 + math.sqrt(1 - es))
    n = f / (2 - f)
    np_ = n
    cbg = [0.0] * 6
    gtu = [0.0] * 6
    cbg[0] = n * (
        -2
        + n * (2 / 3.0 + n * (4 / 3.0 + n * (-82 / 45.0 + n * (32 / 45.0 + n * (4642 / 4725.0)))))
    )
    np_ *= n
    cbg[1] = np_ * (
        5 / 3.0 + n * (-16 / 15.0 + n * (-13 / 9.0 + n * (904 / 315.0 + n * (-1522 / 945.0))))
    )
    np_ *= n
    cbg[2] = np_ * (-26 / 15.0 + n * (34 / 21.0 + n * (8 / 5.0 + n * (-12686 / 2835.0))))
    np_ *= n
    cbg[3] = np_ * (1237 / 630.0 + n * (-12 / 5.0 + n * (-24832 / 14175.0)))
    np_ *= n
    cbg[4] = np_ * (-734 / 315.0 + n * (109598 / 31185.0))
    np_ *= n
    cbg[5] = np_ * (444337 / 155925.0)

    np_ = n * n
    qn = k0 / (1 + n) * (1 + np_ * (1 / 4.0 + np_ * (1 / 64.0 + np_ / 256.0)))
    gtu[0] = n * (
        0.5
        + n
        * (-2 / 3.0 + n * (5 / 16.0 + n * (41 / 180.0 + n * (-127 / 288.0 + n * (7891 / 37800.0)))))
    )
    gtu[1] = np_ * (
        13 / 48.0
        + n * (-3 / 5.0 + n * (557 / 1440.0 + n * (281 / 630.0 + n * (-1983433 / 1935360.0))))
    )
    np_ *= n
    gtu[2] = np_ * (
        61 / 240.0 + n * (-103 / 140.0 + n * (15061 / 26880.0 + n * (167603 / 181440.0)))
    )
    np_ *= n
    gtu[3] = np_ * (49561 / 161280.0 + n * (-179 / 168.0 + n * (6601661 / 7257600.0)))
    np_ *= n
    gtu[4] = np_ * (34729 / 80640.0 + n * (-3418889 / 1995840.0))
    np_ *= n
    gtu[5] = np_ * (212378941 / 319334400.0)
    # Origin latitude 0: the Gaussian latitude and the northing offset Zb are 0.
    zb = 0.0
    lam0 = lon0_deg * _DEG_TO_RAD
    return np.array([lam0, a, x0, y0, qn, zb, *cbg, *gtu], dtype=np.float64)


@njit(cache=True, nogil=True)
def tm_forward_point(p: np.ndarray, lon: float, lat: float) -> tuple[float, float]:
    """Project one lon/lat (degrees) to easting/northing (metres); NaN in, NaN out."""
    phi = lat * _DEG_TO_RAD
    lam = lon * _DEG_TO_RAD - p[_P_LAM0]
    # ell. LAT -> Gaussian LAT (gatg with the cbg series)
    cos_2b = math.cos(2 * phi)
    sin_2b = math.sin(2 * phi)
    two_cos_2b = 2 * cos_2b
    h2 = 0.0
    h1 = p[_P_CBG + _ORDER - 1]
    h = 0.0
    for k in range(_ORDER - 2, -1, -1):
        h = -h2 + two_cos_2b * h1 + p[_P_CBG + k]
        h2 = h1
        h1 = h
    cn = phi + h * sin_2b
    # Gaussian LAT, LNG -> complementary spherical LAT
    sin_cn = math.sin(cn)
    cos_cn = math.cos(cn)
    sin_ce = math.sin(lam)
    cos_ce = math.cos(lam)
    cos_cn_cos_ce = cos_cn * cos_ce
    cn = math.atan2(sin_cn, cos_cn_cos_ce)
    inv_denom_tan_ce = 1.0 / math.hypot(sin_cn, cos_cn_cos_ce)
    tan_ce = sin_ce * cos_cn * inv_denom_tan_ce
    ce = math.asinh(tan_ce)
    two_inv_denom_tan_ce = 2 * inv_denom_tan_ce
    two_inv_denom_tan_ce_square = two_inv_denom_tan_ce * inv_denom_tan_ce
    tmp_r = cos_cn_cos_ce * two_inv_denom_tan_ce_square
    sin_arg_r = sin_cn * tmp_r
    cos_arg_r = cos_cn_cos_ce * tmp_r - 1
    sinh_arg_i = tan_ce * two_inv_denom_tan_ce
    cosh_arg_i = two_inv_denom_tan_ce_square - 1
    # complex Clenshaw summation of the gtu series
    r = 2 * cos_arg_r * cosh_arg_i
    i = -2 * sin_arg_r * sinh_arg_i
    hi1 = 0.0
    hr1 = 0.0
    hi = 0.0
    hr = p[_P_GTU + _ORDER - 1]
    for k in range(_ORDER - 2, -1, -1):
        hr2 = hr1
        hi2 = hi1
        hr1 = hr
        hi1 = hi
        hr = -hr2 + r * hr1 - i * hi1 + p[_P_GTU + k]
        hi = -hi2 + i * hr1 + r * hi1
    r = sin_arg_r * cosh_arg_i
    i = cos_arg_r * sinh_arg_i
    d_cn = r * hr - i * hi
    d_ce = r * hi + i * hr
    cn += d_cn
    ce += d_ce
    if abs(ce) > 2.623395162778:
        return math.inf, math.inf
    qn = p[_P_QN]
    a = p[_P_A]
    return a * (qn * ce) + p[_P_X0], a * (qn * cn + p[_P_ZB]) + p[_P_Y0]


@njit(cache=True, nogil=True)
def tm_forward_array(
    p: np.ndarray, lon: np.ndarray, lat: np.ndarray, out_x: np.ndarray, out_y: np.ndarray
) -> None:
    """Project arrays of lon/lat (degrees) into ``out_x``/``out_y`` (metres), in place."""
    for k in range(lon.shape[0]):
        x, y = tm_forward_point(p, lon[k], lat[k])
        out_x[k] = x
        out_y[k] = y


@njit(cache=True, nogil=True)
def tm_forward_scalar(p: np.ndarray, lon: float, lat: float) -> tuple[float, float]:
    """Single-point entry of :func:`tm_forward_point`."""
    return tm_forward_point(p, lon, lat)
