"""Keras's affine image transform, as one matrix per image, and a batched sampler that gives what
`scipy.ndimage.affine_transform` gives (spline order 0 or 1; modes 'nearest', 'constant',
'reflect', 'wrap') for a whole batch at once, instead of one call per image and channel."""
import numpy as np

BATCHED_MODES = ("nearest", "constant", "reflect", "wrap")


def transform_matrix_offset_center(matrix, x, y):
    """`matrix` (or a stack of them) applied about the centre of an `x` by `y` image."""
    o_x, o_y = float(x) / 2 - 0.5, float(y) / 2 - 0.5
    offset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return offset @ matrix @ reset


def affine_matrix(theta, tx, ty, shear, zx, zy, h, w, swap_axes):
    """The 3x3 matrix Keras's `apply_affine_transform` samples with (None for the identity).

    Rotation, then shift, then shear, then zoom (degrees for angles), about the image centre;
    `swap_axes` when the column axis comes after the row axis, as Keras swaps them.
    """
    if theta == 0 and tx == 0 and ty == 0 and shear == 0 and zx == 1 and zy == 1:
        return None
    return affine_matrices(*(np.array([v], np.float64) for v in (theta, tx, ty, shear, zx, zy)),
                           h, w, swap_axes)[0]


def affine_matrices(theta, tx, ty, shear, zx, zy, h, w, swap_axes=True):
    """`affine_matrix` for arrays of parameters at once: (N, 3, 3).

    A part whose parameters are neutral is an exact identity here, where Keras leaves it out;
    multiplying by it changes no bit.
    """
    n = len(theta)
    t, s = np.deg2rad(theta), np.deg2rad(shear)

    def stack(rows):
        out = np.zeros((n, 3, 3))
        for (i, j), value in rows.items():
            out[:, i, j] = value
        out[:, 2, 2] = 1
        return out

    rotation = stack({(0, 0): np.cos(t), (0, 1): -np.sin(t), (1, 0): np.sin(t), (1, 1): np.cos(t)})
    rotation[theta == 0, :2, :2] = np.eye(2)
    shift = stack({(0, 0): 1, (1, 1): 1, (0, 2): tx, (1, 2): ty})
    shearing = stack({(0, 0): 1, (0, 1): -np.sin(s), (1, 1): np.cos(s)})
    shearing[shear == 0, :2, :2] = np.eye(2)
    zoom = stack({(0, 0): zx, (1, 1): zy})
    matrix = rotation @ shift @ shearing @ zoom
    matrix = transform_matrix_offset_center(matrix, h, w)
    if swap_axes:
        matrix = matrix[:, [1, 0, 2]][:, :, [1, 0, 2]]
    return matrix


def _map(coord, n, mode):
    """Coordinates outside `[0, n-1]` brought inside as scipy's boundary modes do (float64)."""
    if n <= 1:
        return np.zeros_like(coord)
    if mode == "nearest":
        return np.clip(coord, 0, n - 1)
    if mode == "reflect":  # half-sample symmetric, period 2n
        period = 2 * n
        low = coord < 0
        c = np.where(low & (coord < -period), period * np.trunc(-coord / period) + coord, coord)
        c = np.where(low, np.where(c < -n, c + period, -c - 1), c)
        high = c > n - 1
        c = np.where(high, c - period * np.trunc(c / period), c)
        return np.where(high & (c >= n), period - c - 1, c)
    if mode == "wrap":  # scipy's 'wrap': the first and last samples coincide, period n - 1
        period = n - 1
        c = np.where(coord < 0, coord + period * (np.trunc(-coord / period) + 1), coord)
        return np.where(c > n - 1, c - period * np.trunc(c / period), c)
    return coord  # 'constant': handled by the caller


def sample_batch(images, matrices, order=1, mode="nearest", cval=0.0):
    """`images` (N, H, W, C) resampled: output pixel `o` reads input `M[:2, :2] @ o + M[:2, 2]`.

    `matrices` is (N, 3, 3) in (row, col) order, as `affine_matrix` returns it. The result equals
    per-image, per-channel `scipy.ndimage.affine_transform(..., order, mode, cval)` (to float32
    rounding), in the images' dtype.
    """
    n, h, w, c = images.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    m = matrices[:, None, None]
    src_r = m[..., 0, 0] * rows + m[..., 0, 1] * cols + m[..., 0, 2]
    src_c = m[..., 1, 0] * rows + m[..., 1, 1] * cols + m[..., 1, 2]
    outside = None
    if mode == "constant":
        outside = (src_r < 0) | (src_r > h - 1) | (src_c < 0) | (src_c > w - 1)
    src_r, src_c = _map(src_r, h, mode), _map(src_c, w, mode)
    flat = images.reshape(n * h * w, c)
    base = (np.arange(n) * (h * w))[:, None, None]
    # After `_map` a coordinate lies in [-1, n]; the neighbours past an edge that remain are
    # the edge sample itself (reflect) or carry zero weight (the other modes): clipping is exact.
    if order == 0:
        rows_i = np.clip(np.floor(src_r + 0.5).astype(np.int64), 0, h - 1)
        cols_i = np.clip(np.floor(src_c + 0.5).astype(np.int64), 0, w - 1)
        out = np.take(flat, base + rows_i * w + cols_i, axis=0)
    else:
        r0, c0 = np.floor(src_r), np.floor(src_c)
        fr = (src_r - r0).astype(images.dtype)[..., None]
        fc = (src_c - c0).astype(images.dtype)[..., None]
        r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
        top, bottom = base + np.clip(r0, 0, h - 1) * w, base + np.clip(r0 + 1, 0, h - 1) * w
        left, right = np.clip(c0, 0, w - 1), np.clip(c0 + 1, 0, w - 1)
        upper = np.take(flat, top + left, axis=0)
        upper += (np.take(flat, top + right, axis=0) - upper) * fc
        lower = np.take(flat, bottom + left, axis=0)
        lower += (np.take(flat, bottom + right, axis=0) - lower) * fc
        out = upper + (lower - upper) * fr
    if outside is not None:
        out = np.where(outside[..., None], np.asarray(cval, images.dtype), out)
    return out.astype(images.dtype, copy=False)
