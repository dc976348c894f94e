"""Object classes of the synthetic detection dataset and their geometry.

Every class is described in a unit frame centred on the origin (x to the
right, y downwards, extent about [-0.5, 0.5] on the longer axis) as a list of
``(points, value)`` polygons: ``value`` 255 paints the shape, 0 cuts a hole
(drawn in order).  ``make_shape`` also returns the aspect ratio (height /
width) to apply before rotation.  Rasterisation, rotation and placement live
in ``scene.py``.
"""

import math

import numpy as np

# Category names in category-id order (category id = index + 1).  This is
# the single source of truth for the class list.
CLASSES = ("circle", "square", "triangle", "star", "cross", "ring", "heart",
           "arrow")


def _ellipse(n: int, rx: float, ry: float) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.stack([rx * np.cos(t), ry * np.sin(t)], axis=1)


def _heart_template() -> np.ndarray:
    t = np.linspace(0.0, 2.0 * math.pi, 96, endpoint=False)
    x = 16.0 * np.sin(t) ** 3
    y = -(13.0 * np.cos(t) - 5.0 * np.cos(2 * t) - 2.0 * np.cos(3 * t)
          - np.cos(4 * t))
    p = np.stack([x, y], axis=1)
    lo, hi = p.min(axis=0), p.max(axis=0)
    return (p - (lo + hi) / 2.0) / (hi - lo)  # fits [-0.5, 0.5]^2


_HEART = _heart_template()


def _star(rng, points: int = 5) -> np.ndarray:
    inner = rng.uniform(0.38, 0.5)
    k = np.arange(2 * points)
    r = np.where(k % 2 == 0, 0.5, 0.5 * inner)
    t = k * math.pi / points - math.pi / 2.0  # first tip points up
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


def _cross(rng) -> np.ndarray:
    a = rng.uniform(0.14, 0.2)  # half arm thickness
    h = 0.5
    return np.array([(-a, -h), (a, -h), (a, -a), (h, -a), (h, a), (a, a),
                     (a, h), (-a, h), (-a, a), (-h, a), (-h, -a), (-a, -a)])


def _arrow(rng) -> np.ndarray:
    hw = rng.uniform(0.22, 0.36)          # half head width
    sw = hw * rng.uniform(0.32, 0.5)      # half shaft width
    hl = rng.uniform(0.3, 0.45)           # head length
    xh = 0.5 - hl
    return np.array([(-0.5, -sw), (xh, -sw), (xh, -hw), (0.5, 0.0),
                     (xh, hw), (xh, sw), (-0.5, sw)])


def _triangle(rng) -> np.ndarray:
    apex = rng.uniform(-0.3, 0.3)
    return np.array([(apex, -0.5), (0.5, 0.5), (-0.5, 0.5)])


def make_shape(cls: int, rng, n_round: int = 48):
    """Return ``(polys, aspect)`` for class index ``cls`` (0-based)."""
    name = CLASSES[cls]
    if name == "circle":
        return [(_ellipse(n_round, 0.5, 0.5), 255)], rng.uniform(0.85, 1.0)
    if name == "square":
        s = 0.5
        sq = np.array([(-s, -s), (s, -s), (s, s), (-s, s)])
        return [(sq, 255)], rng.uniform(0.93, 1.0)
    if name == "triangle":
        return [(_triangle(rng), 255)], rng.uniform(0.7, 1.25)
    if name == "star":
        return [(_star(rng), 255)], rng.uniform(0.9, 1.05)
    if name == "cross":
        return [(_cross(rng), 255)], rng.uniform(0.8, 1.0)
    if name == "ring":
        hole = rng.uniform(0.45, 0.68)
        return ([(_ellipse(n_round, 0.5, 0.5), 255),
                 (_ellipse(n_round, 0.5 * hole, 0.5 * hole), 0)],
                rng.uniform(0.85, 1.0))
    if name == "heart":
        return [(_HEART.copy(), 255)], rng.uniform(0.85, 1.1)
    if name == "arrow":
        # The arrow's own width (head width) is built into its polygon.
        return [(_arrow(rng), 255)], 1.0
    raise ValueError(name)
