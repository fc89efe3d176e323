"""Figures and animations (matplotlib for drawing, pillow for GIFs)."""
from .animation import figure_to_image, save_gif

__all__ = ["figure_to_image", "save_gif"]
