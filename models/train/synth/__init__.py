"""Synthetic labelled object-detection scenes (see models/train/README.md)."""

from .shapes import CLASSES
from .scene import SS, Config, Sample, image_size, render_sample

__all__ = ["CLASSES", "SS", "Config", "Sample", "image_size", "render_sample"]
