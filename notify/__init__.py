"""notify: render one incident update and deliver it on every channel, once."""

__version__ = "0.1.0"
