"""Scene synthesis: background, clutter, objects, degradations, JPEG.

``render_sample(seed, index, cfg)`` is a pure function of its arguments: the
image with a given ``(seed, index)`` is the same whatever else is generated,
so datasets can be produced in shards, in parallel or on the fly.

Boxes are computed from the rasterised shapes: each object is drawn into a
supersampled (``SS`` x ``SS``) binary mask after scaling and rotation; the
parts hidden by objects drawn later and the parts outside the image are
removed, and the box is the tight box of what remains, in pixel coordinates
with 1/``SS`` pixel precision (a box [x, y, w, h] spans the continuous range
x .. x+w, so a shape covering pixel columns 3..9 fully has x=3, w=7).
"""

import io
import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

from .shapes import CLASSES, make_shape

SS = 4  # supersampling factor of object masks
_SEED_TAG = 0x0DE7  # separates this generator's streams from other users of the seed


@dataclass
class Config:
    width: int = 256
    height: int = 256
    # If set, each image gets a random width and height in [lo, hi].
    size_range: Optional[Tuple[int, int]] = None
    min_objects: int = 1
    max_objects: int = 6
    # Object size (longer side before rotation) in pixels for a 256-pixel
    # image; scaled by min(width, height) / 256.
    min_obj_size: float = 16.0
    max_obj_size: float = 96.0
    # Every annotated object keeps at least this fraction of its drawn area
    # visible (occlusion and image border together); placements that would
    # break this for any object are not made.
    min_visible: float = 0.5
    jpeg_quality: Tuple[int, int] = (40, 95)


@dataclass
class Sample:
    jpeg: bytes
    width: int
    height: int
    # (category_id, [x, y, w, h], area) with category_id = class index + 1
    objects: List[Tuple[int, List[float], float]]

    def image(self) -> Image.Image:
        return Image.open(io.BytesIO(self.jpeg)).convert("RGB")


# ---------------------------------------------------------------- colours

def _lum(c) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _hsv(h, s, v) -> np.ndarray:
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array([r, g, b], np.float32) * 255.0


def _random_colour(rng) -> np.ndarray:
    u = rng.random()
    if u < 0.12:  # grey
        return np.full(3, rng.uniform(0, 255), np.float32)
    s = rng.uniform(0.0, 0.4) if u < 0.35 else rng.uniform(0.4, 1.0)
    return _hsv(rng.random(), s, rng.uniform(0.08, 1.0))


def _contrasting_colour(rng, bg_lum: float, min_diff: float = 60.0) -> np.ndarray:
    for _ in range(40):
        c = _random_colour(rng)
        if abs(_lum(c) - bg_lum) >= min_diff:
            return c
    v = rng.uniform(0, 40) if bg_lum > 127 else rng.uniform(215, 255)
    return np.full(3, v, np.float32)


# ------------------------------------------------------------- background

def _value_noise(rng, h, w, cells) -> np.ndarray:
    acc = np.zeros((h, w), np.float32)
    tot = 0.0
    for k, cell in enumerate(cells):
        gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
        g = rng.random((gh, gw), dtype=np.float32)
        up = Image.fromarray(g, "F").resize((w, h), Image.BICUBIC)
        amp = 0.55 ** k
        acc += amp * np.asarray(up)
        tot += amp
    acc /= tot
    lo, hi = acc.min(), acc.max()
    return (acc - lo) / max(hi - lo, 1e-6)


def _coords(h, w):
    ys = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    return ys, xs


def _background(rng, h, w) -> np.ndarray:
    a = _random_colour(rng)
    b = _random_colour(rng)
    # Keep background gradients/textures moderate so objects can contrast.
    if abs(_lum(a) - _lum(b)) > 110:
        b = a + (b - a) * (110.0 / abs(_lum(a) - _lum(b)))
    kind = rng.choice(6, p=[0.15, 0.2, 0.1, 0.3, 0.1, 0.15])
    if kind == 0:  # flat
        t = None
    elif kind == 1:  # linear gradient
        ys, xs = _coords(h, w)
        th = rng.uniform(0, 2 * math.pi)
        t = (xs * math.cos(th) + ys * math.sin(th)) * 0.5 + 0.5
    elif kind == 2:  # radial gradient
        ys, xs = _coords(h, w)
        cx, cy = rng.uniform(-1, 1, 2)
        t = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2) / rng.uniform(1.0, 2.5)
    elif kind == 3:  # smooth noise texture
        cells = [int(rng.integers(24, 96)), 12, 6]
        t = _value_noise(rng, h, w, cells)
    elif kind == 4:  # stripes
        ys, xs = _coords(h, w)
        th = rng.uniform(0, math.pi)
        f = rng.uniform(3, 20)
        t = 0.5 + 0.5 * np.sin((xs * math.cos(th) + ys * math.sin(th)) * f
                               + rng.uniform(0, 6.3))
        t *= rng.uniform(0.3, 1.0)
    else:  # gradient + texture
        ys, xs = _coords(h, w)
        th = rng.uniform(0, 2 * math.pi)
        t = (xs * math.cos(th) + ys * math.sin(th)) * 0.35 + 0.5
        t = t + 0.4 * (_value_noise(rng, h, w, [int(rng.integers(8, 40)), 4]) - 0.5)
    if t is None:
        img = np.empty((h, w, 3), np.float32)
        img[:] = a
    else:
        t = np.minimum(np.maximum(t, 0.0), 1.0)[:, :, None]
        img = a * (1.0 - t) + b * t
    if rng.random() < 0.5:  # fine grain
        img += rng.standard_normal((h, w, 1), dtype=np.float32) * rng.uniform(2, 12)
    return img


def _blend_mask(img, mask_img: Image.Image, colour, alpha: float):
    bb = mask_img.getbbox()
    if bb is None:
        return
    x0, y0, x1, y1 = bb
    m = np.asarray(mask_img.crop(bb))
    a = m[:, :, None].astype(np.float32) * (alpha / 255.0)
    reg = img[y0:y1, x0:x1]
    reg *= 1.0 - a
    reg += a * colour


def _clutter(rng, img, scale: float, n: int):
    """Things that belong to no class: thin lines, squiggles, arcs, lumpy
    blobs, long bars, small dots."""
    h, w = img.shape[:2]
    for _ in range(n):
        m = Image.new("L", (w, h), 0)
        d = ImageDraw.Draw(m)
        kind = rng.choice(6, p=[0.25, 0.2, 0.12, 0.2, 0.1, 0.13])
        alpha = rng.uniform(0.35, 1.0)
        if kind == 0:  # straight line
            p = rng.uniform([-0.1 * w, -0.1 * h], [1.1 * w, 1.1 * h], (2, 2))
            d.line([tuple(q) for q in p.tolist()], fill=255,
                   width=max(1, int(rng.integers(1, 4) * scale)))
        elif kind == 1:  # squiggle
            k = int(rng.integers(3, 7))
            p0 = rng.uniform([0, 0], [w, h])
            steps = rng.normal(0, 25 * scale, (k, 2))
            p = p0 + np.cumsum(steps, axis=0)
            d.line([tuple(q) for q in p.tolist()], fill=255,
                   width=max(1, int(rng.integers(1, 4) * scale)), joint="curve")
        elif kind == 2:  # arc (never a closed circle)
            r = rng.uniform(10, 70) * scale
            c = rng.uniform([0, 0], [w, h])
            st = rng.uniform(0, 360)
            d.arc([c[0] - r, c[1] - r, c[0] + r, c[1] + r], st,
                  st + rng.uniform(40, 220), fill=255,
                  width=max(1, int(rng.integers(1, 3) * scale)))
        elif kind == 3:  # lumpy irregular blob
            r = rng.uniform(6, 40) * scale
            c = rng.uniform([0, 0], [w, h])
            # Elongated, with small irregular bumps: no lobes that could
            # read as a heart, cross or star, never round enough for a circle.
            t = np.linspace(0, 2 * math.pi, 40, endpoint=False)
            rr = np.ones_like(t)
            for f in range(3, 8):
                rr += rng.uniform(0.02, 0.09) * np.cos(f * t + rng.uniform(0, 6.3))
            asp = rng.uniform(0.25, 0.65)
            th = rng.uniform(0, math.pi)
            x, y = rr * np.cos(t) * r, rr * np.sin(t) * r * asp
            px = c[0] + x * math.cos(th) - y * math.sin(th)
            py = c[1] + x * math.sin(th) + y * math.cos(th)
            d.polygon(list(zip(px.tolist(), py.tolist())), fill=255)
            alpha *= 0.7
        elif kind == 4:  # long thin bar
            L = rng.uniform(40, 160) * scale
            t_ = rng.uniform(2, 6) * scale
            th = rng.uniform(0, math.pi)
            c = rng.uniform([0, 0], [w, h])
            u = np.array([math.cos(th), math.sin(th)])
            v = np.array([-u[1], u[0]])
            p = [c + su * L / 2 * u + sv * t_ / 2 * v
                 for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
            d.polygon([tuple(q) for q in p], fill=255)
        else:  # dots
            for _ in range(int(rng.integers(1, 8))):
                c = rng.uniform([0, 0], [w, h])
                r = rng.uniform(1, 3) * scale
                d.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], fill=255)
        _blend_mask(img, m, _random_colour(rng), alpha)


# ---------------------------------------------------------------- objects

class _Obj:
    __slots__ = ("cls", "x0", "y0", "mask", "vis", "full", "nvis")


def _raster(polys, ss: int):
    """Rasterise polygons given in pixel coordinates.  Returns the integer
    pixel origin (x0, y0) of the patch and its supersampled boolean mask."""
    allp = np.concatenate([p for p, _ in polys])
    x0 = math.floor(allp[:, 0].min()) - 1
    y0 = math.floor(allp[:, 1].min()) - 1
    x1 = math.ceil(allp[:, 0].max()) + 1
    y1 = math.ceil(allp[:, 1].max()) + 1
    im = Image.new("L", ((x1 - x0) * ss, (y1 - y0) * ss), 0)
    d = ImageDraw.Draw(im)
    off = np.array([x0, y0], np.float64)
    for p, val in polys:
        # PIL samples pixel i at its centre, continuous coordinate i + 0.5.
        q = (p - off) * ss - 0.5
        d.polygon(list(map(tuple, q.tolist())), fill=val)
    return x0, y0, np.asarray(im) > 127


def _downsample(mask: np.ndarray, ss: int) -> np.ndarray:
    h, w = mask.shape[0] // ss, mask.shape[1] // ss
    s = mask.reshape(h, ss, w, ss).sum(axis=(1, 3), dtype=np.uint16)
    return s.astype(np.float32) * (1.0 / (ss * ss))


def _erode(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, 1)
    return np.minimum.reduce([p[1:-1, 1:-1], p[:-2, 1:-1], p[2:, 1:-1],
                              p[1:-1, :-2], p[1:-1, 2:]])


def _overlap(a: _Obj, b: _Obj, ss: int):
    """Slices of a.vis and b.mask over the intersection of their patches."""
    ax0, ay0 = a.x0 * ss, a.y0 * ss
    bx0, by0 = b.x0 * ss, b.y0 * ss
    x0 = max(ax0, bx0)
    y0 = max(ay0, by0)
    x1 = min(ax0 + a.mask.shape[1], bx0 + b.mask.shape[1])
    y1 = min(ay0 + a.mask.shape[0], by0 + b.mask.shape[0])
    if x0 >= x1 or y0 >= y1:
        return None
    sa = (slice(y0 - ay0, y1 - ay0), slice(x0 - ax0, x1 - ax0))
    sb = (slice(y0 - by0, y1 - by0), slice(x0 - bx0, x1 - bx0))
    return sa, sb


def _in_image(o: _Obj, w: int, h: int, ss: int):
    """Slice of o.mask lying inside the image (or None)."""
    mh, mw = o.mask.shape
    c0 = max(0, -o.x0 * ss)
    r0 = max(0, -o.y0 * ss)
    c1 = min(mw, (w - o.x0) * ss)
    r1 = min(mh, (h - o.y0) * ss)
    if c0 >= c1 or r0 >= r1:
        return None
    return slice(r0, r1), slice(c0, c1)


def _fill(rng, colour, h, w) -> np.ndarray:
    u = rng.random()
    if u < 0.6:
        return colour
    if u < 0.85:  # soft shading across the object
        ys, xs = _coords(h, w)
        th = rng.uniform(0, 2 * math.pi)
        g = 1.0 + rng.uniform(0.08, 0.2) * (xs * math.cos(th) + ys * math.sin(th))
        return colour * g[:, :, None]
    return colour + rng.standard_normal((h, w, 1), dtype=np.float32) * rng.uniform(4, 14)


def _place_objects(rng, img, cfg: Config, ss: int) -> List[_Obj]:
    h, w = img.shape[:2]
    scale = min(w, h) / 256.0
    n = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    lo = max(4.0, cfg.min_obj_size * scale)
    hi = max(lo, cfg.max_obj_size * scale)
    objs: List[_Obj] = []
    for _ in range(n):
        cls = int(rng.integers(len(CLASSES)))
        for _size_try in range(3):
            size = math.exp(rng.uniform(math.log(lo), math.log(hi)))
            polys, aspect = make_shape(cls, rng, n_round=48 if size < 60 else 96)
            sx, sy = (1.0, aspect) if aspect <= 1.0 else (1.0 / aspect, 1.0)
            th = rng.uniform(0, 2 * math.pi)
            c, s = math.cos(th), math.sin(th)
            rot = np.array([[c, s], [-s, c]]) * size
            fx, fy = rng.random(2)  # sub-pixel part of the position
            polys = [((p * (sx, sy)) @ rot + (fx, fy), v) for p, v in polys]
            o = _Obj()
            o.cls = cls
            bx0, by0, o.mask = _raster(polys, ss)
            o.full = int(np.count_nonzero(o.mask))
            if o.full == 0:
                continue
            pw, ph = o.mask.shape[1] // ss, o.mask.shape[0] // ss
            placed = False
            for _pos_try in range(10):
                if rng.random() < 0.85 and pw < w and ph < h:
                    # fully inside the image
                    o.x0 = int(rng.integers(0, w - pw + 1))
                    o.y0 = int(rng.integers(0, h - ph + 1))
                else:
                    o.x0 = int(rng.integers(-pw // 3, w - 2 * pw // 3 + 1))
                    o.y0 = int(rng.integers(-ph // 3, h - 2 * ph // 3 + 1))
                sl = _in_image(o, w, h, ss)
                if sl is None:
                    continue
                inside = int(np.count_nonzero(o.mask[sl]))
                if inside < max(cfg.min_visible, 0.7) * o.full:
                    continue
                ok = True
                hits = []
                for p in objs:
                    ov = _overlap(p, o, ss)
                    if ov is None:
                        continue
                    k = int(np.count_nonzero(p.vis[ov[0]] & o.mask[ov[1]]))
                    if k and p.nvis - k < cfg.min_visible * p.full:
                        ok = False
                        break
                    if k:
                        hits.append((p, ov, k))
                if not ok:
                    continue
                for p, ov, k in hits:
                    p.vis[ov[0]] &= ~o.mask[ov[1]]
                    p.nvis -= k
                o.vis = np.zeros_like(o.mask)
                o.vis[sl] = o.mask[sl]
                o.nvis = inside
                placed = True
                break
            if not placed:
                continue
            _paint(rng, img, o, ss)
            objs.append(o)
            break
    return objs


def _paint(rng, img, o: _Obj, ss: int):
    h, w = img.shape[:2]
    alpha = _downsample(o.mask, ss)
    ph, pw = alpha.shape
    x0, y0 = max(0, o.x0), max(0, o.y0)
    x1, y1 = min(w, o.x0 + pw), min(h, o.y0 + ph)
    a = alpha[y0 - o.y0:y1 - o.y0, x0 - o.x0:x1 - o.x0]
    reg = img[y0:y1, x0:x1]
    bg_lum = float(_lum(reg.reshape(-1, 3).mean(axis=0)))
    colour = _contrasting_colour(rng, bg_lum)
    fill = _fill(rng, colour, ph, pw)
    if np.ndim(fill) == 3:
        fill = fill[y0 - o.y0:y1 - o.y0, x0 - o.x0:x1 - o.x0]
    if rng.random() < 0.3 and ph > 12 and pw > 12:  # outline
        inner = _erode(alpha)
        if rng.random() < 0.5 and min(ph, pw) > 40:
            inner = _erode(inner)
        inner = inner[y0 - o.y0:y1 - o.y0, x0 - o.x0:x1 - o.x0]
        edge = (a - inner)[:, :, None]
        lum = _lum(colour)
        bcol = colour * 0.35 if lum > 110 else colour * 0.3 + 180.0
        a3 = a[:, :, None]
        reg *= 1.0 - a3
        reg += inner[:, :, None] * fill + edge * bcol
    else:
        a3 = a[:, :, None]
        reg *= 1.0 - a3
        reg += a3 * fill


_EIGHT = np.ones((3, 3), bool)
_THICK = np.ones((5, 5), bool)


def _clean(vis: np.ndarray, ss: int) -> np.ndarray:
    """Drop visible fragments that are only slivers: pieces (after occlusion
    or truncation) that are nowhere about a pixel thick or smaller than two
    pixels.  They are drawn but nobody would count them in the box."""
    lab, n = ndimage.label(vis, structure=_EIGHT)
    if n == 0:
        return vis
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    keep = sizes >= 2 * ss * ss
    thick = np.zeros(n + 1, bool)
    thick[np.unique(lab[ndimage.binary_erosion(vis, structure=_THICK)])] = True
    keep &= thick
    keep[0] = False
    if keep[1:].all():
        return vis
    if not keep.any():  # everything is thin: keep the largest piece
        keep[1 + int(np.argmax(sizes[1:]))] = True
    return keep[lab]


def _box(o: _Obj, w: int, h: int, ss: int):
    if o.nvis < o.full:
        o.vis = _clean(o.vis, ss)
        o.nvis = int(np.count_nonzero(o.vis))
    rows = np.flatnonzero(o.vis.any(axis=1))
    cols = np.flatnonzero(o.vis.any(axis=0))
    if len(rows) == 0:
        return None
    x0 = max(0.0, o.x0 + cols[0] / ss)
    y0 = max(0.0, o.y0 + rows[0] / ss)
    x1 = min(float(w), o.x0 + (cols[-1] + 1) / ss)
    y1 = min(float(h), o.y0 + (rows[-1] + 1) / ss)
    area = o.nvis / float(ss * ss)
    return [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)], round(area, 2)


# ------------------------------------------------------------ degradations

def _to_u8(a: np.ndarray) -> np.ndarray:
    a = np.maximum(a, 0.0)
    np.minimum(a, 255.0, out=a)
    return a.astype(np.uint8)


def _degrade(rng, img: np.ndarray) -> Image.Image:
    h, w = img.shape[:2]
    if rng.random() < 0.5:  # colour / exposure jitter
        gain = rng.uniform(0.85, 1.15, 3).astype(np.float32)
        img = img * gain + np.float32(rng.uniform(-15, 15))
    if rng.random() < 0.15:  # thin overlay line on top of everything
        m = Image.new("L", (w, h), 0)
        p = rng.uniform([0, 0], [w, h], (2, 2))
        ImageDraw.Draw(m).line([tuple(q) for q in p.tolist()], fill=255, width=1)
        _blend_mask(img, m, _random_colour(rng), rng.uniform(0.3, 0.7))
    pil = Image.fromarray(_to_u8(img), "RGB")
    if rng.random() < 0.35:
        pil = pil.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.3)))
    if rng.random() < 0.5:
        sigma = rng.uniform(2, 10)
        arr = np.asarray(pil).astype(np.float32)
        arr += rng.standard_normal(arr.shape, dtype=np.float32) * sigma
        pil = Image.fromarray(_to_u8(arr), "RGB")
    if rng.random() < 0.05:
        pil = pil.convert("L").convert("RGB")
    return pil


# -------------------------------------------------------------------- API

def image_size(seed: int, index: int, cfg: Config) -> Tuple[int, int]:
    rng = np.random.default_rng(np.random.SeedSequence([_SEED_TAG, seed, index, 1]))
    if cfg.size_range is None:
        return cfg.width, cfg.height
    lo, hi = cfg.size_range
    return int(rng.integers(lo, hi + 1)), int(rng.integers(lo, hi + 1))


def render_sample(seed: int, index: int, cfg: Config = Config()) -> Sample:
    """Render image ``index`` of the stream ``seed`` (both non-negative)."""
    w, h = image_size(seed, index, cfg)
    rng = np.random.default_rng(np.random.SeedSequence([_SEED_TAG, seed, index]))
    scale = min(w, h) / 256.0
    img = _background(rng, h, w)
    _clutter(rng, img, scale, int(rng.integers(0, 13)))
    np.minimum(img, 255.0, out=img)
    np.maximum(img, 0.0, out=img)
    objs = _place_objects(rng, img, cfg, SS)
    out = []
    for o in objs:
        b = _box(o, w, h, SS)
        if b is not None and b[0][2] >= 1.0 and b[0][3] >= 1.0:
            out.append((o.cls + 1, b[0], b[1]))
    pil = _degrade(rng, img)
    q = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    buf = io.BytesIO()
    pil.save(buf, format="JPEG", quality=q,
             subsampling=0 if rng.random() < 0.3 else 2)
    return Sample(buf.getvalue(), w, h, out)
