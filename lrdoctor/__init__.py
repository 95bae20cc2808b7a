"""lrdoctor: the post-mortem of a training run's learning rate."""

__version__ = "0.1.0"
